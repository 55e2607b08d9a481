"""What buyers, shops and the system do to tickets (RULES §2–6). Pure functions over a ticket and
its order: they check the rules, change state, and record events; the service layer loads and saves.

This module holds the buyer's application, cancelling, the return leg (waybill, receipt, refusing
the parcel) and taking a ticket to the platform. The rest of a ticket's life sits beside it, named
after RULES.md: `application` (GEN-APPLY-* checks), `review` (the shop approves or rejects),
`exchange` (GEN-EX-*: the replacement leg), `timeouts` (what the worker does when a deadline falls
due), `refund` (the one place in shouhou where a refund happens) and `who_acts`. Their steps are
re-exported here, so that `aftersales.approve`, `aftersales.fire` and the like keep working for the
service layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..clock import minutes
from ..errors import refuse
from ..money import format_yuan
from ..policies import PolicyVersion, Span
from .actors import Actor, require
from .application import application_problems, covered, no_reason_deadline, refusal
from .exchange import confirm_replacement, refund_instead, ship_replacement, sign_replacement
from .fast_lanes import refuse_cancel_after_advance
from .lines import Cover
from .orders import Order
from .refund import end, refund
from .review import approve, reject, review_span
from .tickets import Ticket
from .timeouts import fire
from .who_acts import buyer_only, not_due, staff_only

__all__ = [
    "CaseOpening", "application_problems", "apply", "approve", "cancel", "confirm_replacement", "confirm_return",
    "fire", "no_reason_deadline", "refund", "refund_for_high_risk", "refund_instead", "refuse_return", "reject", "request_intervention",
    "ship_replacement", "sign_replacement", "submit_waybill",
]

_end = end  # domain/disputes.py still calls aftersales._end; refund.end is its home


def apply(
    ticket_id: str, order: Order, actor: Actor, pv: PolicyVersion, at: datetime, type_: str,
    reason: str, amount_fen: int | None, evidence: list[str], note: str | None,
    refund_handling_off: str | None = None, cover: tuple[Cover, ...] | None = None,
) -> Ticket:
    """The buyer opens a ticket (RULES §2). `refund_handling_off` names the rule (KS-GOV-4) when the
    shop is high-risk and has lost refund handling: the ticket is approved and refunded at once."""
    require(actor.is_buyer and actor.id == order.buyer_id, "只有下单的买家可以申请售后",
            "only the buyer of the order may apply")
    problems, over_period = application_problems(order, pv, at, type_, reason, amount_fen, evidence, cover)
    if problems:
        raise refusal(problems)
    lines, cap = covered(order, cover) if order.lines else ((), order.refundable_fen)
    amount = amount_fen if amount_fen is not None else cap  # GEN-APPLY-7: all those lines can still refund
    shipped = order.shipped_at is not None
    ticket = Ticket(
        id=ticket_id, order_id=order.id, shop_id=order.shop_id, buyer_id=order.buyer_id, type=type_,
        reason=reason, amount_fen=amount, policy=order.policy, policy_version=pv.version,
        created_at=at, over_period=over_period, status="new", evidence=list(evidence), note=note,
        shipped_when_applied=shipped, lines=lines,
    )
    span = review_span(ticket, pv)
    ticket.move("pending_review", "applied", at, actor.label, None,
                {"type": type_, "reason": reason, "amount": format_yuan(amount), "evidence": list(evidence),
                 "lines": [c.as_json() for c in lines],
                 "policy": f"{order.policy}@{pv.version}"},
                due=(at + span.delta, "auto_approve", span.rule))
    order.hold(ticket.id, amount, counted=not over_period, cover=lines)
    if refund_handling_off is not None:
        refund_for_high_risk(ticket, order, pv, at, refund_handling_off)
    return ticket


def refund_for_high_risk(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, rule: str) -> None:
    """KS-GOV-4: the shop has lost refund handling; an application filed now, or still waiting for the
    shop's review when the measure takes effect, is approved and refunded at once, whatever its type
    (no return, no replacement)."""
    ticket.expect("pending_review", doing=("自动退款", "refund for a high-risk shop"))
    ticket.move("refunded", "auto_approved", at, "system", rule, {"refund_handling": "disabled"})
    refund(ticket, order, pv, at, "system", rule)
    end(ticket, order, pv, at)


def cancel(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    """The buyer withdraws a ticket that has not been refunded."""
    buyer_only(actor, ticket, "撤销售后", "cancel the ticket")
    ticket.expect("pending_review", "awaiting_return", "awaiting_receipt", "awaiting_replacement",
                  "in_intervention", doing=("撤销", "cancel"))
    not_due(ticket, at)
    refuse_cancel_after_advance(ticket, pv)  # DY-FAST-1: the buyer has the money already
    ticket.move("cancelled", "cancelled", at, actor.label)
    end(ticket, order, pv, at)


def _receipt(ticket: Ticket, pv: PolicyVersion) -> Span:
    return pv.return_refund.shop_confirms_receipt if ticket.type == "return_refund" else \
        pv.exchange.shop_confirms_receipt


def submit_waybill(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                   carrier: str | None, waybill: str | None) -> None:
    """The buyer has shipped the goods back; the shop's receipt clock (KS-RR-3) starts."""
    buyer_only(actor, ticket, "填写退货单号", "submit a return waybill")
    ticket.expect("awaiting_return", doing=("填写退货单号", "submit a waybill"))
    not_due(ticket, at)
    span = _receipt(ticket, pv)
    ticket.carrier, ticket.waybill = carrier, waybill
    ticket.move("awaiting_receipt", "waybill_submitted", at, actor.label, None,
                {"carrier": carrier, "waybill": waybill}, due=(at + span.delta, "auto_refund", span.rule))


