"""Exchange, repair, reship (RULES §5, GEN-EX-*): the replacement leg. The shop ships the
replacement, the repaired item or the reshipped goods; the carrier reports the signing; the buyer
confirms; and until the replacement ships the shop may refund instead."""

from __future__ import annotations

from datetime import datetime

from ..errors import refuse
from ..policies import PolicyVersion
from .actors import Actor, require
from .orders import Order
from .refund import end, refund
from .tickets import Ticket
from .who_acts import buyer_only, not_due, staff_only

BEFORE_SHIPPING = ("pending_review", "awaiting_return", "awaiting_receipt", "awaiting_replacement")


def ship_replacement(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                     carrier: str | None, waybill: str | None) -> None:
    """The shop sends the replacement, the repaired item or the reshipped goods (GEN-EX-1, GEN-EX-3)."""
    staff_only(actor, ticket, "发出换货/补发", "ship the replacement")
    ticket.expect("awaiting_replacement", doing=("发出换货/补发", "ship the replacement"))
    not_due(ticket, at)
    if ticket.due_action in ("reship_late", "priority_compensation") and not (waybill and waybill.strip()):
        raise refuse("invalid_input", "平台判定少件后补发须提供补发运单号", "a reship after a missing-items ruling needs "
                     "its waybill", ticket.due_rule)
    span = pv.exchange.replacement_confirm
    ticket.replacement_carrier, ticket.replacement_waybill, ticket.replacement_shipped_at = carrier, waybill, at
    ticket.move("replacement_shipped", "replacement_shipped", at, actor.label, None,
                {"carrier": carrier, "waybill": waybill},
                due=(at + span.delta, "auto_confirm_replacement", span.rule))


def sign_replacement(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    """The carrier reports the replacement signed for: the buyer's confirmation clock restarts from
    the signing (GEN-EX-1)."""
    require(actor.is_platform, "签收由物流回传(平台)记录", "signing is reported by the carrier through the platform")
    ticket.expect("replacement_shipped", doing=("签收换货", "sign for the replacement"))
    not_due(ticket, at)
    span = pv.exchange.replacement_confirm
    ticket.replacement_signed_at = at
    ticket.move("replacement_shipped", "replacement_signed", at, actor.label, None,
                due=(at + span.delta, "auto_confirm_replacement", span.rule))


def confirm_replacement(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    buyer_only(actor, ticket, "确认收到换货", "confirm the replacement")
    ticket.expect("replacement_shipped", doing=("确认收到换货", "confirm the replacement"))
    not_due(ticket, at)
    ticket.move("completed", "replacement_confirmed", at, actor.label)
    end(ticket, order, pv, at)


def refund_instead(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                   intervened_from: str | None = None) -> None:
    """GEN-EX-2: the shop may refund instead of exchanging, repairing or reshipping at any point
    before the replacement ships; also while the platform has a stalled exchange that had not shipped
    (`intervened_from`: the status the ticket went to the platform from)."""
    staff_only(actor, ticket, "改为退款", "refund instead")
    flag = pv.exchange.refund_instead
    if ticket.type not in ("exchange", "repair", "reship"):
        raise refuse("invalid_state", "只有换货、维修、补发可以改为退款",
                     "only exchange, repair and reship tickets can turn into a refund", flag.rule)
    if not flag.enabled:
        raise refuse("ineligible", "该规则包不允许改为退款", "this policy does not allow refunding instead", flag.rule)
    if ticket.status == "in_intervention" and intervened_from not in BEFORE_SHIPPING:
        raise refuse("invalid_state", "换货商品已发出后不能改为退款", "the replacement has shipped: it cannot "
                     "turn into a refund", flag.rule)
    ticket.expect(*BEFORE_SHIPPING, "in_intervention", doing=("改为退款", "refund instead"))
    not_due(ticket, at)
    ticket.move("refunded", "refunded_instead", at, actor.label, flag.rule)
    refund(ticket, order, pv, at, actor.label, flag.rule)
    end(ticket, order, pv, at)
