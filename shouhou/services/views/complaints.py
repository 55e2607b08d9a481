"""Complaints (投诉工单): one complaint, and the list each actor may see (the buyer's own, the shop's,
or all of them for the platform)."""

from __future__ import annotations

from typing import Any

from ...adapters import complaints_table as ct
from ...adapters.uow import SqlUnitOfWork
from ...domain.actors import Actor
from ...domain.complaints import STATUSES, Complaint
from ...errors import refuse
from ..access import load_complaint, scope
from .common import iso


def complaint_view(x: Complaint) -> dict[str, Any]:
    return {"id": x.id, "order": x.order_id, "shop": x.shop_id, "buyer": x.buyer_id, "reason": x.reason,
            "status": x.status, "created_at": iso(x.created_at), "closed_at": iso(x.closed_at),
            "closed_by": x.closed_by, "answer": x.answer}


def get_complaint(uow: SqlUnitOfWork, actor: Actor, complaint_id: str) -> dict[str, Any]:
    return complaint_view(load_complaint(uow, actor, complaint_id))


def list_complaints(uow: SqlUnitOfWork, actor: Actor, status: str | None, limit: int,
                    offset: int) -> dict[str, Any]:
    """Complaints the actor may see, oldest first."""
    c = ct.complaints.c
    conds: list[Any] = scope(actor, c.shop_id, c.buyer_id)
    if status is not None:
        if status not in STATUSES:
            raise refuse("invalid_input", f"未知的状态 {status}", "status must be open or closed")
        conds.append(c.status == status)
    rows = uow.complaints.where(*conds, order_by=(c.created_at, c.id), limit=limit, offset=offset)
    return {"items": [complaint_view(x) for x in rows], "total": uow.complaints.count(*conds),
            "limit": limit, "offset": offset}
