"""Complaints (投诉工单): a buyer's complaint on an order, closed by the platform (KS-EXIT-1 waits)."""

from __future__ import annotations

from pydantic import BaseModel

from .common import Body, Note


class ComplaintIn(Body):
    reason: Note


class CloseComplaintIn(Body):
    answer: Note | None = None


class ComplaintOut(BaseModel):
    id: str
    order: str
    shop: str
    buyer: str
    reason: str
    status: str
    created_at: str
    closed_at: str | None
    closed_by: str | None
    answer: str | None


class ComplaintPage(BaseModel):
    items: list[ComplaintOut]
    total: int
    limit: int
    offset: int
