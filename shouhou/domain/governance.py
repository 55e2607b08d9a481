"""Merchant governance (RULES §9), pure: the 30-day metrics a shop is judged by (KS-GOV-2), the
measures ladder (KS-GOV-3) and high-risk mode (KS-GOV-4), the after-sales score and level, and the
life of a measure: applied, ended, lifted by platform staff, appealed by the shop.

No I/O and no clock: the service layer computes the metrics in SQL and hands them here with `at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..clock import SHANGHAI
from ..errors import Refusal, present, refuse
from ..money import format_yuan
from ..policies import MEASURES, GovernanceRules, Measure, PolicyVersion, ScoreFormula
from .actors import Actor, require
from .events import Event, Recorder
from .shops import Shop

PENALTY = "platform:penalty"  # the platform's income from liquidated damages (违约金); never negative

MEASURE_ZH = {
    "warning": "警告",
    "forced_study": "强制学习",
    "forced_exam": "强制考试",
    "point_deduction": "扣分",
    "freight_by_platform": "平台直接处理买家运费申请",
    "cart_suspension": "暂停使用购物车功能",
    "liquidated_damages": "支付违约金",
    "high_risk": "高危风险商家:关闭退款处理能力",
}
METRIC_ZH = {
    "applications": "售后申请数",
    "overdue": "逾期记录数",
    "refund_only_overdue": "仅退款逾期",
    "return_refund_overdue": "退货退款逾期",
    "exchange_overdue": "换货/维修/补发逾期",
    "delayed_shipments": "延时发货记录",
    "overdue_rate": "逾期率",
    "interventions": "平台介入数",
    "intervention_rate": "平台介入率",
    "rulings": "平台判定数",
    "rulings_against": "判定商家责任数",
    "fault_rate": "商家责任率",
    "over_period_openings": "超售后期打开入口次数",
    "refund_only_median_hours": "仅退款处理时长中位数(小时)",
    "refund_only_p95_hours": "仅退款处理时长 P95(小时)",
    "return_refund_median_hours": "退货退款处理时长中位数(小时)",
    "return_refund_p95_hours": "退货退款处理时长 P95(小时)",
}
MEASURE_STATUSES = ("active", "ended", "lifted", "voided")
APPEAL_ROLES = ("owner", "admin")

# The handling-time percentiles, as fractions a/b so SQL and Python compute them with the same integers.
P50 = (1, 2)
P95 = (19, 20)


def percentile(values: Iterable[int], p: tuple[int, int]) -> float | None:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont): with the values
    sorted, position p*(n-1) counted from 0. The SQL of services.governance computes the same."""
    v = sorted(values)
    if not v:
        return None
    a, b = p
    k, r = divmod(a * (len(v) - 1), b)
    lo = v[k]
    hi = v[k + 1] if k + 1 < len(v) else lo
    return lo + (hi - lo) * r / b


