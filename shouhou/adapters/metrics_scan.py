"""The 30-day metrics of merchant governance (KS-GOV-2) computed by scanning the rows: the SQL shouhou
ran before the counters (adapters.counts_table), kept as their reference. The tests check that the
counters give exactly these figures on random data (tests/integration/test_governance_counters.py),
`shouhou governance check` compares the two on a live database, and bench/governance.py times both.

Five families, one grouped query each: applications; overdue records by type; interventions and
rulings; over-period openings; handling-time percentiles. Each is built once per dialect and scope
("all" shops, one "shop", the shops of some "policies") with bound parameters, and reused. The
figures are checked against a Python computation on random data (tests/integration/test_governance.py).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

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
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from ..clock import SHANGHAI
from ..domain import governance as g
from . import tables as t

HANDLED_STATUSES = ("refunded", "closed", "rejected")  # cancelled tickets were not handled by the shop
HANDLED_TYPES = ("refund_only", "return_refund")


def _aware(v: Any) -> datetime | None:
    """An instant from a raw aggregate (SQLite may hand back text or a naive UTC datetime)."""
    if v is None:
        return None
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    if v.tzinfo is None:
        v = v.replace(tzinfo=UTC)
    at: datetime = v.astimezone(SHANGHAI)
    return at


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
        # KS-GOV-1's two types by name; exchange, repair and
        # reship reviews that ran out (GEN-EX-1, GEN-EX-3) together; KS-GOV-5's delayed shipments apart
        name = {"refund_only_overdue": kind, "return_refund_overdue": kind,
                "delayed_shipment": "delayed_shipments"}.get(kind, "exchange_overdue")
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


def metrics_all(conn: Connection, window_of: Callable[[str], timedelta], at: datetime) -> dict[str, g.Metrics]:
    """Every shop's metrics at `at`, each over its own pack's window (`window_of(pack name)`): one run
    of the grouped queries per distinct window length (usually one run for all shops)."""
    shops = {r.id: r.policy for r in conn.execute(select(t.shops.c.id, t.shops.c.policy))}
    windows: dict[timedelta, list[str]] = defaultdict(list)
    for name in sorted(set(shops.values())):
        windows[window_of(name)].append(name)
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



def differences(conn: Connection, window_of: Callable[[str], timedelta], at: datetime) -> dict[str, list[str]]:
    """Where the counters (adapters.metrics) disagree with this scan at `at`: shop -> the fields that
    differ. Empty when they agree, as they must."""
    from . import metrics as counted  # the counters' reader (it does not import this module)

    counters, scanned = counted.metrics_all(conn, window_of, at), metrics_all(conn, window_of, at)
    out = {}
    for shop in sorted(set(counters) | set(scanned)):
        a, b = counters.get(shop), scanned.get(shop)
        if a != b:
            names = [f.name for f in dataclasses.fields(g.Metrics)]
            out[shop] = [n for n in names if a is None or b is None or getattr(a, n) != getattr(b, n)]
    return out
