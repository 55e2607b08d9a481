"""Benchmark: the deadline worker on PostgreSQL, with 1 and 2 `shouhou worker` processes, against a raw
psycopg baseline doing the same row changes, in the same run.

Loads once, into a template database, `--pending` return & refund tickets pending review (KS-RR-1, due
in the next 48 h) and `--due` more that fall due during the run, spread over `--spread` seconds from
the start (0: all due at the start, a backlog), each with its signed order, applied through the domain
and written through the unit of work; `VACUUM ANALYZE` after loading, as autovacuum would. Then, each
on a fresh copy of the template (CREATE DATABASE … TEMPLATE):

- shouhou, 1 worker and 2 workers: `shouhou worker --batch B --interval 0.05` processes on the wall
  clock. Each due ticket is auto-approved (awaiting_return, an `auto_approved` and an `overdue_recorded`
  event, an overdue_records row) and its shop evaluated for KS-GOV-3 in the same transaction, plus
  whatever else shouhou does (heartbeats, payout sweep, webhooks outbox placement is not involved).
- raw: one psycopg connection does, per batch of B due rows, what that costs at the least: select the
  due ids (FOR UPDATE SKIP LOCKED through the partial index), lock the batch's shops in id order,
  update the ticket rows, insert the two events and the overdue row per ticket (the same triggers
  keep the same governance counters: it is the same schema), read each batch shop's 30-day figures
  at its last record with the same counter SQL shouhou runs (adapters.metrics.batch_statements), and
  write each shop's score (domain.governance.score, a pure function), evaluation time and next
  evaluation. It applies no measure: with these rows none is reached in shouhou either (checked: no
  `measure_applied` event), and the shops must end with the same governance columns in every run
  (checked), so the writes are the same.

Throughput is fired actions over the span from the first firing to the last (process start-up is not
counted); lateness is each event's recorded time minus its due time (with --spread > 0). Checks every
due ticket fired exactly once and nothing pending fired. Prints a table and, last, one JSON line.

    python -m bench.worker --quick                                  # 4,000 due, 20,000 pending
    python -m bench.worker --due 100000 --pending 1000000 --spread 120
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy.dialects import postgresql

from shouhou.adapters.db import make_engine, migrate
from shouhou.adapters.metrics import COUNTS, WINDOW_PARAMS, batch_statements
from shouhou.adapters.metrics_window import cut
from shouhou.adapters.uow import SqlUnitOfWork
from shouhou.clock import SHANGHAI, VirtualClock
from shouhou.domain import aftersales
from shouhou.domain import governance as g
from shouhou.domain.actors import Actor
from shouhou.domain.orders import Order
from shouhou.domain.shops import Buyer, Shop
from shouhou.policies import PolicyRegistry

PACK = "kuaishou"
REVIEW = timedelta(hours=48)  # KS-RR-1
SHIPS = timedelta(days=10)  # KS-RR-2
ADDRESS = "浙江省杭州市西湖区退货仓 1 号"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/shouhou_bench"


def admin(url: str) -> psycopg.Connection[Any]:
    base, _, _name = url.rpartition("/")
    return psycopg.connect(f"{base}/postgres", autocommit=True)


def recreate(url: str, name: str, template: str | None = None) -> str:
    with admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return url.rpartition("/")[0] + "/" + name


def sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def load(url: str, pending: int, due: int, spread: float, shops: int, start: datetime, seed: int,
         domain_pending: int = 50_000) -> None:
    """Shops, buyers and one signed order with a pending ticket per row; the due ones fall due between
    `start` and `start + spread`."""
    rng = random.Random(seed)
    migrate(sa_url(url))  # the workers refuse a database that is not at the head revision
    engine = make_engine(sa_url(url))
    pv = PolicyRegistry.default().get(PACK).at(start)
    clock = VirtualClock(start)
    with SqlUnitOfWork(engine, clock) as uow:
        for s in range(shops):
            uow.shops.add(Shop(id=f"S{s:05d}", name=f"店铺 {s}", policy=PACK, status="normal", wallet_fen=10**7,
                               deposit_fen=10**6, wallet_opened_at=start - timedelta(days=400),
                               created_at=start - timedelta(days=400), return_address=ADDRESS))
        for b in range(1000):
            uow.buyers.add(Buyer(id=f"B{b:05d}", name=f"买家 {b}"))
        uow.commit()
    made = min(pending, domain_pending)  # the rest of the pending ones: copies of these (`clone`)
    total = made + due
    for first in range(0, total, 5000):
        with SqlUnitOfWork(engine, clock) as uow:
            for i in range(first, min(first + 5000, total)):
                if i < due:  # falls due at start + a share of the spread
                    applied = start - REVIEW + timedelta(seconds=spread * i / max(due, 1))
                else:  # due later than the run lasts
                    applied = start - REVIEW + timedelta(hours=1, seconds=rng.randrange(0, 40 * 3600))
                signed = applied - timedelta(hours=1)
                buyer = f"B{rng.randrange(1000):05d}"
                order = Order(id=f"O{i:08d}", shop_id=f"S{i % shops:05d}", buyer_id=buyer, policy=PACK,
                              policy_version=pv.version, amount_fen=rng.randrange(1_000, 100_000), freight_fen=0,
                              payment="online", kind="normal", marketing=False, goods="physical",
                              category="general", no_reason_return=True, commission={},
                              created_at=signed - timedelta(days=2), status="signed",
                              shipped_at=signed - timedelta(days=1), signed_at=signed)
                order.schedule(pv)
                uow.orders.add(order)
                uow.tickets.add(aftersales.apply(f"T{i:08d}", order, Actor("buyer", buyer), pv, applied,
                                                 "return_refund", "not_as_described", None, [], None))
            uow.commit()
    engine.dispose()
    with psycopg.connect(url, autocommit=True) as conn:
        clone(conn, due, made, pending - made)
        # the loaded events in the webhook feed already, as a deployment's dispatcher would have put
        # them when they happened: the run measures the sweeps, not a catch-up on a bulk load
        conn.execute("UPDATE events SET feed_seq = id WHERE feed_seq IS NULL")
        conn.execute("VACUUM ANALYZE")


def clone(conn: psycopg.Connection[Any], due: int, made: int, more: int) -> None:
    """`more` pending tickets as copies of the `made` applied through the domain (ids from `due` on):
    their orders, tickets and events, column for column, with new ids (`…c<k>`) and the due time moved
    by up to a day later, so that 1M pending load in minutes, not hours. Inserted row by row through
    the same triggers, so the governance counters count the copies too."""
    def columns(table: str) -> list[str]:
        return [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                                           "ORDER BY ordinal_position", (table,)).fetchall()]
    renamed = {"id": "{c}.id || %(tag)s", "order_id": "{c}.order_id || %(tag)s", "ticket_id": "{c}.ticket_id || %(tag)s"}
    for k in range(1, -(-more // made) + 1 if more else 1):
        n = min(made, more - (k - 1) * made)
        args = {"tag": f"c{k}", "first": f"T{due:08d}", "n": n, "k": k}
        picked = "(SELECT id, order_id FROM tickets WHERE id >= %(first)s AND id NOT LIKE '%%c%%' ORDER BY id LIMIT %(n)s)"
        for table, key in (("orders", "id"), ("tickets", "id"), ("events", "ticket_id")):
            cols = [c for c in columns(table) if not (table == "events" and c == "id")]
            values = []
            for c in cols:
                if table == "events" and c == "feed_seq":
                    values.append("NULL")  # (placed in the feed later, by the dispatcher)
                elif table == "tickets" and c == "due_at":
                    values.append("x.due_at + make_interval(mins => (hashtext(x.id) & 1023) + %(k)s)")
                else:
                    values.append(renamed.get(c, "{c}." + c).format(c="x") if c in renamed else f"x.{c}")
            on = "p.order_id" if table == "orders" else "p.id"
            conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(values)} FROM {table} x "  # noqa: S608
                         f"JOIN {picked} p ON x.{key} = {on}", args)


def loaded_already(url: str, template: str, tickets: int) -> bool:
    with admin(url) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone() is None:
            return False
    with psycopg.connect(url.rpartition("/")[0] + "/" + template) as conn:
        return conn.execute("SELECT count(*) FROM tickets").fetchone() == (tickets,)


def wait_fired(url: str, due: int, deadline: float) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            n = conn.execute("SELECT count(*) FROM events WHERE type = 'auto_approved'").fetchone()[0]  # type: ignore[index]
            if n >= due or time.monotonic() > deadline:
                return int(n)
            time.sleep(0.2)


def figures(url: str, due: int) -> dict[str, Any]:
    """Throughput over the firing span, lateness, and the exactly-once checks."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT at, recorded_at FROM events WHERE type = 'auto_approved'").fetchall()
        once = conn.execute("SELECT count(DISTINCT ticket_id), count(*) FROM events WHERE type = 'auto_approved'"
                            ).fetchone()
        overdue = conn.execute("SELECT count(*) FROM overdue_records").fetchone()[0]  # type: ignore[index]
        measures = conn.execute("SELECT count(*) FROM events WHERE type = 'measure_applied'").fetchone()[0]  # type: ignore[index]
        shops = conn.execute("SELECT md5(string_agg(concat_ws('|', id, score, governance_evaluated_at, "
                             "governance_due_at), ',' ORDER BY id)) FROM shops").fetchone()[0]  # type: ignore[index]
        early = conn.execute("SELECT count(*) FROM events e JOIN tickets t ON t.id = e.ticket_id "
                             "WHERE e.type = 'auto_approved' AND t.id >= %s", (f"T{due:08d}",)).fetchone()[0]  # type: ignore[index]
    assert once is not None
    recorded = sorted(r[1] for r in rows)
    span = (recorded[-1] - recorded[0]).total_seconds() if len(recorded) > 1 else float("nan")
    late = sorted(max(0.0, (r[1] - r[0]).total_seconds()) for r in rows)

    def q(p: float) -> float:
        return late[min(len(late) - 1, int(p * len(late)))] if late else float("nan")
    return {"fired": len(rows), "distinct": once[0], "overdue_rows": overdue, "measures": measures,
            "fired_early": early, "shops_digest": shops, "per_s": len(rows) / span if span > 0 else float("nan"),
            "lateness_p50_s": round(q(0.50), 3), "lateness_p99_s": round(q(0.99), 3),
            "lateness_max_s": round(late[-1], 3) if late else None}


