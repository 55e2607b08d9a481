"""Shops, their staff, buyers, and the caller as the API sees them (tokens: tokens.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from ....domain.actors import SHOP_ROLES
from ....domain.shops import SHOP_STATUSES, STANDINGS
from .common import ACTOR_KINDS, ROLES, Body, Id, Line, Note, OneOf, Text, When, Word, Yuan, YuanText


class ShopIn(Body):
    id: Id = Field(examples=["S1"])
    name: Line = ""
    policy: Word = Field(examples=["kuaishou"])
    status: Annotated[Word, OneOf(SHOP_STATUSES)] = "normal"
    wallet: Yuan = Field(default="0.00", validate_default=True)
    deposit: Yuan = Field(default="0.00", validate_default=True)
    wallet_opened_at: When | None = Field(default=None, examples=["2026-01-01T00:00:00+08:00"])
    return_address: Note | None = Field(default=None, examples=["浙江省杭州市西湖区退货仓 1 号"])



class ShopStatusIn(Body):
    status: Annotated[Word, OneOf(SHOP_STATUSES)] = Field(examples=["suspended"])
    reason: Note | None = Field(default=None, examples=["商家主动退店"])


class StaffIn(Body):
    id: Id = Field(examples=["U1001"])
    role: Annotated[str, Text(16), OneOf(SHOP_ROLES)] = Field(examples=["cs_agent"])
    name: Line = ""


class StaffOut(BaseModel):
    id: str = Field(examples=["AG1"])
    shop: str = Field(examples=["S1"])
    role: Annotated[str, OneOf(SHOP_ROLES)] = Field(examples=["cs_agent"])


class BuyerIn(Body):
    id: Id = Field(examples=["B1001"])
    name: Line = ""
    standing: Annotated[Word, OneOf(STANDINGS)] = "normal"  # RULES §10
    member: bool = False  # DY-FAST-1: a top member


class BuyerStandingIn(Body):
    """What platform staff change about a buyer; at least one of standing and member."""

    standing: Annotated[Word, OneOf(STANDINGS)] | None = Field(default=None, examples=["good"])
    member: bool | None = None
    reason: Note | None = Field(default=None, examples=["近 90 天无异常售后"])


class BuyerOut(BaseModel):
    id: str
    name: str
    standing: Annotated[str, OneOf(STANDINGS)]
    member: bool


class ShopOut(BaseModel):
    id: str
    name: str
    policy: str
    status: Annotated[str, OneOf(SHOP_STATUSES)]
    wallet: YuanText
    deposit: YuanText
    wallet_opened_at: str
    return_address: str | None
    waiting_tickets: int
    overdue_records: int
    delayed_shipments: int = Field(description="KS-GOV-5 delayed-shipment records, counted like overdue ones")
    open_retrievals: int = Field(description="KS-PI-6: goods the shop must still collect from buyers")


class MeOut(BaseModel):
    kind: Annotated[str, OneOf(ACTOR_KINDS)]
    id: str
    shop: str | None
    role: Annotated[str, OneOf(ROLES)] | None
