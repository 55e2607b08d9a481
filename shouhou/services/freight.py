"""Freight claims (运费申请, GEN-FREIGHT-1): the buyer claims a return's freight, the shop (or, under
the KS-GOV-3 measure freight_by_platform, the platform) decides, or the worker approves the claim
when the pack's 48 h run out. The domain (domain.freight) decides; approval records
`freight_refunded` on the ticket, and the reaction table makes the shop pay the buyer
(money.shop_pays_buyer).

Locks: a decision and the worker both lock the claim before the ticket (the worker's sweep claims
the claim's row first), so the two wait for each other instead of deadlocking."""

from __future__ import annotations

from ..adapters import freight_table as ft
from ..adapters.uow import SqlUnitOfWork
from ..domain import freight
from ..domain.actors import Actor, require
from ..domain.tickets import Ticket
from ..errors import not_found, present
from ..policies import PolicyVersion
from . import commands as c
from .access import load_ticket, shop_of
from .context import Context, Fired, new_id


def claim_freight(cmd: c.ClaimFreight, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    require(actor.is_buyer, "只有买家可以申请运费", "only buyers claim freight", freight.RULE)
    ticket = load_ticket(uow, actor, cmd.ticket_id, lock=True)
    pv = ctx.policies.kept_by(ticket)
    shop = shop_of(uow, ticket.shop_id)
    made = freight.claim(new_id("F"), ticket, actor, pv.freight, ctx.now, cmd.amount_fen, cmd.receipt,
                         returned(uow, ticket), ruled_fault(uow, ticket), claim_of(uow, ticket.id),
                         shop.freight_claims_by_platform, measure_rule(pv))
    uow.freight.add(made)
    return made.id


def decide_freight(cmd: c.DecideFreight, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    ticket = load_ticket(uow, actor, cmd.ticket_id)
    made = claim_of(uow, ticket.id, lock=True)
    if made is None:
        raise not_found("freight claim of ticket", ticket.id)
    uow.tickets.lock([ticket.id])
    pv = ctx.policies.kept_by(ticket)
    freight.decide(made, ticket, actor, ctx.now, cmd.approve, cmd.reason,
                   shop_of(uow, ticket.shop_id).freight_claims_by_platform, measure_rule(pv))
    return made.id


def fire_freight_deadline(uow: SqlUnitOfWork, ctx: Context, claim_id: str) -> Fired | None:
    """The worker: nobody decided the claim in time; it is approved at its own due time."""
    made = uow.freight.get(claim_id, lock=True)
    if made is None or not made.is_due(ctx.now):
        return None  # decided, or fired meanwhile by another worker
    ticket = present(uow.tickets.get(made.ticket_id, lock=True), f"ticket {made.ticket_id} of claim {made.id}")
    freight.fire(made, ticket)
    return Fired()


def claim_of(uow: SqlUnitOfWork, ticket_id: str, lock: bool = False) -> freight.FreightClaim | None:
    """The ticket's freight claim (one at most)."""
    found = uow.freight.where(ft.freight_claims.c.ticket_id == ticket_id, lock=lock)
    return found[0] if found else None


def returned(uow: SqlUnitOfWork, ticket: Ticket) -> bool:
    """The buyer sent the goods back: a return waybill was submitted on the ticket."""
    return any(e["type"] == "waybill_submitted" for e in uow.events_for(ticket_id=ticket.id))


def ruled_fault(uow: SqlUnitOfWork, ticket: Ticket) -> str | None:
    """The fault a platform ruling on the ticket names (after any upheld appeal), if it ruled."""
    case = uow.interventions.get(ticket.intervention_id) if ticket.intervention_id else None
    return case.effective_fault if case is not None and case.status == "ruled" else None


def measure_rule(pv: PolicyVersion) -> str:
    """The rule of the measure that hands freight claims to the platform (KS-GOV-3)."""
    m = pv.governance.freight_by_platform
    return m.rule if m is not None else freight.MEASURE_RULE
