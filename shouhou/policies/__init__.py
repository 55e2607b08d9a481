"""Policy packs: every number of RULES.md as versioned data, validated on load.

A pack is a TOML file with a list of versions. Each version names the date it takes
effect and overrides the values of the version before it (the first version is
complete). A ticket keeps the version in force when it opened (RULES §11).
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..money import parse_yuan

RULE_ID = re.compile(r"^[A-Z]+(?:-[A-Z]+)*-\d+$")
BUILTIN_DIR = Path(__file__).parent

REASONS = (
    "logistics_damaged",
    "logistics_lost",
    "logistics_delayed",
    "quality",
    "not_as_described",
    "no_reason",
    "other",
)
ROLES = ("owner", "admin", "cs_admin", "cs_agent")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    source: str = "default"
    note: str | None = None

    @field_validator("rule")
    @classmethod
    def _rule_id(cls, v: str) -> str:
        if not RULE_ID.match(v):
            raise ValueError(f"not a rule ID such as KS-RR-1: {v!r}")
        return v


SPAN_MAX = timedelta(days=3660)  # ten years: longer is a typo, and would overflow dates further in


class Span(_Rule):
    """A duration counted from a triggering event, with the rule it comes from."""

    days: int | None = Field(default=None, ge=0)
    hours: int | None = Field(default=None, ge=0)
    minutes: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_length(self) -> Span:
        if self.delta <= timedelta(0):
            raise ValueError("a span needs a positive length in days, hours or minutes")
        if self.delta > SPAN_MAX:
            raise ValueError(f"a span may be at most {SPAN_MAX.days} days, not {self.show()}")
        return self

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days or 0, hours=self.hours or 0, minutes=self.minutes or 0)

    def show(self) -> str:
        parts = []
        if self.days:
            parts.append(f"{self.days} d")
        if self.hours:
            parts.append(f"{self.hours} h")
        if self.minutes:
            parts.append(f"{self.minutes} min")
        return " ".join(parts)


class WorkingDays(_Rule):
    """N working days by mainland China's official calendar: the end of the N-th working day after
    the day of the triggering event."""

    working_days: int = Field(gt=0, le=250)

    def show(self) -> str:
        return f"{self.working_days} working days"


class Limit(_Rule):
    value: int = Field(ge=0)

    def show(self) -> str:
        return str(self.value)


class Flag(_Rule):
    enabled: bool

    def show(self) -> str:
        return "yes" if self.enabled else "no"


class Choice(_Rule):
    value: list[str]

    def show(self) -> str:
        return ", ".join(self.value) if self.value else "(none)"


class OrderRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    completion: Span  # GEN-ORD-1: confirmed + 7 days
    auto_confirm: Span  # GEN-ORD-2: later of shipment + N days and signing
    full_refund_closes: Flag  # GEN-ORD-4: a fully refunded order closes and never settles

    @field_validator("full_refund_closes")
    @classmethod
    def _closes(cls, v: Flag) -> Flag:
        if not v.enabled:
            raise ValueError("a fully refunded order has nothing left to settle (GEN-ORD-4); it cannot be switched off")
        return v


class ApplyRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    period: Flag  # GEN-APPLY-1
    no_reason_return: Span  # GEN-APPLY-2
    evidence_required: Choice  # GEN-APPLY-3: reasons that need evidence
    refundable: Flag  # GEN-APPLY-4
    one_open_ticket: Flag  # GEN-APPLY-5
    max_in_period: Limit | None = None  # DY-APPLY-1
    type_fits_state: Flag  # GEN-APPLY-6

    @field_validator("one_open_ticket")
    @classmethod
    def _one_open(cls, v: Flag) -> Flag:
        if not v.enabled:
            raise ValueError("shouhou holds one open ticket per order (GEN-APPLY-5); it cannot be switched off")
        return v

    @field_validator("evidence_required")
    @classmethod
    def _known_reasons(cls, v: Choice) -> Choice:
        unknown = [r for r in v.value if r not in REASONS]
        if unknown:
            raise ValueError(f"unknown reasons {unknown}; known: {list(REASONS)}")
        return v


class RefundOnlyRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    review_before_shipment: Span  # KS-RO-1 / DY-RO-1
    review_after_shipment: Span


class ReturnRefundRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    review: Span  # KS-RR-1
    buyer_ships: Span  # KS-RR-2 / DY-RR-2
    shop_confirms_receipt: Span  # KS-RR-3 / DY-RR-2


class RejectionRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reason_required: Flag  # KS-RR-4
    shop_may_reprocess: Flag  # DY-RR-1
    intervention_after_rejection: Flag  # KS-RR-4: either side may ask the platform to step in
    intervention_window: Span | None = None  # DY-RR-3: None = no limit


class DateFloor(_Rule):
    """A fixed instant something must come after (DY-OP-5: orders created after 2020-06-30)."""

    after: datetime

    @field_validator("after")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("needs a zone offset, e.g. 2020-06-30T23:59:59+08:00")
        return v

    def show(self) -> str:
        return f"after {self.after.isoformat()}"


class EntryRules(BaseModel):
    """Re-opening the after-sales entry past the period (超售后期打开售后入口, RULES §7). Each
    condition is optional: a pack names the ones its platform publishes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    window: Span  # KS-OP-7 / DY-OP-6: how long the buyer may apply once opened
    past_period: Flag  # DY-OP-1 (KS: implied by KS-OP-1): only completed orders
    completed_within: Span | None = None  # KS-OP-1
    created_after: DateFloor | None = None  # DY-OP-5
    created_within: Span | None = None  # DY-OP-5
    funds_cover_refundable: Flag | None = None  # KS-OP-2: wallet or deposit >= refundable
    shop_statuses: Choice | None = None  # KS-OP-3: shop in normal operation
    kinds: Choice | None = None  # KS-OP-4
    payments: Choice | None = None  # DY-OP-3
    goods: Choice | None = None  # DY-OP-4
    excluded_categories: Choice | None = None  # DY-OP-4
    refundable_positive: Flag | None = None  # KS-OP-5
    no_refund_in_progress: Flag | None = None  # DY-OP-2
    roles: Choice | None = None  # KS-OP-6: which shop roles may open it (None: any staff)
    buyer_requests: Flag  # DY-OP-6: the buyer may ask the shop to open it again
    notify_buyer: Flag  # DY-OP-10: site message and push to the buyer

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, v: Choice | None) -> Choice | None:
        if v is not None:
            unknown = [r for r in v.value if r not in ROLES]
            if unknown:
                raise ValueError(f"unknown roles {unknown}; known: {list(ROLES)}")
        return v


