"""Orders: import, shipping, and the order as the API shows it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from ....domain.lines import LINE_KINDS
from ....domain.orders import GOODS, KINDS, ORDER_STATUSES, PAYMENTS
from .common import Body, Due, Id, Line, OneOf, Text, When, Word, Yuan, YuanText


class LineIn(Body):
    """One order line (GEN-APPLY-7): the lines' prices times quantities plus freight equal the amount."""

    sku: Id
    name: Line
    qty: int = Field(default=1, ge=1, le=1_000_000)
    price: Yuan = Field(examples=["99.00"])  # unit price paid
    listed_price: Yuan | None = None  # defaults to the price
    kind: Annotated[Word, OneOf(LINE_KINDS)] = "goods"


class LineOut(BaseModel):
    sku: str
    name: str
    qty: int
    price: YuanText
    listed_price: YuanText
    kind: Annotated[str, OneOf(LINE_KINDS)]
    refunded: YuanText
    held: YuanText
    refundable: YuanText
    qty_left: int


class OrderIn(Body):
    id: Id | None = Field(default=None, examples=["K1001"])
    shop: Id = Field(examples=["S1"])
    buyer: Id = Field(examples=["B1001"])
    amount: Yuan = Field(examples=["99.00"])
    freight: Yuan = Field(default="0.00", validate_default=True)
    payment: Annotated[str, Text(16), OneOf(PAYMENTS)] = "online"
    kind: Annotated[str, Text(16), OneOf(KINDS)] = "normal"
    marketing: bool = False
    goods: Annotated[str, Text(16), OneOf(GOODS)] = "physical"
    category: Annotated[str, Text(64)] = "general"
    no_reason_return: bool = True
    custom: bool = False  # made to order (定制): never in a fast lane (RULES §10)
    commission: Annotated[dict[Word, Word], Field(max_length=20)] = Field(default_factory=dict, examples=[{"creator": "0.10", "tech_fee": "0.05"}])
    created_at: When | None = Field(default=None, examples=["2026-03-01T10:00:00+08:00"])
    shipped_at: When | None = Field(default=None, examples=["2026-03-02T09:00:00+08:00"])
    signed_at: When | None = Field(default=None, examples=["2026-03-04T15:30:00+08:00"])
    confirmed_at: When | None = Field(default=None, examples=["2026-03-05T12:00:00+08:00"])
    lines: Annotated[list[LineIn], Field(max_length=200)] | None = None  # none: one line, qty 1



class ShipIn(Body):
    carrier: Annotated[str, Text(64)] | None = Field(default=None, examples=["SF"])
    waybill: Annotated[str, Text(64)] | None = Field(default=None, examples=["SF1234567890"])


class Entry(BaseModel):
    state: str
    closes_at: str | None


class OrderOut(BaseModel):
    id: str
    shop: str
    buyer: str
    status: Annotated[str, OneOf(ORDER_STATUSES)]
    amount: YuanText
    freight: YuanText
    refunded: YuanText
    refundable: YuanText
    payment: Annotated[str, OneOf(PAYMENTS)]
    kind: Annotated[str, OneOf(KINDS)]
    marketing: bool
    goods: Annotated[str, OneOf(GOODS)]
    category: str
    no_reason_return: bool
    custom: bool
    commission: dict[str, str]
    policy: str
    policy_version: str
    created_at: str
    shipped_at: str | None
    signed_at: str | None
    confirmed_at: str | None
    completed_at: str | None
    closed_at: str | None
    open_ticket: str | None
    applications_in_period: int
    entry: Entry
    due: Due | None
    lines: list[LineOut]
