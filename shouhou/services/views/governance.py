"""Merchant governance, read: a shop's 30-day metrics, score with every input, level, measures in
force and their effects (KS-GOV-2, -3, -4); measures and their appeals; the all-shops report."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from ...adapters import tables as t
from ...adapters.uow import SqlUnitOfWork
from ...domain import governance as g
from ...domain.actors import Actor
from ...errors import not_found, refuse
from ...money import format_yuan
from ...policies import MEASURES, PolicyRegistry
from ..access import load_measure, scope, visible_shop
from .common import iso


def measure_view(inst: g.MeasureInstance, appeals: Sequence[g.MeasureAppeal] = ()) -> dict[str, Any]:
    return {
        "id": inst.id, "shop": inst.shop_id, "measure": inst.measure,
        "measure_zh": g.MEASURE_ZH.get(inst.measure, inst.measure), "rule": inst.rule, "status": inst.status,
        "started_at": iso(inst.started_at), "ends_at": iso(inst.ends_at), "ended_at": iso(inst.ended_at),
        "end_reason": inst.end_reason, "ended_by": inst.ended_by, "end_note": inst.end_note,
        "points": inst.points or None, "amount": format_yuan(inst.amount_fen) if inst.amount_fen else None,
        "charged": {k: format_yuan(v) for k, v in inst.charged.items()} or None,
        "snapshot": inst.snapshot, "policy": f"{inst.policy}@{inst.policy_version}",
        "appeals": [measure_appeal_view(a) for a in appeals],
    }


def measure_appeal_view(a: g.MeasureAppeal) -> dict[str, Any]:
    return {"id": a.id, "measure": a.measure_id, "shop": a.shop_id, "filed_at": iso(a.filed_at),
            "filed_by": a.filed_by, "reason": a.reason, "status": a.status, "decided_at": iso(a.decided_at),
            "decided_by": a.decided_by, "answer": a.answer}


def _in_force_at(rows: Iterable[g.MeasureInstance], at: datetime) -> list[g.MeasureInstance]:
    """The measures in force at `at` (copies marked active, whatever became of them later)."""
    out = []
    for m in rows:
        end = m.ended_at if m.ended_at is not None else m.ends_at
        if m.started_at <= at and (end is None or end > at):
            out.append(dataclasses.replace(m, status="active"))
    return out


def shop_view(uow: SqlUnitOfWork, actor: Actor, policies: PolicyRegistry, shop_id: str,
              at: datetime) -> dict[str, Any]:
    """The shop's governance page: its 30-day metrics at `at`, its score with every input and the
    formula, its level, the measures in force and their effects."""
    shop = visible_shop(uow, actor, shop_id)
    pv = policies.in_force(shop.policy, at)
    gov = pv.governance
    metrics = uow.metrics(shop.id, at, gov.window.delta)
    history = uow.measures.of_shop(shop.id)
    current = _in_force_at(history, at)
    points = sum(m.points for m in current if m.measure == "point_deduction")
    sc = g.score(metrics, gov.score, points)
    names = g.in_force(current)
    eff = g.effects(current)
    return {
        "shop": shop.id, "name": shop.name, "policy": f"{shop.policy}@{pv.version}", "at": iso(at),
        "window": {"start": iso(metrics.start), "end": iso(metrics.end), "days": gov.window.delta.days,
                   "rule": gov.window.rule},
        "metrics": metrics.as_dict(),
        "score": sc.as_dict(),
        "level": sc.level, "level_zh": sc.level_zh,
        "measures_in_force": names,
        "step": names[-1] if names else None,
        "refund_handling": eff.refund_handling,
        "refund_handling_rule": gov.high_risk.rule if gov.high_risk else None,
        "cart_suspended": eff.cart_suspended,
        "freight_claims_by_platform": eff.freight_claims_by_platform,
        "points_deducted": eff.points,
        "measures": [measure_view(m, uow.measure_appeals.of_measure(m.id)) for m in current],
        "evaluated_at": iso(shop.governance_evaluated_at),
        "next_evaluation_at": iso(shop.governance_due_at),
        "ladder": [{"measure": name, "measure_zh": g.MEASURE_ZH[name], "rule": m.rule, "when": m.show(),
                    "reached": g.triggered(metrics, m) is not None} for name, m in gov.ladder()],
    }


def list_measures(uow: SqlUnitOfWork, actor: Actor, shop_id: str, status: str | None = None) -> dict[str, Any]:
    shop = visible_shop(uow, actor, shop_id)
    if status is not None and status not in g.MEASURE_STATUSES:
        raise refuse("invalid_input", f"未知的状态 {status}", f"status must be one of {list(g.MEASURE_STATUSES)}")
    rows = [m for m in uow.measures.of_shop(shop.id) if status is None or m.status == status]
    return {"shop": shop.id, "items": [measure_view(m, uow.measure_appeals.of_measure(m.id)) for m in rows],
            "total": len(rows)}


def get_measure(uow: SqlUnitOfWork, actor: Actor, measure_id: str) -> dict[str, Any]:
    inst = load_measure(uow, actor, measure_id)
    return measure_view(inst, uow.measure_appeals.of_measure(inst.id))


def get_measure_appeal(uow: SqlUnitOfWork, actor: Actor, appeal_id: str) -> dict[str, Any]:
    appeal = uow.measure_appeals.get(appeal_id)
    if appeal is None or not actor.sees(appeal.shop_id):
        raise not_found("measure appeal", appeal_id)
    return measure_appeal_view(appeal)


def list_measure_appeals(uow: SqlUnitOfWork, actor: Actor, status: str | None = None) -> dict[str, Any]:
    """Appeals against measures: the platform's queue (all shops), a shop's own."""
    if not (actor.is_platform or actor.is_staff):
        raise refuse("forbidden", "只有平台或店铺可以查看申诉", "only the platform and shops see appeals")
    c = t.measure_appeals.c
    conds = scope(actor, c.shop_id)
    if status is not None:
        conds.append(c.status == status)
    items = [measure_appeal_view(a) for a in uow.measure_appeals.where(*conds, order_by=(c.filed_at, c.id))]
    return {"items": items, "total": len(items)}


REPORT_COLUMNS = (
    "shop", "name", "policy", "level", "score", "applications", "overdue", "refund_only_overdue",
    "return_refund_overdue", "exchange_overdue", "delayed_shipments", "overdue_rate", "refund_only_median_hours",
    "refund_only_p95_hours",
    "return_refund_median_hours", "return_refund_p95_hours", "interventions", "intervention_rate", "rulings",
    "rulings_against", "fault_rate", "over_period_openings", "step", "measures", "refund_handling",
)


def report(uow: SqlUnitOfWork, actor: Actor, policies: PolicyRegistry, at: datetime, *, sort: str = "overdue",
           descending: bool = True, limit: int | None = None, offset: int = 0) -> dict[str, Any]:
    """Every shop's governance figures at `at` (the platform), or the shop's own row (shop staff),
    sorted by any column (empty values last)."""
    if not (actor.is_platform or actor.is_staff):
        raise refuse("forbidden", "治理报表仅对平台和店铺开放", "the governance report is for the platform and shops")
    if sort not in REPORT_COLUMNS:
        raise refuse("invalid_input", f"不能按 {sort} 排序", f"cannot sort by {sort!r}; one of {list(REPORT_COLUMNS)}")
    if actor.is_staff:
        shop = visible_shop(uow, actor, actor.shop_id or "")
        all_metrics = {shop.id: uow.metrics(shop.id, at, policies.in_force(shop.policy, at).governance.window.delta)}
        shops = {shop.id: (shop.name, shop.policy)}
    else:
        all_metrics = uow.metrics_all(lambda name: policies.in_force(name, at).governance.window.delta, at)
        cols = t.shops.c  # names and packs only: every shop's whole row is not needed
        shops = {r.id: (r.name, r.policy) for r in uow.conn.execute(select(cols.id, cols.name, cols.policy))}
    in_force: dict[str, list[g.MeasureInstance]] = defaultdict(list)
    mc = t.measures.c
    for inst in uow.measures.where(*scope(actor, mc.shop_id), mc.started_at <= at, or_(
            mc.ended_at > at, and_(mc.ended_at.is_(None), or_(mc.ends_at.is_(None), mc.ends_at > at)))):
        in_force[inst.shop_id].append(dataclasses.replace(inst, status="active", pending_events=[]))
    rows = []
    packs = {p: policies.in_force(p, at) for p in {s[1] for s in shops.values()}}
    unmeasured = g.effects([]).refund_handling  # most shops have no measure in force
    for shop_id, m in all_metrics.items():
        name, policy = shops[shop_id]
        pv = packs[policy]
        current = in_force.get(shop_id, [])
        points = sum(x.points for x in current if x.measure == "point_deduction")
        sc = g.score(m, pv.governance.score, points, shown=False)
        names = g.in_force(current) if current else []
        d = m.as_dict()
        rows.append({
            "shop": shop_id, "name": name, "policy": f"{policy}@{pv.version}", "level": sc.level, "score": sc.value,
            **{k: d[k] for k in REPORT_COLUMNS if k in d},
            "step": names[-1] if names else None, "measures": names,
            "refund_handling": g.effects(current).refund_handling if current else unmeasured,
        })
    present = [r for r in rows if r[sort] is not None]
    missing = [r for r in rows if r[sort] is None]
    present.sort(key=lambda r: (_sortable(sort, r[sort]), r["shop"]), reverse=descending)
    ordered = present + sorted(missing, key=lambda r: r["shop"])
    window = {p: pv.governance.window for p, pv in packs.items()}
    page = ordered[offset: offset + limit if limit is not None else None]
    return {"at": iso(at), "sort": sort, "descending": descending, "total": len(rows), "offset": offset,
            "limit": limit, "columns": list(REPORT_COLUMNS),
            "windows": {p: {"days": w.delta.days, "rule": w.rule} for p, w in sorted(window.items())},
            "rows": page}


def _sortable(column: str, v: Any) -> Any:
    if column == "step":
        return MEASURES.index(v)  # by rung, not by name
    return len(v) if isinstance(v, list) else v


def report_csv(view: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(REPORT_COLUMNS)
    for r in view["rows"]:
        w.writerow([";".join(r[c]) if isinstance(r[c], list) else ("" if r[c] is None else r[c])
                    for c in REPORT_COLUMNS])
    return buf.getvalue()


def measures_in_force(uow: SqlUnitOfWork, shop_id: str) -> list[str]:
    """The scenario check `measures`: names of the measures in force, in ladder order."""
    return g.in_force(uow.measures.of_shop(shop_id))
