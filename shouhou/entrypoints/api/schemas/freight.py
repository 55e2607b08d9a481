"""Freight claims (运费申请, GEN-FREIGHT-1): money as decimal strings in yuan."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictBool

from ....domain.freight import STATUSES as CLAIM_STATUSES
from .common import Body, Due, Note, OneOf, Yuan, YuanText


class FreightClaimIn(Body):
    amount: Yuan = Field(description="the return's freight, at most the pack's cap (default 20.00, 50.00 with a "
                                     "receipt)")
    receipt: StrictBool = Field(default=False, description="the buyer has a freight receipt (运费凭证)")


class FreightDecisionIn(Body):
    approve: StrictBool
    reason: Note | None = Field(examples=["运费凭证与运单不符"], default=None, description="required to reject")


class FreightClaimOut(BaseModel):
    id: str
    ticket: str
    order: str
    shop: str
    buyer: str
    amount: YuanText
    receipt: bool
    decides: str = Field(description="shop, or platform while the shop is under freight_by_platform (KS-GOV-3)")
    status: Annotated[str, OneOf(CLAIM_STATUSES)] = Field(examples=["pending"])
    created_at: str
    due: Due | None = Field(description="pending: approved automatically at this time (GEN-FREIGHT-1)")
    decided_at: str | None
    decided_by: str | None
    reason: str | None
    payout: str | None


class FreightClaimPage(BaseModel):
    items: list[FreightClaimOut]
    total: int
    limit: int
    offset: int