# -- metrics (KS-GOV-2) ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Metrics:
    """One shop's after-sales record over the window (start, end]. Handling times are seconds from
    application to the end of refund-only and return-refund tickets that ended in the window without
    the platform (no intervention), refunded, closed or rejected."""

    shop_id: str
    start: datetime
    end: datetime
    applications: int = 0
    refund_only_overdue: int = 0
    return_refund_overdue: int = 0
    exchange_overdue: int = 0  # exchange, repair and reship reviews run out (GEN-EX-1, GEN-EX-3)
    delayed_shipments: int = 0  # KS-GOV-5 (after KS-PI-4, KS-PI-5): counted like an overdue record
    interventions: int = 0
    rulings: int = 0
    rulings_against: int = 0
    over_period_openings: int = 0
    refund_only_handled: int = 0
    refund_only_median_s: float | None = None
    refund_only_p95_s: float | None = None
    return_refund_handled: int = 0
    return_refund_median_s: float | None = None
    return_refund_p95_s: float | None = None
    last_record_at: datetime | None = None  # the newest overdue record or ruling against the shop

    @property
    def overdue(self) -> int:
        return self.refund_only_overdue + self.return_refund_overdue + self.exchange_overdue + self.delayed_shipments

    COUNTS = ("applications", "overdue", "refund_only_overdue", "return_refund_overdue", "exchange_overdue",
              "delayed_shipments", "interventions", "rulings", "rulings_against", "over_period_openings",
              "refund_only_handled", "return_refund_handled")
    RATES = {"overdue_rate": ("overdue", "applications"), "intervention_rate": ("interventions", "applications"),
             "fault_rate": ("rulings_against", "rulings")}
    HOURS = {"refund_only_median_hours": "refund_only_median_s", "refund_only_p95_hours": "refund_only_p95_s",
             "return_refund_median_hours": "return_refund_median_s", "return_refund_p95_hours": "return_refund_p95_s"}

    def ratio(self, metric: str) -> tuple[int, int]:
        num, den = self.RATES[metric]
        return getattr(self, num), getattr(self, den)

    def value(self, metric: str) -> Decimal | None:
        """A metric as an exact number: counts, rates as fractions (0 when the denominator is 0),
        hours (None when nothing was handled)."""
        if metric in self.RATES:
            num, den = self.ratio(metric)
            return Decimal(num) / Decimal(den) if den else Decimal(0)
        if metric in self.HOURS:
            secs = getattr(self, self.HOURS[metric])
            return None if secs is None else Decimal(str(secs)) / Decimal(3600)
        return Decimal(getattr(self, metric))

    def meets(self, metric: str, minimum: Decimal) -> bool:
        """metric >= minimum, exactly: a rate compares its counts (50 of 100 is 0.5, never 0.4999...)."""
        if metric in self.RATES:
            num, den = self.ratio(metric)
            return Decimal(num) >= minimum * den if den else minimum <= 0
        v = self.value(metric)
        return v is not None and v >= minimum

    def as_dict(self) -> dict[str, Any]:
        """JSON: counts as integers, rates to 4 places, hours to 2 places."""
        out: dict[str, Any] = {"window": {"start": self.start.isoformat(), "end": self.end.isoformat()}}
        out.update((name, getattr(self, name)) for name in self.COUNTS)
        for rate, (num, den) in self.RATES.items():  # as value(rate), from the counts just taken
            out[rate] = float(round(Decimal(out[num]) / Decimal(out[den]), 4)) if out[den] else 0.0
        for hours, field_ in self.HOURS.items():  # as value(hours)
            secs = getattr(self, field_)
            out[hours] = None if secs is None else float(round(Decimal(str(secs)) / Decimal(3600), 2))
        out["last_record_at"] = self.last_record_at.isoformat() if self.last_record_at else None
        return out


# -- the ladder (KS-GOV-3, KS-GOV-4) ---------------------------------------------------------------

HANDLING = frozenset(Metrics.HOURS) | {"refund_only_handled", "return_refund_handled"}  # the costly figures


def triggered(metrics: Metrics, measure: Measure) -> dict[str, Decimal] | None:
    """The first condition set of the rung that the metrics meet, or None."""
    for cond in measure.when:
        if all(metrics.meets(k, v) for k, v in cond.items()):
            return cond
    return None


@dataclass(frozen=True)
class Due:
    """A rung the shop has reached and that is to be applied now."""

    name: str
    measure: Measure
    condition: dict[str, Decimal]


def due_measures(metrics: Metrics, gov: GovernanceRules, history: Sequence[MeasureInstance]) -> list[Due]:
    """Every rung whose thresholds the metrics reach (rungs are cumulative), except measures in force
    and measures that ended after the shop's newest record: once a measure has ended (run its course,
    been lifted, or voided on appeal) the same measure applies again only on a new overdue record or
    ruling against the shop after its end."""
    out = []
    for name, measure in gov.ladder():
        cond = triggered(metrics, measure)
        if cond is None:
            continue
        mine = [h for h in history if h.measure == name]
        if any(h.status == "active" for h in mine):
            continue
        if mine:
            last = max(mine, key=lambda h: h.started_at)
            anchor = last.ended_at or last.started_at
            if metrics.last_record_at is None or metrics.last_record_at <= anchor:
                continue
        out.append(Due(name, measure, cond))
    return out


