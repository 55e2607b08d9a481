"""The 30-day metrics of merchant governance (KS-GOV-2), read from the counters (adapters.counts_table)
for one shop or for every shop.

The window (start, end] is cut at the UTC+8 midnights inside it: the whole days between are summed
from the counters, and the two partial days at the ends are read from the rows themselves, only for
the shops the counters say had something on those days, through indexes by shop and time. Evaluating
a shop is three statements: its days (about thirty rows), the rows at both ends, and the
handling-time percentiles over the histogram's days and the ends' rows.

The figures are exactly those of adapters.metrics_scan, the SQL that scans the rows: integer counts,
the same newest instants, and percentiles picked by rank from the same whole seconds and interpolated
with the same arithmetic (tests/integration/test_governance_counters.py checks it on random data, on
SQLite and PostgreSQL).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from ..clock import SHANGHAI
from ..domain import governance as g
from . import counts_table as ct
from . import tables as t
from .counts_sql import HANDLED_STATUSES, HANDLED_TYPES, OVERDUE_COLUMNS

UTC8 = timezone(timedelta(hours=8))  # the counters' days (the triggers add 8 hours to UTC)
INSTANTS = ("start", "end", "a", "b")
DAYS = ("d1", "d2", "dl", "dr")
START, END, A, B = (bindparam(n, type_=t.Instant()) for n in INSTANTS)
D1, D2, DL, DR = (bindparam(n, type_=ct.gov_daily.c.day.type) for n in DAYS)
COUNTS = ("applications", "refund_only_overdue", "return_refund_overdue", "exchange_overdue", "delayed_shipments",
          "interventions", "rulings", "rulings_against", "over_period_openings")


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


def cut(start: datetime, end: datetime) -> dict[str, Any]:
    """Where the window (start, end] meets the counters' days: a, the first midnight after start, and
    b, the last midnight at or before end; the whole days [d1, d2) between them come from the
    counters, the instants of (start, a) and [b, end] from the rows, of the shops with something on
    day dl (start's) or dr (end's). With no midnight in the window a = b = end: all of it from the rows."""
    s, e = start.astimezone(UTC8), end.astimezone(UTC8)
    a = datetime.combine(s.date() + timedelta(days=1), time(), UTC8)
    b = datetime.combine(e.date(), time(), UTC8)
    if a > b:
        a = b = end
    day: Callable[[datetime], date] = lambda x: x.astimezone(UTC8).date()  # noqa: E731
    return {"start": start, "end": end, "a": a, "b": b, "d1": day(a), "d2": day(b), "dl": s.date(), "dr": e.date()}


def _scope(kind: str, col: Any) -> ColumnElement[bool]:
    if kind == "shop":
        return col == bindparam("shop")  # type: ignore[no-any-return]
    if kind == "policies":
        members = select(t.shops.c.id).where(t.shops.c.policy.in_(bindparam("policies", expanding=True)))
        return col.in_(members)  # type: ignore[no-any-return]
    return true()


def _seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Whole seconds between two instants, in SQL (as the triggers and metrics_scan compute them)."""
    if dialect == "postgresql":
        return cast(func.round(func.extract("epoch", later - earlier)), Integer)
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400), Integer)


