"""The governance benchmark's data set and its raw SQL baseline (see bench/governance.py).

The data set: N shops and M after-sales tickets (with orders, overdue records, interventions with
rulings, some tickets taken to the platform twice, and over-period openings) over the 45 days before
AT, written by Core bulk inserts (COPY on PostgreSQL) with the counting triggers off, then the
counters rebuilt from the rows set-based (as migration 0012 does), then ANALYZE (VACUUM ANALYZE on
PostgreSQL, as autovacuum would after a load).

The baseline: the five metric families of every shop over the window, computed by scanning the rows
with hand-written SQL through the raw driver (sqlite3 or psycopg), no SQLAlchemy: applications,
overdue records by type (with the newest), interventions (distinct tickets) and rulings (with the
newest against the shop), over-period openings, and the handling-time median and P95 per type
(percentile_cont on PostgreSQL, ranks by window functions on SQLite).
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    text,
)

from shouhou.adapters import counts_sql
from shouhou.adapters import tables as t
from shouhou.clock import SHANGHAI

AT = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # the evaluation instant: the data set is built around it
SPAN = timedelta(days=45)  # tickets are created over the 45 days before AT (the window is the last 30)
CHUNK = 50_000
TICKETS_PER_ORDER = 4
TABLES = ("shops", "buyers", "orders", "tickets", "overdue_records", "interventions", "events")


def _chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _loading_table(table: Table, dialect: str) -> Table:
    """The table as the loader writes it: the same name and columns with plain types, so that values
    already in their stored form (naive UTC text for instants on SQLite, JSON as text) go straight in."""
    cols = []
    for col in table.columns:
        typ: Any = col.type
        if isinstance(typ, t.Instant):
            typ = String() if dialect == "sqlite" else DateTime(timezone=True)
        elif isinstance(typ, JSON) and dialect == "sqlite":
            typ = Text()
        elif isinstance(typ, Boolean) and dialect == "sqlite":
            typ = Integer()
        cols.append(Column(col.name, typ))
    return Table(table.name, MetaData(), *cols)


def _bulk(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One bulk insert: SQLite, the compiled INSERT executemany'd with tuples; PostgreSQL, COPY."""
    if conn.dialect.name == "postgresql":
        keys = list(rows[0])
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(keys)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(tuple(r[k] for k in keys))
        return
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(rows[0]))
    order = compiled.positiontup or []
    conn.exec_driver_sql(str(compiled), [tuple(r[k] for k in order) for r in rows])


