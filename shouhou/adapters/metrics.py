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

import bisect
import functools
import itertools
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
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.operators import custom_op

from ..clock import SHANGHAI
from ..domain import governance as g
from . import counts_table as ct
from . import tables as t
from .counts_sql import HANDLED_STATUSES, HANDLED_TYPES, OVERDUE_COLUMNS

UTC8 = timezone(timedelta(hours=8))  # the counters' days (the triggers add 8 hours to UTC)
EPOCH, HOUR = datetime(1970, 1, 1, tzinfo=UTC), timedelta(hours=1)  # the histogram's hours
START, END, HA, HB = (bindparam(n, type_=t.Instant()) for n in ("start", "end", "ha", "hb"))
D1, D2 = (bindparam(n, type_=ct.gov_daily.c.day.type) for n in ("d1", "d2"))
H1, H2, HL, HR, L1, L2, R1, R2 = (bindparam(n, type_=Integer()) for n in ("h1", "h2", "hl", "hr", "l1", "l2", "r1", "r2"))
LASTS = ("last_overdue_at", "last_against_at")
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
    """Where the window (start, end] meets the counters' buckets. Its whole days [d1, d2) run from a,
    the first midnight after start, to b, the last midnight at or before end (none without a midnight:
    a = b = end). Its whole hours are [h1, h2), from ha, the first whole hour after start, to hb, the
    last at or before end (none without one: ha = hb = end); those outside the whole days are
    [l1, l2) before them and [r1, r2) after. The rest, (start, ha) in hour hl and [hb, end] in hour
    hr, is read from the rows."""
    s, e = start.astimezone(UTC8), end.astimezone(UTC8)
    a = datetime.combine(s.date() + timedelta(days=1), time(), UTC8)
    b = datetime.combine(e.date(), time(), UTC8)
    if a > b:
        a = b = end
    day: Callable[[datetime], date] = lambda x: x.astimezone(UTC8).date()  # noqa: E731
    hour: Callable[[datetime], int] = lambda x: (x - EPOCH) // HOUR  # noqa: E731
    hl, hr = hour(start), hour(end)
    ha, hb = EPOCH + (hl + 1) * HOUR, EPOCH + hr * HOUR
    if ha > hb:
        ha = hb = end
    return {"start": start, "end": end, "d1": day(a), "d2": day(b), "ha": ha, "hb": hb, "hl": hl, "hr": hr,
            "h1": hl + 1, "h2": hr, "l1": hl + 1, "l2": hour(a), "r1": hour(b), "r2": hr}


