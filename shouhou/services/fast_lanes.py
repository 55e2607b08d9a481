"""The money of DY-FAST-1 (RULES §10), as reactions: the platform advances a fast refund to the
buyer at once, and gets it back when the ticket ends.

- `fast_refund` with an advance -> the platform's advance account pays the buyer: one payout, the
  ticket's own (its id is the ticket's, as any refund's), so the buyer is paid once whatever follows.
- the ticket is refunded later (the shop confirms receipt, the auto-refund, a ruling for the buyer):
  money.fund_refund takes the refund from the order funds (escrow; after settlement wallet ->
  deposit -> debt) back into the advance instead of paying the buyer again. What the refund leaves
  of the advance (a ruling for less than the ticket) is the buyer's to give back (below).
- the ticket ends without a refund (a refused parcel ruled for the merchant, a ruled return the
  buyer never sent back): the advance is recovered from the buyer, `receivable:{buyer}`, when the
  buyer was at fault (or nobody was ruled: KS-RR-2's auto-close), else the platform writes it off
  (the ruling put the fault on the platform, a creator or the shop while closing the ticket).
"""

from __future__ import annotations

from ..adapters.uow import SqlUnitOfWork
from ..domain import ledger as L
from ..domain.events import Event
from ..domain.tickets import TERMINAL, Ticket
from ..errors import present
from ..money import format_yuan
from .books import Books
from .context import Context

BUYER_FAULTS = ("buyer", "both")


def advance(uow: SqlUnitOfWork, ctx: Context, e: Event) -> None:
    """Reaction on `fast_refund`: when the platform advances the refund (DY-FAST-1), it pays the buyer
    now. KS-FAST-1's fast refund is an ordinary refund (its `refunded` event pays)."""
    if e.ticket_id is None or "advanced" not in e.payload:
        return
    ticket = present(uow.tickets.get(e.ticket_id, lock=True), f"ticket {e.ticket_id}")
    amount = ticket.advanced_fen
    if amount <= 0 or uow.payouts.get(ticket.id) is not None:
        return  # one payout per ticket
    common = {"shop_id": ticket.shop_id, "order_id": ticket.order_id, "ticket_id": ticket.id}
    Books(uow).post(L.entry("fast_refund", e.at, [(L.ADVANCE, -amount), (L.payable(ticket.buyer_id), amount)],
                            rule=e.rule, memo={"by": "platform"}, **common))
    uow.payouts.add(L.Payout(id=ticket.id, ticket_id=ticket.id, order_id=ticket.order_id, shop_id=ticket.shop_id,
                             buyer_id=ticket.buyer_id, amount_fen=amount, created_at=e.at, due_at=e.at, rule=e.rule))


def recover_rest(uow: SqlUnitOfWork, ctx: Context, e: Event) -> None:
    """Reaction on `refunded`: a ruling refunded less than the platform advanced; the buyer owes the
    difference (fund_refund recovered the refund itself from the order funds)."""
    ticket = _advanced(uow, e)
    if ticket is not None and ticket.refunded_fen:
        _from_buyer(uow, ctx, ticket, e, ticket.advanced_fen - ticket.refunded_fen)


def recover_unrefunded(uow: SqlUnitOfWork, ctx: Context, e: Event) -> None:
    """Reaction on `ruled` and `auto_closed`: the ticket ended without a refund, the buyer keeps the
    advance unless recovered: from the buyer at fault, else written off by the platform."""
    ticket = _advanced(uow, e)
    if ticket is None or ticket.refunded_fen or ticket.status not in TERMINAL or e.to_status != ticket.status:
        return
    fault = e.payload.get("fault") if e.type == "ruled" else None
    if e.type == "ruled" and fault not in BUYER_FAULTS:
        ticket.event("fast_refund_written_off", e.at, "system", _lane(ctx, ticket),
                     {"amount": format_yuan(ticket.advanced_fen), "from": "platform", "fault": fault})
        return
    _from_buyer(uow, ctx, ticket, e, ticket.advanced_fen)


def _advanced(uow: SqlUnitOfWork, e: Event) -> Ticket | None:
    if e.ticket_id is None:
        return None
    ticket = uow.tickets.get(e.ticket_id, lock=True)
    return ticket if ticket is not None and ticket.advanced_fen > 0 else None


def _lane(ctx: Context, ticket: Ticket) -> str | None:
    pv = ctx.policies.kept_by(ticket)
    return pv.fast_lanes.advance_rule if pv.fast_lanes is not None else None


def _from_buyer(uow: SqlUnitOfWork, ctx: Context, ticket: Ticket, e: Event, amount: int) -> None:
    if amount <= 0:
        return
    rule = _lane(ctx, ticket)
    Books(uow).post(L.entry("fast_refund_recovery", e.at, [(L.receivable(ticket.buyer_id), -amount),
                                                           (L.ADVANCE, amount)],
                            shop_id=ticket.shop_id, order_id=ticket.order_id, ticket_id=ticket.id, rule=rule,
                            memo={"from": "buyer", "cause": e.type}))
    ticket.event("fast_refund_recovered", e.at, "system", rule,
                 {"amount": format_yuan(amount), "from": "buyer", "cause": e.type,
                  "receivable": format_yuan(-uow.balance(L.receivable(ticket.buyer_id)))})
