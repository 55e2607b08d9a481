"""Orders: import, shipping, and the order as the API shows it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from .common import Body, Due, Yuan, aware, valid_yuan


class OrderIn(Body):
    id: str | None = Field(default=None, max_length=64)
    shop: str = Field(max_length=64)
    buyer: str = Field(max_length=64)
    amount: Yuan = Field(examples=["99.00"])
    freight: Yuan = "0.00"
    payment: str = Field(default="online", max_length=16)
    kind: str = Field(default="normal", max_length=16)
    marketing: bool = False
    goods: str = Field(default="physical", max_length=16)
    category: str = Field(default="general", max_length=64)
    no_reason_return: bool = True
    commission: dict[str, str] = Field(default_factory=dict, examples=[{"creator": "0.10", "tech_fee": "0.05"}])
    created_at: datetime | None = None
    shipped_at: datetime | None = None
    signed_at: datetime | None = None
    confirmed_at: datetime | None = None

    _m = field_validator("amount", "freight")(valid_yuan)
    _t = field_validator("created_at", "shipped_at", "signed_at", "confirmed_at")(aware)


class ShipIn(Body):
    carrier: str | None = Field(default=None, max_length=64)
    waybill: str | None = Field(default=None, max_length=64)


class Entry(BaseModel):
    state: str
    closes_at: str | None


class OrderOut(BaseModel):
    id: str
    shop: str
    buyer: str
    status: str
    amount: Yuan
    freight: Yuan
    refunded: Yuan
    refundable: Yuan
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
