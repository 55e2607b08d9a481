"""Complaints (投诉工单): a buyer's complaint on an order, closed by the platform (KS-EXIT-1 waits)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from ....domain.complaints import STATUSES as COMPLAINT_STATUSES
from .common import Body, Note, OneOf


class ComplaintIn(Body):
    reason: Note = Field(examples=["商家已退店,售后无人处理"])


class CloseComplaintIn(Body):
    answer: Note | None = Field(default=None, examples=["已联系商家并为买家退款"])


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
