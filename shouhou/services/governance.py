"""Merchant governance (RULES §9) over the database: the 30-day metrics in SQL for one shop or for all
shops (one grouped query per metric family), evaluating the ladder and applying its measures with their
effects, lifting, appeals, and the worker's daily evaluation.

When it runs:
- on every `overdue_recorded` (KS-GOV-1) and every ruling (`ruled`, `appeal_upheld`): the money
  reactor calls `evaluate` inside the unit of work that records it, at the event's own time;
- by the worker (services.deadlines) at `shops.governance_due_at`: the next daily evaluation or the
  next end of a measure, whichever comes first. A shop with no overdue record and no ruling in the
  window and no measure in force has nothing to watch: its deadline is cleared until the next record.

Measures and their appeals are written with Core statements in the unit of work's transaction; their
events go out with the transaction's other events.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    Float,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    distinct,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from ..adapters import tables as t
from ..adapters.uow import SqlUnitOfWork
from ..clock import SHANGHAI
from ..domain import governance as g
from ..domain import ledger as L
from ..domain.actors import Actor, require
from ..domain.events import Event
from ..domain.shops import Shop
from ..errors import Refusal, not_found, refuse
from ..money import format_yuan
from ..policies import MEASURES, PolicyRegistry, PolicyVersion
from . import money

TRIGGERS = ("overdue_recorded", "ruled", "appeal_upheld")
HANDLED_STATUSES = ("refunded", "closed", "rejected")  # cancelled tickets were not handled by the shop
HANDLED_TYPES = ("refund_only", "return_refund")
GOV_COLUMNS = ("refund_handling", "score", "points", "freight_claims_by_platform", "cart_suspended",
               "governance_evaluated_at", "governance_due_at")


class _Ctx(Protocol):
    now: datetime
    policies: PolicyRegistry


def _new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(8)}"


def _aware(v: Any) -> datetime | None:
    """An instant from a raw aggregate (SQLite may hand back text or a naive UTC datetime)."""
    if v is None:
        return None
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    if v.tzinfo is None:
        v = v.replace(tzinfo=UTC)
    return v.astimezone(SHANGHAI)  # type: ignore[no-any-return]


# -- commands -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvaluateShop:
    shop_id: str


@dataclass(frozen=True)
class LiftMeasure:
    measure_id: str
    reason: str | None


@dataclass(frozen=True)
class AppealMeasure:
    measure_id: str
    reason: str | None


@dataclass(frozen=True)
class DecideMeasureAppeal:
    appeal_id: str
    upheld: bool
    answer: str | None = None


# -- storage of measures and appeals --------------------------------------------------------------

_M_COLS = [c.name for c in t.measures.columns]
_A_COLS = [c.name for c in t.measure_appeals.columns]


def _measure(row: Any) -> g.MeasureInstance:
    m = row._mapping
    return g.MeasureInstance(**{c: m[c] for c in _M_COLS})


def _appeal(row: Any) -> g.MeasureAppeal:
    m = row._mapping
    return g.MeasureAppeal(**{c: m[c] for c in _A_COLS})


def _save_measure(uow: SqlUnitOfWork, inst: g.MeasureInstance, new: bool = False) -> None:
    row = {c: getattr(inst, c) for c in _M_COLS}
    if new:
        uow.conn.execute(insert(t.measures), [row])
    else:
        uow.conn.execute(update(t.measures).where(t.measures.c.id == inst.id).values(**row))
    uow.extra_events.extend(inst.drain_events())


def _save_appeal(uow: SqlUnitOfWork, appeal: g.MeasureAppeal, new: bool = False) -> None:
    row = {c: getattr(appeal, c) for c in _A_COLS}
    if new:
        uow.conn.execute(insert(t.measure_appeals), [row])
    else:
        uow.conn.execute(update(t.measure_appeals).where(t.measure_appeals.c.id == appeal.id).values(**row))


def measures_of(conn: Connection, shop_id: str) -> list[g.MeasureInstance]:
    c = t.measures.c
    return [_measure(r) for r in conn.execute(select(t.measures).where(c.shop_id == shop_id)
                                              .order_by(c.started_at, c.id))]


def _get_measure(uow: SqlUnitOfWork, measure_id: str, lock: bool = False) -> g.MeasureInstance | None:
    stmt = select(t.measures).where(t.measures.c.id == measure_id)
    if lock and uow.dialect == "postgresql":
        stmt = stmt.with_for_update()
    row = uow.conn.execute(stmt).first()
    return _measure(row) if row else None


def _appeals_of(conn: Connection, measure_id: str) -> list[g.MeasureAppeal]:
    c = t.measure_appeals.c
    return [_appeal(r) for r in conn.execute(select(t.measure_appeals).where(c.measure_id == measure_id)
                                             .order_by(c.filed_at, c.id))]


# -- metrics in SQL (KS-GOV-2) ------------------------------------------------------------------------
#
# Five families, one grouped query each: applications; overdue records by type; interventions and
# rulings; over-period openings; handling-time percentiles. Each is built once per dialect and scope
# ("all" shops, one "shop", the shops of some "policies") with bound parameters, and reused.

START, END = bindparam("start", type_=t.Instant()), bindparam("end", type_=t.Instant())


def _in(col: Any) -> ColumnElement[bool]:
    return and_(col > START, col <= END)


def _scope(kind: str, col: Any) -> ColumnElement[bool] | None:
    if kind == "shop":
        return col == bindparam("shop")  # type: ignore[no-any-return]
    if kind == "policies":
        members = select(t.shops.c.id).where(t.shops.c.policy.in_(bindparam("policies", expanding=True)))
        return col.in_(members)  # type: ignore[no-any-return]
    return None


def _seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Whole seconds between two instants, in SQL."""
    if dialect == "postgresql":
        return cast(func.round(func.extract("epoch", later - earlier)), Integer)
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400), Integer)


