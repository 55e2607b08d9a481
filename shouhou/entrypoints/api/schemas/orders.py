"""Orders: import, shipping, and the order as the API shows it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from ....domain.orders import GOODS, KINDS, PAYMENTS
from .common import Body, Due, Id, OneOf, Text, When, Word, Yuan, YuanText


class OrderIn(Body):
    id: Id | None = None
    shop: Id
    buyer: Id
    amount: Yuan = Field(examples=["99.00"])
    freight: Yuan = Field(default="0.00", validate_default=True)
    payment: Annotated[str, Text(16), OneOf(PAYMENTS)] = "online"
    kind: Annotated[str, Text(16), OneOf(KINDS)] = "normal"
    marketing: bool = False
    goods: Annotated[str, Text(16), OneOf(GOODS)] = "physical"
    category: Annotated[str, Text(64)] = "general"
    no_reason_return: bool = True
    commission: Annotated[dict[Word, Word], Field(max_length=20)] = Field(default_factory=dict, examples=[{"creator": "0.10", "tech_fee": "0.05"}])
    created_at: When | None = None
    shipped_at: When | None = None
    signed_at: When | None = None
    confirmed_at: When | None = None



class ShipIn(Body):
    carrier: Annotated[str, Text(64)] | None = None
    waybill: Annotated[str, Text(64)] | None = None


class Entry(BaseModel):
    state: str
    closes_at: str | None


class OrderOut(BaseModel):
    id: str
    shop: str
    buyer: str
    status: str
    amount: YuanText
    freight: YuanText
    refunded: YuanText
    refundable: YuanText
    payment: str
    kind: str
    marketing: bool
    goods: str
    category: str
    no_reason_return: bool
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
