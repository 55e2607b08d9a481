"""Platform intervention: evidence, rulings, and appeals against a ruling (KS-PI-1..3, DY-PI-1)."""

from typing import Annotated, Any

from pydantic import BaseModel, Field

from ....domain.disputes import FAULTS
from ....domain.lines import Cover
from ....domain.remedies import FINDINGS
from .common import Body, Due, Note, OneOf, Word, Yuan
from .tickets import CoverIn

REMEDY_NAMES = ("refund", "return_refund", "close", "reship", "exchange")


class RulingIn(Body):
    """A ruling (KS-PI-2). With a `finding` against the shop it orders that finding's remedy: missing
    items (KS-PI-4: `reship`, or `refund` = the platform compensates at once), wrong item (KS-PI-5:
    `return_refund` or `exchange`), rejected without cause (KS-PI-6: `refund` by advance
    compensation, with a retrieval task on the shop). `lines` narrows the ruling to some of the
    ticket's lines."""

    in_favour_of: Annotated[Word, OneOf(("buyer", "merchant"))] = Field(examples=["buyer"])
    remedy: Annotated[Word, OneOf(REMEDY_NAMES)] | None = Field(default=None, examples=["refund"])
    amount: Yuan | None = None
    fault: Annotated[Word, OneOf(FAULTS)] | None = Field(default=None, examples=["shop"])
    finding: Annotated[Word, OneOf(FINDINGS)] | None = Field(default=None, examples=["missing_items"])
    lines: Annotated[list[CoverIn], Field(max_length=200)] | None = None

    def cover(self) -> tuple[Cover, ...] | None:
        return None if self.lines is None else tuple(Cover(x.sku, x.qty) for x in self.lines)


class RemedyOut(BaseModel):
    """What a ruling with a finding ordered and how far it got (KS-PI-4, -5, -6)."""

    finding: Annotated[str, OneOf(FINDINGS)]
    remedy: Annotated[str, OneOf(REMEDY_NAMES)]
    rule: str
    ruled_at: str
    lines: list[dict[str, Any]]
    compensation_claimed_at: str | None
    retrieval: str | None = Field(description="KS-PI-6: the shop's task to collect the goods: open | done")
    retrieved_at: str | None
    retrieved_by: str | None


class AppealIn(Body):

    reason: Note | None = Field(default=None, examples=["买家已签收的是完好商品,附签收照片"])


class AppealDecisionIn(Body):
    upheld: bool
    answer: Note | None = Field(default=None, examples=["复核后维持原判 / the ruling stands after review"])
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
    in_favour_of: Annotated[str, OneOf(("buyer", "merchant"))] | None
    remedy: Annotated[str, OneOf(REMEDY_NAMES)] | None
    fault: Annotated[str, OneOf(FAULTS)] | None
    effective_fault: Annotated[str, OneOf(FAULTS)] | None
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
    remedy: RemedyOut | None = None


class CasePage(BaseModel):
    items: list[CaseOut]
    total: int
    limit: int
    offset: int
