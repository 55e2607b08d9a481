"""Freight claims (运费申请, GEN-FREIGHT-1): a ticket's claim, and the claims each actor may see (the
buyer's own, the shop's, or all of them for the platform), newest first."""

from __future__ import annotations

from typing import Any

from ...adapters import freight_table as ft
from ...adapters.uow import SqlUnitOfWork
from ...domain.actors import Actor
from ...domain.freight import DECIDERS, STATUSES, FreightClaim
from ...errors import not_found, refuse
from ...money import format_yuan
from ..access import load_ticket, scope
from .common import iso


def claim_view(x: FreightClaim) -> dict[str, Any]:
    due = None if x.due_at is None else {"at": iso(x.due_at), "action": "auto_approve", "rule": x.due_rule}
    return {"id": x.id, "ticket": x.ticket_id, "order": x.order_id, "shop": x.shop_id, "buyer": x.buyer_id,
            "amount": format_yuan(x.amount_fen), "receipt": x.receipt, "decides": x.decides, "status": x.status,
            "created_at": iso(x.created_at), "due": due, "decided_at": iso(x.decided_at), "decided_by": x.decided_by,
            "reason": x.reason, "payout": x.payout_id if x.status == "approved" else None}


def claim_of_ticket(uow: SqlUnitOfWork, ticket_id: str) -> dict[str, Any] | None:
    """The ticket's claim, for a ticket the caller has already been allowed to see."""
    found = uow.freight.find_by("ticket_id", ticket_id)
    return claim_view(found[0]) if found else None


def get_claim(uow: SqlUnitOfWork, actor: Actor, ticket_id: str) -> dict[str, Any]:
    ticket = load_ticket(uow, actor, ticket_id)
    view = claim_of_ticket(uow, ticket.id)
    if view is None:
        raise not_found("freight claim of ticket", ticket.id)
    return view


def list_claims(uow: SqlUnitOfWork, actor: Actor, status: str | None, decides: str | None, limit: int,
                offset: int) -> dict[str, Any]:
    """Claims the actor may see, newest first."""
    c = ft.freight_claims.c
    conds: list[Any] = scope(actor, c.shop_id, c.buyer_id)
    if status is not None:
        if status not in STATUSES:
            raise refuse("invalid_input", f"未知的状态 {status}", f"status must be one of {list(STATUSES)}")
        conds.append(c.status == status)
    if decides is not None:
        if decides not in DECIDERS:
            raise refuse("invalid_input", f"未知的处理方 {decides}", f"decides must be one of {list(DECIDERS)}")
        conds.append(c.decides == decides)
    rows = uow.freight.where(*conds, order_by=(c.created_at.desc(), c.id), limit=limit, offset=offset)
    return {"items": [claim_view(x) for x in rows], "total": uow.freight.count(*conds), "limit": limit,
            "offset": offset}