class ExchangeRules(BaseModel):
    """Exchange, repair, reship (RULES §5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    review: Span  # GEN-EX-1: 48 h -> auto-approve (overdue)
    buyer_ships: Span  # GEN-EX-1: KS 10 d, DY 7 d -> auto-close
    shop_confirms_receipt: Span  # GEN-EX-1: -> turns into a refund
    ship_replacement: Span  # GEN-EX-1: 72 h -> turns into a refund
    replacement_confirm: Span  # GEN-EX-1: the buyer confirms; auto-confirmed after this
    refund_instead: Flag  # GEN-EX-2: the shop may refund instead before the replacement ships
    reship_review: Span  # GEN-EX-3
    reship_ship: Span  # GEN-EX-3: 48 h -> turns into a refund


class InterventionRules(BaseModel):
    """Platform intervention (RULES §6)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    response: WorkingDays  # KS-PI-1: platform CS responds within 2 working days (a miss is recorded)
    buyer_evidence: Span  # KS-PI-2: evidence window
    shop_evidence: Span  # KS-PI-2 / DY-PI-1 (24 h on Douyin)
    shop_silence_loses: Flag  # DY-PI-1: no shop evidence -> ruling for the buyer automatically
    ruling: Flag  # KS-PI-2: platform CS rules by the platform's rules, naming who was at fault
    stalled_exchange: Flag  # either side may ask about an exchange that stalls
    appeal_window: Span  # KS-PI-3: within 48 h after the refund
    appeal_answer: WorkingDays  # KS-PI-3: 5 working days
    appeal_failed_per_month: Limit  # KS-PI-3
    appeal_failed_per_year: Limit  # KS-PI-3
    evidence_max_items: Limit
    evidence_max_bytes: Limit
    evidence_types: Choice


