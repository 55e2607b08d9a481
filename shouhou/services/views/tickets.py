"""Orders and tickets: one ticket with its timeline, the work queue, an order and its record."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, false, func, select

from ...adapters import tables as t
from ...adapters.rows import Query
from ...adapters.uow import SqlUnitOfWork
from ...domain.actors import Actor
from ...domain.lines import OrderLine
from ...domain.orders import Order
from ...domain.tickets import STATUS_ZH, STATUSES, TICKET_TYPES, Ticket
from ...domain.who_acts import next_actions
from ...errors import refuse
from ...money import format_yuan
from ..access import load_order, load_ticket, scope
from .common import due, iso
from .freight import claim_of_ticket

OVER_PERIOD_LABEL = "超期售后"


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    """A ticket as the work queue lists it (the API's TicketSummary)."""
    return {
        "id": ticket.id, "order": ticket.order_id, "shop": ticket.shop_id, "buyer": ticket.buyer_id,
        "type": ticket.type, "status": ticket.status, "status_zh": STATUS_ZH.get(ticket.status, ticket.status),
        "reason": ticket.reason, "amount": format_yuan(ticket.amount_fen),
        "refunded": format_yuan(ticket.refunded_fen), "over_period": ticket.over_period,
        "advanced": format_yuan(ticket.advanced_fen),  # DY-FAST-1: what the platform paid ahead of the shop
        "labels": [OVER_PERIOD_LABEL] if ticket.over_period else [],
        "evidence": list(ticket.evidence), "note": ticket.note, "return_address": ticket.return_address,
        "carrier": ticket.carrier, "waybill": ticket.waybill, "reject_reason": ticket.reject_reason,
        "policy": ticket.policy, "policy_version": ticket.policy_version,
        "created_at": iso(ticket.created_at), "updated_at": iso(ticket.updated_at), "ended_at": iso(ticket.ended_at),
        "due": due(ticket), "lines": [c.as_json() for c in ticket.lines],
    }


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    """One ticket, with what each side may try next."""
    view = ticket_summary(ticket)
    view["next_actions"] = {side: list(next_actions(side, ticket)) for side in ("shop", "buyer")}
    return view


def line_view(line: OrderLine) -> dict[str, Any]:
    """GEN-APPLY-7: a line with what it has refunded and what it can still refund."""
    return {"sku": line.sku, "name": line.name, "qty": line.qty, "price": format_yuan(line.price_fen),
            "listed_price": format_yuan(line.listed_price_fen), "kind": line.kind,
            "refunded": format_yuan(line.refunded_fen), "held": format_yuan(line.held_fen),
            "refundable": format_yuan(line.refundable_fen), "qty_left": line.qty_left}


def order_view(order: Order, now: datetime) -> dict[str, Any]:
    return {
        "id": order.id, "shop": order.shop_id, "buyer": order.buyer_id, "status": order.status,
        "amount": format_yuan(order.amount_fen), "freight": format_yuan(order.freight_fen),
        "refunded": format_yuan(order.refunded_fen), "refundable": format_yuan(max(order.refundable_fen, 0)),
        "payment": order.payment, "kind": order.kind, "marketing": order.marketing, "goods": order.goods,
        "category": order.category, "no_reason_return": order.no_reason_return, "custom": order.custom,
        "commission": dict(order.commission), "policy": order.policy, "policy_version": order.policy_version,
        "created_at": iso(order.created_at), "shipped_at": iso(order.shipped_at), "signed_at": iso(order.signed_at),
        "confirmed_at": iso(order.confirmed_at), "completed_at": iso(order.completed_at),
        "closed_at": iso(order.closed_at), "open_ticket": order.open_ticket_id,
        "applications_in_period": order.applications_in_period,
        "entry": {"state": "open" if order.entry_open(now) else "closed", "closes_at": iso(order.entry_closes_at)},
        "due": due(order), "lines": [line_view(line) for line in order.lines],
    }


def event_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "at": iso(row["at"]), "type": row["type"], "actor": row["actor"], "rule": row["rule"],
        "from": row["from_status"], "to": row["to_status"], "ticket": row["ticket_id"], "order": row["order_id"],
        "shop": row["shop_id"], "payload": row["payload"],
    }


def get_ticket(uow: SqlUnitOfWork, actor: Actor, ticket_id: str) -> dict[str, Any]:
    ticket = load_ticket(uow, actor, ticket_id)
    view = ticket_view(ticket)
    view["timeline"] = [event_view(e) for e in uow.events_for(ticket_id=ticket.id)]
    view["freight_claim"] = claim_of_ticket(uow, ticket.id)  # GEN-FREIGHT-1
    return view


