"""Keeping the governance counters (adapters.counts_table) in step: database triggers, and a rebuild.

Triggers, because the rows they count are written in many places (the unit of work's flush, the
events it stores, set-based sweeps, imports, bulk loads, tests seeding history): a trigger is the one
place no writer can go around, and it runs in the writer's statement, so the counters commit or roll
back with the change. Every trigger applies the same rule: a row contributes to the counters as a
function of its own columns (and, for a ticket's handling time, of whether it has an intervention);
an insert adds the new contribution, a delete subtracts the old, an update that changes a watched
column does both. The SQL is written once below and rendered for SQLite (trigger bodies) and
PostgreSQL (PL/pgSQL functions), with the same day and seconds expressions as the metrics.

`install` creates (or replaces) the triggers; `rebuild` recomputes every counter from the rows,
set-based (migration 0013's backfill, `shouhou governance check --rebuild`, loaders that ran without
triggers). `metadata.create_all` installs the triggers after the tables (the test schema).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, event

from . import counts_table as _counts  # noqa: F401 - the tables the triggers write
from .tables import metadata

HANDLED_STATUSES = ("refunded", "closed", "rejected")  # cancelled tickets were not handled by the shop
HANDLED_TYPES = ("refund_only", "return_refund")
# KS-GOV-1's two types by name; KS-GOV-5's delayed shipments apart; every other type (exchange, repair
# and reship reviews that ran out, GEN-EX-1, GEN-EX-3) counts as exchange_overdue.
OVERDUE_COLUMNS = {"refund_only_overdue": "refund_only_overdue", "return_refund_overdue": "return_refund_overdue",
                   "delayed_shipment": "delayed_shipments"}
AGAINST = "COALESCE(R.effective_fault, R.fault) IN ('shop', 'both')"  # KS-PI-3: the fault as it stands
HANDLED = f"R.type IN {HANDLED_TYPES!r} AND R.status IN {HANDLED_STATUSES!r} AND R.ended_at IS NOT NULL"


class Dialect:
    """The few expressions that differ: the UTC+8 day of an instant, a day's first instant, whole
    seconds between two instants (as adapters.metrics_scan computes them), row-value inequality."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def day(self, x: str) -> str:
        if self.pg:
            return f"CAST(({x} AT TIME ZONE INTERVAL '+08:00') AS DATE)"
        return f"date(substr({x}, 1, 19), '+8 hours')"  # naive UTC text; whole seconds decide the day

    def hour(self, x: str) -> str:
        """Whole hours since 1970 UTC."""
        if self.pg:
            return f"CAST(floor(EXTRACT(epoch FROM {x}) / 3600) AS INTEGER)"
        return f"(CAST(strftime('%s', substr({x}, 1, 19)) AS INTEGER) / 3600)"

    def hour_start(self, h: str, hours: int = 0) -> str:
        if self.pg:
            return f"to_timestamp(({h} + {hours}) * 3600)"
        return f"datetime(({h} + {hours}) * 3600, 'unixepoch')"

    def day_start(self, d: str, days: int = 0) -> str:
        if self.pg:
            return f"((CAST({d} AS TIMESTAMP) + INTERVAL '{days} day') AT TIME ZONE INTERVAL '+08:00')"
        return f"datetime({d}, '+{days} day', '-8 hours')"

    def seconds(self, later: str, earlier: str) -> str:
        if self.pg:
            return f"CAST(round(EXTRACT(epoch FROM {later} - {earlier})) AS INTEGER)"
        return f"CAST(round((julianday({later}) - julianday({earlier})) * 86400) AS INTEGER)"

    def differ(self, cols: tuple[str, ...], a: str = "OLD", b: str = "NEW") -> str:
        left, right = (", ".join(f"{r}.{c}" for c in cols) for r in (a, b))
        return f"(({left}) IS {'DISTINCT FROM' if self.pg else 'NOT'} ({right}))"

    def null_instant(self) -> str:
        return "CAST(NULL AS TIMESTAMPTZ)" if self.pg else "NULL"


