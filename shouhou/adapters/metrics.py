"""The 30-day metrics of merchant governance (KS-GOV-2), read from the counters (adapters.counts_table)
for one shop or for every shop.

The window (start, end] is cut at the UTC+8 midnights and the whole hours inside it (`cut`): its
whole days are summed from gov_daily, the whole hours of its two partial days from gov_hourly, and
only its two partial hours are read from the rows themselves, for the shops the hourly counters say
had something then, through the indexes by shop and time. The handling-time percentiles rank the
values of the hourly histogram (gov_handling) with those of the partial hours' tickets. Evaluating a
shop is three statements: its counter rows (about thirty days and the hours of two), the rows of the
two partial hours, and its handling times (none of these when the caller does not need them).

The figures are exactly those of adapters.metrics_scan, the SQL that scans the rows: integer counts,
the same newest instants, and percentiles picked by rank from the same whole seconds and interpolated
with the same arithmetic (tests/integration/test_governance_counters.py checks it on random data, on
SQLite and PostgreSQL).
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    String,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from ..clock import SHANGHAI
from ..domain import governance as g
from . import counts_table as ct
from . import tables as t
from .counts_sql import OVERDUE_COLUMNS
from .metrics_handling import handling_sql, percentiles
from .metrics_window import D1, D2, END, L1, L2, R1, R2, START, active, among, cut, ends, scope_of, unindexed

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


@functools.cache
def _statements(dialect: str, scope: str) -> dict[str, Any]:
    gd, gh, tk, od, iv, ev, rp = (ct.gov_daily.c, ct.gov_hourly.c, t.tickets.c, t.overdue_records.c,
                                  t.interventions.c, t.events.c, ct.gov_iv_repeats.c)

    def summed(c: Any, *conds: Any) -> Any:
        return select(c.shop_id, *(func.sum(c[x]) for x in COUNTS), *(func.max(c[x]) for x in LASTS)) \
            .where(*conds, scope_of(scope, c.shop_id)).group_by(c.shop_id)

    day = gd.day if scope == "shop" or dialect != "sqlite" else unindexed(gd.day)  # SQLite: in shop order
    # the whole days, and the whole hours of the partial days before and after them
    parts = union_all(summed(gd, day >= D1, day < D2), summed(gh, gh.hour >= L1, gh.hour < L2),
                      summed(gh, gh.hour >= R1, gh.hour < R2)).subquery("parts")
    cols = list(parts.c)
    daily = select(cols[0], *(cast(func.sum(c), BigInteger) for c in cols[1:1 + len(COUNTS)]),  # not numeric
                   *(func.max(c) for c in cols[1 + len(COUNTS):])).group_by(cols[0])
    nothing = cast(null(), t.Instant())
    against = among(func.coalesce(iv.effective_fault, iv.fault), ("shop", "both"))  # as counts_sql.AGAINST
    branches: list[Any] = []
    for left in (True, False):
        def edge(table: Any, shop: Any, col: Any, counter: Callable[[Any], Any], *cols: Any) -> Any:
            joined, on = active(table, shop, counter, left, scope)  # noqa: B023 - used at once
            return select(*cols).select_from(joined).where(
                on, ends(col)[0 if left else 1], scope_of(scope, shop))  # noqa: B023

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
                    .where(rp.at > START, rp.at <= END, rp.prev_at > START, scope_of(scope, rp.shop_id))
                    .group_by(rp.shop_id))
    return {"daily": daily, "ends": union_all(*branches), "handling": handling_sql(dialect, scope)}


def _families(conn: Connection, start: datetime, end: datetime, scope: str, handling: bool = True,
              **params: Any) -> dict[str, dict[str, Any]]:
    """Every metric family of the window (start, end] for the shops in `scope` (the handling times
    unless `handling` is false). Returns shop_id -> {Metrics field: value}."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    q = _statements(conn.dialect.name, scope)
    args = {**cut(start, end), **params}
    _counted(conn, q, args, out)
    if not handling:
        return out
    _handled(conn, q["handling"], args, out)
    return out


def _counted(conn: Connection, q: dict[str, Any], args: dict[str, Any], out: dict[str, dict[str, Any]]) -> None:
    """The counters' figures (q's "daily" and "ends" statements) into out[shop]."""
    for shop, *counts, last_overdue, last_against in conn.execute(q["daily"], args).all():
        row = out[shop]
        row.update((name, int(n or 0)) for name, n in zip(COUNTS, counts, strict=True))
        _newest(row, _aware(last_overdue))
        _newest(row, _aware(last_against))
    for shop, kind, n, last in conn.execute(q["ends"], args).all():
        _add_end(out[shop], kind, n, last)


