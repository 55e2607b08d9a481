"""After-sales tickets: applying, the actions on a ticket, and the work queue."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from .common import Body, Due, EventOut, Yuan, valid_yuan


class ApplyIn(Body):
    type: str = Field(examples=["return_refund"])
    reason: str = Field(examples=["quality"])
    amount: Yuan | None = Field(default=None, examples=["99.00"])
    evidence: list[str] = Field(default_factory=list, max_length=20)
    note: str | None = Field(default=None, max_length=2000)

    _m = field_validator("amount")(valid_yuan)


class ApproveIn(Body):
    return_address: str | None = None


class ReasonIn(Body):
    reason: str | None = Field(default=None, max_length=2000)
    evidence: list[str] = Field(default_factory=list, max_length=20)


class WaybillIn(Body):
    carrier: str | None = Field(default=None, max_length=64)
    waybill: str | None = Field(default=None, max_length=64)


class InterventionIn(Body):
    reason: str | None = Field(default=None, max_length=2000)


class TicketSummary(BaseModel):
    """A ticket as the work queue lists it."""

    id: str
    order: str
    shop: str
    buyer: str
    type: str
    status: str
    status_zh: str
    reason: str
    amount: Yuan
    refunded: Yuan
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


class TicketOut(TicketSummary):
    """One ticket with its timeline: every event, oldest first."""

    timeline: list[EventOut]


class TicketPage(BaseModel):
    items: list[TicketSummary]
    total: int
    limit: int
    offset: int