def ticket_events(uow: SqlUnitOfWork, actor: Actor, ticket_id: str) -> list[dict[str, Any]]:
    ticket = load_ticket(uow, actor, ticket_id)
    return [event_view(e) for e in uow.events_for(ticket_id=ticket.id)]


def get_order(uow: SqlUnitOfWork, actor: Actor, order_id: str, now: datetime) -> dict[str, Any]:
    return order_view(load_order(uow, actor, order_id), now)


def list_orders(uow: SqlUnitOfWork, actor: Actor, now: datetime, *, status: str | None = None, limit: int = 50,
                offset: int = 0) -> dict[str, Any]:
    """Orders the actor may see (a buyer's own, a shop's, all for the platform), newest first."""
    c = t.orders.c
    conds: list[Any] = scope(actor, c.shop_id, c.buyer_id)
    if status is not None:
        conds.append(c.status == status)
    total = uow.orders.count(*conds)
    rows = uow.orders.where(*conds, order_by=(c.created_at.desc(), c.id), limit=limit, offset=offset)
    return {"items": [order_view(o, now) for o in rows], "total": total, "limit": limit, "offset": offset}


def order_events(uow: SqlUnitOfWork, actor: Actor, order_id: str) -> list[dict[str, Any]]:
    """The order's operation record: its own events and its tickets'."""
    order = load_order(uow, actor, order_id)
    return [event_view(e) for e in uow.events_for(order_id=order.id)]


def list_tickets(
    uow: SqlUnitOfWork, actor: Actor, *, statuses: list[str] | None = None, type_: str | None = None,
    over_period: bool | None = None, shop: str | None = None, order: str | None = None,
    due_before: datetime | None = None, limit: int = 50, offset: int = 0, reason: str | None = None,
) -> dict[str, Any]:
    """The work queue: tickets the actor may see, soonest deadline first (no deadline last), then
    oldest first."""
    for s in statuses or []:
        if s not in STATUSES:
            raise refuse("invalid_input", f"未知的状态 {s}", f"unknown status {s!r}; one of {list(STATUSES)}")
    if type_ is not None and type_ not in TICKET_TYPES:
        raise refuse("invalid_input", f"未知的售后类型 {type_}", f"unknown type {type_!r}")
    seen = "all" if actor.is_platform else "shop" if actor.is_staff else "buyer" if actor.is_buyer else "none"
    params: dict[str, Any] = {"seen": actor.shop_id if seen == "shop" else actor.id, "limit": limit, "offset": offset,
                              "type": type_, "reason": reason, "shop": shop, "order": order, "due_before": due_before}
    params.update((f"status_{i}", s) for i, s in enumerate(statuses or []))
    count, page = queue_queries(seen, len(statuses or []), over_period, *(bool(params[k]) for k in FILTERS),
                                due_before is not None)
    filled = {k: v for k, v in params.items() if v is not None}
    total = int(count.scalar(uow.conn, **{k: v for k, v in filled.items() if k not in ("limit", "offset")}))
    rows = uow.tickets.select(page, **filled)
    return {"items": [ticket_summary(x) for x in rows], "total": total, "limit": limit, "offset": offset}


FILTERS = ("type", "reason", "shop", "order")  # the queue's filters by equality (an empty one filters nothing)


@functools.cache
def queue_queries(seen: str, statuses: int, over_period: bool | None, type_: bool, reason: bool, shop: bool,
                  order: bool, due_before: bool) -> tuple[Query, Query]:
    """The queue's count and page for one shape of request, compiled once (rows.Query): `seen` is
    what the actor may see (access.scope's rule: all, a shop's, a buyer's own, none), then which
    filters are given; their values are the parameters seen, status_0…, type, reason, shop, order,
    due_before, limit and offset."""
    c = t.tickets.c
    scoped: dict[str, list[Any]] = {"all": [], "shop": [c.shop_id == bindparam("seen")], "none": [false()],
                                    "buyer": [c.buyer_id == bindparam("seen")]}
    conds = scoped[seen]
    if statuses:
        conds.append(c.status.in_([bindparam(f"status_{i}") for i in range(statuses)]))
    conds += [c[column] == bindparam(name) for name, column, given in
              (("type", "type", type_), ("reason", "reason", reason), ("shop", "shop_id", shop),
               ("order", "order_id", order)) if given]
    if over_period is not None:
        conds.append(c.over_period.is_(over_period))
    if due_before:
        conds.append(and_(c.due_at.is_not(None), c.due_at <= bindparam("due_before")))
    count = select(func.count()).select_from(t.tickets).where(*conds)
    page = (select(t.tickets).where(*conds).order_by(c.due_at.is_(None), c.due_at, c.created_at, c.id)
            .limit(bindparam("limit")).offset(bindparam("offset")))
    return Query(count), Query(page)
