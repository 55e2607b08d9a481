"""Where a governance window (start, end] meets the counters' buckets (whole UTC+8 days, whole hours)
and the rows of its two partial hours: the bound parameters and SQL pieces that adapters.metrics and
adapters.metrics_handling share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Integer, and_, bindparam, cast, func, literal_column, select, true
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.operators import custom_op

from . import counts_table as ct
from . import tables as t

UTC8 = timezone(timedelta(hours=8))  # the counters' days (the triggers add 8 hours to UTC)
EPOCH, HOUR = datetime(1970, 1, 1, tzinfo=UTC), timedelta(hours=1)  # the histogram's hours
START, END, HA, HB = (bindparam(n, type_=t.Instant()) for n in ("start", "end", "ha", "hb"))
D1, D2 = (bindparam(n, type_=ct.gov_daily.c.day.type) for n in ("d1", "d2"))
H1, H2, HL, HR, L1, L2, R1, R2 = (bindparam(n, type_=Integer()) for n in ("h1", "h2", "hl", "hr", "l1", "l2", "r1", "r2"))


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


def among(col: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    """col IN (the literal values): written into the statement, not expanded at every execution."""
    return col.in_([literal_column(f"'{v}'") for v in values])  # type: ignore[no-any-return]


def scope_of(kind: str, col: Any) -> ColumnElement[bool]:
    if kind == "shop":
        return col == bindparam("shop")  # type: ignore[no-any-return]
    if kind == "policies":
        members = select(t.shops.c.id).where(t.shops.c.policy.in_(bindparam("policies", expanding=True)))
        return col.in_(members)  # type: ignore[no-any-return]
    return true()


def seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Whole seconds between two instants, in SQL (as the triggers and metrics_scan compute them)."""
    if dialect == "postgresql":
        return cast(func.round(func.extract("epoch", later - earlier)), Integer)
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400), Integer)


def ends(col: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The window's two partial hours: (start, ha) and [hb, end]."""
    return and_(col > START, col < HA), and_(col >= HB, col <= END)


def active(table: Any, shop_col: Any, counter: Callable[[Any], Any] | None, left: bool,
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
        d = select(gh.shop_id).where(gh.hour == hour, scope_of(scope, gh.shop_id)).distinct().subquery("d")
        return d.join(table, shop_col == d.c.shop_id), true()
    hourly = ct.gov_hourly.alias("d")
    return hourly.join(table, shop_col == hourly.c.shop_id), and_(hourly.c.hour == hour, counter(hourly.c) != 0)


def unindexed(col: Any) -> Any:
    """+col: the same value, which SQLite's planner cannot look up by an index on col, so that it
    reads a table in the order of another index instead of sorting what it found."""
    return UnaryExpression(col, operator=custom_op("+"), type_=col.type)
