"""Benchmark: merchant-governance metrics (KS-GOV-2) for every shop, computed in SQL.

Generates N shops and M after-sales tickets (with orders, overdue records, interventions with rulings
and over-period openings) by Core bulk inserts into a SQLite file (or the PostgreSQL database given by
--database-url), then, in the same process and over the same rows:

- times `adapters.metrics.metrics_all` (every metric family for all shops, one grouped query each),
- times a raw SQL aggregate baseline (applications and overdue records per shop in the window: the
  cheapest query that still reads the same ticket and overdue rows),
- prints both, their ratio, and the full report (metrics + score + measures, sorted) for comparison.

    python bench/governance.py                       # 10,000 shops, 1,000,000 tickets, SQLite in /tmp
    python bench/governance.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/shouhou_bench

A file that already holds the same data set is reused (--fresh regenerates it).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shouhou.adapters import metrics as gs  # noqa: E402
from shouhou.adapters import tables as t  # noqa: E402
from shouhou.adapters.db import create_schema, drop_schema, make_engine  # noqa: E402
from shouhou.adapters.uow import SqlUnitOfWork  # noqa: E402
from shouhou.clock import SHANGHAI, VirtualClock  # noqa: E402
from shouhou.domain.actors import Actor  # noqa: E402
from shouhou.policies import PolicyRegistry  # noqa: E402

AT = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # the evaluation instant: the data set is built around it
SPAN = timedelta(days=45)  # tickets are created over the 45 days before AT (the window is the last 30)
PLATFORM = Actor("platform", "bench", role="platform_operator")
CHUNK = 50_000
TICKETS_PER_ORDER = 4


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
    """One bulk insert. SQLite: Core's INSERT, compiled once, executemany with the rows as tuples in the
    compiled order (the driver's C loop). PostgreSQL: COPY through the same connection and transaction
    (psycopg), as executemany of a million rows over the wire takes minutes."""
    if conn.dialect.name == "postgresql":
        keys = list(rows[0])
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(keys)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(tuple(r[k] for k in keys))
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(rows[0]))
    order = compiled.positiontup or []
    conn.exec_driver_sql(str(compiled), [tuple(r[k] for k in order) for r in rows])


def generate(engine: Engine, shops: int, tickets: int, seed: int) -> dict[str, int]:
    """The data set, by Core bulk inserts in chunks. Shop sizes are skewed (a few large shops, many
    small); one shop in fifty is a bad one whose overdue rate is high. Times are seconds after the
    start of the span, turned into the column's stored form once."""
    rnd = random.Random(seed)
    dialect = engine.dialect.name
    tables = {name: _loading_table(getattr(t, name), dialect)
              for name in ("shops", "buyers", "orders", "tickets", "overdue_records", "interventions", "events")}
    base_utc = (AT - SPAN).astimezone(UTC)
    naive = base_utc.replace(tzinfo=None)
    at_s = int(SPAN.total_seconds())
    sqlite = dialect == "sqlite"

    def ts(sec: int) -> Any:
        if sqlite:
            return (naive + timedelta(seconds=sec)).isoformat(sep=" ", timespec="microseconds")
        return base_utc + timedelta(seconds=sec)

    empty_list, empty_map = ("[]", "{}") if dialect in ("sqlite", "postgresql") else ([], {})
    false, true = (0, 1) if sqlite else (False, True)
    counts = {"shops": shops, "tickets": tickets, "orders": 0, "overdue_records": 0, "interventions": 0,
              "events": 0}
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
    owners = rnd.choices(shop_ids, weights=weights, k=tickets // TICKETS_PER_ORDER + 1)

    def orders() -> Iterator[dict[str, Any]]:
        for n, shop in enumerate(owners):
            yield {"id": f"O{n:07d}", "shop_id": shop, "buyer_id": f"B{n % 1000:04d}", "policy": "kuaishou",
                   "policy_version": "2026.1", "amount_fen": 9_900, "freight_fen": 0, "payment": "online",
                   "kind": "normal", "marketing": false, "goods": "physical", "category": "general",
                   "no_reason_return": true, "commission": empty_map, "promoters": empty_map,
                   "created_at": ts(rnd.randrange(at_s)), "status": "completed", "refunded_fen": 0, "held_fen": 0,
                   "applications_in_period": 1, "entry_openings": 0}

    overdue: list[dict[str, Any]] = []
    interventions: list[dict[str, Any]] = []
    openings: list[dict[str, Any]] = []
    statuses = ("refunded", "refunded", "refunded", "closed", "rejected", "cancelled", "pending_review")
    others = ("return_refund", "return_refund", "exchange")
    faults = ("shop", "buyer", "both", "platform")

    def ticket_rows() -> Iterator[dict[str, Any]]:
        for n in range(tickets):
            o = n // TICKETS_PER_ORDER
            shop, oid, tid = owners[o], f"O{o:07d}", f"T{n:07d}"
            created = rnd.randrange(at_s)
            type_ = "refund_only" if rnd.random() < 0.6 else others[n % 3]
            status = statuses[int(rnd.random() * 7)]
            ended = None if status == "pending_review" else ts(min(created + int(rnd.expovariate(1 / 86_400)) + 60,
                                                                   at_s))
            if rnd.random() < (0.6 if shop in bad else 0.05):
                kind = "refund_only_overdue" if type_ == "refund_only" else "return_refund_overdue"
                overdue.append({"shop_id": shop, "ticket_id": tid, "order_id": oid, "type": kind, "rule": "KS-GOV-1",
                                "cause_rule": "KS-RO-1", "at": ts(min(created + 48 * 3600, at_s))})
            if rnd.random() < 0.02:
                requested = min(created + rnd.randint(1, 96) * 3600, at_s)
                ruled = requested + rnd.randint(1, 120) * 3600
                done = ruled <= at_s
                fault = faults[n % 4] if done else None
                interventions.append({
                    "id": f"I{n:07d}", "ticket_id": tid, "order_id": oid, "shop_id": shop, "buyer_id": "B0000",
                    "policy": "kuaishou", "policy_version": "2026.1", "requested_at": ts(requested),
                    "requested_by": "x", "cause": "rejected", "previous_status": "rejected",
                    "status": "ruled" if done else "coordinating", "response_due_at": ts(requested + 2 * 86_400),
                    "ruled_at": ts(ruled) if done else None, "fault": fault, "effective_fault": fault,
                    "buyer_evidence_count": 0, "shop_evidence_count": 0, "buyer_evidence_closed": false,
                    "shop_evidence_closed": false})
            if rnd.random() < 0.01:
                openings.append({"at": ts(created), "actor": "staff:x", "type": "entry_opened", "shop_id": shop,
                                 "order_id": oid, "payload": empty_map, "recorded_at": ts(created)})
            yield {"id": tid, "order_id": oid, "shop_id": shop, "buyer_id": f"B{o % 1000:04d}", "type": type_,
                   "reason": "other", "amount_fen": 9_900, "policy": "kuaishou", "policy_version": "2026.1",
                   "created_at": ts(created), "over_period": false, "status": status,
                   "refunded_fen": 9_900 if status == "refunded" else 0, "evidence": empty_list,
                   "shipped_when_applied": true, "ended_at": ended}

    for batch in _chunks(orders()):
        with engine.begin() as conn:
            _bulk(conn, tables["orders"], batch)
        counts["orders"] += len(batch)
    done = 0
    for batch in _chunks(ticket_rows()):
        with engine.begin() as conn:
            _bulk(conn, tables["tickets"], batch)
        done += len(batch)
        print(f"  tickets {done:,}", end="\r", file=sys.stderr)
    for name, rows in (("overdue_records", overdue), ("interventions", interventions), ("events", openings)):
        for batch in _chunks(iter(rows)):
            with engine.begin() as conn:
                _bulk(conn, tables[name], batch)
        counts[name] = len(rows)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return counts


def _loader(url: str) -> Engine:
    """For loading only: SQLite without the journal and fsync (a benchmark file, rebuilt at will)."""
    if not url.startswith("sqlite"):
        return create_engine(url)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _fast(dbapi_conn: Any, _rec: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=OFF")
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()

    return engine


def _existing(engine: Engine, shops: int, tickets: int) -> bool:
    try:
        with engine.connect() as conn:
            n_shops = conn.execute(select(func.count()).select_from(t.shops)).scalar_one()
            n_tickets = conn.execute(select(func.count()).select_from(t.tickets)).scalar_one()
            return bool(n_shops == shops and n_tickets == tickets)
    except Exception:  # noqa: BLE001 - no schema yet
        return False


def _timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


BASELINE = """
SELECT shop_id, count(*) FROM tickets WHERE created_at > :start AND created_at <= :end GROUP BY shop_id
"""
BASELINE_OVERDUE = """
SELECT shop_id, type, count(*) FROM overdue_records WHERE at > :start AND at <= :end GROUP BY shop_id, type
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shops", type=int, default=10_000)
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--db", default="/tmp/shouhou_bench_governance.db", help="the SQLite file")
    ap.add_argument("--database-url", help="a PostgreSQL (or other) database instead of the SQLite file")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each query set (the median is reported)")
    ap.add_argument("--fresh", action="store_true", help="regenerate the data set even if it is there")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    url = args.database_url or f"sqlite:///{args.db}"
    engine = make_engine(url)
    policies = PolicyRegistry.default()
    if args.fresh or not _existing(engine, args.shops, args.tickets):
        print(f"generating {args.shops:,} shops and {args.tickets:,} tickets in {url} ...", file=sys.stderr)
        engine.dispose()
        if not args.database_url:
            for suffix in ("", "-wal", "-shm"):
                Path(args.db + suffix).unlink(missing_ok=True)
        loader = _loader(url)
        drop_schema(loader)
        create_schema(loader)
        t0 = time.perf_counter()
        counts = generate(loader, args.shops, args.tickets, args.seed)
        loader.dispose()
        print(f"generated in {time.perf_counter() - t0:.1f} s: "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()), file=sys.stderr)
    with engine.connect() as conn:
        sizes = {name: conn.execute(select(func.count()).select_from(getattr(t, name))).scalar_one()
                 for name in ("shops", "tickets", "overdue_records", "interventions", "events")}
    print(f"database: {engine.dialect.name} ({url.split('@')[-1]})")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))

    start, end = AT - timedelta(days=30), AT
    instants = (bindparam("start", type_=t.Instant()), bindparam("end", type_=t.Instant()))
    baseline = text(BASELINE).bindparams(*instants), text(BASELINE_OVERDUE).bindparams(*instants)
    params = {"start": start, "end": end}
    with engine.connect() as conn:
        conn.execute(baseline[0], params).all()  # warm the page cache alike for both
        metrics_times, metrics = _timed(lambda: gs.metrics_all(conn, lambda name: policies.in_force(name, AT).governance.window.delta, AT), args.runs)
        base_times, base = _timed(lambda: [conn.execute(q, params).all() for q in baseline], args.runs)
    with SqlUnitOfWork(engine, VirtualClock(AT), write=False) as uow:  # the full report, as the CLI reads it
        report_times, report = _timed(lambda: gs.report(uow, PLATFORM, policies, AT, sort="overdue_rate"), 1)

    m, b = statistics.median(metrics_times), statistics.median(base_times)
    apps = sum(x.applications for x in metrics.values())
    overdue = sum(x.overdue for x in metrics.values())
    assert apps == sum(n for _, n in base[0]), "the metrics and the baseline disagree on applications"
    assert overdue == sum(n for _, _, n in base[1]), "the metrics and the baseline disagree on overdue records"
    print(f"window: ({start.isoformat()}, {end.isoformat()}]; {len(metrics):,} shops, "
          f"{apps:,} applications, {overdue:,} overdue records")
    print(f"governance metrics, all shops (5 grouped queries): {m:.3f} s  (runs: {', '.join(f'{x:.3f}' for x in metrics_times)})")
    print(f"raw SQL aggregate baseline (2 grouped queries):     {b:.3f} s  (runs: {', '.join(f'{x:.3f}' for x in base_times)})")
    print(f"ratio metrics / baseline: {m / b:.1f}x")
    worst = report["rows"][:3]
    print(f"full report (metrics + score + measures, sorted): {report_times[0]:.3f} s; worst overdue rate: "
          + "; ".join(f"{r['shop']} {r['overdue']}/{r['applications']} score {r['score']}" for r in worst))
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