def generate(engine: Engine, shops: int, tickets: int, seed: int) -> dict[str, int]:
    """The rows. Shop sizes are skewed (a few large shops, many small); one shop in fifty is a bad one
    whose overdue rate is high."""
    rnd = random.Random(seed)
    dialect = engine.dialect.name
    tables = {name: _loading_table(getattr(t, name), dialect) for name in TABLES}
    base_utc = (AT - SPAN).astimezone(UTC)
    naive = base_utc.replace(tzinfo=None)
    at_s = int(SPAN.total_seconds())
    sqlite = dialect == "sqlite"

    def ts(sec: int) -> Any:
        if sqlite:
            return (naive + timedelta(seconds=sec)).isoformat(sep=" ", timespec="microseconds")
        return base_utc + timedelta(seconds=sec)

    empty_list, empty_map = "[]", "{}"
    false, true = (0, 1) if sqlite else (False, True)
    counts = dict.fromkeys(TABLES, 0)
    shop_ids = [f"S{i:05d}" for i in range(shops)]
    weights = [1.0 / (1 + (i % 97)) for i in range(shops)]
    bad = {s for i, s in enumerate(shop_ids) if i % 50 == 0}
    opened = ts(-355 * 86_400)
    with engine.begin() as conn:
        _bulk(conn, tables["shops"], [
            {"id": s, "name": s, "policy": "kuaishou" if i % 3 else "douyin", "status": "normal", "wallet_fen": 0,
             "deposit_fen": 0, "debt_fen": 0, "wallet_opened_at": opened, "created_at": opened,
             "refund_handling": "enabled", "points": 0, "freight_claims_by_platform": false, "cart_suspended": false}
            for i, s in enumerate(shop_ids)])
        _bulk(conn, tables["buyers"], [{"id": f"B{i:04d}", "name": "b"} for i in range(1000)])
    counts["shops"], counts["buyers"] = shops, 1000
    owners = rnd.choices(shop_ids, weights=weights, k=tickets // TICKETS_PER_ORDER + 1)

    def orders() -> Iterator[dict[str, Any]]:
        for n, shop in enumerate(owners):
            yield {"id": f"O{n:07d}", "shop_id": shop, "buyer_id": f"B{n % 1000:04d}", "policy": "kuaishou",
                   "policy_version": "2026.1", "amount_fen": 9_900, "freight_fen": 0, "payment": "online",
                   "kind": "normal", "marketing": false, "goods": "physical", "category": "general",
                   "no_reason_return": true, "commission": empty_map, "promoters": empty_map,
                   "created_at": ts(rnd.randrange(at_s)), "status": "completed", "refunded_fen": 0, "held_fen": 0,
                   "applications_in_period": 1, "entry_openings": 0}

    later: dict[str, list[dict[str, Any]]] = defaultdict(list)
    statuses = ("refunded", "refunded", "refunded", "closed", "rejected", "cancelled", "pending_review")
    others = ("return_refund", "return_refund", "exchange")
    faults = ("shop", "buyer", "both", "platform")

    def intervention(ident: str, tid: str, oid: str, shop: str, requested: int) -> dict[str, Any]:
        ruled = requested + rnd.randint(1, 120) * 3600
        done = ruled <= at_s
        fault = faults[rnd.randrange(4)] if done else None
        return {"id": ident, "ticket_id": tid, "order_id": oid, "shop_id": shop, "buyer_id": "B0000",
                "policy": "kuaishou", "policy_version": "2026.1", "requested_at": ts(requested), "requested_by": "x",
                "cause": "rejected", "previous_status": "rejected", "status": "ruled" if done else "coordinating",
                "response_due_at": ts(requested + 2 * 86_400), "ruled_at": ts(ruled) if done else None,
                "fault": fault, "effective_fault": fault, "buyer_evidence_count": 0, "shop_evidence_count": 0,
                "buyer_evidence_closed": false, "shop_evidence_closed": false}

    def ticket_rows() -> Iterator[dict[str, Any]]:
        for n in range(tickets):
            o = n // TICKETS_PER_ORDER
            shop, oid, tid = owners[o], f"O{o:07d}", f"T{n:07d}"
            created = rnd.randrange(at_s)
            type_ = "refund_only" if rnd.random() < 0.6 else others[n % 3]
            status = statuses[int(rnd.random() * 7)]
            end = created + int(rnd.expovariate(1 / 86_400)) + 60
            if end > at_s:  # not over yet at AT: still waiting for the shop
                status = "pending_review"
            ended = None if status == "pending_review" else ts(end)
            if rnd.random() < (0.6 if shop in bad else 0.05) and created + 48 * 3600 <= at_s:
                kind = "refund_only_overdue" if type_ == "refund_only" else "return_refund_overdue"
                later["overdue_records"].append({"shop_id": shop, "ticket_id": tid, "order_id": oid, "type": kind,
                                                 "rule": "KS-GOV-1", "cause_rule": "KS-RO-1",
                                                 "at": ts(created + 48 * 3600)})
            requested = created + rnd.randint(1, 96) * 3600
            if rnd.random() < 0.02 and requested <= at_s:
                later["interventions"].append(intervention(f"I{n:07d}", tid, oid, shop, requested))
                again = requested + rnd.randint(24, 240) * 3600
                if rnd.random() < 0.1 and again <= at_s:  # taken to the platform again after the first ruling
                    later["interventions"].append(intervention(f"J{n:07d}", tid, oid, shop, again))
            if rnd.random() < 0.01:
                later["events"].append({"at": ts(created), "actor": "staff:x", "type": "entry_opened", "shop_id": shop,
                                        "order_id": oid, "payload": empty_map, "recorded_at": ts(created)})
            yield {"id": tid, "order_id": oid, "shop_id": shop, "buyer_id": f"B{o % 1000:04d}", "type": type_,
                   "reason": "other", "amount_fen": 9_900, "policy": "kuaishou", "policy_version": "2026.1",
                   "created_at": ts(created), "over_period": false, "status": status,
                   "refunded_fen": 9_900 if status == "refunded" else 0, "evidence": empty_list,
                   "shipped_when_applied": true, "ended_at": ended}

    for name, rows in (("orders", orders()), ("tickets", ticket_rows())):
        for batch in _chunks(rows):
            with engine.begin() as conn:
                _bulk(conn, tables[name], batch)
            counts[name] += len(batch)
            print(f"  {name} {counts[name]:,}", end="\r", file=sys.stderr)
    for name in ("overdue_records", "interventions", "events"):
        for batch in _chunks(iter(later[name])):
            with engine.begin() as conn:
                _bulk(conn, tables[name], batch)
        counts[name] = len(later[name])
    return counts


def loader(url: str) -> Engine:
    """For loading only: SQLite without the journal and fsync (a benchmark file, rebuilt at will)."""
    engine = create_engine(url)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _fast(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=OFF")
            cur.execute("PRAGMA synchronous=OFF")
            cur.close()
    return engine


def load(engine: Engine, shops: int, tickets: int, seed: int) -> dict[str, Any]:
    """The data set into an empty schema: the rows with the triggers off, then the counters rebuilt
    and the triggers back, then the planner's statistics. Returns the row counts and timings."""
    with engine.begin() as conn:
        counts_sql.uninstall(conn)
    t0 = time.perf_counter()
    counts: dict[str, Any] = generate(engine, shops, tickets, seed)
    t1 = time.perf_counter()
    with engine.begin() as conn:
        counts_sql.install(conn)
        counts_sql.rebuild(conn)
    t2 = time.perf_counter()
    analyze(engine)
    counts.update(load_s=round(t1 - t0, 1), rebuild_s=round(t2 - t1, 1), analyze_s=round(time.perf_counter() - t2, 1))
    return counts


def analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


# -- the raw SQL baseline -----------------------------------------------------------------------------

_HANDLED = ("type IN ('refund_only', 'return_refund') AND status IN ('refunded', 'closed', 'rejected') "
            "AND ended_at > :start AND ended_at <= :end "
            "AND NOT EXISTS (SELECT 1 FROM interventions i WHERE i.ticket_id = tk.id)")
_COMMON = [
    "SELECT shop_id, count(*) FROM tickets WHERE created_at > :start AND created_at <= :end GROUP BY shop_id",
    "SELECT shop_id, type, count(*), max(at) FROM overdue_records WHERE at > :start AND at <= :end "
    "GROUP BY shop_id, type",
    "SELECT shop_id, count(DISTINCT CASE WHEN requested_at > :start AND requested_at <= :end THEN ticket_id END), "
    "sum(CASE WHEN ruled_at > :start AND ruled_at <= :end THEN 1 ELSE 0 END), "
    "sum(CASE WHEN ruled_at > :start AND ruled_at <= :end AND coalesce(effective_fault, fault) IN ('shop', 'both') "
    "THEN 1 ELSE 0 END), "
    "max(CASE WHEN ruled_at > :start AND ruled_at <= :end AND coalesce(effective_fault, fault) IN ('shop', 'both') "
    "THEN ruled_at END) "
    "FROM interventions WHERE (requested_at > :start AND requested_at <= :end) OR (ruled_at > :start AND ruled_at <= :end) "
    "GROUP BY shop_id",
    "SELECT shop_id, count(*) FROM events WHERE type = 'entry_opened' AND at > :start AND at <= :end "
    "AND shop_id IS NOT NULL GROUP BY shop_id",
]
PG_HANDLING = (
    "SELECT shop_id, type, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY s), "
    "percentile_cont(0.95) WITHIN GROUP (ORDER BY s) FROM (SELECT shop_id, type, "
    f"round(extract(epoch FROM ended_at - created_at))::int AS s FROM tickets tk WHERE {_HANDLED}) AS h "
    "GROUP BY shop_id, type")
SQLITE_HANDLING = (
    "SELECT shop_id, type, max(n), "
    "max(CASE WHEN rn = (n - 1) / 2 + 1 THEN s END) + ((coalesce(max(CASE WHEN rn = (n - 1) / 2 + 2 THEN s END), "
    "max(CASE WHEN rn = (n - 1) / 2 + 1 THEN s END)) - max(CASE WHEN rn = (n - 1) / 2 + 1 THEN s END)) "
    "* ((max(n) - 1) % 2)) / 2.0, "
    "max(CASE WHEN rn = (n - 1) * 19 / 20 + 1 THEN s END) + ((coalesce(max(CASE WHEN rn = (n - 1) * 19 / 20 + 2 "
    "THEN s END), max(CASE WHEN rn = (n - 1) * 19 / 20 + 1 THEN s END)) - max(CASE WHEN rn = (n - 1) * 19 / 20 + 1 "
    "THEN s END)) * ((max(n) - 1) * 19 % 20)) / 20.0 "
    "FROM (SELECT shop_id, type, s, row_number() OVER (PARTITION BY shop_id, type ORDER BY s) AS rn, "
    "count(*) OVER (PARTITION BY shop_id, type) AS n FROM (SELECT shop_id, type, "
    f"CAST(round((julianday(ended_at) - julianday(created_at)) * 86400) AS INTEGER) AS s FROM tickets tk "
    f"WHERE {_HANDLED}) AS h) AS r "
    "WHERE rn IN ((n - 1) / 2 + 1, (n - 1) / 2 + 2, (n - 1) * 19 / 20 + 1, (n - 1) * 19 / 20 + 2) "
    "GROUP BY shop_id, type")


class RawBaseline:
    """The five families for every shop over (start, end], by the raw driver."""

    def __init__(self, url: str) -> None:
        self.pg = url.startswith("postgresql")
        if self.pg:
            import psycopg

            self.conn: Any = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
            self.queries = [q.replace(":start", "%(start)s").replace(":end", "%(end)s") for q in _COMMON + [PG_HANDLING]]
        else:
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"))
            self.queries = [*_COMMON, SQLITE_HANDLING]

    def run(self, start: datetime, end: datetime) -> list[list[tuple[Any, ...]]]:
        if self.pg:
            args: dict[str, Any] = {"start": start, "end": end}
        else:  # the stored form: naive UTC text
            args = {k: v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
                    for k, v in (("start", start), ("end", end))}
        return [self.conn.execute(q, args).fetchall() for q in self.queries]

    def close(self) -> None:
        self.conn.close()


def baseline_disagrees(raw: list[list[tuple[Any, ...]]], metrics: dict[str, Any]) -> list[str]:
    """Where the raw figures differ from shouhou's metrics (percentiles within a millionth of a second:
    percentile_cont's floating point). Empty when they agree."""
    got: dict[str, dict[str, Any]] = defaultdict(dict)
    apps, overdue, interventions, openings, handling = raw
    for shop, n in apps:
        got[shop]["applications"] = n
    for shop, kind, n, _last in overdue:
        name = counts_sql.OVERDUE_COLUMNS.get(kind, "exchange_overdue")
        got[shop][name] = got[shop].get(name, 0) + n
    for shop, n_iv, n_ruled, n_against, _last in interventions:
        got[shop].update(interventions=n_iv, rulings=n_ruled, rulings_against=n_against)
    for shop, n in openings:
        got[shop]["over_period_openings"] = n
    for shop, kind, n, p50, p95 in handling:
        got[shop].update({f"{kind}_handled": n, f"{kind}_median_s": float(p50), f"{kind}_p95_s": float(p95)})
    out = []
    for shop, m in metrics.items():
        for name, want in got.get(shop, {}).items():
            have = getattr(m, name)
            if (abs(have - want) > 1e-6) if isinstance(want, float) else have != want:
                out.append(f"{shop} {name}: shouhou {have}, raw {want}")
        for name in ("applications", "interventions", "rulings", "over_period_openings", "refund_only_handled"):
            if getattr(m, name) and name not in got.get(shop, {}):
                out.append(f"{shop} {name}: shouhou {getattr(m, name)}, raw none")
    return out
