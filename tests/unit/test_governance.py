"""Merchant governance rules (RULES §9), pure: the ladder of the built-in packs rung by rung (just
below and at each threshold), the high-risk rule (KS-GOV-4), when a measure applies again, the score
and level with their inputs (KS-GOV-2), the effects of measures in force, and who may lift, appeal
and decide. No database, no clock."""

from __future__ import annotations

import copy
import tomllib
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shouhou.clock import SHANGHAI
from shouhou.domain import governance as g
from shouhou.domain.actors import Actor
from shouhou.errors import Refusal
from shouhou.policies import BUILTIN_DIR, MEASURES, PolicyPackError, PolicyRegistry, parse_pack

from .test_aftersales import rules_of

REGISTRY = PolicyRegistry.default()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
D = timedelta(days=1)
PLATFORM = Actor("platform", "ops", role="platform_operator")
OWNER = Actor("staff", "U1", shop_id="S1", role="owner")
ADMIN = Actor("staff", "U2", shop_id="S1", role="admin")
AGENT = Actor("staff", "U3", shop_id="S1", role="cs_agent")
OTHER_OWNER = Actor("staff", "X1", shop_id="S2", role="owner")
BUYER = Actor("buyer", "B1")


def gov(pack: str = "kuaishou") -> Any:
    return REGISTRY.get(pack).at(T0).governance


def metrics(overdue: int = 0, applications: int = 0, **kw: Any) -> g.Metrics:
    """`overdue` records split as refund-only; the rest as given."""
    return g.Metrics(shop_id="S1", start=T0 - 30 * D, end=T0, applications=applications,
                     refund_only_overdue=overdue, last_record_at=T0 if overdue else None, **kw)


def names(due: list[g.Due]) -> list[str]:
    return [d.name for d in due]


def instance(measure: str, status: str = "active", started: datetime = T0, ended: datetime | None = None,
             **kw: Any) -> g.MeasureInstance:
    return g.MeasureInstance(id=f"G-{measure}", shop_id="S1", measure=measure, rule="KS-GOV-3", policy="kuaishou",
                             policy_version="2026.1", started_at=started, status=status, ended_at=ended, **kw)


# -- the ladder of the built-in packs, rung by rung ------------------------------------------------

def _rungs() -> list[tuple[str, str, dict[str, Decimal]]]:
    out = []
    for pack in ("kuaishou", "douyin"):
        for name, m in gov(pack).ladder():
            for cond in m.when:
                out.append((pack, name, cond))
    return out


@pytest.mark.parametrize(("pack", "name", "cond"), _rungs(),
                         ids=lambda v: v if isinstance(v, str) else "+".join(f"{k}{x}" for k, x in v.items()))
def test_each_rung_applies_at_its_threshold_and_not_just_below(pack: str, name: str, cond: dict[str, Decimal]) -> None:
    """KS-GOV-3: each condition set of each rung, exactly at its minimums, and one overdue record
    fewer, and one application more than the rate allows."""
    overdue = int(cond.get("overdue", 0))
    rate = cond.get("overdue_rate")
    applications = int(overdue / rate) if rate else overdue * 1000  # the rate exactly at its minimum
    assert set(cond) <= {"overdue", "overdue_rate"}
    rung = dict(gov(pack).ladder())[name]
    at = metrics(overdue, applications)
    assert g.triggered(at, rung) is not None
    assert name in names(g.due_measures(at, gov(pack), []))
    below_count = metrics(overdue - 1, applications)
    if g.triggered(below_count, rung) is not None:  # another condition set of the rung may still hold
        assert any(c is not cond for c in rung.when)
    else:
        assert name not in names(g.due_measures(below_count, gov(pack), []))
    if rate:
        below_rate = metrics(overdue, applications + 1)
        assert Decimal(overdue) / (applications + 1) < rate
        assert not all(below_rate.meets(k, v) for k, v in cond.items())


def test_rungs_are_cumulative_in_ladder_order() -> None:
    due = g.due_measures(metrics(30, 100), gov(), [])
    assert names(due) == ["warning", "forced_study", "forced_exam", "point_deduction"]
    assert [d.measure.rule for d in due] == ["KS-GOV-3"] * 4