def confirm_return(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    """The shop received the returned goods: refund (return & refund), or the replacement or
    repaired item is now owed within 72 h (exchange, repair: GEN-EX-1)."""
    staff_only(actor, ticket, "确认收货", "confirm the return")
    ticket.expect("awaiting_receipt", doing=("确认退货收货", "confirm the return"))
    not_due(ticket, at)
    if ticket.type in ("exchange", "repair"):
        span = pv.exchange.ship_replacement
        ticket.move("awaiting_replacement", "return_confirmed", at, actor.label, None,
                    due=(at + span.delta, "auto_refund", span.rule))
        return
    ticket.move("refunded", "return_confirmed", at, actor.label)
    refund(ticket, order, pv, at, actor.label, None)
    end(ticket, order, pv, at)


@dataclass(frozen=True)
class CaseOpening:
    """What a request for intervention hands the platform: why, from which state, by whom."""

    cause: str  # rejected | return_refused | stalled_exchange
    previous_status: str
    by: str  # buyer | shop
    actor: str
    reason: str | None


def refuse_return(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                  reason: str | None, evidence: list[str]) -> CaseOpening:
    """The shop refuses the returned parcel (wrong item, damaged by the buyer): a dispute for the
    platform (RULES §3, §6). No shop or buyer deadline runs while the platform handles it."""
    staff_only(actor, ticket, "拒绝退货", "refuse the return")
    ticket.expect("awaiting_receipt", doing=("拒绝退货", "refuse the return"))
    not_due(ticket, at)
    if not (reason and reason.strip()):
        raise refuse("invalid_input", "拒绝退货必须填写理由", "refusing a return needs a reason")
    ticket.move("in_intervention", "return_refused", at, actor.label, None,
                {"reason": reason, "evidence": list(evidence)})
    ticket.event("intervention_requested", at, actor.label, None, {"reason": reason, "by": "shop"},
                 frm="in_intervention", to="in_intervention")
    return CaseOpening("return_refused", "awaiting_receipt", "shop", actor.label, reason)


def request_intervention(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                         reason: str | None) -> CaseOpening:
    """Either side may ask the platform to step in after a rejection (KS-RR-4; on Douyin the buyer
    has 48 h, DY-RR-3) or on a stalled exchange, repair or reship (RULES §6)."""
    is_buyer = actor.is_buyer and actor.id == ticket.buyer_id
    is_staff = actor.is_staff and actor.shop_id == ticket.shop_id
    require(is_buyer or is_staff, "只有买家或店铺员工可以申请平台介入",
            "only the buyer or the shop's staff may ask for intervention")
    ticket.expect("rejected", "awaiting_replacement", "replacement_shipped", doing=("申请平台介入", "request intervention"))
    by = "buyer" if is_buyer else "shop"
    previous = ticket.status
    if ticket.status != "rejected":
        stalled = pv.intervention.stalled_exchange
        if not stalled.enabled:
            raise refuse("ineligible", "该规则包不支持换货中申请平台介入",
                         "this policy takes no intervention on a stalled exchange", stalled.rule)
        not_due(ticket, at)
        ticket.move("in_intervention", "intervention_requested", at, actor.label, stalled.rule,
                    {"reason": reason, "by": by, "cause": "stalled_exchange"})
        return CaseOpening("stalled_exchange", previous, by, actor.label, reason)
    allowed = pv.rejection.intervention_after_rejection
    if not allowed.enabled:
        raise refuse("ineligible", "该平台规则不支持拒绝后申请平台介入",
                     "this policy does not allow intervention after a rejection", allowed.rule)
    window = pv.rejection.intervention_window
    if is_buyer and window is not None and ticket.rejected_at is not None:
        until = ticket.rejected_at + window.delta
        if at >= until:
            raise refuse("ineligible", f"拒绝后 {window.show()} 内可申请平台介入,已于 {minutes(until)} 截止",
                         f"intervention could be asked within {window.show()} of the rejection, until {minutes(until)}",
                         window.rule)
    if order.last_ticket_id != ticket.id or order.open_ticket_id is not None:
        raise refuse("invalid_state", "买家已重新申请售后,原售后单不能再申请介入",
                     "a newer ticket exists on this order; the rejected one cannot go to intervention",
                     pv.apply.one_open_ticket.rule)
    order.reopen_hold(ticket.id, ticket.amount_fen, ticket.lines)
    ticket.move("in_intervention", "intervention_requested", at, actor.label, allowed.rule,
                {"reason": reason, "by": by, "cause": "rejected"})
    return CaseOpening("rejected", previous, by, actor.label, reason)