# -- score and level (KS-GOV-2) ---------------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    value: int
    level: str
    level_zh: str
    raw: Decimal
    inputs: list[dict[str, Any]]
    points_deducted: int
    formula: ScoreFormula

    def as_dict(self) -> dict[str, Any]:
        f = self.formula
        return {
            "value": self.value, "level": self.level, "level_zh": self.level_zh,
            "rule": f.rule, "formula": f.show(), "base": f.base, "floor": f.floor,
            "inputs": self.inputs,
            "points_deducted": self.points_deducted, "points_weight": str(f.points_weight),
            "points_contribution": str(f.points_weight * self.points_deducted + 0),  # + 0: never "-0"
            "unrounded": str(self.raw.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)),
            "levels": [{"name": x.name, "zh": x.zh, "min_score": x.min_score} for x in f.levels],
        }


def score(metrics: Metrics, formula: ScoreFormula, points_deducted: int, shown: bool = True) -> Score:
    """base + sum(weight x metric) + points_weight x points, kept within [floor, base], rounded half up;
    every input is returned with its value and what it took off, so the shop can check the sum (not
    `shown`: no inputs, for the all-shops report's rows)."""
    total = Decimal(formula.base)
    inputs = []
    for term in formula.terms:
        v = metrics.value(term.metric) or Decimal(0)
        contribution = term.weight * v + 0  # + 0: no "-0" in what the shop reads
        total += contribution
        if shown:
            inputs.append({"metric": term.metric, "metric_zh": METRIC_ZH[term.metric],
                           "value": str(v.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)),
                           "weight": str(term.weight),
                           "contribution": str(contribution.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))})
    total += formula.points_weight * points_deducted
    clamped = min(max(total, Decimal(formula.floor)), Decimal(formula.base))
    value = int(clamped.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    level = level_for(value, formula)
    return Score(value, level[0], level[1], total, inputs, points_deducted, formula)


def level_for(value: int, formula: ScoreFormula) -> tuple[str, str]:
    for lv in formula.levels:
        if value >= lv.min_score:
            return lv.name, lv.zh
    last = formula.levels[-1]
    return last.name, last.zh


# -- measures -------------------------------------------------------------------------------------

@dataclass(eq=False)
class MeasureInstance(Recorder):
    """One measure applied to one shop: when it started, when it ends, the metrics that triggered it."""

    id: str
    shop_id: str
    measure: str
    rule: str
    policy: str
    policy_version: str
    started_at: datetime
    status: str = "active"
    ends_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    ended_by: str | None = None
    end_note: str | None = None
    points: int = 0
    amount_fen: int = 0
    charged: dict[str, int] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)
    pending_events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @property
    def active(self) -> bool:
        return self.status == "active"

    def runs_out_by(self, at: datetime) -> bool:
        """In force, with an end that has come by `at` (to be ended before anything is judged at `at`)."""
        return self.active and self.ends_at is not None and self.ends_at <= at

    def event(self, type_: str, at: datetime, actor: str, rule: str | None, payload: dict[str, Any]) -> None:
        body = {"measure": self.measure, "measure_zh": MEASURE_ZH.get(self.measure, self.measure),
                "measure_id": self.id, **payload}
        self.record(Event(type_, at, actor, shop_id=self.shop_id, rule=rule, payload=body))


