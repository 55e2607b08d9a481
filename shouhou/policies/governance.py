"""Governance settings (RULES §9): the 30-day metrics a shop is judged by (KS-GOV-2), the score, and
the measures of the KS-GOV-3 ladder in the order they escalate; high_risk is KS-GOV-4."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..money import parse_yuan
from .values import Flag, Setting, Span

METRICS = (
    "applications", "overdue", "refund_only_overdue", "return_refund_overdue", "exchange_overdue", "delayed_shipments",
    "overdue_rate",
    "interventions", "intervention_rate", "rulings", "rulings_against", "fault_rate", "over_period_openings",
    "refund_only_median_hours", "refund_only_p95_hours", "return_refund_median_hours", "return_refund_p95_hours",
)
MEASURES = ("warning", "forced_study", "forced_exam", "point_deduction", "freight_by_platform", "cart_suspension",
            "liquidated_damages", "high_risk")


def _known_metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; known: {list(METRICS)}")
    return name


class Measure(Setting):
    """One rung of the ladder. It applies when the shop's metrics meet any one of the condition sets in
    `when`; a set is metric -> minimum, every minimum must be reached (rates as fractions: 0.5 = 50 %).
    It lasts `days` (none: until platform staff lift it)."""

    when: list[dict[str, Decimal]] = Field(min_length=1)
    days: int | None = Field(default=None, gt=0)
    points: int | None = Field(default=None, gt=0)  # point_deduction: points off the after-sales score
    amount: str | None = None  # liquidated_damages: yuan, e.g. "2000.00"

    @field_validator("when")
    @classmethod
    def _conditions(cls, v: list[dict[str, Decimal]]) -> list[dict[str, Decimal]]:
        for cond in v:
            if not cond:
                raise ValueError("a condition set names at least one metric")
            for name, minimum in cond.items():
                _known_metric(name)
                if minimum < 0:
                    raise ValueError(f"{name}: a minimum cannot be negative")
        return v

    @field_validator("amount")
    @classmethod
    def _amount(cls, v: str | None) -> str | None:
        if v is not None and parse_yuan(v) <= 0:
            raise ValueError("amount must be more than 0.00 yuan")
        return v

    @property
    def amount_fen(self) -> int:
        return parse_yuan(self.amount) if self.amount is not None else 0

    @property
    def duration(self) -> timedelta | None:
        return timedelta(days=self.days) if self.days else None

    def show(self) -> str:
        sets = " | ".join(" and ".join(f"{k} >= {v}" for k, v in cond.items()) for cond in self.when)
        parts = [sets, f"{self.days} d" if self.days else "until lifted"]
        if self.points:
            parts.append(f"-{self.points} points")
        if self.amount:
            parts.append(f"{self.amount} yuan")
        return "; ".join(parts)


class ScoreTerm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: str
    weight: Decimal  # score points per unit of the metric (a rate of 1.0 = 100 %)

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        return _known_metric(v)


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    zh: str
    min_score: int


class ScoreFormula(Setting):
    """The after-sales score (KS-GOV-2): base + sum(weight x metric) + points_weight x points deducted by
    measures in force, rounded half up and kept within [floor, base]. The level is the first of
    `levels` (highest first) whose min_score the score reaches."""

    base: int = Field(gt=0)
    floor: int = 0
    terms: list[ScoreTerm]
    points_weight: Decimal
    levels: list[Level] = Field(min_length=1)

    @model_validator(mode="after")
    def _levels_cover(self) -> ScoreFormula:
        mins = [x.min_score for x in self.levels]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("levels go from the highest min_score down, each min_score once")
        if mins[-1] > self.floor:
            raise ValueError(f"the last level needs min_score <= floor ({self.floor}) so every score has a level")
        if not self.floor < self.base:
            raise ValueError("floor must be below base")
        return self

    def show(self) -> str:
        terms = "".join(f" {'+' if x.weight >= 0 else '-'} {abs(x.weight)} x {x.metric}" for x in self.terms)
        pts = f" {'+' if self.points_weight >= 0 else '-'} {abs(self.points_weight)} x points_deducted"
        levels = ", ".join(f"{x.name} >= {x.min_score}" for x in self.levels)
        return f"{self.base}{terms}{pts}, within [{self.floor}, {self.base}]; {levels}"


class GovernanceRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    overdue_record: Flag  # KS-GOV-1
    exit_waiting: Span  # KS-EXIT-1: orders completed more than N days ago before exit / deposit withdrawal
    window: Span  # KS-GOV-2: the assessment window (the last 30 days)
    evaluation: Span  # KS-GOV-3: how often the worker evaluates a shop under watch (daily)
    score: ScoreFormula  # KS-GOV-2: the after-sales score and the shop level (商家等级)
    warning: Measure | None = None  # KS-GOV-3 ladder, in the order it escalates
    forced_study: Measure | None = None
    forced_exam: Measure | None = None
    point_deduction: Measure | None = None
    freight_by_platform: Measure | None = None
    cart_suspension: Measure | None = None
    liquidated_damages: Measure | None = None
    high_risk: Measure | None = None  # KS-GOV-4: refund handling disabled until lifted

    @model_validator(mode="after")
    def _measure_parameters(self) -> GovernanceRules:
        if self.point_deduction is not None and not self.point_deduction.points:
            raise ValueError("point_deduction needs points")
        if self.liquidated_damages is not None and not self.liquidated_damages.amount:
            raise ValueError("liquidated_damages needs an amount")
        return self

    @property
    def refund_handling_rule(self) -> str:
        """The rule that takes a shop's refund handling away (KS-GOV-4, or the evaluation's)."""
        return self.high_risk.rule if self.high_risk else self.evaluation.rule

    def ladder(self) -> list[tuple[str, Measure]]:
        """The measures this version defines, in the order they escalate."""
        out = []
        for name in MEASURES:
            m = getattr(self, name)
            if m is not None:
                out.append((name, m))
        return out

    def metrics_read(self) -> set[str]:
        """The metrics the ladder's conditions and the score's terms read."""
        return {k for _, m in self.ladder() for cond in m.when for k in cond} | {t.metric for t in self.score.terms}