def _among(col: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    """col IN (the literal values): written into the statement, not expanded at every execution."""
    return col.in_([literal_column(f"'{v}'") for v in values])  # type: ignore[no-any-return]


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
    """The window's two partial hours: (start, ha) and [hb, end]."""
    return and_(col > START, col < HA), and_(col >= HB, col <= END)


def _active(table: Any, shop_col: Any, counter: Callable[[Any], Any] | None, left: bool,
            scope: str) -> tuple[Any, Any]:
    """The rows of `table` read at a partial hour are those of the shops whose counter is not zero in
    that hour (`counter` None: the shops with handling times in it): the counter rows drive (a join,
    then the table's index by shop and time). Returns the FROM clause and the condition on the
    counters."""
    if scope == "shop":  # one shop: straight to its rows by the index
        return table, true()
    hour = HL if left else HR
    if counter is None:
        gh = ct.gov_handling.c
        d = select(gh.shop_id).where(gh.hour == hour, _scope(scope, gh.shop_id)).distinct().subquery("d")
        return d.join(table, shop_col == d.c.shop_id), true()
    hourly = ct.gov_hourly.alias("d")
    return hourly.join(table, shop_col == hourly.c.shop_id), and_(hourly.c.hour == hour, counter(hourly.c) != 0)


@functools.cache
def _statements(dialect: str, scope: str) -> dict[str, Any]:
    gd, gh, tk, od, iv, ev, rp = (ct.gov_daily.c, ct.gov_hourly.c, t.tickets.c, t.overdue_records.c,
                                  t.interventions.c, t.events.c, ct.gov_iv_repeats.c)

    def summed(c: Any, *conds: Any) -> Any:
        return select(c.shop_id, *(func.sum(c[x]) for x in COUNTS), *(func.max(c[x]) for x in LASTS)) \
            .where(*conds, _scope(scope, c.shop_id)).group_by(c.shop_id)

    day = gd.day if scope == "shop" or dialect != "sqlite" else _unindexed(gd.day)  # SQLite: in shop order
    # the whole days, and the whole hours of the partial days before and after them (a shop may have
    # up to three rows: _families adds them up)
    daily = union_all(summed(gd, day >= D1, day < D2), summed(gh, gh.hour >= L1, gh.hour < L2),
                      summed(gh, gh.hour >= R1, gh.hour < R2))
    nothing = cast(null(), t.Instant())
    against = _among(func.coalesce(iv.effective_fault, iv.fault), ("shop", "both"))  # as counts_sql.AGAINST
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
    out = {"daily": daily, "ends": union_all(*branches), "values": _handling_values(dialect, scope)}
    if scope != "shop":  # (one shop's few hundred values are ranked faster here than by window functions)
        out["handling"] = _handling_sql(_histogram(dialect, scope))
        out["values"] = _handling_sql(out["values"])
    return out


def _unindexed(col: Any) -> Any:
    """+col: the same value, which SQLite's planner cannot look up by an index on col, so that it
    reads a table in the order of another index instead of sorting what it found."""
    return UnaryExpression(col, operator=custom_op("+"), type_=col.type)


def _histogram(dialect: str, scope: str) -> Any:
    """The histogram's values in the window's whole hours (shop, type, s, n): for one shop by its
    hours, for many in the order of ix_gov_handling_rank (PostgreSQL's planner finds that itself;
    SQLite's takes the hour index, then sorts, unless told)."""
    gh = ct.gov_handling.c
    hour = _unindexed(gh.hour) if scope != "shop" and dialect == "sqlite" else gh.hour
    return select(gh.shop_id, gh.type, gh.s, gh.n).where(hour >= H1, hour < H2, _scope(scope, gh.shop_id))


def _handling_ends(dialect: str, scope: str) -> list[Any]:
    """The handling seconds of the tickets handled in the window's two partial hours (one row each)."""
    tk, iv = t.tickets.c, t.interventions.c
    parts = []
    for left in (True, False):
        joined, active = _active(t.tickets, tk.shop_id, None, left, scope)
        parts.append(select(tk.shop_id, tk.type, _seconds(dialect, tk.ended_at, tk.created_at).label("s"),
                            literal_column("1", Integer).label("n")).select_from(joined).where(
            active, _among(tk.type, HANDLED_TYPES), _among(tk.status, HANDLED_STATUSES),
            _ends(tk.ended_at)[0 if left else 1],
            ~exists().where(iv.ticket_id == tk.id), _scope(scope, tk.shop_id)))
    return parts


def _handling_values(dialect: str, scope: str) -> Any:
    """The handling seconds of the window with their counts: for one shop, all of them (ranked
    here); for many, only those of the shops with tickets handled in the partial hours (ranked by
    _handling_sql too; the others' percentiles come from the histogram alone, which its index by
    shop, type and value hands over already in order)."""
    ends = _handling_ends(dialect, scope)
    if scope == "shop":
        return union_all(_histogram(dialect, scope), *ends)
    gh = ct.gov_handling.c
    these = union_all(*ends).cte("ends")
    return union_all(_histogram(dialect, scope).where(gh.shop_id.in_(select(these.c.shop_id))), select(these))


def _handling_sql(values: Any) -> Any:
    """Median and P95 of the handling seconds (domain.governance.percentile: linear interpolation
    between the closest ranks) of `values` (shop, type, s, n), every shop at once: a running total
    over the values in order, and the values at the four ranks needed. Returns per shop and type: n,
    the values at ranks lo50, lo50 + 1, lo95, lo95 + 1 (NULL past the last)."""
    vals = values.subquery("vals")
    v = vals.c
    # a value repeated in several hours is several rows, each holding its own ranks
    part, order = (v.shop_id, v.type), (v.s,)
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
    groups: dict[tuple[str, str], dict[int, int]] = {}
    for shop, kind, s, n in rows:
        values = groups.setdefault((shop, kind), {})
        values[s] = values.get(s, 0) + n
    out = []
    for (shop, kind), values in groups.items():
        keys = sorted(values)
        upto = list(itertools.accumulate(values[k] for k in keys))  # the last rank each value holds
        total = upto[-1]

        def at(rank: int) -> int | None:
            i = bisect.bisect_left(upto, rank)  # noqa: B023 - used at once
            return keys[i] if i < len(keys) else None  # noqa: B023

        lo50, lo95 = ((total - 1) * a // b + 1 for a, b in (g.P50, g.P95))
        out.append((shop, kind, total, at(lo50), at(lo50 + 1), at(lo95), at(lo95 + 1)))
    return out  # type: ignore[return-value]


def _families(conn: Connection, start: datetime, end: datetime, scope: str, handling: bool = True,
              **params: Any) -> dict[str, dict[str, Any]]:
    """Every metric family of the window (start, end] for the shops in `scope` (the handling times
    unless `handling` is false). Returns shop_id -> {Metrics field: value}."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    q = _statements(conn.dialect.name, scope)
    args = {**cut(start, end), **params}
    for shop, *counts, last_overdue, last_against in conn.execute(q["daily"], args).all():
        row = out[shop]
        for name, n in zip(COUNTS, counts, strict=True):
            row[name] = row.get(name, 0) + int(n or 0)
        _newest(row, _aware(last_overdue))
        _newest(row, _aware(last_against))
    for shop, kind, n, last in conn.execute(q["ends"], args).all():
        row = out[shop]
        if kind == "#repeats":
            row["interventions"] = row.get("interventions", 0) - int(n)
            continue
        name = kind[1:] if kind.startswith("#") else OVERDUE_COLUMNS.get(kind, "exchange_overdue")
        row[name] = row.get(name, 0) + int(n)
        _newest(row, _aware(last))
    if not handling:
        return out
    values = conn.execute(q["values"], args).all()
    ranked = {} if scope == "shop" else {(r[0], r[1]): tuple(r) for r in conn.execute(q["handling"], args)}
    ranked.update({(r[0], r[1]): tuple(r) for r in (_ranked(values) if scope == "shop" else values)})
    for shop, kind, n, lo50, hi50, lo95, hi95 in ranked.values():
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


def metrics_for(conn: Connection, shop_id: str, at: datetime, window: timedelta, handling: bool = True) -> g.Metrics:
    """One shop's metrics over (at - window, at]. Without `handling`, the handling times are left out
    (none handled): for what does not read them (domain.governance.uses_handling)."""
    start = at - window
    rows = _families(conn, start, at, "shop", handling, shop=shop_id)
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