@functools.cache
def _statements(dialect: str, scope: str) -> dict[str, Any]:
    tk, od, iv, ev = t.tickets.c, t.overdue_records.c, t.interventions.c, t.events.c

    def scoped(stmt: Any, col: Any) -> Any:
        cond = _scope(scope, col)
        return stmt if cond is None else stmt.where(cond)

    requested, ruled = _in(iv.requested_at), _in(iv.ruled_at)
    # against the shop: the fault as it stands after an upheld appeal (KS-PI-3), shop or both
    against = and_(ruled, func.coalesce(iv.effective_fault, iv.fault).in_(("shop", "both")))
    return {
        "applications": scoped(select(tk.shop_id, func.count()).where(_in(tk.created_at)), tk.shop_id)
        .group_by(tk.shop_id),
        "overdue": scoped(select(od.shop_id, od.type, func.count(), func.max(od.at)).where(_in(od.at)), od.shop_id)
        .group_by(od.shop_id, od.type),
        "interventions": scoped(select(
            iv.shop_id, func.count(distinct(case((requested, iv.ticket_id)))),
            func.sum(case((ruled, 1), else_=0)), func.sum(case((against, 1), else_=0)),
            func.max(case((against, iv.ruled_at))),
        ).where(or_(requested, ruled)), iv.shop_id).group_by(iv.shop_id),
        "openings": scoped(select(ev.shop_id, func.count()).where(ev.type == "entry_opened", _in(ev.at)), ev.shop_id)
        .group_by(ev.shop_id),
        "handling": _handling_sql(dialect, scope),
    }


def _handling_sql(dialect: str, scope: str) -> Any:
    """Median and P95 of the seconds from application to end of refund-only and return-refund tickets
    that ended in the window without the platform (no intervention), by linear interpolation between
    the closest ranks (domain.governance.percentile): window functions and integer arithmetic, so
    SQLite and PostgreSQL answer alike."""
    tk, iv = t.tickets.c, t.interventions.c
    handled = select(tk.shop_id, tk.type, _seconds(dialect, tk.ended_at, tk.created_at).label("s")).where(
        tk.type.in_(HANDLED_TYPES), tk.status.in_(HANDLED_STATUSES), _in(tk.ended_at),
        ~exists().where(iv.ticket_id == tk.id))
    cond = _scope(scope, tk.shop_id)
    if cond is not None:
        handled = handled.where(cond)
    d = handled.subquery("handled")
    part = (d.c.shop_id, d.c.type)
    ranked = select(d.c.shop_id, d.c.type, d.c.s,
                    func.row_number().over(partition_by=part, order_by=d.c.s).label("rn"),
                    func.count().over(partition_by=part).label("n")).subquery("ranked")
    r = ranked.c

    def pos(p: tuple[int, int]) -> tuple[Any, Any]:
        a, b = p
        return (r.n - 1) * a // b + 1, (r.n - 1) * a % b  # 1-based rank of the lower value, remainder

    (lo50, rem50), (lo95, rem95) = pos(g.P50), pos(g.P95)
    picked = select(
        r.shop_id, r.type, func.max(r.n).label("n"),
        func.max(case((r.rn == lo50, r.s))).label("lo50"), func.max(case((r.rn == lo50 + 1, r.s))).label("hi50"),
        func.max(case((r.rn == lo50, rem50))).label("rem50"),
        func.max(case((r.rn == lo95, r.s))).label("lo95"), func.max(case((r.rn == lo95 + 1, r.s))).label("hi95"),
        func.max(case((r.rn == lo95, rem95))).label("rem95"),
    ).where(or_(r.rn == lo50, r.rn == lo50 + 1, r.rn == lo95, r.rn == lo95 + 1)).group_by(r.shop_id, r.type) \
        .subquery("picked")
    k = picked.c

    def interpolate(lo: Any, hi: Any, rem: Any, b: int) -> Any:
        return cast(lo, Float) + cast((func.coalesce(hi, lo) - lo) * rem, Float) / b

    return select(k.shop_id, k.type, k.n, interpolate(k.lo50, k.hi50, k.rem50, g.P50[1]),
                  interpolate(k.lo95, k.hi95, k.rem95, g.P95[1]))


