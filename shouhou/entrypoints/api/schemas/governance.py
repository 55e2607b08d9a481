"""Merchant governance (RULES §9): measures, appeals against them, the shop's view and the report.

No `from __future__ import annotations` here: AppealIn, AppealOut and AppealPage carry the module
name they had before the split (see the package docstring), and pydantic would look their string
annotations up in that module."""

from typing import Any

from pydantic import BaseModel, Field

from .common import Body, Note

FORMER_MODULE = "shouhou.entrypoints.api.governance"  # the OpenAPI names of the Appeal* bodies


class LiftIn(Body):
    reason: Note = Field(description="why the measure is lifted (required)")


class AppealIn(Body):
    __module__ = FORMER_MODULE

    reason: Note = Field(description="the shop's grounds for the appeal (required)")


class DecideIn(Body):
    upheld: bool = Field(description="true: the measure is void, its effects end and liquidated damages "
                                     "come back; false: it stands")
    answer: Note | None = None


class AppealOut(BaseModel):
    __module__ = FORMER_MODULE

    id: str
    measure: str
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
    measure: str
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
    appeals: list[AppealOut]


class MeasurePage(BaseModel):
    shop: str
    items: list[MeasureOut]
    total: int


class AppealPage(BaseModel):
    __module__ = FORMER_MODULE

    items: list[AppealOut]
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
