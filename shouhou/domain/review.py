"""The shop's review (RULES §3–5, `pending_review`: the shop approves or rejects) and where an
approval leads, whoever gave it: the shop, or the review deadline (timeouts.fire)."""

from __future__ import annotations

from datetime import datetime

from ..errors import refuse
from ..policies import PolicyVersion, Span
from .actors import Actor
from .orders import Order
from .refund import end, refund
from .tickets import Ticket
from .who_acts import not_due, staff_only


def review_span(ticket: Ticket, pv: PolicyVersion) -> Span:
    """How long the shop has to review a new ticket (KS-RO-1 / DY-RO-1, KS-RR-1, GEN-EX-1, GEN-EX-3)."""
    if ticket.type == "refund_only":
        ro = pv.refund_only
        return ro.review_after_shipment if ticket.shipped_when_applied else ro.review_before_shipment
    if ticket.type in ("exchange", "repair"):
        return pv.exchange.review
    if ticket.type == "reship":
        return pv.exchange.reship_review
    return pv.return_refund.review


def ships_back(ticket: Ticket, pv: PolicyVersion) -> Span:
    """How long the buyer has to send the goods back once approved (KS-RR-2 / DY-RR-2, GEN-EX-1)."""
    return pv.return_refund.buyer_ships if ticket.type == "return_refund" else pv.exchange.buyer_ships


def approve(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
            return_address: str | None, default_address: str | None) -> None:
    """The shop agrees. Refund only: refunded at once. Return & refund: the buyer gets the return
    address and KS-RR-2's clock starts. DY-RR-1: a Douyin shop may approve a ticket it rejected
    while the buyer has not re-applied."""
    staff_only(actor, ticket, "同意售后", "approve a ticket")
    if ticket.status == "rejected":
        flag = pv.rejection.shop_may_reprocess
        if not flag.enabled:
            raise refuse("invalid_state", "已拒绝的售后单不能再处理", "a rejected ticket cannot be re-processed",
                         flag.rule)
        if order.last_ticket_id != ticket.id or order.open_ticket_id is not None:
            raise refuse("invalid_state", "买家已重新申请,不能再处理原售后单",
                         "the buyer has applied again; the rejected ticket can no longer be re-processed",
                         flag.rule)
        if order.refundable_fen < ticket.amount_fen:
            raise refuse("ineligible", "可退金额已不足", "the refundable amount no longer covers this ticket",
                         pv.apply.refundable.rule)
        order.reopen_hold(ticket.id, ticket.amount_fen, ticket.lines)
        rule: str | None = flag.rule
    else:
        ticket.expect("pending_review", doing=("同意", "approve"))
        not_due(ticket, at)
        rule = None
    approved(ticket, order, pv, at, actor.label, "approved", rule, return_address or default_address,
             require_address=True)


def approved(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, actor: str, type_: str,
             rule: str | None, address: str | None, require_address: bool) -> None:
    """Where an approval leads: refund only is refunded at once; reship waits for the shop to ship
    (GEN-EX-3); the others wait for the buyer to send the goods back to `address`."""
    if ticket.type == "refund_only":
        ticket.move("refunded", type_, at, actor, rule)
        refund(ticket, order, pv, at, actor, rule)
        end(ticket, order, pv, at)
        return
    if ticket.type == "reship":
        span = pv.exchange.reship_ship  # GEN-EX-3: the shop ships the missing goods again
        ticket.move("awaiting_replacement", type_, at, actor, rule, due=(at + span.delta, "auto_refund", span.rule))
        return
    if address is None and require_address:
        raise refuse("invalid_input", "请填写退货地址(店铺未设置默认退货地址)",
                     "return_address is required: the shop has no default return address")
    if address is None:
        # The review ran out (KS-RR-1, GEN-EX-1) and the shop never gave a return address: the buyer
        # has nowhere to send the goods, and the lapse is the shop's. Refunded at once; the goods stay.
        ticket.move("refunded", type_, at, actor, rule,
                    {"return_address": None, "without_return": True,
                     "why_zh": "店铺未设置退货地址,自动同意后直接退款", "why_en": "the shop has no return address: "
                     "refunded at once on approval, the goods stay with the buyer"})
        refund(ticket, order, pv, at, actor, rule)
        end(ticket, order, pv, at)
        return
    span = ships_back(ticket, pv)
    ticket.return_address = address
    ticket.move("awaiting_return", type_, at, actor, rule, {"return_address": address},
                due=(at + span.delta, "auto_close", span.rule))


def reject(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
           reason: str | None, evidence: list[str]) -> None:
    """KS-RR-4: rejecting needs a reason; the buyer may then re-apply or ask for intervention."""
    staff_only(actor, ticket, "拒绝售后", "reject a ticket")
    ticket.expect("pending_review", doing=("拒绝", "reject"))
    not_due(ticket, at)
    flag = pv.rejection.reason_required
    if flag.enabled and not (reason and reason.strip()):
        raise refuse("invalid_input", "拒绝售后必须填写理由", "a rejection needs a reason", flag.rule)
    ticket.reject_reason = reason
    ticket.rejected_at = at
    payload: dict[str, object] = {"reason": reason, "evidence": list(evidence)}
    window = pv.rejection.intervention_window
    if window is not None:
        payload["intervention_until"] = (at + window.delta).isoformat()
    ticket.move("rejected", "rejected", at, actor.label, flag.rule, payload)
    end(ticket, order, pv, at)
