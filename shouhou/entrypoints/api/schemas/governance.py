"""Merchant governance (RULES §9): measures, appeals against them, the shop's view and the report."""

from typing import Annotated, Any

from pydantic import BaseModel, Field

from ....policies.governance import MEASURES
from .common import Body, Note, OneOf


class LiftIn(Body):
    reason: Note = Field(examples=["商家已整改,申诉通过"], description="why the measure is lifted (required)")


class MeasureAppealIn(Body):

    reason: Note = Field(examples=["超时系系统故障所致,附工单截图"], description="the shop's grounds for the appeal (required)")


class DecideIn(Body):
    upheld: bool = Field(description="true: the measure is void, its effects end and liquidated damages "
                                     "come back; false: it stands")
    answer: Note | None = Field(default=None, examples=["已为您打开售后入口"])


class MeasureAppealOut(BaseModel):

    id: str
    measure: Annotated[str, OneOf(MEASURES)]
    shop: str
    filed_at: str
    filed_by: str
    reason: str
    status: str
    decided_at: str | None
    decided_by: str | None
    answer: str | None


class MeasureOut(BaseModel):
    id: str
    shop: str
    measure: Annotated[str, OneOf(MEASURES)]
    measure_zh: str
    rule: str
    status: str
    started_at: str
    ends_at: str | None
    ended_at: str | None
    end_reason: str | None
    ended_by: str | None
    end_note: str | None
    points: int | None
    amount: str | None
    charged: dict[str, str] | None
    snapshot: dict[str, Any]
    policy: str
    appeals: list[MeasureAppealOut]


class MeasurePage(BaseModel):
    shop: str
    items: list[MeasureOut]
    total: int


class MeasureAppealPage(BaseModel):

    items: list[MeasureAppealOut]
    total: int


class GovernanceOut(BaseModel):
    shop: str
    name: str
    policy: str
    at: str
    window: dict[str, Any]
    metrics: dict[str, Any]
    score: dict[str, Any] = Field(description="value, level, the formula, and every input with its contribution")
    level: str
    level_zh: str
    measures_in_force: list[str]
    step: str | None = Field(description="the highest rung of the ladder in force")
    refund_handling: str
    refund_handling_rule: str | None
    cart_suspended: bool
    freight_claims_by_platform: bool
    points_deducted: int
    measures: list[MeasureOut]
    evaluated_at: str | None
    next_evaluation_at: str | None
    ladder: list[dict[str, Any]]


class ReportOut(BaseModel):
    at: str
    sort: str
    descending: bool
    total: int
    offset: int
    limit: int | None
    columns: list[str]
    windows: dict[str, Any]
    rows: list[dict[str, Any]]