def _families(conn: Connection, start: datetime, end: datetime, scope: str,
              **params: Any) -> dict[str, dict[str, Any]]:
    """Every metric family of the window (start, end] for the shops in `scope`. Returns
    shop_id -> {Metrics field: value}."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    q = _statements(conn.dialect.name, scope)
    args = {"start": start, "end": end, **params}
    for shop, n in conn.execute(q["applications"], args):
        out[shop]["applications"] = int(n)
    for shop, kind, n, last in conn.execute(q["overdue"], args):  # KS-GOV-1
        # KS-GOV-1's two types by name; exchange, repair and reship reviews that ran out (GEN-EX-1:
        # "overdue counted"; GEN-EX-3 alike) together
        name = kind if kind in ("refund_only_overdue", "return_refund_overdue") else "exchange_overdue"
        out[shop][name] = out[shop].get(name, 0) + int(n)
        _newest(out[shop], _aware(last))
    for shop, n_iv, n_ruled, n_against, last in conn.execute(q["interventions"], args):  # RULES §6
        out[shop].update(interventions=int(n_iv or 0), rulings=int(n_ruled or 0), rulings_against=int(n_against or 0))
        _newest(out[shop], _aware(last))
    for shop, n in conn.execute(q["openings"], args):  # RULES §7
        if shop is not None:
            out[shop]["over_period_openings"] = int(n)
    for shop, kind, n, p50, p95 in conn.execute(q["handling"], args):
        out[shop][f"{kind}_handled"] = int(n)
        out[shop][f"{kind}_median_s"] = None if p50 is None else float(p50)
        out[shop][f"{kind}_p95_s"] = None if p95 is None else float(p95)
    return out


def _newest(row: dict[str, Any], at: datetime | None) -> None:
    if at is not None and (row.get("last_record_at") is None or at > row["last_record_at"]):
        row["last_record_at"] = at


def _metrics(shop_id: str, start: datetime, end: datetime, row: dict[str, Any]) -> g.Metrics:
    return g.Metrics(shop_id=shop_id, start=start, end=end, **row)


def metrics_for(conn: Connection, shop_id: str, at: datetime, window: timedelta) -> g.Metrics:
    """One shop's metrics over (at - window, at]."""
    start = at - window
    rows = _families(conn, start, at, "shop", shop=shop_id)
    return _metrics(shop_id, start, at, rows.get(shop_id, {}))


def metrics_all(conn: Connection, policies: PolicyRegistry, at: datetime) -> dict[str, g.Metrics]:
    """Every shop's metrics at `at`, each over its own pack's window: one run of the grouped queries per
    distinct window length (usually one run for all shops)."""
    shops = {r.id: r.policy for r in conn.execute(select(t.shops.c.id, t.shops.c.policy))}
    windows: dict[timedelta, list[str]] = defaultdict(list)
    for name in sorted(set(shops.values())):
        windows[policies.get(name).at(at).governance.window.delta].append(name)
    out: dict[str, g.Metrics] = {}
    for window, names in windows.items():
        start = at - window
        if len(windows) == 1:
            rows = _families(conn, start, at, "all")
        else:
            rows = _families(conn, start, at, "policies", policies=names)
        for shop_id, policy in shops.items():
            if policy in names:
                out[shop_id] = _metrics(shop_id, start, at, rows.get(shop_id, {}))
    return out