def start(ident: str, shop_id: str, due: Due, policy: str, pv: PolicyVersion, metrics: Metrics, at: datetime,
          cause: str) -> MeasureInstance:
    """Apply a rung: the measure starts at `at` with the metrics that triggered it."""
    m = due.measure
    snapshot = {"metrics": metrics.as_dict(), "condition": {k: str(v) for k, v in due.condition.items()},
                "policy": f"{policy}@{pv.version}", "cause": cause}
    return MeasureInstance(
        id=ident, shop_id=shop_id, measure=due.name, rule=m.rule, policy=policy, policy_version=pv.version,
        started_at=at, ends_at=at + m.duration if m.duration else None, points=m.points or 0,
        amount_fen=m.amount_fen, snapshot=snapshot,
    )


def announce(inst: MeasureInstance) -> None:
    """The measure_applied event, once the effects (a charge) are known."""
    payload: dict[str, Any] = {
        "started_at": inst.started_at.isoformat(), "ends_at": inst.ends_at.isoformat() if inst.ends_at else None,
        "snapshot": inst.snapshot,
    }
    if inst.points:
        payload["points"] = inst.points
    if inst.amount_fen:
        payload["amount"] = format_yuan(inst.amount_fen)
        payload["charged"] = {k: format_yuan(v) for k, v in inst.charged.items()}
    inst.event("measure_applied", inst.started_at, "system", inst.rule, payload)


def expire(inst: MeasureInstance) -> None:
    """The measure reached its end (at its own end time)."""
    ends = present(inst.ends_at if inst.active else None, f"the end of measure {inst.id} in force")
    _close(inst, "ended", ends, "expired", "system", None)
    inst.event("measure_ended", ends, "system", inst.rule, {"reason": "expired"})


def lift(inst: MeasureInstance, actor: Actor, at: datetime, reason: str | None) -> None:
    """Platform staff lift a measure in force, with a reason (KS-GOV-3, KS-GOV-4)."""
    require(actor.is_platform_staff, "只有平台工作人员可以解除处罚措施",
            "only platform staff may lift a measure", inst.rule)
    if not inst.active:
        raise refuse("invalid_state", f"措施 {inst.id} 已不在执行中({inst.status})",
                     f"measure {inst.id} is not in force ({inst.status})", inst.rule)
    if not (reason and reason.strip()):
        raise refuse("invalid_input", "解除措施必须填写理由", "lifting a measure needs a reason", inst.rule)
    _close(inst, "lifted", at, "lifted", actor.label, reason)
    inst.event("measure_lifted", at, actor.label, inst.rule, {"reason": reason})


def void(inst: MeasureInstance, actor: Actor, at: datetime, answer: str | None) -> None:
    """An upheld appeal: the measure is void from `at` (ended early if still in force)."""
    inst.status, inst.end_reason, inst.ended_by, inst.end_note = "voided", "appeal_upheld", actor.label, answer
    if inst.ended_at is None or inst.ended_at > at:
        inst.ended_at = at


def _close(inst: MeasureInstance, status: str, at: datetime, reason: str, by: str, note: str | None) -> None:
    inst.status, inst.ended_at, inst.end_reason, inst.ended_by, inst.end_note = status, at, reason, by, note


@dataclass(frozen=True)
class Effects:
    """What the measures in force do to the shop (kept on its row)."""

    refund_handling: str = "enabled"
    cart_suspended: bool = False
    freight_claims_by_platform: bool = False
    points: int = 0


def effects(active: Iterable[MeasureInstance]) -> Effects:
    names = set()
    points = 0
    for m in active:
        if not m.active:
            continue
        names.add(m.measure)
        if m.measure == "point_deduction":
            points += m.points
    return Effects(refund_handling="disabled" if "high_risk" in names else "enabled",
                   cart_suspended="cart_suspension" in names,
                   freight_claims_by_platform="freight_by_platform" in names, points=points)


def in_force(active: Iterable[MeasureInstance]) -> list[str]:
    """Names of the measures in force, in ladder order (the scenario check `measures`)."""
    names = {m.measure for m in active if m.active}
    return [n for n in MEASURES if n in names]


# -- appeals --------------------------------------------------------------------------------------

