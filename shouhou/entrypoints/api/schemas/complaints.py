"""Complaints (投诉工单): a buyer's complaint on an order, closed by the platform (KS-EXIT-1 waits)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel

from ....domain.complaints import STATUSES as COMPLAINT_STATUSES
from .common import Body, Note, OneOf


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
    status: Annotated[str, OneOf(COMPLAINT_STATUSES)]
    created_at: str
    closed_at: str | None
    closed_by: str | None
    answer: str | None


class ComplaintPage(BaseModel):
    items: list[ComplaintOut]
    total: int
    limit: int
    offset: int