# -- evaluation (KS-GOV-3, KS-GOV-4) ----------------------------------------------------------------

def lock_shops(uow: SqlUnitOfWork, events: Iterable[Event]) -> None:
    """Before the reactor evaluates shops, take their row locks in id order (PostgreSQL), so two
    transactions that both evaluate the same shops cannot deadlock."""
    ids = sorted({e.shop_id for e in events if e.type in TRIGGERS and e.shop_id})
    if ids and uow.dialect == "postgresql":
        uow.conn.execute(select(t.shops.c.id).where(t.shops.c.id.in_(ids)).order_by(t.shops.c.id).with_for_update())


def _lock_shop(uow: SqlUnitOfWork, shop_id: str) -> Shop:
    """The shop, its row locked (PostgreSQL), with the governance columns as committed: another
    transaction may have changed them since this one first read the shop. (Money columns changed in
    this transaction are kept.)"""
    shop: Shop | None = uow.shops.get(shop_id)
    if shop is None:
        raise not_found("shop", shop_id)
    if uow.dialect == "postgresql":
        row = uow.conn.execute(select(*(t.shops.c[c] for c in GOV_COLUMNS)).where(t.shops.c.id == shop_id)
                               .with_for_update()).first()
        seen = uow.shops.seen.get(shop_id)
        if row is not None and seen is not None:
            obj, before = seen
            for col in GOV_COLUMNS:
                if getattr(obj, col) == before[col]:  # untouched in this transaction: take the stored value
                    setattr(obj, col, row._mapping[col])
                    before[col] = row._mapping[col]
    return shop


def evaluate(uow: SqlUnitOfWork, policies: PolicyRegistry, shop_id: str, at: datetime,
             cause: str, metrics: g.Metrics | None = None) -> list[g.MeasureInstance]:
    """Evaluate one shop at `at`: end the measures whose end has come, compute the metrics (unless
    given, computed at `at` in this transaction), apply every rung reached (with its effects), update
    the shop's flags, score and next evaluation. Returns the measures applied."""
    shop = _lock_shop(uow, shop_id)
    pv = policies.get(shop.policy).at(at)
    gov = pv.governance
    history = measures_of(uow.conn, shop.id)
    for inst in history:
        if inst.runs_out_by(at):
            g.expire(inst)
            _save_measure(uow, inst)
    if metrics is None or metrics.end != at:
        metrics = metrics_for(uow.conn, shop.id, at, gov.window.delta)
    applied = []
    for due in g.due_measures(metrics, gov, history):
        inst = g.start(_new_id("G"), shop.id, due, shop.policy, pv, metrics, at, cause)
        if inst.amount_fen:
            inst.charged = charge(uow, shop, pv, inst, at)
        g.announce(inst)
        _save_measure(uow, inst, new=True)
        history.append(inst)
        applied.append(inst)
    _settle_effects(uow, shop, pv, history, at, "system")
    points = sum(m.points for m in history if m.active and m.measure == "point_deduction")
    shop.score = g.score(metrics, gov.score, points).value
    shop.governance_evaluated_at = at
    active = [m for m in history if m.active]
    watched = metrics.overdue > 0 or metrics.rulings > 0 or bool(active)
    due_times = [m.ends_at for m in active if m.ends_at is not None]
    if watched:
        due_times.append(at + gov.evaluation.delta)
    shop.governance_due_at = min(due_times) if due_times else None
    return applied


def evaluate_records(uow: SqlUnitOfWork, policies: PolicyRegistry, shop_id: str,
                     records: Sequence[tuple[datetime, str]]) -> list[g.MeasureInstance]:
    """KS-GOV-3 on each overdue record (or ruling) at its own time, for the records one transaction
    made for one shop (a sweep catching up may make dozens). Evaluating at every record would run the
    metric queries once per record; instead the metrics are checked at the last record, and where a
    rung is reached the earliest record that reaches it is found by bisection (along one batch the
    shop's record only grows), so each measure starts at the record that brought it. The shop is then
    evaluated at its last record. Returns the measures applied."""
    times = sorted(set(records))
    applied: list[g.MeasureInstance] = []
    last: g.Metrics | None = None  # the metrics at the last record, when no rung is reached there
    i = 0
    while i < len(times) - 1:
        reached, metrics = _reaches_rung(uow, policies, shop_id, times[-1][0])
        if not reached:
            last = metrics
            break
        lo, hi = i, len(times) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if _reaches_rung(uow, policies, shop_id, times[mid][0])[0]:
                hi = mid
            else:
                lo = mid + 1
        at, cause = times[lo]
        applied += evaluate(uow, policies, shop_id, at, cause)
        i = lo + 1
    if times and i < len(times):  # (i == len(times): just evaluated at the last record)
        at, cause = times[-1]
        applied += evaluate(uow, policies, shop_id, at, cause, last)
    return applied