def _handled(conn: Connection, statement: Any, args: dict[str, Any], out: dict[str, dict[str, Any]]) -> None:
    """The handling times' counts, medians and P95s into out[shop]."""
    for shop, kind, n, p50, p95 in percentiles(conn.execute(statement, args).all()):
        out[shop].update({f"{kind}_handled": n, f"{kind}_median_s": p50, f"{kind}_p95_s": p95})


def _add_end(row: dict[str, Any], kind: str, n: Any, last: Any) -> None:
    """A row of the partial hours' counts into a shop's figures."""
    if kind == "#repeats":
        row["interventions"] = row.get("interventions", 0) - int(n)
        return
    name = kind[1:] if kind.startswith("#") else OVERDUE_COLUMNS.get(kind, "exchange_overdue")
    row[name] = row.get(name, 0) + int(n)
    _newest(row, _aware(last))


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


def metrics_at(conn: Connection, ends_at: dict[str, datetime], window: timedelta,
               handling: bool = True) -> dict[str, g.Metrics]:
    """Several shops' metrics, each over its own window (ends_at[shop] - window, ends_at[shop]]: what a
    sweep's batch needs, the shops evaluated at their own last records. The counter statements run
    once for all of them (each shop's window bounds joined to its rows, batch_statements); the
    handling times, when wanted, shop by shop."""
    dialect = conn.dialect.name
    if len(ends_at) < 2 or dialect not in ("postgresql", "sqlite"):
        return {s: metrics_for(conn, s, at, window, handling) for s, at in ends_at.items()}
    shops = sorted(ends_at)
    cuts = [{**cut(ends_at[s] - window, ends_at[s]), "shop": s} for s in shops]
    if dialect == "postgresql":
        args: dict[str, Any] = {f"p_{k}": [c[k] for c in cuts] for k in WINDOW_PARAMS}
    else:  # one JSON array of each shop's bounds, as stored (the columns' own bind conversions)
        convert = [(k, typ.dialect_impl(conn.dialect).bind_processor(conn.dialect)) for k, typ in WINDOW_PARAMS.items()]
        args = {"p_json": json.dumps([[f(c[k]) if f else c[k] for k, f in convert] for c in cuts])}
    out: dict[str, dict[str, Any]] = {s: {} for s in shops}
    _counted(conn, batch_statements(dialect), args, out)
    if handling:  # (its ranks are taken per shop: left to the one-shop statement)
        for one in cuts:  # (each holds its shop)
            _handled(conn, _statements(dialect, "shop")["handling"], one, out)
    return {s: _metrics(s, ends_at[s] - window, ends_at[s], out[s]) for s in shops}


WINDOW_PARAMS: dict[str, Any] = {"shop": String(), "start": t.Instant(), "end": t.Instant(), "d1": ct.gov_daily.c.day.type,
                                 "d2": ct.gov_daily.c.day.type, "ha": t.Instant(), "hb": t.Instant(),
                                 **{k: Integer() for k in ("h1", "h2", "hl", "hr", "l1", "l2", "r1", "r2")}}


@functools.cache
def batch_statements(dialect: str = "postgresql") -> dict[str, Any]:
    """The one-shop counter statements with their window's parameters taken from `p`, one row per shop
    (a CTE read once: on PostgreSQL unnest of one array per parameter, on SQLite json_each of one JSON
    array), joined in each of their SELECTs: `shop_id = p.shop AND day >= p.d1 ...`, one run for
    every shop of a batch, and one statement text whatever their number (prepared once)."""
    if dialect == "postgresql":
        p = select(func.unnest(*(bindparam(f"p_{k}", type_=ARRAY(typ)) for k, typ in WINDOW_PARAMS.items()))
                   .table_valued(*(column(k, typ) for k, typ in WINDOW_PARAMS.items())).render_derived()).cte("p")
    else:
        each = func.json_each(bindparam("p_json", type_=String())).table_valued("value")
        # NOT MATERIALIZED: read as a materialized table, `p` led SQLite (3.38+) to put a Bloom filter
        # on events (shop_id, type) for the over-period openings, built by reading the whole events
        # table on every run (260 ms at a million tickets, whatever the number of shops); inlined,
        # json_each leads each join and every counter table is searched by its index (6 ms)
        p = select(*(type_coerce(func.json_extract(each.c.value, f"$[{i}]"), typ).label(k)
                     for i, (k, typ) in enumerate(WINDOW_PARAMS.items()))).cte("p").prefix_with("NOT MATERIALIZED")

    def joined(element: Any, **_kw: Any) -> Any:
        return p.c[element.key] if isinstance(element, BindParameter) and element.key in WINDOW_PARAMS else None

    one = _statements(dialect, "shop")
    return {name: visitors.replacement_traverse(one[name], {}, joined) for name in ("daily", "ends")}


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
