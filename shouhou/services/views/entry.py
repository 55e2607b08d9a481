"""The over-period entry: its state and every condition with the rule and figures, buyers' requests
to open it, and the buyer's site messages (站内信)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...adapters import tables as t
from ...adapters.uow import SqlUnitOfWork
from ...domain import entry
from ...domain.actors import Actor
from ...domain.entry import ReopenRequest, SiteMessage
from ...errors import refuse
from ...policies import PolicyRegistry
from ..access import load_order, load_reopen_request, scope, shop_of
from .common import iso


def entry_view(uow: SqlUnitOfWork, actor: Actor, order_id: str, policies: PolicyRegistry,
               now: datetime) -> dict[str, Any]:
    """The order's over-period entry: its state, and every condition of opening it with the rule, the
    figures and an explanation, so the workbench can show why before anyone clicks."""
    order = load_order(uow, actor, order_id)
    shop = shop_of(uow, order.shop_id)
    pv = policies.in_force(order.policy, now)
    conds = entry.conditions(order, shop, pv, now)
    is_open = order.entry_open(now)
    roles = pv.entry.roles
    may_open = None
    if actor.is_staff:
        may_open = roles is None or actor.role in roles.value
    pending = uow.reopen_requests.where(t.reopen_requests.c.order_id == order.id,
                                        t.reopen_requests.c.status == "pending")
    return {
        "order": order.id, "state": "open" if is_open else "closed",
        "opened_at": iso(order.entry_opened_at) if is_open else None,
        "closes_at": iso(order.entry_closes_at) if is_open else None,
        "openings": order.entry_openings,
        "window": {"length": pv.entry.window.show(), "rule": pv.entry.window.rule},
        "eligible": not is_open and all(x.passed for x in conds),
        "conditions": [x.as_dict() for x in conds],
        "roles": {"allowed": roles.value if roles else None, "rule": roles.rule if roles else None,
                  "you_may_open": may_open},
        "pending_requests": [reopen_view(r) for r in pending],
        "policy": f"{order.policy}@{pv.version}",
    }


def reopen_view(req: ReopenRequest) -> dict[str, Any]:
    return {"id": req.id, "order": req.order_id, "shop": req.shop_id, "buyer": req.buyer_id,
            "created_at": iso(req.created_at), "note": req.note, "status": req.status,
            "answered_at": iso(req.answered_at), "answered_by": req.answered_by, "answer_reason": req.answer_reason}


def get_reopen_request(uow: SqlUnitOfWork, actor: Actor, request_id: str) -> dict[str, Any]:
    return reopen_view(load_reopen_request(uow, actor, request_id))


def list_reopen_requests(uow: SqlUnitOfWork, actor: Actor, status: str | None, limit: int,
                         offset: int) -> dict[str, Any]:
    """Buyers' requests to open the entry again: the shop's queue, oldest first."""
    c = t.reopen_requests.c
    conds: list[Any] = scope(actor, c.shop_id, c.buyer_id)
    if status is not None:
        if status not in ("pending", "opened", "declined"):
            raise refuse("invalid_input", f"未知的状态 {status}", "status must be pending, opened or declined")
        conds.append(c.status == status)
    rows = uow.reopen_requests.where(*conds, order_by=(c.created_at, c.id), limit=limit, offset=offset)
    return {"items": [reopen_view(r) for r in rows], "total": uow.reopen_requests.count(*conds),
            "limit": limit, "offset": offset}


def message_view(m: SiteMessage) -> dict[str, Any]:
    return {"id": m.id, "order": m.order_id, "kind": m.kind, "title_zh": m.title_zh, "body_zh": m.body_zh,
            "title_en": m.title_en, "body_en": m.body_en, "created_at": iso(m.created_at), "read_at": iso(m.read_at)}


def list_messages(uow: SqlUnitOfWork, actor: Actor, limit: int, offset: int) -> dict[str, Any]:
    """站内信: a buyer's site messages, newest first."""
    if not actor.is_buyer:
        raise refuse("forbidden", "站内信仅对买家开放", "site messages are the buyer's")
    c = t.site_messages.c
    rows = uow.messages.where(c.buyer_id == actor.id, order_by=(c.created_at.desc(), c.id), limit=limit,
                              offset=offset)
    return {"items": [message_view(m) for m in rows], "total": uow.messages.count(c.buyer_id == actor.id),
            "limit": limit, "offset": offset}
