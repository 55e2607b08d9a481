"""Money (RULES §8, KS-EXIT-1): balances, the statement, top-ups, the exit check and withdrawal."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from .common import Body, OneOf, Word, Yuan, YuanText


class BalancesOut(BaseModel):
    shop: str
    wallet: YuanText
    deposit: YuanText
    debt: YuanText
    pending_payouts: int
    pending_clawbacks: int


class StatementLine(BaseModel):
    entry: int
    at: str
    kind: str
    account: str
    amount: YuanText
    order: str | None
    ticket: str | None
    rule: str | None


class StatementOut(BaseModel):
    shop: str
    lines: list[StatementLine]
    total: int
    limit: int
    offset: int
    note: str


class TopUpIn(Body):
    account: Annotated[Word, OneOf(("wallet", "deposit"))] = Field(examples=["wallet"])
    amount: Yuan = Field(examples=["500.00"])



class WithdrawIn(Body):
    amount: Yuan = Field(examples=["1000.00"])



class Blocking(BaseModel):
    kind: str
    id: str
    rule: str
    status: str
    message_zh: str
    message_en: str
    free_at: str | None = None


class ExitCheckOut(BaseModel):
    shop: str
    passed: bool
    rule: str
    blocking: list[Blocking]
    waiting_days: int
