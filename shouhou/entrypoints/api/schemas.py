"""Request and response bodies of the HTTP API. Money is a decimal string in yuan ("99.00"); times
are ISO 8601 with their offset."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ...money import MoneyFormatError, parse_yuan

Yuan = str


def _money(v: str | None) -> str | None:
    if v is None:
        return None
    try:
        parse_yuan(v)
    except MoneyFormatError as e:
        raise ValueError(str(e)) from None
    return v


EARLIEST, LATEST = 1970, 2999  # the years a time given to the API may fall in


def _aware(v: datetime | None) -> datetime | None:
    """A time with its zone offset, within the years shouhou handles (no overflow further in)."""
    if v is None:
        return v
    if v.tzinfo is None:
        raise ValueError("a time needs its zone offset, e.g. 2026-03-02T09:00:00+08:00")
    if not EARLIEST <= v.year <= LATEST:
        raise ValueError(f"a time must fall between the years {EARLIEST} and {LATEST}")
    return v


# A time in a query string (?due_before=, ?since=): zone offset required, years 1970-2999.
When = Annotated[datetime, AfterValidator(_aware)]
# A page offset: large enough for any real listing, small enough for every database's integers.
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]


def _no_nul(value: Any, where: str = "") -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where or 'a value'} holds a NUL character")
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k, where)
            _no_nul(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, (list, tuple)):
        for v in value:
            _no_nul(v, where)


class Body(BaseModel):
    """A request body: no unknown fields, no NUL characters anywhere (no database stores them)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _printable(self) -> Body:
        for name in type(self).model_fields:
            _no_nul(getattr(self, name), name)
        return self


class ErrorOut(BaseModel):
    code: str = Field(examples=["invalid_state"])
    message_zh: str
    message_en: str
    rules: list[str] = Field(examples=[["KS-RR-1"]])


class ShopIn(Body):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    policy: str = Field(examples=["kuaishou"], max_length=64)
    status: str = "normal"
    wallet: Yuan = "0.00"
    deposit: Yuan = "0.00"
    wallet_opened_at: datetime | None = None
    return_address: str | None = Field(default=None, max_length=2000)

    _m = field_validator("wallet", "deposit")(_money)
    _t = field_validator("wallet_opened_at")(_aware)


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


class TokenIn(Body):
    kind: str = Field(examples=["staff"], max_length=16)
    actor_id: str = Field(examples=["U1"], min_length=1, max_length=64)
    role: str | None = Field(default=None, max_length=32)
    label: str | None = Field(default=None, max_length=200)


class TokenOut(BaseModel):
    token: str


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

    _m = field_validator("amount", "freight")(_money)
    _t = field_validator("created_at", "shipped_at", "signed_at", "confirmed_at")(_aware)


class ShipIn(Body):
    carrier: str | None = Field(default=None, max_length=64)
    waybill: str | None = Field(default=None, max_length=64)


class ApplyIn(Body):
    type: str = Field(examples=["return_refund"])
    reason: str = Field(examples=["quality"])
    amount: Yuan | None = Field(default=None, examples=["99.00"])
    evidence: list[str] = Field(default_factory=list, max_length=20)
    note: str | None = Field(default=None, max_length=2000)

    _m = field_validator("amount")(_money)


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


class Due(BaseModel):
    at: str
    action: str
    rule: str


class EventOut(BaseModel):
    id: int
    at: str
    type: str
    actor: str
    rule: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    ticket: str | None
    order: str | None
    shop: str | None
    payload: dict[str, Any]

    model_config = ConfigDict(populate_by_name=True)


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


class PolicyVersionOut(BaseModel):
    version: str
    effective_from: str
    summary: str | None


class PolicyOut(BaseModel):
    name: str
    title: str
    versions: list[PolicyVersionOut]


class PolicyRuleOut(BaseModel):
    setting: str
    value: str
    rule: str
    source: str
    note: str | None


class PolicyDetailOut(PolicyOut):
    version: str
    effective_from: str
    rules: list[PolicyRuleOut]


class MeOut(BaseModel):
    kind: str
    id: str
    shop: str | None
    role: str | None


class ConditionOut(BaseModel):
    name: str
    rule: str
    passed: bool
    figures: dict[str, Any]
    message_zh: str
    message_en: str


class EntryWindow(BaseModel):
    length: str
    rule: str


class EntryRoles(BaseModel):
    allowed: list[str] | None
    rule: str | None
    you_may_open: bool | None


class ReopenOut(BaseModel):
    id: str
    order: str
    shop: str
    buyer: str
    created_at: str
    note: str | None
    status: str
    answered_at: str | None
    answered_by: str | None
    answer_reason: str | None


class ReopenPage(BaseModel):
    items: list[ReopenOut]
    total: int
    limit: int
    offset: int


class EntryOut(BaseModel):
    order: str
    state: str
    opened_at: str | None
    closes_at: str | None
    openings: int
    window: EntryWindow
    eligible: bool
    conditions: list[ConditionOut]
    roles: EntryRoles
    pending_requests: list[ReopenOut]
    policy: str


class ReopenIn(Body):
    note: str | None = Field(default=None, max_length=2000)


class DeclineIn(Body):
    reason: str | None = Field(default=None, max_length=2000)


class BulkOpenIn(Body):
    orders: list[str] = Field(min_length=1, max_length=500)


class BulkResult(BaseModel):
    order: str
    ok: bool
    closes_at: str | None = None
    error: ErrorOut | None = None


class BulkOpenOut(BaseModel):
    opened: int
    refused: int
    results: list[BulkResult]


class MessageOut(BaseModel):
    id: str
    order: str
    kind: str
    title_zh: str
    body_zh: str
    title_en: str
    body_en: str
    created_at: str
    read_at: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    total: int
    limit: int
    offset: int


class BalancesOut(BaseModel):
    shop: str
    wallet: Yuan
    deposit: Yuan
    debt: Yuan
    pending_payouts: int
    pending_clawbacks: int


class StatementLine(BaseModel):
    entry: int
    at: str
    kind: str
    account: str
    amount: Yuan
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
    account: str = Field(examples=["wallet"])
    amount: Yuan = Field(examples=["500.00"])

    _m = field_validator("amount")(_money)


class WithdrawIn(Body):
    amount: Yuan = Field(examples=["1000.00"])

    _m = field_validator("amount")(_money)


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


class EvidenceFileIn(Body):
    name: str = Field(min_length=1, max_length=255, examples=["crack.jpg"])
    content_type: str = Field(examples=["image/jpeg"])
    content_base64: str = Field(description="the file, base64-encoded")


class EvidenceIn(Body):
    items: list[EvidenceFileIn] = Field(min_length=1, max_length=50)


class RulingIn(Body):
    in_favour_of: str = Field(examples=["buyer"])
    remedy: str | None = Field(default=None, examples=["refund"])
    amount: Yuan | None = None
    fault: str | None = Field(default=None, examples=["shop"])

    _m = field_validator("amount")(_money)


class AppealIn(Body):
    reason: str | None = Field(default=None, max_length=2000)


class AppealDecisionIn(Body):
    upheld: bool
    answer: str | None = Field(default=None, max_length=2000)
    fault_after: str | None = None


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