@dataclass(frozen=True)
class Family:
    """What one row of `table` adds to gov_daily: on the day of its `at`, when `when` holds, the
    `counts` (SQL over the row R) and the newest instants `last`."""

    table: str
    at: str
    counts: dict[str, str]
    watch: tuple[str, ...]  # the columns whose change moves the contribution
    when: str = "TRUE"
    last: dict[str, str] = field(default_factory=dict)


def _overdue_counts() -> dict[str, str]:
    out = {col: f"CASE WHEN R.type = '{kind}' THEN 1 ELSE 0 END" for kind, col in OVERDUE_COLUMNS.items()}
    named = ", ".join(f"'{k}'" for k in OVERDUE_COLUMNS)
    out["exchange_overdue"] = f"CASE WHEN R.type NOT IN ({named}) THEN 1 ELSE 0 END"
    return out


FAMILIES = (
    Family("tickets", "created_at", {"applications": "1"}, ("shop_id", "created_at")),
    Family("overdue_records", "at", _overdue_counts(), ("shop_id", "type", "at"), last={"last_overdue_at": "R.at"}),
    Family("interventions", "requested_at", {"interventions": "1"}, ("shop_id", "requested_at")),
    Family("interventions", "ruled_at", {"rulings": "1", "rulings_against": f"CASE WHEN {AGAINST} THEN 1 ELSE 0 END"},
           ("shop_id", "ruled_at", "fault", "effective_fault"), when="R.ruled_at IS NOT NULL",
           last={"last_against_at": f"CASE WHEN {AGAINST} THEN R.ruled_at END"}),
    Family("events", "at", {"over_period_openings": "1"}, ("type", "shop_id", "at"),
           when="R.type = 'entry_opened' AND R.shop_id IS NOT NULL"),
)
DAILY_COUNTS = tuple(dict.fromkeys(c for f in FAMILIES for c in f.counts))
DAILY_LAST = ("last_overdue_at", "last_against_at")
TICKET_WATCH = ("id", "shop_id", "type", "status", "ended_at", "created_at")  # a ticket's handling time


def _on(expr: str, row: str) -> str:
    return expr.replace("R.", f"{row}.")


W = "<guard>"  # where a step's guard goes in its statement


@dataclass(frozen=True)
class Step:
    """One statement of a trigger and the condition under which it runs: on SQLite the statement's
    WHERE; on PostgreSQL the guard is an IF around it (a step that does not apply costs no statement)
    and the check its WHERE."""

    guard: str  # plain expressions of NEW and OLD: cheap to test
    sql: str  # with W where the guard belongs
    check: str = "TRUE"  # what needs a query (an intervention's existence): in the statement, after the guard

    def render(self) -> str:
        """The statement for SQLite, its guard and check in its WHERE."""
        return self.sql.replace(W, f"({self.guard}) AND ({self.check})")


def _buckets(d: Dialect) -> list[tuple[str, str, Callable[[str], str], Callable[[str, int], str]]]:
    """The counters' two tables: (table, bucket column, the bucket of an instant, a bucket's first
    instant + n buckets)."""
    return [("gov_daily", "day", d.day, d.day_start), ("gov_hourly", "hour", d.hour, d.hour_start)]


def _family_sql(d: Dialect, f: Family, row: str, sign: int, guard: str) -> list[Step]:
    """The steps that add (sign 1) or take away (-1) one row's contribution to gov_daily and
    gov_hourly."""
    cols = list(f.counts) + (list(f.last) if sign > 0 else [])
    values = [f"{sign} * ({_on(e, row)})" for e in f.counts.values()] + (
        [_on(e, row) for e in f.last.values()] if sign > 0 else [])
    cond = f"{_on(f.when, row)} AND {guard}"
    out = []
    for table, bucket, of, first in _buckets(d):
        sets = [f"{c} = {table}.{c} + excluded.{c}" for c in f.counts] + [
            f"{c} = CASE WHEN excluded.{c} IS NOT NULL AND ({table}.{c} IS NULL OR excluded.{c} > {table}.{c}) "
            f"THEN excluded.{c} ELSE {table}.{c} END" for c in (f.last if sign > 0 else ())]
        out.append(Step(cond, f"INSERT INTO {table} (shop_id, {bucket}, {', '.join(cols)}) "
                              f"SELECT {row}.shop_id, {of(f'{row}.{f.at}')}, {', '.join(values)} WHERE {W} "
                              f"ON CONFLICT (shop_id, {bucket}) DO UPDATE SET {', '.join(sets)}"))
        if sign < 0:  # the newest instant of the bucket may have been this row: take it again from the rows
            for col, expr in f.last.items():
                x = f"x.{f.at}"
                out.append(Step(cond, f"UPDATE {table} SET {col} = (SELECT max({_on(expr, 'x')}) FROM {f.table} x "
                                      f"WHERE x.shop_id = {table}.shop_id AND {x} >= {first(f'{table}.{bucket}', 0)} "
                                      f"AND {x} < {first(f'{table}.{bucket}', 1)} AND {_on(f.when, 'x')}) "
                                      f"WHERE shop_id = {row}.shop_id AND {bucket} = {of(f'{row}.{f.at}')} AND {W}"))
    return out


