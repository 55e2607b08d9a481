"""Shop automation rules (GEN-AUTO-1, 售后小助手): what a shop saves and reads back."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from ....domain import automation as a
from ....domain.tickets import TICKET_TYPES
from ....policies import REASONS
from .common import Body, Id, Line, OneOf, Word, Yuan, YuanText


class WhenIn(Body):
    """Every condition given must hold; none given: the rule acts on every ticket it may."""

    types: list[Annotated[str, Word, OneOf(TICKET_TYPES)]] | None = Field(None, max_length=8)
    reasons: list[Annotated[str, Word, OneOf(REASONS)]] | None = Field(None, max_length=16)
    max_amount: Yuan | None = None
    order_state: Annotated[str, Word, OneOf(a.ORDER_STATES)] | None = None
    categories: list[Line] | None = Field(None, max_length=50)
    buyer_standing: Annotated[str, Word, OneOf(a.STANDINGS)] | None = None


class RuleIn(Body):
    id: Id
    action: Annotated[str, Word, OneOf(a.ACTIONS)] = Field(description="approve | confirm_receipt; never reject")
    when: WhenIn = Field(default_factory=WhenIn)


class AutomationIn(Body):
    rules: list[RuleIn] = Field(max_length=a.MAX_RULES, description="replaces the shop's rules")


class WhenOut(BaseModel):
    types: list[str] | None = None
    reasons: list[str] | None = None
    max_amount: YuanText | None = None
    order_state: str | None = None
    categories: list[str] | None = None
    buyer_standing: str | None = None


class RuleOut(BaseModel):
    id: str
    action: str
    when: WhenOut


class AutomationOut(BaseModel):
    shop: str
    rule: str = Field(examples=["GEN-AUTO-1"])
    rules: list[RuleOut]
    updated_at: str | None
    updated_by: str | None
