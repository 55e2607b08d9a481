"""The handling-time percentiles of the governance metrics (KS-GOV-2), from the handling times of the
window's whole hours (adapters.counts_table.gov_handling) and the tickets handled in its two partial
hours.

Median and P95 are domain.governance.percentile: linear interpolation between the values at ranks
k and k + 1 of the sorted seconds, k = (n - 1) * a // b + 1. One statement, for one shop or every
shop:

- the histogram's values of the window's whole hours, read in the order of ix_gov_handling_rank
  (shop, type, seconds: no sort), with a running total of their counts;
- the partial hours' tickets (e of them for a shop and type), one row each;
- of the histogram, only the rows that hold ranks k - e to k + 1 of the whole, for each percentile:
  the value at rank k of histogram and tickets together is one of the tickets' or the histogram's
  at a rank from k - e to k (at most e tickets come before it). Where e is 0 (most shops) the four
  values are picked there; elsewhere the rows go to `percentiles`, which finds each rank's value
  among them: the smallest value whose count of values at or below it (the histogram's running
  total, the tickets counted) reaches the rank.
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
    case,
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
    return select(gh.shop_id, gh.type, gh.s, literal_column("1", Integer).label("n")) \
        .where(hour >= H1, hour < H2, scope_of(scope, gh.shop_id))


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
    """Rows (shop, type, kind, x1 .. x5). Kind "v", a shop and type with no ticket in the partial
    hours: x1 the count, x2 .. x5 the values at ranks lo50, lo50 + 1, lo95, lo95 + 1 (NULL past the
    last). Kind "h", for the others, each histogram row that holds a rank needed: x1 its value, x2 the
    running total at it, x3 the histogram's count. Kind "t": a partial hour's ticket, x1 its value."""
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
    held = select(r.shop_id, r.type, r.s, r.n, r.c, r.total, more.label("e")) \
        .select_from(running.outerjoin(e, and_(e.c.shop_id == r.shop_id, e.c.type == r.type))) \
        .where(or_(*wanted)).cte("held")
    f = held.c

    def at(rank: Any) -> Any:
        return func.max(case((and_(f.c - f.n < rank, rank <= f.c), f.s)))

    ranks = [(f.total - 1) * a // b + 1 for a, b in (g.P50, g.P95)]
    nothing = cast(null(), BigInteger)
    return union_all(
        select(f.shop_id, f.type, literal_column("'v'"), func.max(f.total), at(ranks[0]), at(ranks[0] + 1),
               at(ranks[1]), at(ranks[1] + 1)).where(f.e == 0).group_by(f.shop_id, f.type),
        select(f.shop_id, f.type, literal_column("'h'"), f.s, f.c, f.total, nothing, nothing).where(f.e > 0),
        select(tickets.c.shop_id, tickets.c.type, literal_column("'t'"), tickets.c.s, nothing, nothing, nothing,
               nothing))


def _interpolate(lo: int, hi: int | None, rem: int, b: int) -> float:
    """As metrics_scan's SQL: lo + (hi - lo) * remainder / b, in double precision."""
    return float(lo) + float(((hi if hi is not None else lo) - lo) * rem) / b


def percentiles(rows: Iterable[Any]) -> list[tuple[str, str, int, float, float]]:
    """From handling_sql's rows: per shop and type, the number handled, the median and the P95."""
    out = []
    held: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)  # (s, c) of the histogram's rows
    totals: dict[tuple[str, str], int] = {}
    tickets: dict[tuple[str, str], list[int]] = defaultdict(list)
    for shop, kind, what, x1, x2, x3, x4, x5 in rows:
        if what == "v":
            figures = [_interpolate(lo, hi, (x1 - 1) * a % b, b) for (a, b), lo, hi in ((g.P50, x2, x3), (g.P95, x4, x5))]
            out.append((shop, kind, x1, figures[0], figures[1]))
        elif what == "h":
            held[shop, kind].append((x1, x2))
            totals[shop, kind] = x3
        else:
            tickets[shop, kind].append(x1)
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
            lo = at(k + 1)
            assert lo is not None, f"no value at rank {k + 1} of {n} for {key}"
            figures.append(_interpolate(lo, at(k + 2), rem, b))
        out.append((key[0], key[1], n, figures[0], figures[1]))
    return out