@dataclass(eq=False)
class MeasureAppeal(Recorder):
    id: str
    measure_id: str
    shop_id: str
    filed_at: datetime
    filed_by: str
    reason: str
    status: str = "pending"  # pending | upheld | rejected
    decided_at: datetime | None = None
    decided_by: str | None = None
    answer: str | None = None
    pending_events: list[Event] = field(default_factory=list, repr=False, compare=False)


def file_appeal(ident: str, inst: MeasureInstance, actor: Actor, at: datetime, reason: str | None,
                earlier: Sequence[MeasureAppeal]) -> MeasureAppeal:
    """The shop (owner or admin) appeals a measure in force, once, with a reason; platform staff decide."""
    require(actor.is_staff and actor.shop_id == inst.shop_id and actor.role in APPEAL_ROLES,
            "只有本店主账号或管理员可以对处罚措施提出申诉", "only the shop's owner or an admin may appeal a measure",
            inst.rule)
    if not inst.active:
        raise refuse("invalid_state", f"措施 {inst.id} 已不在执行中({inst.status}),不能申诉",
                     f"measure {inst.id} is not in force ({inst.status}); it cannot be appealed", inst.rule)
    if earlier:
        raise refuse("limit_reached", f"措施 {inst.id} 已申诉过一次", f"measure {inst.id} has been appealed already",
                     inst.rule)
    if not (reason and reason.strip()):
        raise refuse("invalid_input", "申诉必须填写理由", "an appeal needs a reason", inst.rule)
    appeal = MeasureAppeal(id=ident, measure_id=inst.id, shop_id=inst.shop_id, filed_at=at, filed_by=actor.label,
                           reason=reason)
    inst.event("measure_appealed", at, actor.label, inst.rule, {"appeal": ident, "reason": reason})
    return appeal


def decide_appeal(appeal: MeasureAppeal, inst: MeasureInstance, actor: Actor, at: datetime, upheld: bool,
                  answer: str | None) -> None:
    """Platform staff decide: upheld voids the measure (its effects end; liquidated damages come back),
    rejected leaves it as it is."""
    require(actor.is_platform_staff, "只有平台工作人员可以处理申诉",
            "only platform staff may decide an appeal", inst.rule)
    if appeal.status != "pending":
        raise refuse("invalid_state", f"申诉 {appeal.id} 已处理({appeal.status})",
                     f"appeal {appeal.id} has been decided already ({appeal.status})", inst.rule)
    appeal.status = "upheld" if upheld else "rejected"
    appeal.decided_at, appeal.decided_by, appeal.answer = at, actor.label, answer
    if upheld:
        void(inst, actor, at, answer)
    inst.event("measure_appeal_decided", at, actor.label, inst.rule,
               {"appeal": appeal.id, "upheld": upheld, "answer": answer, "status": inst.status})


# -- effects read by the other use cases ------------------------------------------------------------

def refund_handling_off(shop: Shop, pv: PolicyVersion) -> str | None:
    """KS-GOV-4: the rule that took the shop's refund handling away, or None while it has it."""
    return pv.governance.refund_handling_rule if shop.refund_handling == "disabled" else None


def cart_refusal(shop: Shop, pv: PolicyVersion, suspension: MeasureInstance | None) -> Refusal:
    """KS-GOV-3: the shop's shopping cart is suspended (by `suspension`, the measure in force that
    ends last): no order can be created for it."""
    gov = pv.governance
    rule = suspension.rule if suspension else (gov.cart_suspension or gov.evaluation).rule
    until = suspension.ends_at.astimezone(SHANGHAI).isoformat() if suspension and suspension.ends_at else None
    return refuse("ineligible",
                  f"店铺 {shop.id} 的购物车功能已被暂停" + (f",至 {until}" if until else "") + ",不能创建订单(大量售后逾期)",
                  f"shop {shop.id}'s shopping cart is suspended" + (f" until {until}" if until else "")
                  + " (mass overdue after-sales): orders cannot be created", rule)
