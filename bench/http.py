"""Benchmark: the HTTP API under load, `shouhou serve` against a bare Starlette app running the same SQL
through the raw driver (bench/http_bare.py), with the same uvicorn settings, on the same data.

For each database (PostgreSQL at `--database-url`, created if missing and dropped first; and a SQLite
file), loads shops, open tickets and a staff token (bench/http_data.py), then serves it in turn with
`shouhou serve --workers N` (its deadline worker on, as deployed; the per-token rate limit raised so
that it does not refuse the load, its checks still made) and with the bare app, and drives each with
bench/http_load.py from this process:

- closed loop, `--concurrency` connections (16): requests/s, p50 and p99, for GET /v1/tickets/{id}
  (a ticket of the shop, with its timeline) and GET /v1/tickets?limit=50 (the shop's queue);
- open loop at `--rate` requests/s (200), timed from each request's scheduled start: p50 and p99.

Before timing, both servers' answers are checked to hold the same ticket and timeline (event ids)
and the same queue (ticket ids, in order). Prints a table, and as its last line one JSON object:
`ratio` is the lowest shouhou / bare throughput over both routes and databases (goal 0.6), `p99_ms`
the highest open-loop p99 on PostgreSQL (goal < 50 ms).

    python -m bench.http                      # 20,000 tickets (5,000 in the bench's shop), 10 s each
    python -m bench.http --quick              # 4,000 tickets, 3 s each: under two minutes
    python -m bench.http --only postgres --workers 2 --database-url postgresql://postgres@127.0.0.1:5432/x

Run it as a module (python -m bench.http): run as a file, bench/ would stand first on sys.path and
this file would hide the standard library's `http` (the first lines put the repository there instead).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file after all: the repository, not bench/, first
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from bench import http_data as data  # noqa: E402
from bench import http_load as load  # noqa: E402

ROUTES = ("ticket", "queue")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/shouhou_bench"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process on a free port, its stderr (the JSON logs) kept in a file."""

    def __init__(self, kind: str, url: str, workers: int, logs: Path) -> None:
        self.kind, self.port = kind, free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOUHOU_DATABASE_URL": url,
               "SHOUHOU_RATE_LIMIT": "100000000/minute", "BENCH_DATABASE_URL": url}
        if kind == "shouhou":
            cmd = [sys.executable, "-m", "shouhou.entrypoints.cli", "serve", "--port", str(self.port),
                   "--workers", str(workers)]
        else:
            cmd = [sys.executable, "-m", "bench.http_bare", str(self.port), str(workers)]
        self.log = open(logs / f"{kind}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{kind} did not start (see {logs / (kind + '.log')})")
            time.sleep(0.2)

    def get(self, path: str) -> Any:
        r = httpx.get(f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Bearer {data.TOKEN}"})
        r.raise_for_status()
        return r.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def requests_for(ids: list[str]) -> dict[str, load.MakeRequest]:
    return {"ticket": lambda i: load.get(f"/v1/tickets/{ids[(i * 7919) % len(ids)]}", data.TOKEN),
            "queue": lambda i: load.get("/v1/tickets?limit=50", data.TOKEN)}


def same_answers(a: Server, b: Server, ticket: str) -> None:
    """Both servers answer with the same ticket and timeline, and the same queue page in order."""
    ta, tb = a.get(f"/v1/tickets/{ticket}"), b.get(f"/v1/tickets/{ticket}")
    if (ta["id"], [e["id"] for e in ta["timeline"]]) != (tb["id"], [e["id"] for e in tb["timeline"]]):
        raise SystemExit(f"the servers disagree on ticket {ticket}")
    qa, qb = a.get("/v1/tickets?limit=50"), b.get("/v1/tickets?limit=50")
    if ([x["id"] for x in qa["items"]], qa["total"]) != ([x["id"] for x in qb["items"]], qb["total"]):
        raise SystemExit("the servers disagree on the queue")


def measure(server: Server, make: dict[str, load.MakeRequest], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    load.run(load.closed_loop(server.port, make["ticket"], args.concurrency, 1.0))  # warm up
    for route in ROUTES:
        closed = load.run(load.closed_loop(server.port, make[route], args.concurrency, args.seconds))
        opened = load.run(load.open_loop(server.port, make[route], args.rate, args.seconds))
        for name, res in (("closed", closed), ("open", opened)):
            if res.errors:
                raise SystemExit(f"{server.kind} {route} ({name} loop): {res.errors} errors, first {res.first_error}")
        out[route] = {"closed": closed.summary(), "open": opened.summary()}
        print(f"  {server.kind:<7} {route:<6}  closed x{args.concurrency}: {closed.rps:7.1f} req/s  "
              f"p50 {closed.pct(50):6.1f} ms  p99 {closed.pct(99):6.1f} ms   open {args.rate:g}/s: "
              f"p50 {opened.pct(50):6.1f} ms  p99 {opened.pct(99):6.1f} ms", flush=True)
    return out


def bench_database(name: str, url: str, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    ids = data.load(url, args.tickets, 0.25, 0)
    if name == "sqlite":
        data.wal_checkpoint(url)
    print(f"{name}: loaded {args.tickets} tickets ({len(ids['tickets'])} in the bench's shop) in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    make = requests_for(ids["tickets"])
    figures: dict[str, Any] = {}
    shouhou = Server("shouhou", url, args.workers, logs)
    try:
        figures["shouhou"] = measure(shouhou, make, args)
        bare = Server("bare", url, args.workers, logs)
        try:
            same_answers(shouhou, bare, ids["tickets"][0])
            shouhou.stop()
            figures["bare"] = measure(bare, make, args)
        finally:
            bare.stop()
    finally:
        shouhou.stop()
    for route in ROUTES:
        figures[f"ratio_{route}"] = round(figures["shouhou"][route]["closed"]["rps"]
                                          / figures["bare"][route]["closed"]["rps"], 3)
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL server database (dropped, created)")
    ap.add_argument("--only", choices=("postgres", "sqlite"))
    ap.add_argument("--tickets", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=10.0, help="each closed and open loop")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rate", type=float, default=200.0, help="the open loop's requests per second")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes, both servers")
    ap.add_argument("--quick", action="store_true", help="4,000 tickets, 3 s loops")
    args = ap.parse_args()
    if args.quick:
        args.tickets, args.seconds = 4_000, 3.0
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        if args.only in (None, "postgres"):
            results["postgres"] = bench_database("postgres", data.fresh_postgres(args.database_url), args, logs)
        if args.only in (None, "sqlite"):
            results["sqlite"] = bench_database("sqlite", f"sqlite:///{logs / 'bench.db'}", args, logs)
    ratios = {f"{db}_{route}": r[f"ratio_{route}"] for db, r in results.items() for route in ROUTES}
    for key, ratio in ratios.items():
        print(f"ratio shouhou / bare, {key.replace('_', ' GET ')}: {ratio:.2f}")
    ratio = min(ratios.values())
    pg = results.get("postgres")
    p99 = max(pg["shouhou"][route]["open"]["p99_ms"] for route in ROUTES) if pg else None
    holds = ratio >= 0.6 and (p99 is None or p99 < 50)
    print(json.dumps({"bench": "http", "ratio": ratio, "goal": 0.6, "holds": holds, "p99_ms": p99,
                      "p99_goal_ms": 50, "rate": args.rate, "workers": args.workers,
                      "concurrency": args.concurrency, "tickets": args.tickets, "seconds": args.seconds,
                      "ratios": ratios, "results": results}))


if __name__ == "__main__":
    main()