def _no_intervention(ticket: str, but: str | None = None) -> str:
    other = f" AND iv.id <> {but}" if but else ""
    return f"NOT EXISTS (SELECT 1 FROM interventions iv WHERE iv.ticket_id = {ticket}{other})"


def _handled_row(d: Dialect, row: str) -> str:
    """A ticket's row of the histogram: id, shop, the hour it ended, type, whole seconds it took."""
    return (f"{row}.id, {row}.shop_id, {d.hour(f'{row}.ended_at')}, {row}.type, "
            f"{d.seconds(f'{row}.ended_at', f'{row}.created_at')}")


_INTO = "INSERT INTO gov_handling (ticket_id, shop_id, hour, type, s)"


def _handled_sql(d: Dialect, row: str, guard: str = "TRUE", drop: bool = False) -> list[Step]:
    """The ticket NEW is in the histogram when it was handled by the shop without the platform (no
    intervention); with `drop`, the row of OLD goes first. `guard` says whether to look at all."""
    out = [Step(guard, f"DELETE FROM gov_handling WHERE ticket_id = OLD.id AND {W}")] if drop else []
    if row == "NEW":
        out.append(Step(f"{_on(HANDLED, row)} AND {guard}", f"{_INTO} SELECT {_handled_row(d, row)} WHERE {W}",
                        _no_intervention("NEW.id")))
    return out


def _recount(d: Dialect, ticket: str, guard: str = "TRUE") -> list[Step]:
    """The histogram's row of a ticket named by id (a trigger on interventions), taken again from the
    ticket's row and whether it has an intervention now: the state after the statement, whatever
    order its rows came in."""
    return [Step(guard, f"DELETE FROM gov_handling WHERE ticket_id = {ticket} AND {W}"),
            Step(guard, f"{_INTO} SELECT {_handled_row(d, 'tk')} FROM tickets tk WHERE tk.id = {ticket} "
                        f"AND {_on(HANDLED, 'tk')} AND {_no_intervention('tk.id')} AND {W}")]


def _repeats_sql(ticket: str, guard: str = "TRUE") -> list[Step]:
    """Recompute which of a ticket's interventions repeat an earlier one (gov_iv_repeats)."""
    return [Step(guard, f"DELETE FROM gov_iv_repeats WHERE ticket_id = {ticket} AND {W}"),
            Step(guard, "INSERT INTO gov_iv_repeats (ticket_id, id, shop_id, prev_at, at) "
                        "SELECT ticket_id, id, shop_id, prev_at, requested_at FROM (SELECT ticket_id, id, shop_id, "
                        "requested_at, lag(requested_at) OVER (PARTITION BY shop_id, ticket_id ORDER BY requested_at, id) "
                        f"AS prev_at FROM interventions WHERE ticket_id = {ticket} AND {W}) AS q WHERE prev_at IS NOT NULL")]


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    timing: str  # BEFORE | AFTER
    op: str  # INSERT | UPDATE | DELETE
    body: list[Step]
    columns: tuple[str, ...] = ()  # UPDATE OF
    when: str | None = None


TABLES = ("tickets", "overdue_records", "interventions", "events")
_SHORT = {"tickets": "tickets", "overdue_records": "overdue", "interventions": "interventions", "events": "events"}


