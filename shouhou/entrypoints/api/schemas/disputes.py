"""Platform intervention: evidence, rulings, and appeals against a ruling (KS-PI-1..3, DY-PI-1).

No `from __future__ import annotations` here: AppealIn, AppealOut and AppealPage carry the module
name they had before the split (see the package docstring), and pydantic would look their string
annotations up in that module."""

from typing import Annotated

from pydantic import BaseModel, Field

from ....domain.disputes import FAULTS
from .common import Body, Due, Note, OneOf, Word, Yuan

FORMER_MODULE = "shouhou.entrypoints.api.schemas"  # the OpenAPI names of the Appeal* bodies


class RulingIn(Body):
    in_favour_of: Annotated[Word, OneOf(("buyer", "merchant"))] = Field(examples=["buyer"])
    remedy: Annotated[Word, OneOf(("refund", "return_refund", "close"))] | None = Field(default=None,
                                                                                        examples=["refund"])
    amount: Yuan | None = None
    fault: Annotated[Word, OneOf(FAULTS)] | None = Field(default=None, examples=["shop"])



class AppealIn(Body):
    __module__ = FORMER_MODULE

    reason: Note | None = None


class AppealDecisionIn(Body):
    upheld: bool
    answer: Note | None = None
    fault_after: Annotated[Word, OneOf(FAULTS)] | None = None


class EvidenceOut(BaseModel):
    id: str
    side: str
    submitted_by: str
    name: str
    content_type: str
    size: int
    sha256: str
    submitted_at: str


class AppealOut(BaseModel):
    __module__ = FORMER_MODULE

    id: str
    intervention: str
    ticket: str
    shop: str
    filed_at: str
    filed_by: str
    reason: str
    status: str
    answer_due_at: str
    answered_at: str | None
    answer: str | None
    fault_before: str | None
    fault_after: str | None
    sla_missed: bool


class AppealPage(BaseModel):
    __module__ = FORMER_MODULE

    items: list[AppealOut]
    total: int
    limit: int
    offset: int


class CaseEvidence(BaseModel):
    requested_at: str | None
    buyer_until: str | None
    shop_until: str | None
    buyer_items: int
    shop_items: int


class RulingOut(BaseModel):
    at: str
    by: str | None
    in_favour_of: str | None
    remedy: str | None
    fault: str | None
    effective_fault: str | None
    rule: str | None


class CaseOut(BaseModel):
    id: str
    ticket: str
    order: str
    shop: str
    buyer: str
    status: str
    cause: str
    reason: str | None
    requested_at: str
    requested_by: str
    response_due_at: str
    responded_at: str | None
    sla_missed: bool
    sla_missed_at: str | None
    overdue_now: bool
    evidence: CaseEvidence
    ruling: RulingOut | None
    due: Due | None
    evidence_items: list[EvidenceOut] | None = None
    appeals: list[AppealOut] | None = None


class CasePage(BaseModel):
    items: list[CaseOut]
    total: int
    limit: int
    offset: int