def _ends(col: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The window's two partial days: (start, a) and [b, end]."""
    return and_(col > START, col < A), and_(col >= B, col <= END)


def _active(shop_col: Any, counter: Any, left: bool) -> ColumnElement[bool]:
    """The shops whose counter is not zero on the partial day: only their rows are read."""
    gd = ct.gov_daily.c
    return shop_col.in_(select(gd.shop_id).where(gd.day == (DL if left else DR), counter != 0))  # type: ignore[no-any-return]


@functools.cache
def _statements(dialect: str, scope: str) -> dict[str, Any]:
    gd, tk, od, iv, ev, rp = (ct.gov_daily.c, t.tickets.c, t.overdue_records.c, t.interventions.c, t.events.c,
                              ct.gov_iv_repeats.c)
    daily = select(gd.shop_id, *(func.sum(gd[c]) for c in COUNTS), func.max(gd.last_overdue_at),
                   func.max(gd.last_against_at)).where(gd.day >= D1, gd.day < D2, _scope(scope, gd.shop_id)) \
        .group_by(gd.shop_id)
    nothing = cast(null(), t.Instant())
    against = func.coalesce(iv.effective_fault, iv.fault).in_(("shop", "both"))  # as counts_sql.AGAINST
    overdue = gd.refund_only_overdue + gd.return_refund_overdue + gd.exchange_overdue + gd.delayed_shipments
    branches: list[Any] = []
    for left in (True, False):
        def edge(col: Any) -> ColumnElement[bool]:
            return _ends(col)[0 if left else 1]  # noqa: B023 - used at once

        branches += [
            select(od.shop_id, od.type, func.count(), func.max(od.at))
            .where(edge(od.at), _active(od.shop_id, overdue, left), _scope(scope, od.shop_id))
            .group_by(od.shop_id, od.type),
            select(tk.shop_id, literal_column("'#applications'"), func.count(), nothing)
            .where(edge(tk.created_at), _active(tk.shop_id, gd.applications, left), _scope(scope, tk.shop_id))
            .group_by(tk.shop_id),
            select(iv.shop_id, literal_column("'#interventions'"), func.count(), nothing)
            .where(edge(iv.requested_at), _active(iv.shop_id, gd.interventions, left), _scope(scope, iv.shop_id))
            .group_by(iv.shop_id),
            select(iv.shop_id, literal_column("'#rulings'"), func.count(), nothing)
            .where(edge(iv.ruled_at), _active(iv.shop_id, gd.rulings, left), _scope(scope, iv.shop_id))
            .group_by(iv.shop_id),
            select(iv.shop_id, literal_column("'#rulings_against'"), func.count(), func.max(iv.ruled_at))
            .where(edge(iv.ruled_at), against, _active(iv.shop_id, gd.rulings_against, left), _scope(scope, iv.shop_id))
            .group_by(iv.shop_id),
            select(ev.shop_id, literal_column("'#over_period_openings'"), func.count(), nothing)
            .where(ev.type == "entry_opened", edge(ev.at), _active(ev.shop_id, gd.over_period_openings, left),
                   _scope(scope, ev.shop_id)).group_by(ev.shop_id),
        ]
    # a request whose ticket had another one earlier in the window counts once (distinct tickets)
    branches.append(select(rp.shop_id, literal_column("'#repeats'"), func.count(), nothing)
                    .where(rp.at > START, rp.at <= END, rp.prev_at > START, _scope(scope, rp.shop_id))
                    .group_by(rp.shop_id))
    return {"daily": daily, "ends": union_all(*branches), "handling": _handling_sql(dialect, scope)}


def _handling_sql(dialect: str, scope: str) -> Any:
    """Median and P95 of the handling seconds (domain.governance.percentile: linear interpolation
    between the closest ranks) over the histogram's whole days and the ends' tickets: the values
    with their counts, a running total, and the values at the four ranks needed. Returns per shop and
    type: n, the values at ranks lo50, lo50 + 1, lo95, lo95 + 1 (NULL past the last)."""
    gh, tk, iv, gd = ct.gov_handling.c, t.tickets.c, t.interventions.c, ct.gov_daily.c
    parts: list[Any] = [select(gh.shop_id, gh.type, gh.s, gh.n).where(gh.day >= D1, gh.day < D2,
                                                                      _scope(scope, gh.shop_id))]
    for left in (True, False):
        parts.append(select(tk.shop_id, tk.type, _seconds(dialect, tk.ended_at, tk.created_at),
                            literal_column("1", Integer)).where(
            tk.type.in_(HANDLED_TYPES), tk.status.in_(HANDLED_STATUSES), _ends(tk.ended_at)[0 if left else 1],
            ~exists().where(iv.ticket_id == tk.id), _active(tk.shop_id, gd.handled, left), _scope(scope, tk.shop_id)))
    vals = union_all(*parts).subquery("vals")
    v = vals.c
    grouped = select(v.shop_id, v.type, v.s, cast(func.sum(v.n), BigInteger).label("n")) \
        .group_by(v.shop_id, v.type, v.s).subquery("grouped")
    k = grouped.c
    part = (k.shop_id, k.type)
    running = select(k.shop_id, k.type, k.s, k.n,
                     cast(func.sum(k.n).over(partition_by=part, order_by=k.s, rows=(None, 0)), BigInteger).label("c"),
                     cast(func.sum(k.n).over(partition_by=part), BigInteger).label("total")).subquery("running")
    r = running.c

    def holds(rank: Any) -> ColumnElement[bool]:  # the value's ranks are (c - n, c]
        return and_(r.c - r.n < rank, rank <= r.c)

    ranks = [(r.total - 1) * a // b + 1 for a, b in (g.P50, g.P95)]
    wanted = [ranks[0], ranks[0] + 1, ranks[1], ranks[1] + 1]
    return select(r.shop_id, r.type, func.max(r.total), *(func.max(case((holds(x), r.s))) for x in wanted)) \
        .where(or_(*(holds(x) for x in wanted))).group_by(r.shop_id, r.type)


def _interpolate(n: int, lo: int, hi: int | None, p: tuple[int, int]) -> float:
    """As metrics_scan's SQL: lo + (hi - lo) * remainder / b, in double precision."""
    a, b = p
    rem = (n - 1) * a % b
    return float(lo) + float(((hi if hi is not None else lo) - lo) * rem) / b


def _families(conn: Connection, start: datetime, end: datetime, scope: str,
              **params: Any) -> dict[str, dict[str, Any]]:
    """Every metric family of the window (start, end] for the shops in `scope`. Returns
    shop_id -> {Metrics field: value}."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    q = _statements(conn.dialect.name, scope)
    args = {**cut(start, end), **params}
    for shop, *counts, last_overdue, last_against in conn.execute(q["daily"], args):
        row = out[shop]
        row.update((name, int(n or 0)) for name, n in zip(COUNTS, counts, strict=True))
        _newest(row, _aware(last_overdue))
        _newest(row, _aware(last_against))
    for shop, kind, n, last in conn.execute(q["ends"], args):
        row = out[shop]
        if kind == "#repeats":
            row["interventions"] = row.get("interventions", 0) - int(n)
            continue
        name = kind[1:] if kind.startswith("#") else OVERDUE_COLUMNS.get(kind, "exchange_overdue")
        row[name] = row.get(name, 0) + int(n)
        _newest(row, _aware(last))
    for shop, kind, n, lo50, hi50, lo95, hi95 in conn.execute(q["handling"], args):
        row = out[shop]
        row[f"{kind}_handled"] = int(n)
        row[f"{kind}_median_s"] = _interpolate(int(n), lo50, hi50, g.P50)
        row[f"{kind}_p95_s"] = _interpolate(int(n), lo95, hi95, g.P95)
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
    of the statements per distinct window length (usually one run for all shops)."""
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
