"""Benchmark: the deadline sweep (Shouhou.tick) against a raw driver baseline doing the same writes and
the same governance reads, on SQLite and on PostgreSQL.

On each database (`--only sqlite|postgres`, default both) the data set of bench/sweep_data is loaded
once: `--tickets` open return & refund tickets pending review, each on its signed order, over
`--shops` shops, of which `--due` have passed their KS-RR-1 review deadline (at most four a shop, so
that no KS-GOV-3 rung is reached), through the domain and the unit of work (`--bulk`: domain-made
applications cloned, for a million tickets). Then ANALYZE (SQLite) or VACUUM ANALYZE (PostgreSQL),
as autovacuum would after a load, and two copies (SQLite's backup; CREATE DATABASE ... TEMPLATE):

- shouhou: `Shouhou.tick(NOW, batch)` fires the due ones: auto-approve (awaiting_return, an
  `auto_approved` and an `overdue_recorded` event, an overdue_records row, the counters the
  triggers keep) and, in the same transaction, KS-GOV-3 for each shop of the batch at its newest
  record (its 30-day metrics from the counters; its score, last evaluation and next evaluation);
- raw: sqlite3 or psycopg does the same writes and the same governance reads and shop updates by
  hand, in batches of the same size (bench/sweep_raw says what, statement by statement).

Then the two copies are compared row for row: the tickets moved on, the new events (all but their
ids), the overdue records, the shops (their governance columns), the measures (none), the counters,
and every table's row count; the bench exits non-zero if they differ. Prints the rows each side
added, the times, actions per second and the ratio shouhou / raw (throughput); `--profile N` prints
where shouhou's time went.

`--scale` measures the cost per fired action with `--tickets` open and with ten times as many (the
same `--due`), loaded by the bulk loader: 100,000 and 1,000,000 by default. The goals (issue 15): on
SQLite, shouhou at >= 50 % of the raw baseline's throughput; per action at 1M open <= 1.2 x at
100k, on both databases. The last line is one JSON object {"bench": "sweep", "ratio", "goal",
"holds", ...}: `ratio` is SQLite's (the lowest of the runs there; PostgreSQL's when SQLite did not
run), with each database's figures beside it.

    python -m bench.sweep --quick              # 20,000 tickets, 2,000 due, both databases: < 2 minutes
    python -m bench.sweep                      # 100,000 tickets, 10,000 due, 2,500 shops, batch 200
    python -m bench.sweep --scale --only sqlite
    python -m bench.sweep --only postgres --due 2000 --tickets 20000 --shops 500 --profile 25
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import sweep_check as chk
from bench.sweep_data import NOW, PER_SHOP, Place, PostgresDatabases, Spec, SqliteFiles, load
from bench.sweep_raw import Raw
from shouhou.adapters.db import make_engine
from shouhou.clock import VirtualClock
from shouhou.policies import PolicyRegistry
from shouhou.services.app import Shouhou

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/shouhou_bench_sweep"
GOAL, SCALE_GOAL = 0.5, 1.2


def run_shouhou(url: str, batch: int, profile: int) -> tuple[int, float, str]:
    engine = make_engine(url)
    app = Shouhou.with_fakes(engine, VirtualClock(NOW), PolicyRegistry.default())
    prof = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if prof:
        prof.enable()
    fired = app.tick(NOW, batch=batch)
    if prof:
        prof.disable()
    took = time.perf_counter() - started
    engine.dispose()
    report = ""
    if prof:
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("cumulative").print_stats(profile)
        stats.sort_stats("tottime").print_stats(profile)
        report = out.getvalue()
    return fired, took, report


def measure(place: Place, spec: Spec, batch: int, bulk: bool, profile: int) -> dict[str, Any]:
    """Load, copy, run both sides, compare; the figures of one database at one size."""
    print(f"\n== {place.kind}: {spec.tickets:,} open tickets over {spec.shops:,} shops, {spec.due:,} due; "
          f"batch {batch}; {'bulk' if bulk else 'domain'} loader", flush=True)
    loaded = load(place, spec, bulk)
    print(f"loaded in {loaded:.1f} s (with ANALYZE and the two copies after)", flush=True)
    before = chk.census(place.url("base"))
    fired, t_ours, report = run_shouhou(place.url("shouhou"), batch, profile)
    fired_raw, t_raw = Raw(place.url("raw")).sweep(batch)
    ours, raw = chk.census(place.url("shouhou"), before["max_event"]), chk.census(place.url("raw"), before["max_event"])
    print("checks:")
    chk.verify(spec.tickets, spec.due, (fired, fired_raw), ours, raw)
    print(f"  rows added by shouhou: {chk.added(before, ours)}")
    print(f"  rows added by raw:     {chk.added(before, raw)}")
    print(f"  events written by shouhou: {dict(ours['events'])}")
    print("results:")
    for name, took in (("shouhou", t_ours), ("raw " + ("psycopg" if place.kind == "postgresql" else "sqlite3"), t_raw)):
        print(f"  {name:12} {took:8.2f} s   {spec.due / took:10,.0f} actions/s   {took / spec.due * 1e6:8.0f} us/action")
    ratio = t_raw / t_ours
    print(f"  ratio shouhou / raw (throughput): {ratio:.2f}" + (f" (goal >= {GOAL})" if place.kind == "sqlite" else ""))
    if report:
        print(report)
    place.drop()
    return {"database": place.kind, "tickets": spec.tickets, "due": spec.due, "load_s": round(loaded, 1),
            "shouhou_s": round(t_ours, 3), "raw_s": round(t_raw, 3), "shouhou_per_s": round(spec.due / t_ours, 1),
            "raw_per_s": round(spec.due / t_raw, 1), "ratio": round(ratio, 3),
            "shouhou_us_per_action": round(t_ours / spec.due * 1e6, 1), "raw_us_per_action": round(t_raw / spec.due * 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("sqlite", "postgres"), help="one database (default: both)")
    ap.add_argument("--database-url", default=DEFAULT_URL,
                    help=f"the PostgreSQL database, dropped and created, with <name>_shouhou and <name>_raw beside it "
                         f"(default {DEFAULT_URL})")
    ap.add_argument("--dir", type=Path, default=None, help="where the SQLite files go (default: a temporary folder)")
    ap.add_argument("--tickets", type=int, default=100_000, help="open tickets (default 100000)")
    ap.add_argument("--due", type=int, default=10_000, help="of which due now (default 10000)")
    ap.add_argument("--shops", type=int, default=2_500, help=f"shops (default 2500; at least due / {PER_SHOP})")
    ap.add_argument("--buyers", type=int, default=10_000, help="buyers (default 10000)")
    ap.add_argument("--batch", type=int, default=200, help="sweep batch size (default 200, as the worker)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--bulk", action="store_true", help="load with the bulk loader (bench/sweep_data)")
    ap.add_argument("--quick", action="store_true", help="20,000 tickets, 2,000 due, 500 shops: under 2 minutes")
    ap.add_argument("--scale", action="store_true",
                    help="per-action cost at --tickets and at ten times as many (the bulk loader)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="profile the shouhou sweep with cProfile and print its top N functions")
    args = ap.parse_args(argv)
    if args.quick:
        args.tickets, args.due, args.shops, args.buyers = 20_000, 2_000, 500, 2_000
    if not 0 < args.due <= args.tickets:
        ap.error("--due must be between 1 and --tickets")
    if args.shops * PER_SHOP < args.due:
        ap.error(f"--shops must be at least --due / {PER_SHOP}: more overdue records a shop would reach a "
                 "KS-GOV-3 rung, whose measures the raw baseline does not write")
    sizes = [args.tickets, 10 * args.tickets] if args.scale else [args.tickets]
    started = time.perf_counter()
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        places: list[Place] = []
        if args.only in (None, "sqlite"):
            places.append(SqliteFiles(Path(tmp)))
        if args.only in (None, "postgres"):
            places.append(PostgresDatabases(args.database_url))
        for place in places:
            for tickets in sizes:
                spec = Spec(tickets, args.due, args.shops, args.buyers, args.seed)
                results.setdefault(place.kind, []).append(
                    measure(place, spec, args.batch, args.bulk or args.scale, args.profile))
    out: dict[str, Any] = {"bench": "sweep"}
    kind = "sqlite" if "sqlite" in results else "postgresql"
    out["ratio"] = min(r["ratio"] for r in results[kind])
    out["goal"] = GOAL
    holds = out["ratio"] >= GOAL if kind == "sqlite" else None
    if args.scale:
        scale = {k: round(rs[1]["shouhou_us_per_action"] / rs[0]["shouhou_us_per_action"], 3) for k, rs in results.items()}
        out["scale"], out["scale_goal"] = scale, SCALE_GOAL
        out["scale_raw"] = {k: round(rs[1]["raw_us_per_action"] / rs[0]["raw_us_per_action"], 3)
                            for k, rs in results.items()}
        holds = (holds is not False) and all(v <= SCALE_GOAL for v in scale.values())
    out["holds"] = holds
    out.update(ratio_of=kind, batch=args.batch, shops=args.shops, seconds=round(time.perf_counter() - started),
               databases=[r for rs in results.values() for r in rs])
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
