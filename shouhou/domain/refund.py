"""`refund()` is the one place in shouhou where a refund happens; `end()` is what every terminal
state of a ticket (refunded, closed, cancelled, rejected, completed) does to its order."""

from __future__ import annotations

from datetime import datetime

from ..errors import refuse
from ..money import format_yuan
from ..policies import PolicyVersion
from .orders import Order
from .tickets import Ticket


def refund(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, actor: str, rule: str | None,
           funding: str | None = None) -> int:
    """The one place where a refund happens: the ticket's amount goes back to the buyer. `funding`
    "advance": the platform pays the buyer first and the shop's money covers it at once (KS-PI-4,
    KS-PI-6's 先行赔付 / 优先赔付); otherwise RULES §8's sources pay directly."""
    amount = ticket.amount_fen
    if ticket.refunded_fen:
        raise refuse("invalid_state", "该售后单已退款", "this ticket has been refunded already")
    order.release(ticket.id)
    ticket.refunded_fen = amount
    body = {"amount": format_yuan(amount)}
    if funding is not None:
        body["funding"] = funding
    ticket.event("refunded", at, actor, rule, body)
    order.record_refund(amount, at, actor, ticket.id, pv.apply.refundable.rule, pv.order.full_refund_closes.rule,
                        ticket.lines)
    return amount


def end(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime) -> None:
    """A ticket reached a terminal state: the order's held amount is freed and a waiting order
    deadline resumes."""
    order.release(ticket.id)
    order.resume(pv, at)