def _reaches_rung(uow: SqlUnitOfWork, policies: PolicyRegistry, shop_id: str,
                  at: datetime) -> tuple[bool, g.Metrics]:
    """Whether evaluating the shop at `at` would apply a measure (measures whose end has come by then
    counted as ended), without changing anything; and the metrics at `at`."""
    shop = uow.shops.get(shop_id)
    if shop is None:
        raise not_found("shop", shop_id)
    gov = policies.get(shop.policy).at(at).governance
    history = [dataclasses.replace(m, status="ended", ended_at=m.ends_at, pending_events=[])
               if m.runs_out_by(at) else m
               for m in measures_of(uow.conn, shop_id)]
    metrics = metrics_for(uow.conn, shop_id, at, gov.window.delta)
    return bool(g.due_measures(metrics, gov, history)), metrics


def _settle_effects(uow: SqlUnitOfWork, shop: Shop, pv: PolicyVersion, history: Sequence[g.MeasureInstance],
                    at: datetime, actor: str) -> None:
    """Keep the shop's flags equal to the effects of the measures in force; say when refund handling
    turns off or on (KS-GOV-4)."""
    eff = g.effects(history)
    if eff.refund_handling != shop.refund_handling:
        rule = pv.governance.high_risk.rule if pv.governance.high_risk else pv.governance.evaluation.rule
        kind = "refund_handling_disabled" if eff.refund_handling == "disabled" else "refund_handling_enabled"
        uow.extra_events.append(Event(kind, at, actor, shop_id=shop.id, rule=rule, payload={
            "refund_handling": eff.refund_handling,
            "message_zh": "店铺退款处理能力已关闭:新的售后申请将自动同意并退款" if eff.refund_handling == "disabled"
            else "店铺退款处理能力已恢复",
            "message_en": "refund handling disabled: every new application is approved and refunded at once"
            if eff.refund_handling == "disabled" else "refund handling enabled again"}))
    shop.refund_handling = eff.refund_handling
    shop.cart_suspended = eff.cart_suspended
    shop.freight_claims_by_platform = eff.freight_claims_by_platform
    shop.points = eff.points


def charge(uow: SqlUnitOfWork, shop: Shop, pv: PolicyVersion, inst: g.MeasureInstance, at: datetime) -> dict[str, int]:
    """Liquidated damages (违约金): one balanced entry, from the wallet, then the deposit, and what they
    cannot cover is owed as debt (the refund waterfall's order, DY-OP-9). Returns fen per source."""
    books = money.Books(uow)
    sources = L.waterfall(shop.id, inst.amount_fen, books.balance(L.wallet(shop.id)),
                          books.balance(L.deposit(shop.id)), tuple(pv.money.waterfall.value))
    charged: dict[str, int] = {}
    moves: list[tuple[str, int]] = []
    for source, account, fen in sources:
        name = "debt" if source == "advance" else source
        moves.append((L.debt(shop.id) if source == "advance" else account, -fen))
        charged[name] = charged.get(name, 0) + fen
    moves.append((g.PENALTY, inst.amount_fen))
    books.post(L.entry("liquidated_damages", at, moves, shop_id=shop.id, rule=inst.rule,
                       memo={"measure": inst.id, "sources": charged}))
    return charged


def fire(uow: SqlUnitOfWork, policies: PolicyRegistry, shop_id: str, now: datetime) -> list[Any]:
    """The worker: the shop's governance deadline fell due. Evaluate at that time (measures that end
    then end first). Returns what has a next deadline, for the sweep's ordering."""
    shop: Shop | None = uow.shops.get(shop_id, lock=True)
    if shop is None or shop.governance_due_at is None or shop.governance_due_at > now:
        return []
    evaluate(uow, policies, shop_id, shop.governance_due_at, "daily_evaluation")
    return [_Next(shop.governance_due_at)]


@dataclass(frozen=True)
class _Next:
    due_at: datetime | None


# -- effects read by the other use cases ------------------------------------------------------------

