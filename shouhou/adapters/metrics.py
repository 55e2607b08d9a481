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


def _active(table: Any, shop_col: Any, counter: Callable[[Any], Any] | None, left: bool,
            scope: str) -> tuple[Any, Any]:
    """The rows of `table` read at a partial day are those of the shops whose counter is not zero on
    that day (`counter` None: the shops with handling times that day): the day's counter rows drive
    (a join, then the table's index by shop and time). Returns the FROM clause and the condition on
    the counters."""
    day = DL if left else DR
    if counter is None:
        gh = ct.gov_handling.c
        d = select(gh.shop_id).where(gh.day == day, _scope(scope, gh.shop_id)).distinct().subquery("d")
        return d.join(table, shop_col == d.c.shop_id), true()
    daily = ct.gov_daily.alias("d")
    return daily.join(table, shop_col == daily.c.shop_id), and_(daily.c.day == day, counter(daily.c) != 0)


@functools.cache
def _statements(dialect: str, scope: str) -> dict[str, Any]:
    gd, tk, od, iv, ev, rp = (ct.gov_daily.c, t.tickets.c, t.overdue_records.c, t.interventions.c, t.events.c,
                              ct.gov_iv_repeats.c)
    daily = select(gd.shop_id, *(func.sum(gd[c]) for c in COUNTS), func.max(gd.last_overdue_at),
                   func.max(gd.last_against_at)).where(gd.day >= D1, gd.day < D2, _scope(scope, gd.shop_id)) \
        .group_by(gd.shop_id)
    nothing = cast(null(), t.Instant())
    against = func.coalesce(iv.effective_fault, iv.fault).in_(("shop", "both"))  # as counts_sql.AGAINST
    branches: list[Any] = []
    for left in (True, False):
        def edge(table: Any, shop: Any, col: Any, counter: Callable[[Any], Any], *cols: Any) -> Any:
            joined, active = _active(table, shop, counter, left, scope)  # noqa: B023 - used at once
            return select(*cols).select_from(joined).where(
                active, _ends(col)[0 if left else 1], _scope(scope, shop))  # noqa: B023

        branches += [
            edge(t.overdue_records, od.shop_id, od.at, lambda c: c.refund_only_overdue + c.return_refund_overdue
                 + c.exchange_overdue + c.delayed_shipments, od.shop_id, od.type, func.count(), func.max(od.at))
            .group_by(od.shop_id, od.type),
            edge(t.tickets, tk.shop_id, tk.created_at, lambda c: c.applications,
                 tk.shop_id, literal_column("'#applications'"), func.count(), nothing).group_by(tk.shop_id),
            edge(t.interventions, iv.shop_id, iv.requested_at, lambda c: c.interventions,
                 iv.shop_id, literal_column("'#interventions'"), func.count(), nothing).group_by(iv.shop_id),
            edge(t.interventions, iv.shop_id, iv.ruled_at, lambda c: c.rulings,
                 iv.shop_id, literal_column("'#rulings'"), func.count(), nothing).group_by(iv.shop_id),
            edge(t.interventions, iv.shop_id, iv.ruled_at, lambda c: c.rulings_against,
                 iv.shop_id, literal_column("'#rulings_against'"), func.count(), func.max(iv.ruled_at))
            .where(against).group_by(iv.shop_id),
            edge(t.events, ev.shop_id, ev.at, lambda c: c.over_period_openings,
                 ev.shop_id, literal_column("'#over_period_openings'"), func.count(), nothing)
            .where(ev.type == "entry_opened").group_by(ev.shop_id),
        ]
    # a request whose ticket had another one earlier in the window counts once (distinct tickets)
    branches.append(select(rp.shop_id, literal_column("'#repeats'"), func.count(), nothing)
                    .where(rp.at > START, rp.at <= END, rp.prev_at > START, _scope(scope, rp.shop_id))
                    .group_by(rp.shop_id))
    # one shop's few hundred values are added up and ranked faster here than by window functions
    handling = _handling_values(dialect, scope) if scope == "shop" else _handling_sql(dialect, scope)
    return {"daily": daily, "ends": union_all(*branches), "handling": handling}


def _handling_values(dialect: str, scope: str) -> Any:
    """The handling seconds of the window with their counts (shop, type, s, n): the histogram's whole
    days and the ends' tickets (one row each), not yet added up."""
    gh, tk, iv = ct.gov_handling.c, t.tickets.c, t.interventions.c
    parts: list[Any] = [select(gh.shop_id, gh.type, gh.s, gh.n).where(gh.day >= D1, gh.day < D2,
                                                                      _scope(scope, gh.shop_id))]
    for left in (True, False):
        joined, active = _active(t.tickets, tk.shop_id, None, left, scope)
        parts.append(select(tk.shop_id, tk.type, _seconds(dialect, tk.ended_at, tk.created_at),
                            literal_column("1", Integer)).select_from(joined).where(
            active, tk.type.in_(HANDLED_TYPES), tk.status.in_(HANDLED_STATUSES), _ends(tk.ended_at)[0 if left else 1],
            ~exists().where(iv.ticket_id == tk.id), _scope(scope, tk.shop_id)))
    return union_all(*parts)


def _handling_sql(dialect: str, scope: str) -> Any:
    """Median and P95 of the handling seconds (domain.governance.percentile: linear interpolation
    between the closest ranks), every shop at once: a running total over the values in order, and
    the values at the four ranks needed. Returns per shop and type: n, the values at ranks lo50,
    lo50 + 1, lo95, lo95 + 1 (NULL past the last)."""
    vals = _handling_values(dialect, scope).subquery("vals")
    v = vals.c
    # one sort: a value repeated on several days is several rows, each holding its own ranks
    part, order = (v.shop_id, v.type), (v.s, v.n)
    running = select(v.shop_id, v.type, v.s, v.n,
                     cast(func.sum(v.n).over(partition_by=part, order_by=order, rows=(None, 0)), BigInteger).label("c"),
                     cast(func.sum(v.n).over(partition_by=part, order_by=order, rows=(None, None)), BigInteger)
                     .label("total")).subquery("running")
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


def _ranked(rows: Any) -> list[tuple[str, str, int, int, int | None, int, int | None]]:
    """What _handling_sql returns, from (shop, type, s, n) rows in Python: per shop and type, n and the
    values at ranks lo50, lo50 + 1, lo95, lo95 + 1."""
    counts: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for shop, kind, s, n in rows:
        counts[shop, kind][s] += n
    out = []
    for (shop, kind), values in counts.items():
        total = sum(values.values())
        lo50, lo95 = ((total - 1) * a // b + 1 for a, b in (g.P50, g.P95))
        wanted: dict[int, int | None] = dict.fromkeys((lo50, lo50 + 1, lo95, lo95 + 1))
        seen = 0
        for s in sorted(values):
            below, seen = seen, seen + values[s]
            for rank in wanted:
                if below < rank <= seen:
                    wanted[rank] = s
            if seen > lo95:
                break
        out.append((shop, kind, total, wanted[lo50], wanted[lo50 + 1], wanted[lo95], wanted[lo95 + 1]))
    return out  # type: ignore[return-value]


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
    handling = conn.execute(q["handling"], args)
    for shop, kind, n, lo50, hi50, lo95, hi95 in (_ranked(handling) if scope == "shop" else handling):
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