@pytest.mark.parametrize("pack", ["kuaishou", "douyin"])
@pytest.mark.parametrize(("overdue", "applications", "high_risk"), [
    (100, 200, True),   # 100 records, half of the applications
    (100, 100, True),
    (150, 300, True),
    (1000, 1500, True),
    (99, 198, False),   # one record short
    (100, 201, False),  # just under half
    (99, 99, False),
])
def test_100_overdue_records_making_up_half_the_applications_is_high_risk(
        pack: str, overdue: int, applications: int, high_risk: bool) -> None:
    """KS-GOV-4 (the issue's floor): at least 100 overdue records in 30 days that make up at least half
    of the shop's applications put it at the high-risk step; so does anything worse."""
    due = g.due_measures(metrics(overdue, applications), gov(pack), [])
    assert ("high_risk" in names(due)) is high_risk
    if high_risk:
        assert names(due) == list(MEASURES)  # every lower rung too
        assert dict((d.name, d.measure.rule) for d in due)["high_risk"] == {"kuaishou": "KS-GOV-4",
                                                                             "douyin": "GEN-GOV-4"}[pack]


def test_both_kinds_of_overdue_count_and_rates_compare_exactly() -> None:
    m = g.Metrics(shop_id="S1", start=T0 - 30 * D, end=T0, applications=200, refund_only_overdue=60,
                  return_refund_overdue=40, last_record_at=T0)
    assert m.overdue == 100 and m.meets("overdue_rate", Decimal("0.5"))
    assert not replace(m, applications=201).meets("overdue_rate", Decimal("0.5"))
    assert metrics(0, 0).meets("overdue_rate", Decimal(0)) and not metrics(0, 0).meets("overdue_rate", Decimal("0.01"))


# -- applying again ---------------------------------------------------------------------------------

def test_a_measure_in_force_is_not_applied_again() -> None:
    due = g.due_measures(metrics(5, 10), gov(), [instance("warning")])
    assert "warning" not in names(due)


def test_an_ended_measure_applies_again_only_on_a_record_after_its_end() -> None:
    ended = instance("warning", status="ended", started=T0 - 8 * D, ended=T0 - D)
    stale = replace(metrics(5, 10), last_record_at=T0 - 2 * D)
    assert "warning" not in names(g.due_measures(stale, gov(), [ended]))
    fresh = replace(metrics(5, 10), last_record_at=T0 - D + timedelta(minutes=1))
    assert "warning" in names(g.due_measures(fresh, gov(), [ended]))


@pytest.mark.parametrize("status", ["lifted", "voided"])
def test_after_a_lift_or_an_upheld_appeal_only_a_new_record_brings_the_measure_back(status: str) -> None:
    lifted = instance("high_risk", status=status, started=T0 - 3 * D, ended=T0 - D)
    before = replace(metrics(120, 200), last_record_at=T0 - 2 * D)
    assert "high_risk" not in names(g.due_measures(before, gov(), [lifted]))
    after = replace(metrics(121, 201), last_record_at=T0)
    assert "high_risk" in names(g.due_measures(after, gov(), [lifted]))


# -- score and level (KS-GOV-2) ----------------------------------------------------------------------

def test_score_shows_every_input_and_what_it_took_off() -> None:
    m = replace(metrics(10, 100), interventions=5, rulings=4, rulings_against=1)
    sc = g.score(m, gov().score, 0)
    view = sc.as_dict()
    assert view["rule"] == "KS-GOV-2" and "overdue_rate" in view["formula"]
    inputs = {x["metric"]: x for x in view["inputs"]}
    assert inputs["overdue_rate"] == {"metric": "overdue_rate", "metric_zh": "逾期率", "value": "0.1000",
                                      "weight": "-100", "contribution": "-10.0000"}
    assert inputs["intervention_rate"]["contribution"] == "-1.5000"
    assert inputs["fault_rate"]["contribution"] == "-5.0000"
    assert sc.value == 84 and (sc.level, sc.level_zh) == ("L3", "中等")  # 100 - 10 - 1.5 - 5 = 83.5 -> 84
    assert view["unrounded"] == "83.5000"


def test_point_deduction_lowers_the_score_and_the_level() -> None:
    m = metrics(0, 50)
    assert (g.score(m, gov().score, 0).value, g.score(m, gov().score, 0).level) == (100, "L5")
    deducted = g.score(m, gov().score, 10)
    assert (deducted.value, deducted.level, deducted.points_deducted) == (90, "L4", 10)
    assert deducted.as_dict()["points_contribution"] == "-10"
    assert g.score(m, gov().score, 0).as_dict()["points_contribution"] == "0"  # not "-0"


def test_score_stays_within_floor_and_base() -> None:
    assert g.score(metrics(100, 100), gov().score, 10).value == 0
    assert g.score(metrics(0, 0), gov().score, 0).value == 100


