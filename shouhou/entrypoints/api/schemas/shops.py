"""Shops, their staff, buyers, and the caller as the API sees them (tokens: tokens.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from .common import Body, Yuan, aware, valid_yuan


class ShopIn(Body):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    policy: str = Field(examples=["kuaishou"], max_length=64)
    status: str = "normal"
    wallet: Yuan = "0.00"
    deposit: Yuan = "0.00"
    wallet_opened_at: datetime | None = None
    return_address: str | None = Field(default=None, max_length=2000)

    _m = field_validator("wallet", "deposit")(valid_yuan)
    _t = field_validator("wallet_opened_at")(aware)


class ShopStatusIn(Body):
    status: str = Field(examples=["suspended"], max_length=16)
    reason: str | None = Field(default=None, max_length=2000)


class StaffIn(Body):
    id: str = Field(min_length=1, max_length=64)
    role: str = Field(examples=["cs_agent"], max_length=16)
    name: str = Field(default="", max_length=200)


class BuyerIn(Body):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)


class ShopOut(BaseModel):
    id: str
    name: str
    policy: str
    status: str
    wallet: Yuan
    deposit: Yuan
    wallet_opened_at: str
    return_address: str | None
    waiting_tickets: int
    overdue_records: int


class MeOut(BaseModel):
    kind: str
    id: str
    shop: str | None
    role: str | None