def refund_handling_off(shop: Shop, pv: PolicyVersion) -> str | None:
    """KS-GOV-4: the rule that took the shop's refund handling away, or None while it has it."""
    if shop.refund_handling != "disabled":
        return None
    return pv.governance.high_risk.rule if pv.governance.high_risk else pv.governance.evaluation.rule


def cart_refusal(uow: SqlUnitOfWork, shop: Shop, pv: PolicyVersion) -> Refusal:
    """KS-GOV-3: the shop's shopping cart is suspended: no order can be created for it."""
    c = t.measures.c
    row = uow.conn.execute(select(c.ends_at, c.rule).where(c.shop_id == shop.id, c.status == "active",
                                                           c.measure == "cart_suspension")
                           .order_by(c.ends_at.desc())).first()
    rule = row.rule if row else (pv.governance.cart_suspension.rule if pv.governance.cart_suspension
                                 else pv.governance.evaluation.rule)
    until = _iso(row.ends_at) if row and row.ends_at else None
    return refuse("ineligible",
                  f"店铺 {shop.id} 的购物车功能已被暂停" + (f",至 {until}" if until else "") + ",不能创建订单(大量售后逾期)",
                  f"shop {shop.id}'s shopping cart is suspended" + (f" until {until}" if until else "")
                  + " (mass overdue after-sales): orders cannot be created", rule)


# -- use cases --------------------------------------------------------------------------------------

def evaluate_shop(cmd: EvaluateShop, actor: Actor, uow: SqlUnitOfWork, ctx: _Ctx) -> list[str]:
    """Platform staff ask for an evaluation now (the worker does it daily anyway)."""
    shop = _visible_shop(uow, actor, cmd.shop_id)
    rule = ctx.policies.get(shop.policy).at(ctx.now).governance.evaluation.rule
    require(actor.is_platform_staff, "只有平台工作人员可以发起治理评估", "only platform staff may run a governance evaluation",
            rule)
    return [m.id for m in evaluate(uow, ctx.policies, cmd.shop_id, ctx.now, "manual")]


def lift_measure(cmd: LiftMeasure, actor: Actor, uow: SqlUnitOfWork, ctx: _Ctx) -> str:
    inst = _visible_measure(uow, actor, cmd.measure_id, lock=True)
    shop = _lock_shop(uow, inst.shop_id)
    g.lift(inst, actor, ctx.now, cmd.reason)
    _save_measure(uow, inst)
    _after_change(uow, ctx, shop, actor)
    return inst.id


def appeal_measure(cmd: AppealMeasure, actor: Actor, uow: SqlUnitOfWork, ctx: _Ctx) -> str:
    inst = _visible_measure(uow, actor, cmd.measure_id, lock=True)
    appeal = g.file_appeal(_new_id("MA"), inst, actor, ctx.now, cmd.reason, _appeals_of(uow.conn, inst.id))
    _save_appeal(uow, appeal, new=True)
    _save_measure(uow, inst)
    return appeal.id


def decide_appeal(cmd: DecideMeasureAppeal, actor: Actor, uow: SqlUnitOfWork, ctx: _Ctx) -> str:
    row = uow.conn.execute(select(t.measure_appeals).where(t.measure_appeals.c.id == cmd.appeal_id)).first()
    if row is None or not actor.sees_shop(row.shop_id):
        raise not_found("measure appeal", cmd.appeal_id)
    appeal = _appeal(row)
    inst = _get_measure(uow, appeal.measure_id, lock=True)
    assert inst is not None
    shop = _lock_shop(uow, inst.shop_id)
    g.decide_appeal(appeal, inst, actor, ctx.now, cmd.upheld, cmd.answer)
    if appeal.status == "upheld" and inst.amount_fen and inst.charged:
        refunded = money.Books(uow).pay_shop(shop.id, inst.amount_fen, "wallet", ctx.now, g.PENALTY,
                                             "liquidated_damages_refund", rule=inst.rule,
                                             memo={"measure": inst.id, "appeal": appeal.id})
        inst.event("liquidated_damages_refunded", ctx.now, actor.label, inst.rule,
                   {"amount": format_yuan(inst.amount_fen), "debt_recovered": format_yuan(refunded)})
    _save_appeal(uow, appeal)
    _save_measure(uow, inst)
    _after_change(uow, ctx, shop, actor)
    return appeal.id