def triggers(dialect: str) -> list[Trigger]:
    """Every counting trigger: AFTER INSERT, UPDATE and DELETE on each counted table."""
    d = Dialect(dialect)
    body: dict[tuple[str, str], list[Step]] = {(t, op): [] for t in TABLES for op in ("INSERT", "UPDATE", "DELETE")}
    watch: dict[str, tuple[str, ...]] = {t: () for t in TABLES}
    moved: dict[str, list[str]] = {t: [] for t in TABLES}  # what makes an UPDATE worth a look
    for f in FAMILIES:
        body[f.table, "INSERT"] += _family_sql(d, f, "NEW", 1, "TRUE")
        body[f.table, "DELETE"] += _family_sql(d, f, "OLD", -1, "TRUE")
        for row, sign in (("OLD", -1), ("NEW", 1)):
            body[f.table, "UPDATE"] += _family_sql(d, f, row, sign, d.differ(f.watch))
        watch[f.table] += f.watch
        moved[f.table].append(d.differ(f.watch) if f.when == "TRUE"
                              else f"{d.differ(f.watch)} AND (({_on(f.when, 'OLD')}) OR ({_on(f.when, 'NEW')}))")
    # a ticket's handling time, whenever its row changes what it is
    changed = d.differ(TICKET_WATCH)
    body["tickets", "INSERT"] += _handled_sql(d, "NEW")
    body["tickets", "DELETE"] += _handled_sql(d, "OLD", drop=True)
    body["tickets", "UPDATE"] += _handled_sql(d, "NEW", changed, drop=True)
    watch["tickets"] += TICKET_WATCH
    moved["tickets"].append(f"{changed} AND (({_on(HANDLED, 'OLD')}) OR ({_on(HANDLED, 'NEW')}))")
    # a ticket taken to the platform leaves the histogram, and comes back when its last intervention
    # goes; which interventions repeat their ticket's (the window counts distinct tickets)
    again, moved_ticket = d.differ(("shop_id", "ticket_id", "requested_at", "id")), d.differ(("ticket_id",))
    body["interventions", "INSERT"] += _recount(d, "NEW.ticket_id") + _repeats_sql("NEW.ticket_id")
    body["interventions", "DELETE"] += _recount(d, "OLD.ticket_id") + _repeats_sql("OLD.ticket_id")
    body["interventions", "UPDATE"] += (_recount(d, "OLD.ticket_id", moved_ticket) + _recount(d, "NEW.ticket_id", moved_ticket)
                                        + _repeats_sql("OLD.ticket_id", again) + _repeats_sql("NEW.ticket_id", again))
    watch["interventions"] += ("ticket_id", "id")
    moved["interventions"].append(again)

    out = []
    for table in TABLES:
        name = f"gov_{_SHORT[table]}"
        only = [f.when for f in FAMILIES if f.table == table] if table == "events" else []
        out += [Trigger(f"{name}_ai", table, "AFTER", "INSERT", body[table, "INSERT"],
                        when=_on(only[0], "NEW") if only else None),
                Trigger(f"{name}_ad", table, "AFTER", "DELETE", body[table, "DELETE"],
                        when=_on(only[0], "OLD") if only else None),
                Trigger(f"{name}_au", table, "AFTER", "UPDATE", body[table, "UPDATE"], tuple(dict.fromkeys(watch[table])),
                        " OR ".join(f"({m})" for m in moved[table]))]
    return out