def run_workers(url: str, n: int, due: int, batch: int, spread: float, timeout: float) -> dict[str, Any]:
    env = {**os.environ, "SHOUHOU_DATABASE_URL": sa_url(url), "SHOUHOU_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "shouhou.entrypoints.cli", "worker", "--batch", str(batch), "--interval", "0.05"]
    logs = [tempfile.TemporaryFile() for _ in range(n)]  # a pipe nobody reads would block the worker
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log) for log in logs]
    try:
        fired = wait_fired(url, due, time.monotonic() + spread + timeout)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    for p, log in zip(procs, logs, strict=True):
        log.seek(0)
        tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
        if p.returncode not in (0, -15) or any("Traceback" in line for line in tail):
            print(f"worker exited {p.returncode}: {tail}", file=sys.stderr)
        log.close()
    out = figures(url, due)
    out["unfired"] = due - fired
    return out


def governance_reads() -> tuple[list[str], dict[str, Any]]:
    """KS-GOV-3's reads for a batch of shops, each at its own last record: the same SQL shouhou runs
    (adapters.metrics' counter statements, compiled for psycopg), and its constant parameters."""
    out, fixed = [], {}
    for q in batch_statements().values():
        compiled = q.compile(dialect=postgresql.dialect())
        out.append(str(compiled))
        fixed.update({k: v for k, v in compiled.params.items() if not k.startswith("p_")})
    return out, fixed