class MoneyRules(BaseModel):
    """RULES §8, KS-FEE-1, KS-OP-8, DY-OP-8, DY-OP-9."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    settlement: Flag  # GEN-ORD-3: settle at completion on amounts net of refunds
    waterfall: Choice  # DY-OP-9: refund sources after settlement, in order
    fee_sharing: Span | None = None  # KS-FEE-1: refunds within N days of confirmed receipt are shared
    fee_sharing_short: Span | None = None  # KS-FEE-1: the shorter window for some categories
    fee_sharing_short_categories: Choice | None = None
    commission_return: Span | None = None  # KS-OP-8: over-period refunds within N days after completion
    commission_return_categories: Choice | None = None  # KS-OP-8: designated categories ("*" = all)
    no_commission_return: Flag | None = None  # DY-OP-8: the shop bears the whole refund
    clawback_retry: Span  # KS-FEE-1: a failed clawback is retried after this long
    payout_retry: Span  # a refund payout that did not go through is tried again after this long
    payout_attempts: Limit  # DY-OP-9: after this many failures the platform advance-compensates

    @field_validator("waterfall")
    @classmethod
    def _sources(cls, v: Choice) -> Choice:
        if not v.value or v.value[-1] != "advance" or any(x not in ("wallet", "deposit", "advance") for x in v.value):
            raise ValueError("waterfall lists wallet/deposit and ends with advance")
        return v


# Governance (RULES §9). The 30-day metrics a shop is judged by (KS-GOV-2), and the measures of the
# KS-GOV-3 ladder in the order they escalate; high_risk is KS-GOV-4.
METRICS = (
    "applications", "overdue", "refund_only_overdue", "return_refund_overdue", "exchange_overdue", "overdue_rate",
    "interventions", "intervention_rate", "rulings", "rulings_against", "fault_rate", "over_period_openings",
    "refund_only_median_hours", "refund_only_p95_hours", "return_refund_median_hours", "return_refund_p95_hours",
)
MEASURES = ("warning", "forced_study", "forced_exam", "point_deduction", "freight_by_platform", "cart_suspension",
            "liquidated_damages", "high_risk")


def _known_metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; known: {list(METRICS)}")
    return name


class Measure(_Rule):
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


class ScoreFormula(_Rule):
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

    def ladder(self) -> list[tuple[str, Measure]]:
        """The measures this version defines, in the order they escalate."""
        out = []
        for name in MEASURES:
            m = getattr(self, name)
            if m is not None:
                out.append((name, m))
        return out


class PolicyVersion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    effective_from: datetime
    summary: str | None = None
    order: OrderRules
    apply: ApplyRules
    refund_only: RefundOnlyRules
    return_refund: ReturnRefundRules
    rejection: RejectionRules
    entry: EntryRules
    exchange: ExchangeRules
    intervention: InterventionRules
    money: MoneyRules
    governance: GovernanceRules

    @field_validator("effective_from")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("effective_from needs a zone offset, e.g. 2026-01-01T00:00:00+08:00")
        return v

    def rows(self) -> list[tuple[str, str, str, str, str | None]]:
        """(setting, value, rule, source, note) for every value of the version, for display."""
        out: list[tuple[str, str, str, str, str | None]] = []
        for section in ("order", "apply", "refund_only", "return_refund", "rejection", "entry", "exchange", "intervention", "money",
                        "governance"):
            block = getattr(self, section)
            for key in type(block).model_fields:
                item = getattr(block, key)
                if item is None:
                    continue
                out.append((f"{section}.{key}", item.show(), item.rule, item.source, item.note))
        return out


class PolicyPackError(ValueError):
    """A pack that does not load: says the file, the field and the reason."""


@dataclass(frozen=True)
class PolicyPack:
    name: str
    title: str
    versions: tuple[PolicyVersion, ...]  # sorted by effective_from
    source: str

    def at(self, when: datetime) -> PolicyVersion:
        """The version in force at `when` (the first one if `when` predates them all)."""
        chosen = self.versions[0]
        for v in self.versions:
            if v.effective_from <= when:
                chosen = v
        return chosen

    def version(self, version: str) -> PolicyVersion:
        for v in self.versions:
            if v.version == version:
                return v
        raise KeyError(f"pack {self.name} has no version {version}")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """A later version over an earlier one: sections merge key by key; a setting that is restated
    replaces the earlier one whole (its rule ID carries over when not restated)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        old = out.get(k)
        if isinstance(v, dict) and isinstance(old, dict) and "rule" in old:
            out[k] = {"rule": old["rule"], **copy.deepcopy(v)}
        elif isinstance(v, dict) and isinstance(old, dict):
            out[k] = _merge(old, v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_pack(path: str | Path) -> PolicyPack:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise PolicyPackError(f"{path}: no such policy file") from e
    except tomllib.TOMLDecodeError as e:
        raise PolicyPackError(f"{path}: not valid TOML: {e}") from e
    return parse_pack(raw, str(path))


def parse_pack(raw: dict[str, Any], source: str) -> PolicyPack:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise PolicyPackError(f"{source}: field 'name': a pack needs a name")
    versions_raw = raw.get("versions")
    if not isinstance(versions_raw, list) or not versions_raw:
        raise PolicyPackError(f"{source}: field 'versions': a pack needs at least one [[versions]] table")
    merged: dict[str, Any] = {}
    versions: list[PolicyVersion] = []
    # Each version overrides the one in force before it: merge in order of effective date.
    if all(isinstance(v, dict) and isinstance(v.get("effective_from"), datetime) for v in versions_raw):
        versions_raw = sorted(versions_raw, key=lambda v: v["effective_from"])
    for i, vraw in enumerate(versions_raw):
        merged = _merge(merged, vraw)
        try:
            versions.append(PolicyVersion.model_validate(merged))
        except ValidationError as e:
            problems = "; ".join(
                f"versions[{i}].{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            raise PolicyPackError(f"{source}: {problems}") from None
    versions.sort(key=lambda v: v.effective_from)
    seen = set()
    for v in versions:
        if v.version in seen:
            raise PolicyPackError(f"{source}: field 'version': {v.version} appears twice")
        seen.add(v.version)
    return PolicyPack(name=name, title=str(raw.get("title", name)), versions=tuple(versions), source=source)


class KeepsPolicy(Protocol):
    """Anything that keeps the pack version it started under (a ticket, an order, a measure)."""

    @property
    def policy(self) -> str: ...

    @property
    def policy_version(self) -> str: ...


class PolicyRegistry:
    """The packs this engine knows: the built-in ones plus any custom pack files."""

    def __init__(self, packs: dict[str, PolicyPack] | None = None) -> None:
        self._packs: dict[str, PolicyPack] = dict(packs or {})

    @classmethod
    def default(cls, extra_paths: list[str] | None = None) -> PolicyRegistry:
        reg = cls()
        for path in sorted(BUILTIN_DIR.glob("*.toml")):
            reg.add(load_pack(path))
        for p in extra_paths or []:
            reg.add(load_pack(p))
        return reg

    def add(self, pack: PolicyPack) -> None:
        self._packs[pack.name] = pack

    def get(self, name: str) -> PolicyPack:
        try:
            return self._packs[name]
        except KeyError:
            raise KeyError(f"unknown policy pack {name!r}; known: {sorted(self._packs)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._packs

    def names(self) -> list[str]:
        return sorted(self._packs)

    def resolve(self, name: str, version: str) -> PolicyVersion:
        """One named version of a pack (`kuaishou@2026.1`)."""
        return self.get(name).version(version)

    def in_force(self, name: str, at: datetime) -> PolicyVersion:
        """The version of pack `name` in force at `at`: what a new ticket, order or evaluation takes."""
        return self.get(name).at(at)

    def kept_by(self, holder: KeepsPolicy) -> PolicyVersion:
        """The version a ticket, order or measure keeps from its start: a newer version never moves a
        running deadline."""
        return self.get(holder.policy).version(holder.policy_version)