def _after_change(uow: SqlUnitOfWork, ctx: _Ctx, shop: Shop, actor: Actor) -> None:
    """A measure ended by hand: the shop's flags, score and next deadline follow."""
    pv = ctx.policies.get(shop.policy).at(ctx.now)
    history = measures_of(uow.conn, shop.id)
    _settle_effects(uow, shop, pv, history, ctx.now, actor.label)
    metrics = metrics_for(uow.conn, shop.id, ctx.now, pv.governance.window.delta)
    shop.score = g.score(metrics, pv.governance.score, shop.points).value
    active = [m for m in history if m.active]
    due_times = [m.ends_at for m in active if m.ends_at is not None]
    if shop.governance_due_at is not None:
        due_times.append(shop.governance_due_at)
    shop.governance_due_at = min(due_times) if due_times else None


def _visible_measure(uow: SqlUnitOfWork, actor: Actor, measure_id: str, lock: bool = False) -> g.MeasureInstance:
    inst = _get_measure(uow, measure_id, lock=lock)
    if inst is None or not actor.sees_shop(inst.shop_id):
        raise not_found("measure", measure_id)
    return inst


HANDLERS: dict[type, Callable[..., Any]] = {
    EvaluateShop: evaluate_shop,
    LiftMeasure: lift_measure,
    AppealMeasure: appeal_measure,
    DecideMeasureAppeal: decide_appeal,
}


# -- the read side ----------------------------------------------------------------------------------

def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(SHANGHAI).isoformat()


def measure_view(inst: g.MeasureInstance, appeals: Sequence[g.MeasureAppeal] = ()) -> dict[str, Any]:
    return {
        "id": inst.id, "shop": inst.shop_id, "measure": inst.measure,
        "measure_zh": g.MEASURE_ZH.get(inst.measure, inst.measure), "rule": inst.rule, "status": inst.status,
        "started_at": _iso(inst.started_at), "ends_at": _iso(inst.ends_at), "ended_at": _iso(inst.ended_at),
        "end_reason": inst.end_reason, "ended_by": inst.ended_by, "end_note": inst.end_note,
        "points": inst.points or None, "amount": format_yuan(inst.amount_fen) if inst.amount_fen else None,
        "charged": {k: format_yuan(v) for k, v in inst.charged.items()} or None,
        "snapshot": inst.snapshot, "policy": f"{inst.policy}@{inst.policy_version}",
        "appeals": [appeal_view(a) for a in appeals],
    }


def appeal_view(a: g.MeasureAppeal) -> dict[str, Any]:
    return {"id": a.id, "measure": a.measure_id, "shop": a.shop_id, "filed_at": _iso(a.filed_at),
            "filed_by": a.filed_by, "reason": a.reason, "status": a.status, "decided_at": _iso(a.decided_at),
            "decided_by": a.decided_by, "answer": a.answer}