def run_raw(url: str, due: int, batch: int, spread: float, timeout: float) -> dict[str, Any]:
    """The least the same firing costs: see the module's docstring."""
    gov = PolicyRegistry.default().get(PACK).at(datetime.now(UTC)).governance
    window, daily = gov.window.delta, gov.evaluation.delta
    reads, fixed = governance_reads()
    conn = psycopg.connect(url)
    stop_at = time.monotonic() + spread + timeout
    fired = 0
    while fired < due and time.monotonic() < stop_at:
        now = datetime.now(UTC)
        with conn.transaction():
            rows = conn.execute(
                "SELECT id, due_at, due_rule, order_id, shop_id FROM tickets WHERE due_at IS NOT NULL AND "
                "due_at <= %s ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED", (now, batch)).fetchall()
            if rows:
                tickets, events, overdue = [], [], []
                last: dict[str, datetime] = {}
                for ident, at, cause, order_id, shop_id in rows:
                    nxt = at + SHIPS
                    tickets.append(("awaiting_return", nxt, "auto_close", "KS-RR-2", ADDRESS, now, ident))
                    body = {"return_address": ADDRESS, "due": {"at": nxt.astimezone(SHANGHAI).isoformat(),
                                                               "action": "auto_close", "rule": "KS-RR-2"}}
                    events.append((at, "system", "auto_approved", shop_id, order_id, ident, "pending_review",
                                   "awaiting_return", cause, json.dumps(body, ensure_ascii=False), now))
                    events.append((at, "system", "overdue_recorded", shop_id, order_id, ident, None, None, "KS-GOV-1",
                                   json.dumps({"overdue_type": "return_refund_overdue", "cause": cause}), now))
                    overdue.append((shop_id, ident, order_id, "return_refund_overdue", "KS-GOV-1", cause, at))
                    last[shop_id] = max(at, last.get(shop_id, at))
                with conn.cursor() as cur:
                    cur.execute("SELECT id FROM shops WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (sorted(last),))
                    cur.executemany("UPDATE tickets SET status = %s, due_at = %s, due_action = %s, due_rule = %s, "
                                    "return_address = %s, updated_at = %s WHERE id = %s", tickets)
                    cur.executemany("INSERT INTO events (at, actor, type, shop_id, order_id, ticket_id, from_status, "
                                    "to_status, rule, payload, recorded_at) VALUES "
                                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", events)
                    cur.executemany("INSERT INTO overdue_records (shop_id, ticket_id, order_id, type, rule, "
                                    "cause_rule, at) VALUES (%s, %s, %s, %s, %s, %s, %s)", overdue)
                    # KS-GOV-3: each shop's 30-day figures at its last record, its score, its next evaluation
                    shops = sorted(last)
                    cuts = [{**cut(last[s] - window, last[s]), "shop": s} for s in shops]
                    args = {**fixed, **{f"p_{k}": [c[k] for c in cuts] for k in WINDOW_PARAMS}}
                    counted: dict[str, dict[str, Any]] = {s: {} for s in shops}
                    for shop, *counts, _lo, _la in cur.execute(reads[0], args).fetchall():
                        counted[shop].update(zip(COUNTS, counts, strict=True))
                    for shop, kind, n, _last in cur.execute(reads[1], args).fetchall():
                        name = "return_refund_overdue" if kind == "return_refund_overdue" else kind.lstrip("#")
                        if name in COUNTS:
                            counted[shop][name] = counted[shop].get(name, 0) + n
                    cur.executemany("UPDATE shops SET score = %s, governance_evaluated_at = %s, governance_due_at = %s "
                                    "WHERE id = %s", [
                                        (g.score(g.Metrics(shop_id=s, start=last[s] - window, end=last[s],
                                                           **{k: int(v or 0) for k, v in counted[s].items()}),
                                                 gov.score, 0, shown=False).value, last[s], last[s] + daily, s)
                                        for s in shops])
                fired += len(rows)
        if not rows:
            time.sleep(0.05)
    conn.close()
    out = figures(url, due)
    out["unfired"] = due - fired
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--due", type=int, default=20_000)
    ap.add_argument("--pending", type=int, default=100_000)
    ap.add_argument("--spread", type=float, default=0.0, help="seconds over which the due ones fall due")
    ap.add_argument("--shops", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds past the spread before giving up")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--domain-pending", type=int, default=50_000,
                    help="pending tickets applied through the domain; the rest are copies of them, made in SQL")
    ap.add_argument("--quick", action="store_true", help="4,000 due, 20,000 pending: under two minutes")
    ap.add_argument("--reuse", action="store_true",
                    help="with --spread: keep the template a previous run loaded, if it holds as many tickets")
    args = ap.parse_args()
    if args.quick:
        args.due, args.pending, args.timeout = 4000, 20_000, 90.0
    name = args.database_url.rpartition("/")[2]
    template = f"{name}_worker_template"
    started = time.perf_counter()
    # the run starts a little after loading ends: the due ones fall due from then on
    lead = 30.0 + (args.due + args.pending) / 2000
    start = datetime.now(SHANGHAI) + timedelta(seconds=lead)
    if args.reuse and args.spread > 0 and loaded_already(args.database_url, template, args.due + args.pending):
        src = args.database_url.rpartition("/")[0] + "/" + template  # (each run moves its due times on)
    else:
        src = recreate(args.database_url, template)
        load(src, args.pending, args.due, args.spread, args.shops, start, args.seed, args.domain_pending)
    loaded = time.perf_counter() - started
    wait = (start - datetime.now(SHANGHAI)).total_seconds()
    print(f"loaded {args.due:,} due + {args.pending:,} pending tickets in {loaded:.0f} s; "
          f"starting in {max(wait, 0):.0f} s", file=sys.stderr)
    results: dict[str, dict[str, Any]] = {}
    for label, runner in (("raw", lambda u: run_raw(u, args.due, args.batch, args.spread, args.timeout)),
                          ("1 worker", lambda u: run_workers(u, 1, args.due, args.batch, args.spread, args.timeout)),
                          ("2 workers", lambda u: run_workers(u, 2, args.due, args.batch, args.spread, args.timeout))):
        url = recreate(args.database_url, f"{name}_worker_run", template)
        pause = (start - datetime.now(SHANGHAI)).total_seconds()
        if args.spread == 0 and pause > 0:
            time.sleep(pause)  # a backlog: everything due before the run begins
        if args.spread > 0:  # the run needs its due times ahead of it: the due ones move on to start soon
            with psycopg.connect(url, autocommit=True) as conn:
                first = f"T{args.due:08d}"
                conn.execute("UPDATE tickets SET due_at = due_at + (%s - (SELECT min(due_at) FROM tickets WHERE "
                             "id < %s)) WHERE id < %s", (datetime.now(SHANGHAI) + timedelta(seconds=15), first, first))
                # a reused template's pending ones may have come due meanwhile: they go a day past the run
                later = datetime.now(SHANGHAI) + timedelta(seconds=args.spread + args.timeout + 600)
                conn.execute("UPDATE tickets SET due_at = %s + make_interval(mins => hashtext(id) & 1023) "
                             "WHERE id >= %s AND due_at < %s", (later + timedelta(days=1), first, later))
        results[label] = runner(url)
        print(f"{label:>10}: {results[label]}", file=sys.stderr)
    for label, r in results.items():
        assert r["fired"] == r["distinct"] == r["overdue_rows"] or r["unfired"] > 0, (label, r)
        assert r["fired_early"] == 0, (label, r)
    if args.spread == 0 and all(r["unfired"] == 0 for r in results.values()):  # the same work: the same shops
        digests = {k: r["shops_digest"] for k, r in results.items()}
        assert len(set(digests.values())) == 1, f"the shops' governance columns differ: {digests}"
    one, two, raw = results["1 worker"]["per_s"], results["2 workers"]["per_s"], results["raw"]["per_s"]
    print(f"{'':>10}  {'actions/s':>10}  {'p50 late':>9}  {'p99 late':>9}  unfired  measures", file=sys.stderr)
    for label, r in results.items():
        print(f"{label:>10}  {r['per_s']:>10.0f}  {r['lateness_p50_s']:>9}  {r['lateness_p99_s']:>9}  "
              f"{r['unfired']:>7}  {r['measures']:>8}", file=sys.stderr)
    goals = {"two_workers_per_s": 2000, "scaling": 1.6, "ratio": 0.5, "p99_lateness_s": 1.0}
    ratio = two / raw if raw else float("nan")
    holds = bool(two >= 2000 and two >= 1.6 * one and ratio >= 0.5
                 and (args.spread == 0 or (results["2 workers"]["lateness_p99_s"] <= 1.0
                                           and results["2 workers"]["unfired"] == 0)))
    print(json.dumps({"bench": "worker", "ratio": round(ratio, 3), "goal": goals, "holds": holds,
                      "one_worker_per_s": round(one, 1), "two_workers_per_s": round(two, 1),
                      "raw_per_s": round(raw, 1), "scaling": round(two / one, 2) if one else None,
                      "due": args.due, "pending": args.pending, "spread_s": args.spread, "batch": args.batch,
                      "p99_lateness_s": {k: r["lateness_p99_s"] for k, r in results.items()},
                      "unfired": {k: r["unfired"] for k, r in results.items()}}))


if __name__ == "__main__":
    main()
