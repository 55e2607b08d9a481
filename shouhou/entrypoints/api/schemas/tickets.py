"""After-sales tickets: applying, the actions on a ticket, and the work queue."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from ....domain.tickets import STATUSES, TICKET_TYPES
from ....policies import REASONS
from .common import Body, Due, EventOut, Id, Note, OneOf, Text, Word, Yuan, YuanText
from .freight import FreightClaimOut

EvidenceNames = Annotated[list[Annotated[str, Text(255)]], Field(max_length=20)]  # what the buyer attaches


class CoverIn(Body):
    """What a ticket covers of one order line (GEN-APPLY-7)."""

    sku: Id
    qty: int = Field(ge=1, le=1_000_000)


class CoverOut(BaseModel):
    sku: str
    qty: int


class ApplyIn(Body):
    type: Annotated[Word, OneOf(TICKET_TYPES)] = Field(examples=["return_refund"])
    reason: Annotated[Word, OneOf(REASONS)] = Field(examples=["quality"])
    amount: Yuan | None = Field(default=None, examples=["99.00"])
    evidence: EvidenceNames = Field(examples=[["crack.jpg"]], default_factory=list)
    note: Note | None = Field(default=None, examples=["收到时外壳有裂纹"])
    lines: Annotated[list[CoverIn], Field(max_length=200)] | None = None  # GEN-APPLY-7; none: every unit left



class ApproveIn(Body):
    return_address: Note | None = Field(default=None, examples=["浙江省杭州市西湖区退货仓 1 号"])


class ReasonIn(Body):
    reason: Note | None = Field(default=None, examples=["商品已使用,不符合七天无理由退货"])
    evidence: EvidenceNames = Field(examples=[["used.jpg"]], default_factory=list)


class WaybillIn(Body):
    carrier: Annotated[str, Text(64)] | None = Field(default=None, examples=["ZTO"])
    waybill: Annotated[str, Text(64)] | None = Field(default=None, examples=["ZT7700112233"])


class InterventionIn(Body):
    reason: Note | None = Field(default=None, examples=["商家拒绝退货但商品确有质量问题"])


class TicketSummary(BaseModel):
    """A ticket as the work queue lists it."""

    id: str
    order: str
    shop: str
    buyer: str
    type: Annotated[str, OneOf(TICKET_TYPES)]
    status: Annotated[str, OneOf(STATUSES)]
    status_zh: str
    reason: Annotated[str, OneOf(REASONS)]
    amount: YuanText
    refunded: YuanText
    advanced: YuanText  # DY-FAST-1: what the platform paid the buyer ahead of the shop's receipt
    over_period: bool
    labels: list[str]
    evidence: list[str]
    note: str | None
    return_address: str | None
    carrier: str | None
    waybill: str | None
    reject_reason: str | None
    policy: str
    policy_version: str
    created_at: str
    updated_at: str | None
    ended_at: str | None
    due: Due | None
    lines: list[CoverOut]


class TicketOut(TicketSummary):
    """One ticket with its timeline: every event, oldest first."""

    timeline: list[EventOut]
    freight_claim: FreightClaimOut | None = None  # GEN-FREIGHT-1: the return's freight claim, if any
    next_actions: dict[str, list[str]] = Field(
        default_factory=dict, description="what the shop and the buyer may try next in this status "
                                          "(action route names; the engine still decides each one)")


class TicketPage(BaseModel):
    items: list[TicketSummary]
    total: int
    limit: int
    offset: int
