"""After-sales tickets (RULES §2–§5): the buyer applies, the shop answers, the parcel goes back, the
replacement comes. Each handler locks the ticket, then its order, takes the pack version the ticket
keeps and lets the domain (domain.aftersales) decide; refunds and their money follow through the
reaction table."""

from __future__ import annotations

from ..adapters.uow import SqlUnitOfWork
from ..domain import aftersales, disputes, fast_lanes, governance
from ..domain.actors import Actor, require
from ..errors import present
from . import commands as c
from .access import buyer_of, case_of, load_order, load_ticket_and_order, shop_of
from .context import Context, Fired, new_id


def apply(cmd: c.Apply, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    require(actor.is_buyer, "只有买家可以申请售后", "only buyers apply for after-sales")
    order = load_order(uow, actor, cmd.order_id, lock=True)
    pv = ctx.policies.in_force(order.policy, ctx.now)
    shop = shop_of(uow, order.shop_id)
    ticket = aftersales.apply(new_id("T"), order, actor, pv, ctx.now, cmd.type, cmd.reason, cmd.amount_fen,
                              list(cmd.evidence), cmd.note, governance.refund_handling_off(shop, pv),
                              cmd.lines)
    # RULES §10: a good-standing buyer's application may take a fast lane at once (KS-FAST-1, KS-FAST-2)
    fast_lanes.on_application(ticket, order, buyer_of(uow, order.buyer_id), pv, ctx.now, shop.return_address)
    uow.tickets.add(ticket)
    return ticket.id


def cancel(cmd: c.Cancel, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    """The buyer withdraws the ticket; a platform intervention on it ends with it."""
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    pv = ctx.policies.kept_by(ticket)
    in_intervention = ticket.status == "in_intervention"
    aftersales.cancel(ticket, order, actor, pv, ctx.now)
    if in_intervention:
        disputes.withdraw(case_of(uow, ticket), ticket, pv, ctx.now)


def approve(cmd: c.Approve, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    aftersales.approve(ticket, order, actor, ctx.policies.kept_by(ticket), ctx.now, cmd.return_address,
                       shop_of(uow, ticket.shop_id).return_address)


def reject(cmd: c.Reject, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    aftersales.reject(ticket, order, actor, ctx.policies.kept_by(ticket), ctx.now, cmd.reason, list(cmd.evidence))


def submit_waybill(cmd: c.SubmitWaybill, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    pv = ctx.policies.kept_by(ticket)
    aftersales.submit_waybill(ticket, order, actor, pv, ctx.now, cmd.carrier, cmd.waybill)
    fast_lanes.on_waybill(ticket, order, buyer_of(uow, ticket.buyer_id), pv, ctx.now)  # DY-FAST-1


def confirm_return(cmd: c.ConfirmReturn, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    aftersales.confirm_return(ticket, order, actor, ctx.policies.kept_by(ticket), ctx.now)


def ship_replacement(cmd: c.ShipReplacement, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    aftersales.ship_replacement(ticket, order, actor, ctx.policies.kept_by(ticket), ctx.now, cmd.carrier,
                                cmd.waybill)


def sign_replacement(cmd: c.SignReplacement, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    aftersales.sign_replacement(ticket, order, actor, ctx.policies.kept_by(ticket), ctx.now)


def confirm_replacement(cmd: c.ConfirmReplacement, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    aftersales.confirm_replacement(ticket, order, actor, ctx.policies.kept_by(ticket), ctx.now)


def refund_instead(cmd: c.RefundInstead, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    """GEN-EX-2, also on a stalled exchange the platform has: the refund ends the case."""
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    pv = ctx.policies.kept_by(ticket)
    case = case_of(uow, ticket) if ticket.status == "in_intervention" else None
    aftersales.refund_instead(ticket, order, actor, pv, ctx.now,
                              case.previous_status if case is not None and case.is_open else None)
    if case is not None:
        disputes.withdraw(case, ticket, pv, ctx.now, "the shop refunded instead", pv.exchange.refund_instead.rule)


def fire_ticket_deadline(uow: SqlUnitOfWork, ctx: Context, ticket_id: str) -> Fired | None:
    """The worker: the ticket's automatic action fell due (auto-approval, auto-close, auto-refund…),
    fired at its own due time."""
    ticket = uow.tickets.get(ticket_id, lock=True)
    if ticket is None or ticket.due_at is None or not ticket.is_due(ctx.now):
        return None  # fired meanwhile by another worker
    order = present(uow.orders.get(ticket.order_id, lock=True), f"order {ticket.order_id}")
    aftersales.fire(ticket, order, ctx.policies.kept_by(ticket), ticket.due_at,
                    shop_of(uow, ticket.shop_id).return_address)
    return Fired.on(ticket, order)
