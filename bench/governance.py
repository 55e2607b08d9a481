"""Benchmark: the merchant-governance report (KS-GOV-2) over every shop, read from the counters, against
a raw SQL baseline computing the same five metric families from the rows; and the worker's cost of
evaluating one shop (metrics_for) before (scanning its rows) and after (its counters).

On each database (SQLite by default; --postgres, or --both), over one data set (bench/governance_data:
N shops, M tickets with orders, overdue records, interventions and rulings, over-period openings,
loaded with the counters rebuilt and the planner's statistics taken, VACUUM ANALYZE on PostgreSQL),
in the same process and over the same rows:

- report: services.views.governance.report as the API, the CLI and the CSV serve it: every shop's
  metrics read from the counters (adapters.metrics), scores, levels and measures in force, sorted;
- baseline: the five families (applications; overdue records by type; interventions and rulings;
  over-period openings; handling-time median and P95) for every shop over the same window, by
  hand-written SQL through the raw driver (sqlite3, psycopg), checked equal to the report's figures;
- before: the same metrics by the SQL that scans the rows (adapters.metrics_scan, what the report
  ran before the counters), checked equal to the counters' to the last bit;
- metrics_for: one shop's metrics, the worker's call at every overdue record, scanning vs counters,
  over the biggest shops and a sample of the others, at AT and at instants through the last day.

The ratio is report / baseline at the largest data set run; the goal: at most 2.0 over 1M tickets.
Prints the figures, and last one JSON line {"bench": "governance", "ratio", "goal", "holds", ...}.

    python bench/governance.py                       # SQLite: 10,000 shops, 1,000,000 tickets
    python bench/governance.py --both                # SQLite, then PostgreSQL
    python bench/governance.py --postgres --database-url postgresql://postgres@127.0.0.1:5432/shouhou_bench
    python bench/governance.py --quick               # 1,000 shops, 100,000 tickets (under 2 minutes)

A database that already holds the same data set is reused (--fresh rebuilds it). The PostgreSQL
database is created if missing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, make_url, select, text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import governance_data as data  # noqa: E402
from shouhou.adapters import counts_table  # noqa: E402
from shouhou.adapters import metrics as counted  # noqa: E402
from shouhou.adapters import metrics_scan as scanned  # noqa: E402
from shouhou.adapters import tables as t  # noqa: E402
from shouhou.adapters.db import create_schema, drop_schema, make_engine  # noqa: E402
from shouhou.adapters.uow import SqlUnitOfWork  # noqa: E402
from shouhou.clock import VirtualClock  # noqa: E402
from shouhou.domain.actors import Actor  # noqa: E402
from shouhou.policies import PolicyRegistry  # noqa: E402
from shouhou.services.views import governance as views  # noqa: E402

PLATFORM = Actor("platform", "bench", role="platform_operator")
GOAL = 2.0
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/shouhou_bench"


def _postgres(url: str) -> str:
    """The SQLAlchemy URL of the PostgreSQL database, created if missing."""
    url = url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return url


def _existing(engine: Engine, shops: int, tickets: int) -> bool:
    try:
        with engine.connect() as conn:
            n = [conn.execute(select(func.count()).select_from(x)).scalar_one()
                 for x in (t.shops, t.tickets, counts_table.gov_daily)]
            return n[0] == shops and n[1] == tickets and n[2] > 0
    except Exception:  # noqa: BLE001 - no schema yet, or an older one
        return False


def _prepare(url: str, args: argparse.Namespace) -> Engine:
    engine = make_engine(url)
    if args.fresh or not _existing(engine, args.shops, args.tickets):
        print(f"generating {args.shops:,} shops and {args.tickets:,} tickets in {url} ...", file=sys.stderr)
        engine.dispose()
        if url.startswith("sqlite"):
            for suffix in ("", "-wal", "-shm"):
                Path(args.db + suffix).unlink(missing_ok=True)
        loader = data.loader(url)
        drop_schema(loader)
        create_schema(loader)
        counts = data.load(loader, args.shops, args.tickets, args.seed)
        loader.dispose()
        print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), file=sys.stderr)
    return engine


def _per_shop(engine: Engine, window: timedelta, calls: int, seed: int) -> dict[str, float]:
    """Milliseconds per metrics_for call, scanning, counters, and counters without the handling times
    (what the worker reads to decide whether a rung is reached, when its pack's ladder and score read
    no handling time), over the same (shop, instant) pairs: the 20 biggest shops and a sample of the
    rest, at AT and at instants through the day before it."""
    rnd = random.Random(seed)
    with engine.connect() as conn:
        sizes = conn.execute(select(t.tickets.c.shop_id, func.count()).group_by(t.tickets.c.shop_id)
                             .order_by(func.count().desc(), t.tickets.c.shop_id)).all()
        big = [s for s, _ in sizes[:20]]
        rest = [s for s, _ in sizes[20:]]
        pairs = [(s, data.AT) for s in big] + [
            (rnd.choice(big + rest), data.AT - timedelta(seconds=rnd.randrange(86_400))) for _ in range(calls)]
        fns: dict[str, Callable[..., Any]] = {
            "scan": scanned.metrics_for, "counters": counted.metrics_for,
            "light": lambda *a: counted.metrics_for(*a, handling=False)}  # what deciding a rung reads
        out = {f"{name}_ms": 0.0 for name in fns}
        for shop, at in pairs[:10]:  # warm all alike
            for fn in fns.values():
                fn(conn, shop, at, window)
        for shop, at in pairs:  # in turns, so that a busy moment of the machine falls on all alike
            got = []
            for name, fn in fns.items():
                t0 = time.perf_counter()
                got.append(fn(conn, shop, at, window))
                out[f"{name}_ms"] += (time.perf_counter() - t0) * 1000 / len(pairs)
            assert got[0] == got[1], f"metrics_for {shop} at {at}: the counters and the scanning SQL disagree"
            assert got[2].overdue == got[0].overdue and got[2].applications == got[0].applications
        out["calls"] = len(pairs)
        out["biggest_shop_tickets"] = sizes[0][1]
    return out


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = _prepare(url, args)
    policies = PolicyRegistry.default()
    window_of = lambda name: policies.in_force(name, data.AT).governance.window.delta  # noqa: E731
    with engine.connect() as conn:
        sizes = {name: conn.execute(select(func.count()).select_from(getattr(t, name))).scalar_one()
                 for name in ("shops", "tickets", "overdue_records", "interventions", "events")}
    kind = engine.dialect.name
    print(f"\n== {kind} ({url.split('@')[-1]}): " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    start, end = data.AT - timedelta(days=30), data.AT
    raw = data.RawBaseline(url)
    raw.run(start, end)  # warm the page cache alike for all
    times: dict[str, list[float]] = {"report": [], "baseline": [], "counters": [], "scan": []}
    with SqlUnitOfWork(engine, VirtualClock(data.AT), write=False) as uow:
        jobs: dict[str, Callable[[], Any]] = {
            "report": lambda: views.report(uow, PLATFORM, policies, data.AT, sort="overdue_rate"),
            "baseline": lambda: raw.run(start, end),
            "counters": lambda: counted.metrics_all(uow.conn, window_of, data.AT),
            "scan": lambda: scanned.metrics_all(uow.conn, window_of, data.AT)}
        out: dict[str, Any] = {}
        for _ in range(args.runs):  # interleaved, so that a busy moment of the machine falls on all alike
            for name, job in jobs.items():
                t0 = time.perf_counter()
                out[name] = job()
                times[name].append(time.perf_counter() - t0)
    raw.close()
    report, base, metrics, before = out["report"], out["baseline"], out["counters"], out["scan"]
    report_s, base_s, counters_s, scan_s = (statistics.median(times[k]) for k in ("report", "baseline", "counters", "scan"))
    report_runs, base_runs = times["report"], times["baseline"]
    assert metrics == before, "the counters and the scanning SQL disagree"
    wrong = data.baseline_disagrees(base, metrics)
    assert not wrong, "the raw baseline and shouhou disagree: " + "; ".join(wrong[:5])
    per_shop = _per_shop(engine, timedelta(days=30), args.calls, args.seed)
    engine.dispose()
    ratio = report_s / base_s
    apps = sum(m.applications for m in metrics.values())
    print(f"window ({start.isoformat()}, {end.isoformat()}]: {len(metrics):,} shops, {apps:,} applications, "
          f"{sum(m.overdue for m in metrics.values()):,} overdue records")
    print(f"report (counters; metrics + scores + measures, sorted): {report_s:.3f} s  "
          f"(runs {', '.join(f'{x:.3f}' for x in report_runs)}); the metrics alone {counters_s:.3f} s")
    print(f"raw SQL baseline (the five families, {'psycopg' if kind == 'postgresql' else 'sqlite3'}): "
          f"{base_s:.3f} s  (runs {', '.join(f'{x:.3f}' for x in base_runs)})")
    print(f"before: the same metrics by scanning the rows (metrics_scan): {scan_s:.3f} s")
    print(f"ratio report / baseline: {ratio:.2f} (goal <= {GOAL})")
    print(f"metrics_for, one shop ({per_shop['calls']} calls; biggest shop {per_shop['biggest_shop_tickets']:,} "
          f"tickets): scanning {per_shop['scan_ms']:.2f} ms, counters {per_shop['counters_ms']:.2f} ms per call "
          f"({per_shop['scan_ms'] / per_shop['counters_ms']:.1f}x); without the handling times (a rung reached?) "
          f"{per_shop['light_ms']:.2f} ms ({per_shop['scan_ms'] / per_shop['light_ms']:.1f}x)")
    worst = report["rows"][:3]
    print("worst overdue rate: " + "; ".join(f"{r['shop']} {r['overdue']}/{r['applications']} score {r['score']}"
                                             for r in worst))
    return {"database": kind, "tickets": sizes["tickets"], "ratio": round(ratio, 3), "report_s": round(report_s, 4),
            "baseline_s": round(base_s, 4), "scan_metrics_s": round(scan_s, 4), "counters_metrics_s": round(counters_s, 4),
            "metrics_for_scan_ms": round(per_shop["scan_ms"], 3),
            "metrics_for_counters_ms": round(per_shop["counters_ms"], 3),
            "metrics_for_light_ms": round(per_shop["light_ms"], 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shops", type=int, default=10_000)
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--db", default="/tmp/shouhou_bench_governance.db", help="the SQLite file")
    ap.add_argument("--database-url", help=f"the PostgreSQL database (default {DEFAULT_PG}); alone, runs on it only")
    ap.add_argument("--postgres", action="store_true", help="run on PostgreSQL only")
    ap.add_argument("--both", action="store_true", help="run on SQLite, then on PostgreSQL")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of the report and the baseline (the median)")
    ap.add_argument("--calls", type=int, default=200, help="metrics_for calls timed (besides the 20 biggest shops)")
    ap.add_argument("--quick", action="store_true",
                    help="1,000 shops and 100,000 tickets (the default's shape, a tenth of it): under 2 minutes")
    ap.add_argument("--fresh", action="store_true", help="regenerate the data set even if it is there")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.quick:
        args.shops, args.tickets, args.calls = 1_000, 100_000, 100
        if args.db == ap.get_default("db"):
            args.db = "/tmp/shouhou_bench_governance_quick.db"
    urls = []
    if args.both or not (args.postgres or args.database_url):
        urls.append(f"sqlite:///{args.db}")
    if args.both or args.postgres or args.database_url:
        urls.append(_postgres(args.database_url or DEFAULT_PG))
    results = [run(url, args) for url in urls]
    ratio = max(r["ratio"] for r in results)
    print(json.dumps({"bench": "governance", "ratio": ratio, "goal": GOAL, "holds": ratio <= GOAL,
                      "tickets": args.tickets, "databases": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