# -- effects and the measure's life ---------------------------------------------------------------------

def test_effects_follow_the_measures_in_force() -> None:
    active = [instance("point_deduction", points=10), instance("cart_suspension"), instance("freight_by_platform"),
              instance("high_risk"), instance("warning", status="ended")]
    eff = g.effects(active)
    assert eff == g.Effects(refund_handling="disabled", cart_suspended=True, freight_claims_by_platform=True, points=10)
    assert g.in_force(active) == ["point_deduction", "freight_by_platform", "cart_suspension", "high_risk"]
    assert g.effects([]) == g.Effects()


def test_only_platform_staff_lift_a_measure_and_only_with_a_reason() -> None:
    for who in (OWNER, AGENT, BUYER, Actor("platform", "order-sync", role="integration")):
        with pytest.raises(Refusal) as e:
            g.lift(instance("warning"), who, T0, "done")
        assert e.value.code == "forbidden" and "KS-GOV-3" in e.value.rules
    with pytest.raises(Refusal) as e:
        g.lift(instance("warning"), PLATFORM, T0, "  ")
    assert e.value.code == "invalid_input"
    inst = replace(instance("high_risk"), rule="KS-GOV-4")
    g.lift(inst, PLATFORM, T0 + D, "整改完成 rectified")
    assert (inst.status, inst.ended_at, inst.end_reason, inst.ended_by) == ("lifted", T0 + D, "lifted", "platform:ops")
    [event] = inst.drain_events()
    assert (event.type, event.rule, event.payload["reason"]) == ("measure_lifted", "KS-GOV-4", "整改完成 rectified")
    with pytest.raises(Refusal) as e:
        g.lift(inst, PLATFORM, T0 + D, "again")
    assert e.value.code == "invalid_state"


def test_the_shop_appeals_once_and_platform_staff_decide() -> None:
    inst = instance("cart_suspension")
    for who, code in ((AGENT, "forbidden"), (OTHER_OWNER, "forbidden"), (BUYER, "forbidden"), (PLATFORM, "forbidden")):
        with pytest.raises(Refusal) as e:
            g.file_appeal("A0", inst, who, T0, "reason", [])
        assert e.value.code == code
    with pytest.raises(Refusal) as e:
        g.file_appeal("A0", inst, OWNER, T0, "", [])
    assert e.value.code == "invalid_input"
    appeal = g.file_appeal("A1", inst, ADMIN, T0, "逾期因物流系统故障 carrier outage", [])
    assert appeal.status == "pending" and appeal.filed_by == "staff:U2"
    with pytest.raises(Refusal) as e:
        g.file_appeal("A2", inst, OWNER, T0, "again", [appeal])
    assert e.value.code == "limit_reached"
    with pytest.raises(Refusal) as e:
        g.decide_appeal(appeal, inst, OWNER, T0, True, "no")
    assert e.value.code == "forbidden"
    g.decide_appeal(appeal, inst, PLATFORM, T0 + D, True, "属实 confirmed")
    assert (appeal.status, inst.status, inst.ended_at, inst.end_reason) == ("upheld", "voided", T0 + D, "appeal_upheld")
    types = [e.type for e in inst.drain_events()]
    assert types == ["measure_appealed", "measure_appeal_decided"]
    with pytest.raises(Refusal) as e:
        g.decide_appeal(appeal, inst, PLATFORM, T0 + D, False, None)
    assert e.value.code == "invalid_state"


def test_a_rejected_appeal_leaves_the_measure_in_force() -> None:
    inst = instance("warning")
    appeal = g.file_appeal("A1", inst, OWNER, T0, "reason", [])
    g.decide_appeal(appeal, inst, PLATFORM, T0, False, "不属实 not confirmed")
    assert (appeal.status, inst.status) == ("rejected", "active")


def test_a_measure_expires_at_its_own_end() -> None:
    inst = replace(instance("warning"), ends_at=T0 + 7 * D)
    g.expire(inst)
    [event] = inst.drain_events()
    assert (inst.status, inst.ended_at, event.type, event.at, event.rule) == (
        "ended", T0 + 7 * D, "measure_ended", T0 + 7 * D, "KS-GOV-3")


# -- percentiles -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("values", "p50", "p95"), [
    ([], None, None),
    ([7], 7, 7),
    ([1, 3], 2, 2.9),
    ([5, 1, 3], 3, 4.8),
    (list(range(1, 101)), 50.5, 95.05),
])
def test_percentiles_interpolate_between_the_closest_ranks(values: list[int], p50: float | None,
                                                            p95: float | None) -> None:
    assert g.percentile(values, g.P50) == (None if p50 is None else pytest.approx(p50))
    assert g.percentile(values, g.P95) == (None if p95 is None else pytest.approx(p95))