def _visible_shop(uow: SqlUnitOfWork, actor: Actor, shop_id: str) -> Shop:
    shop: Shop | None = uow.shops.get(shop_id)
    if shop is None or not actor.sees_shop(shop_id):
        raise not_found("shop", shop_id)
    return shop


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
    shop = _visible_shop(uow, actor, shop_id)
    pv = policies.get(shop.policy).at(at)
    gov = pv.governance
    metrics = metrics_for(uow.conn, shop.id, at, gov.window.delta)
    history = measures_of(uow.conn, shop.id)
    current = _in_force_at(history, at)
    points = sum(m.points for m in current if m.measure == "point_deduction")
    sc = g.score(metrics, gov.score, points)
    names = g.in_force(current)
    eff = g.effects(current)
    return {
        "shop": shop.id, "name": shop.name, "policy": f"{shop.policy}@{pv.version}", "at": _iso(at),
        "window": {"start": _iso(metrics.start), "end": _iso(metrics.end), "days": gov.window.delta.days,
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
        "measures": [measure_view(m, _appeals_of(uow.conn, m.id)) for m in current],
        "evaluated_at": _iso(shop.governance_evaluated_at),
        "next_evaluation_at": _iso(shop.governance_due_at),
        "ladder": [{"measure": name, "measure_zh": g.MEASURE_ZH[name], "rule": m.rule, "when": m.show(),
                    "reached": g.triggered(metrics, m) is not None} for name, m in gov.ladder()],
    }


def list_measures(uow: SqlUnitOfWork, actor: Actor, shop_id: str, status: str | None = None) -> dict[str, Any]:
    shop = _visible_shop(uow, actor, shop_id)
    if status is not None and status not in g.MEASURE_STATUSES:
        raise refuse("invalid_input", f"未知的状态 {status}", f"status must be one of {list(g.MEASURE_STATUSES)}")
    rows = [m for m in measures_of(uow.conn, shop.id) if status is None or m.status == status]
    return {"shop": shop.id, "items": [measure_view(m, _appeals_of(uow.conn, m.id)) for m in rows],
            "total": len(rows)}


def get_measure(uow: SqlUnitOfWork, actor: Actor, measure_id: str) -> dict[str, Any]:
    inst = _visible_measure(uow, actor, measure_id)
    return measure_view(inst, _appeals_of(uow.conn, inst.id))


def get_appeal(uow: SqlUnitOfWork, actor: Actor, appeal_id: str) -> dict[str, Any]:
    row = uow.conn.execute(select(t.measure_appeals).where(t.measure_appeals.c.id == appeal_id)).first()
    if row is None or not actor.sees_shop(row.shop_id):
        raise not_found("measure appeal", appeal_id)
    return appeal_view(_appeal(row))


def list_appeals(uow: SqlUnitOfWork, actor: Actor, status: str | None = None) -> dict[str, Any]:
    """Appeals against measures: the platform's queue (all shops), a shop's own."""
    if not (actor.is_platform or actor.is_staff):
        raise refuse("forbidden", "只有平台或店铺可以查看申诉", "only the platform and shops see appeals")
    c = t.measure_appeals.c
    stmt = select(t.measure_appeals).order_by(c.filed_at, c.id)
    if actor.is_staff:
        stmt = stmt.where(c.shop_id == actor.shop_id)
    if status is not None:
        stmt = stmt.where(c.status == status)
    items = [appeal_view(_appeal(r)) for r in uow.conn.execute(stmt)]
    return {"items": items, "total": len(items)}


REPORT_COLUMNS = (
    "shop", "name", "policy", "level", "score", "applications", "overdue", "refund_only_overdue",
    "return_refund_overdue", "exchange_overdue", "overdue_rate", "refund_only_median_hours", "refund_only_p95_hours",
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
        assert actor.shop_id is not None
        shop = _visible_shop(uow, actor, actor.shop_id)
        all_metrics = {shop.id: metrics_for(uow.conn, shop.id, at,
                                            policies.get(shop.policy).at(at).governance.window.delta)}
        shops = {shop.id: (shop.name, shop.policy)}
    else:
        all_metrics = metrics_all(uow.conn, policies, at)
        shops = {r.id: (r.name, r.policy) for r in uow.conn.execute(select(t.shops.c.id, t.shops.c.name,
                                                                             t.shops.c.policy))}
    in_force: dict[str, list[g.MeasureInstance]] = defaultdict(list)
    mc = t.measures.c
    stmt = select(t.measures).where(mc.started_at <= at, or_(
        mc.ended_at > at, and_(mc.ended_at.is_(None), or_(mc.ends_at.is_(None), mc.ends_at > at))))
    if actor.is_staff:
        stmt = stmt.where(mc.shop_id == actor.shop_id)
    for row in uow.conn.execute(stmt):
        inst = _measure(row)
        inst.status = "active"
        in_force[inst.shop_id].append(inst)
    rows = []
    for shop_id, m in all_metrics.items():
        name, policy = shops[shop_id]
        pv = policies.get(policy).at(at)
        current = in_force.get(shop_id, [])
        points = sum(x.points for x in current if x.measure == "point_deduction")
        sc = g.score(m, pv.governance.score, points)
        names = g.in_force(current)
        d = m.as_dict()
        rows.append({
            "shop": shop_id, "name": name, "policy": f"{policy}@{pv.version}", "level": sc.level, "score": sc.value,
            **{k: d[k] for k in REPORT_COLUMNS if k in d},
            "step": names[-1] if names else None, "measures": names,
            "refund_handling": g.effects(current).refund_handling,
        })
    present = [r for r in rows if r[sort] is not None]
    missing = [r for r in rows if r[sort] is None]
    present.sort(key=lambda r: (_sortable(sort, r[sort]), r["shop"]), reverse=descending)
    ordered = present + sorted(missing, key=lambda r: r["shop"])
    window = {p: policies.get(p).at(at).governance.window for p in {s[1] for s in shops.values()}}
    page = ordered[offset: offset + limit if limit is not None else None]
    return {"at": _iso(at), "sort": sort, "descending": descending, "total": len(rows), "offset": offset,
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


def measures_in_force(conn: Connection, shop_id: str) -> list[str]:
    """The scenario check `measures`: names of the measures in force, in ladder order."""
    return g.in_force(measures_of(conn, shop_id))
