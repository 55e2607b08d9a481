"""The over-period entry (超售后期打开售后入口), buyers' requests to reopen it, and site messages."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from .common import Body, ErrorOut, Id, Note


class ConditionOut(BaseModel):
    name: str
    rule: str
    passed: bool
    figures: dict[str, Any]
    message_zh: str
    message_en: str


class EntryWindow(BaseModel):
    length: str
    rule: str


class EntryRoles(BaseModel):
    allowed: list[str] | None
    rule: str | None
    you_may_open: bool | None


class ReopenOut(BaseModel):
    id: str
    order: str
    shop: str
    buyer: str
    created_at: str
    note: str | None
    status: str
    answered_at: str | None
    answered_by: str | None
    answer_reason: str | None


class ReopenPage(BaseModel):
    items: list[ReopenOut]
    total: int
    limit: int
    offset: int


class EntryOut(BaseModel):
    order: str
    state: str
    opened_at: str | None
    closes_at: str | None
    openings: int
    window: EntryWindow
    eligible: bool
    conditions: list[ConditionOut]
    roles: EntryRoles
    pending_requests: list[ReopenOut]
    policy: str


class ReopenIn(Body):
    note: Note | None = Field(default=None, examples=["刚发现商品有质量问题,请开通售后"])


class DeclineIn(Body):
    reason: Note | None = Field(default=None, examples=["订单商品为定制品,不支持售后"])


class BulkOpenIn(Body):
    orders: Annotated[list[Id], Field(min_length=1, max_length=500)] = Field(examples=[["K1001", "K1002"]])


class BulkResult(BaseModel):
    order: str
    ok: bool
    closes_at: str | None = None
    error: ErrorOut | None = None


class BulkOpenOut(BaseModel):
    opened: int
    refused: int
    results: list[BulkResult]


class MessageOut(BaseModel):
    id: str
    order: str
    kind: str
    title_zh: str
    body_zh: str
    title_en: str
    body_en: str
    created_at: str
    read_at: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    total: int
    limit: int
    offset: int
