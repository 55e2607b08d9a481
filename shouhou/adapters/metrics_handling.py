"""The handling-time percentiles of the governance metrics (KS-GOV-2), from the hourly histogram
(adapters.counts_table.gov_handling) and the tickets handled in the window's two partial hours.

Median and P95 are domain.governance.percentile: linear interpolation between the values at ranks
k and k + 1 of the sorted seconds, k = (n - 1) * a // b + 1. One statement, for one shop or every
shop:

- the histogram's values of the window's whole hours, read in the order of ix_gov_handling_rank
  (shop, type, seconds: no sort), with a running total of their counts;
- the partial hours' tickets (e of them for a shop and type), one row each;
- of the histogram, only the rows that hold ranks k - e to k + 1 of the whole, for each percentile:
  the value at rank k of histogram and tickets together is one of the tickets' or the histogram's
  at a rank from k - e to k (at most e tickets come before it).

`percentiles` then finds each rank's value among those few rows: the smallest value whose count of
values at or below it (histogram's running total, tickets counted) reaches the rank.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    and_,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)

from ..domain import governance as g
from . import counts_table as ct
from . import tables as t
from .counts_sql import HANDLED_STATUSES, HANDLED_TYPES
from .metrics_window import H1, H2, active, among, ends, scope_of, seconds, unindexed


def _histogram(dialect: str, scope: str) -> Any:
    """The histogram's values in the window's whole hours (shop, type, s, n), in the order of
    ix_gov_handling_rank (PostgreSQL's planner finds it; SQLite's takes an index on hour, then sorts,
    unless told)."""
    gh = ct.gov_handling.c
    hour = unindexed(gh.hour) if dialect == "sqlite" else gh.hour
    return select(gh.shop_id, gh.type, gh.s, gh.n).where(hour >= H1, hour < H2, scope_of(scope, gh.shop_id))


def _partial_hours(dialect: str, scope: str) -> Any:
    """The handling seconds of the tickets handled in the window's two partial hours (one row each)."""
    tk, iv = t.tickets.c, t.interventions.c
    parts = []
    for left in (True, False):
        joined, on = active(t.tickets, tk.shop_id, None, left, scope)
        parts.append(select(tk.shop_id, tk.type, seconds(dialect, tk.ended_at, tk.created_at).label("s"),
                            literal_column("1", Integer).label("n")).select_from(joined).where(
            on, among(tk.type, HANDLED_TYPES), among(tk.status, HANDLED_STATUSES), ends(tk.ended_at)[0 if left else 1],
            ~exists().where(iv.ticket_id == tk.id), scope_of(scope, tk.shop_id)))
    return union_all(*parts)


def handling_sql(dialect: str, scope: str) -> Any:
    """Rows (shop, type, s, n, c, total): the histogram's rows that hold the ranks needed, c the
    running total at the row and total the histogram's count; and the partial hours' tickets, with
    c and total NULL."""
    tickets = _partial_hours(dialect, scope).cte("partial_hours")
    e = select(tickets.c.shop_id, tickets.c.type, func.count().label("e")) \
        .group_by(tickets.c.shop_id, tickets.c.type).subquery("e")
    h = _histogram(dialect, scope).subquery("h")
    part, order = (h.c.shop_id, h.c.type), (h.c.s,)  # a value repeated in several hours: several rows
    running = select(h.c.shop_id, h.c.type, h.c.s, h.c.n,
                     cast(func.sum(h.c.n).over(partition_by=part, order_by=order, rows=(None, 0)), BigInteger).label("c"),
                     cast(func.sum(h.c.n).over(partition_by=part, order_by=order, rows=(None, None)), BigInteger)
                     .label("total")).subquery("running")
    r = running.c
    more = func.coalesce(e.c.e, 0)
    whole = r.total + more

    def holds(low: Any, high: Any) -> Any:  # the row's ranks, (c - n, c], meet [low, high]
        return and_(r.c - r.n < high, r.c >= low)

    wanted = [holds(k - more, k + 1) for k in ((whole - 1) * a // b + 1 for a, b in (g.P50, g.P95))]
    rows = select(r.shop_id, r.type, r.s, r.n, r.c, r.total) \
        .select_from(running.outerjoin(e, and_(e.c.shop_id == r.shop_id, e.c.type == r.type))).where(or_(*wanted))
    nothing = cast(null(), BigInteger)
    return union_all(rows, select(tickets.c.shop_id, tickets.c.type, tickets.c.s, tickets.c.n, nothing, nothing))


def percentiles(rows: Iterable[Any]) -> list[tuple[str, str, int, float, float]]:
    """From handling_sql's rows: per shop and type, the number handled, the median and the P95."""
    held: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)  # (s, c) of the histogram's rows
    totals: dict[tuple[str, str], int] = {}
    tickets: dict[tuple[str, str], list[int]] = defaultdict(list)
    for shop, kind, s, _n, c, total in rows:
        if c is None:
            tickets[shop, kind].append(s)
        else:
            held[shop, kind].append((s, c))
            totals[shop, kind] = total
    out = []
    for key in held.keys() | tickets.keys():
        mine, extra = sorted(held.get(key, ())), sorted(tickets.get(key, ()))
        values = sorted({s for s, _ in mine} | set(extra))
        upto, best = [], 0  # the histogram's count at or below each of `values`, as far as its rows tell
        i = 0
        for v in values:
            while i < len(mine) and mine[i][0] <= v:
                best = max(best, mine[i][1])
                i += 1
            upto.append(best + bisect.bisect_right(extra, v))
        n = totals.get(key, 0) + len(extra)

        def at(rank: int) -> int | None:
            j = bisect.bisect_left(upto, rank)  # noqa: B023 - used at once
            return values[j] if j < len(values) else None  # noqa: B023

        figures = []
        for a, b in (g.P50, g.P95):
            k, rem = divmod((n - 1) * a, b)
            lo, hi = at(k + 1), at(k + 2)
            assert lo is not None, f"no value at rank {k + 1} of {n} for {key}"
            figures.append(float(lo) + float(((hi if hi is not None else lo) - lo) * rem) / b)  # as metrics_scan
        out.append((key[0], key[1], n, figures[0], figures[1]))
    return out