def _ddl(dialect: str, tr: Trigger) -> list[str]:
    of = f" OF {', '.join(tr.columns)}" if tr.columns else ""
    when = f" WHEN ({tr.when})" if tr.when else ""
    head = f"{tr.timing} {tr.op}{of} ON {tr.table} FOR EACH ROW{when}"
    if dialect == "postgresql":
        ret = "NULL" if tr.timing == "AFTER" else ("OLD" if tr.op == "DELETE" else "NEW")
        body = ""
        for i, step in enumerate(tr.body):  # steps in a row under one guard share one IF
            opens = i == 0 or tr.body[i - 1].guard != step.guard
            closes = i == len(tr.body) - 1 or tr.body[i + 1].guard != step.guard
            body += (f"  IF {step.guard} THEN\n" if opens else "") + f"    {step.sql.replace(W, step.check)};\n"
            body += "  END IF;\n" if closes else ""
        return [f"CREATE OR REPLACE FUNCTION {tr.name}() RETURNS trigger LANGUAGE plpgsql AS $gov$\nBEGIN\n"
                f"{body}  RETURN {ret};\nEND\n$gov$",
                f"CREATE OR REPLACE TRIGGER {tr.name} {head} EXECUTE FUNCTION {tr.name}()"]
    body = "".join(f"  {step.render()};\n" for step in tr.body)
    return [f"DROP TRIGGER IF EXISTS {tr.name}", f"CREATE TRIGGER {tr.name} {head}\nBEGIN\n{body}END"]


def install(conn: Connection) -> None:
    """Create or replace every counting trigger (the counters are not touched: see `rebuild`)."""
    for tr in triggers(conn.dialect.name):
        for stmt in _ddl(conn.dialect.name, tr):
            conn.exec_driver_sql(stmt)


def uninstall(conn: Connection) -> None:
    """Drop every counting trigger (on PostgreSQL, their functions and with them the triggers)."""
    pg = conn.dialect.name == "postgresql"
    for tr in triggers(conn.dialect.name):
        conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {tr.name}() CASCADE" if pg else f"DROP TRIGGER IF EXISTS {tr.name}")


def rebuild_sql(dialect: str) -> list[str]:
    """Every counter recomputed from the rows, set-based."""
    d = Dialect(dialect)
    out = ["DELETE FROM gov_daily", "DELETE FROM gov_hourly", "DELETE FROM gov_handling", "DELETE FROM gov_iv_repeats"]
    sums = ", ".join(f"sum({c})" for c in DAILY_COUNTS)
    maxes = ", ".join(f"max({c})" for c in DAILY_LAST)
    for table, bucket, of, _first in _buckets(d):
        branches = []
        for f in FAMILIES:
            cols = [f"{_on(f.counts[c], 'R')} AS {c}" if c in f.counts else f"0 AS {c}" for c in DAILY_COUNTS]
            lasts = [f"{f.last[c]} AS {c}" if c in f.last else f"{d.null_instant()} AS {c}" for c in DAILY_LAST]
            branches.append(f"SELECT R.shop_id AS shop_id, {of(f'R.{f.at}')} AS {bucket}, {', '.join(cols + lasts)} "
                            f"FROM {f.table} R WHERE {f.when}")
        out.append(f"INSERT INTO {table} (shop_id, {bucket}, {', '.join(DAILY_COUNTS + DAILY_LAST)}) "
                   f"SELECT shop_id, {bucket}, {sums}, {maxes} FROM ({' UNION ALL '.join(branches)}) AS x "
                   f"GROUP BY shop_id, {bucket}")
    handled = f"FROM tickets R WHERE {HANDLED} AND {_no_intervention('R.id')}"
    return [
        *out,
        f"{_INTO} SELECT {_handled_row(d, 'R')} {handled}",
        "INSERT INTO gov_iv_repeats (ticket_id, id, shop_id, prev_at, at) "
        "SELECT ticket_id, id, shop_id, prev_at, requested_at FROM (SELECT ticket_id, id, shop_id, requested_at, "
        "lag(requested_at) OVER (PARTITION BY shop_id, ticket_id ORDER BY requested_at, id) AS prev_at "
        "FROM interventions) AS q WHERE prev_at IS NOT NULL",
    ]


def rebuild(conn: Connection) -> None:
    """Recompute every counter from the rows, in the caller's transaction. On PostgreSQL the counted
    tables are locked against writers meanwhile (readers go on), so no change slips between."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE tickets, overdue_records, interventions, events IN SHARE MODE")
    for stmt in rebuild_sql(conn.dialect.name):
        conn.exec_driver_sql(stmt)


@event.listens_for(metadata, "after_create")
def _after_create(_target: Any, connection: Connection, **_kw: Any) -> None:
    install(connection)


@event.listens_for(metadata, "before_drop")
def _before_drop(_target: Any, connection: Connection, **_kw: Any) -> None:
    uninstall(connection)