# -- the packs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("pack", ["kuaishou", "douyin"])
def test_governance_settings_cite_rules_that_exist(pack: str) -> None:
    for v in REGISTRY.get(pack).versions:
        for setting, _value, rule, source, _note in v.rows():
            if setting.startswith("governance."):
                assert rule in rules_of(pack) and source.startswith(("seed", "public", "default")), setting
    assert gov(pack).high_risk.rule == {"kuaishou": "KS-GOV-4", "douyin": "GEN-GOV-4"}[pack]
    assert gov(pack).window.delta == timedelta(days=30) and gov(pack).evaluation.delta == timedelta(days=1)
    assert [n for n, _ in gov(pack).ladder()] == list(MEASURES)


def _ks_with(**governance: Any) -> dict[str, Any]:
    raw = tomllib.loads((BUILTIN_DIR / "kuaishou.toml").read_text("utf-8"))
    out = copy.deepcopy(raw)
    out["versions"][0]["governance"].update(governance)
    return out


@pytest.mark.parametrize(("change", "message"), [
    ({"warning": {"when": [{"overdue_ratio": 1}], "rule": "KS-GOV-3"}}, "unknown metric"),
    ({"warning": {"when": [], "rule": "KS-GOV-3"}}, "warning.when"),
    ({"warning": {"when": [{"overdue": -1}], "rule": "KS-GOV-3"}}, "negative"),
    ({"point_deduction": {"when": [{"overdue": 1}], "rule": "KS-GOV-3"}}, "point_deduction needs points"),
    ({"liquidated_damages": {"when": [{"overdue": 1}], "amount": "0.00", "rule": "KS-GOV-3"}}, "amount"),
    ({"warning": {"when": [{"overdue": 1}], "rule": "GOV 3"}}, "not a rule ID"),
])
def test_a_bad_ladder_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyPackError) as e:
        parse_pack(_ks_with(**change), "custom.toml")
    assert message in str(e.value) and "governance" in str(e.value)


def test_score_levels_must_cover_every_score() -> None:
    raw = _ks_with()
    raw["versions"][0]["governance"]["score"]["levels"] = [{"name": "A", "zh": "优", "min_score": 50}]
    with pytest.raises(PolicyPackError) as e:
        parse_pack(raw, "custom.toml")
    assert "every score has a level" in str(e.value)


def test_a_pack_may_leave_rungs_out() -> None:
    raw = _ks_with()
    for name in ("forced_study", "forced_exam"):
        del raw["versions"][0]["governance"][name]
    pv = parse_pack(raw, "custom.toml").versions[0]
    assert [n for n, _ in pv.governance.ladder()] == [n for n in MEASURES if n not in ("forced_study", "forced_exam")]


@given(st.integers(0, 300), st.integers(0, 400), st.integers(0, 50), st.integers(0, 40),
       st.one_of(st.none(), st.floats(0, 10**7, allow_nan=False)), st.one_of(st.none(), st.integers(0, 10**7)))
def test_as_dict_shows_the_exact_values_rounded(overdue: int, apps: int, interventions: int, rulings: int,
                                                median: float | None, p95: int | None) -> None:
    """Rates to 4 places and hours to 2, rounded from value()'s exact figures."""
    m = replace(metrics(overdue, apps), interventions=interventions, rulings=rulings, rulings_against=rulings // 2,
                refund_only_median_s=median, return_refund_p95_s=None if p95 is None else float(p95))
    view = m.as_dict()
    for rate in g.Metrics.RATES:
        assert view[rate] == float(round(m.value(rate) or Decimal(0), 4))
    for hours in g.Metrics.HOURS:
        v = m.value(hours)
        assert view[hours] == (None if v is None else float(round(v, 2)))


def test_only_packs_whose_ladder_or_score_read_handling_times_need_them() -> None:
    """The worker leaves the handling times out of an evaluation whose pack reads none of them."""
    assert not gov().metrics_read() & g.HANDLING
    pack = copy.deepcopy(tomllib.loads((BUILTIN_DIR / "kuaishou.toml").read_text()))
    pack["versions"][0]["governance"]["warning"]["when"].append({"refund_only_p95_hours": "72"})
    rules = parse_pack(pack, "kuaishou").versions[0].governance
    assert rules.metrics_read() & g.HANDLING == {"refund_only_p95_hours"}
