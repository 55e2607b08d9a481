"""Benchmark: the deadline sweep (Shouhou.tick) against a raw sqlite3 baseline doing the same row changes.

Builds a fresh SQLite file database with `--tickets` open return & refund tickets pending review (each
with its signed order; shops and buyers), of which `--due` have passed their KS-RR-1 review deadline.
Then, on two copies of that file:

- shouhou: `Shouhou.tick(now, batch)` fires the due ones (auto-approve → awaiting_return, an
  `auto_approved` and an `overdue_recorded` event and an overdue_records row each, plus whatever
  else shouhou does in the same transactions);
- raw: plain sqlite3 does the same row changes in batches of the same size, one transaction each:
  select the due ids through the partial index, update the ticket rows, insert the two event rows
  and the overdue row per ticket (orders are untouched: auto-approving a return changes no order).

Both runs are checked: exactly `--due` fired and the rest still pending, and the tickets end in the
same state in both files. Prints the times, tickets per second and the ratio (shouhou / raw).

    python -m bench.sweep                     # 100,000 tickets, 10,000 due, batch 200
    python -m bench.sweep --tickets 20000 --due 2000 --batch 500 --profile 25
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from shouhou.adapters import tables as t
from shouhou.adapters.db import create_schema, make_engine
from shouhou.adapters.uow import SqlUnitOfWork
from shouhou.clock import SHANGHAI, VirtualClock
from shouhou.domain import aftersales
from shouhou.domain.actors import Actor
from shouhou.domain.orders import Order
from shouhou.domain.shops import Buyer, Shop
from shouhou.policies import PolicyRegistry
from shouhou.services.app import Shouhou

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=SHANGHAI)
PACK = "kuaishou"
REVIEW = timedelta(hours=48)  # KS-RR-1
SHIPS = timedelta(days=10)  # KS-RR-2: what an auto-approved ticket waits for next
ADDRESS = "浙江省杭州市西湖区退货仓 1 号"
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime on SQLite (naive UTC)


def build(path: Path, tickets: int, due: int, shops: int, buyers: int, seed: int) -> None:
    """A fresh database: shops, buyers, and one signed order per ticket, each ticket applied through
    the domain (aftersales.apply) and written through the unit of work, 10,000 per transaction."""
    rng = random.Random(seed)
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    policies = PolicyRegistry.default()
    pv = policies.get(PACK).at(NOW)
    clock = VirtualClock(NOW)
    with SqlUnitOfWork(engine, clock) as uow:
        for s in range(shops):
            uow.shops.add(Shop(id=f"S{s:04d}", name=f"店铺 {s}", policy=PACK, status="normal", wallet_fen=10**7,
                               deposit_fen=10**6, wallet_opened_at=NOW - timedelta(days=400),
                               created_at=NOW - timedelta(days=400), return_address=ADDRESS))
        for b in range(buyers):
            uow.buyers.add(Buyer(id=f"B{b:06d}", name=f"买家 {b}"))
        uow.commit()
    due_ids = set(rng.sample(range(tickets), due))
    for start in range(0, tickets, 10_000):
        with SqlUnitOfWork(engine, clock) as uow:
            for i in range(start, min(start + 10_000, tickets)):
                # Due ones were applied 48-72 h ago; the others less than 48 h ago.
                ago = REVIEW + timedelta(seconds=rng.randrange(1, 24 * 3600)) if i in due_ids \
                    else timedelta(seconds=rng.randrange(1, int(REVIEW.total_seconds())))
                applied = NOW - ago
                signed = applied - timedelta(hours=1)
                buyer = f"B{rng.randrange(buyers):06d}"
                order = Order(
                    id=f"O{i:07d}", shop_id=f"S{i % shops:04d}", buyer_id=buyer, policy=PACK,
                    policy_version=pv.version, amount_fen=rng.randrange(1_000, 100_000), freight_fen=0,
                    payment="online", kind="normal", marketing=False, goods="physical", category="general",
                    no_reason_return=True, commission={}, created_at=signed - timedelta(days=2),
                    status="signed", shipped_at=signed - timedelta(days=1), signed_at=signed,
                )
                order.schedule(pv)
                ticket = aftersales.apply(f"T{i:07d}", order, Actor("buyer", buyer), pv, applied, "return_refund",
                                          "not_as_described", None, [], None)
                uow.orders.add(order)
                uow.tickets.add(ticket)
            uow.commit()
    engine.dispose()


def copy(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def run_shouhou(path: Path, batch: int, profile: int) -> tuple[int, float, str]:
    engine = make_engine(f"sqlite:///{path}")
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


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime(SQLITE_TIME)


def _instant(raw: str) -> datetime:
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)


def run_raw(path: Path, batch: int) -> tuple[int, float]:
    """The same row changes as an auto-approve of a return, in plain sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
        conn.execute(f"PRAGMA {pragma}")
    now, recorded = _stamp(NOW), _stamp(datetime.now(UTC))
    fired = 0
    started = time.perf_counter()
    while True:
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(
            "SELECT id, due_at, due_rule, order_id, shop_id FROM tickets"
            " WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?", (now, batch),
        ).fetchall()
        if not rows:
            conn.execute("COMMIT")
            break
        tickets: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        overdue: list[tuple[Any, ...]] = []
        for ident, due_raw, cause, order_id, shop_id in rows:
            at = _instant(due_raw)
            nxt = at + SHIPS
            tickets.append(("awaiting_return", _stamp(nxt), "auto_close", "KS-RR-2", ADDRESS, due_raw, ident))
            body = {"return_address": ADDRESS,
                    "due": {"at": nxt.astimezone(SHANGHAI).isoformat(), "action": "auto_close", "rule": "KS-RR-2"}}
            events.append((due_raw, "system", "auto_approved", shop_id, order_id, ident, "pending_review",
                           "awaiting_return", cause, json.dumps(body, ensure_ascii=False), recorded))
            events.append((due_raw, "system", "overdue_recorded", shop_id, order_id, ident, None, None, "KS-GOV-1",
                           json.dumps({"overdue_type": "return_refund_overdue", "cause": cause}), recorded))
            overdue.append((shop_id, ident, order_id, "return_refund_overdue", "KS-GOV-1", cause, due_raw))
        conn.executemany("UPDATE tickets SET status = ?, due_at = ?, due_action = ?, due_rule = ?,"
                         " return_address = ?, updated_at = ? WHERE id = ?", tickets)
        conn.executemany("INSERT INTO events (at, actor, type, shop_id, order_id, ticket_id, from_status, to_status,"
                         " rule, payload, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
        conn.executemany("INSERT INTO overdue_records (shop_id, ticket_id, order_id, type, rule, cause_rule, at)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?)", overdue)
        conn.execute("COMMIT")
        fired += len(rows)
    took = time.perf_counter() - started
    conn.close()
    return fired, took


def census(path: Path) -> dict[str, Any]:
    """What the files hold after a run: tickets by status, events by type, row counts, ticket states."""
    engine: Engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        out = {
            "status": Counter(dict(conn.execute(select(t.tickets.c.status, func.count()).group_by(t.tickets.c.status)).all())),
            "events": Counter(dict(conn.execute(select(t.events.c.type, func.count()).group_by(t.events.c.type)).all())),
            "rows": {tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
                     for tb in t.metadata.sorted_tables},
            "tickets": conn.execute(select(
                t.tickets.c.id, t.tickets.c.status, t.tickets.c.due_at, t.tickets.c.due_action, t.tickets.c.due_rule,
                t.tickets.c.updated_at, t.tickets.c.return_address).order_by(t.tickets.c.id)).all(),
        }
    engine.dispose()
    return out


def check(name: str, fired: int, after: dict[str, Any], tickets: int, due: int) -> None:
    problems = []
    if fired != due:
        problems.append(f"fired {fired}, expected {due}")
    if after["status"]["awaiting_return"] != due or after["status"]["pending_review"] != tickets - due:
        problems.append(f"tickets by status {dict(after['status'])}")
    if after["events"]["auto_approved"] != due or after["rows"]["overdue_records"] != due:
        problems.append(f"auto_approved events {after['events']['auto_approved']}, "
                        f"overdue rows {after['rows']['overdue_records']}")
    if problems:
        sys.exit(f"{name}: " + "; ".join(problems))
    print(f"  {name}: {due:,} fired, {after['status']['pending_review']:,} still pending_review")


def timed(what: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = fn()
    print(f"{what}: {time.perf_counter() - started:.1f} s")
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=100_000, help="open tickets (default 100000)")
    ap.add_argument("--due", type=int, default=10_000, help="of which due now (default 10000)")
    ap.add_argument("--batch", type=int, default=200, help="sweep batch size (default 200, as the worker)")
    ap.add_argument("--shops", type=int, default=100, help="shops the tickets are spread over (default 100)")
    ap.add_argument("--buyers", type=int, default=10_000, help="buyers (default 10000)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="profile the shouhou sweep with cProfile and print its top N functions")
    ap.add_argument("--dir", type=Path, default=None, help="where to put the database files (default: a temp dir)")
    args = ap.parse_args(argv)
    if not 0 < args.due <= args.tickets:
        ap.error("--due must be between 1 and --tickets")

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base, ours, raw = Path(tmp) / "base.db", Path(tmp) / "shouhou.db", Path(tmp) / "raw.db"
        print(f"{args.tickets:,} open tickets over {args.shops} shops, {args.due:,} due; batch {args.batch}")
        timed("set-up", lambda: build(base, args.tickets, args.due, args.shops, args.buyers, args.seed))
        copy(base, ours)
        copy(base, raw)
        before = census(base)

        fired, t_ours, report = run_shouhou(ours, args.batch, args.profile)
        fired_raw, t_raw = run_raw(raw, args.batch)

        print("checks:")
        after_ours, after_raw = census(ours), census(raw)
        check("shouhou", fired, after_ours, args.tickets, args.due)
        check("raw", fired_raw, after_raw, args.tickets, args.due)
        if after_ours["tickets"] != after_raw["tickets"]:
            diff = next(a for a, b in zip(after_ours["tickets"], after_raw["tickets"], strict=True) if a != b)
            sys.exit(f"the two runs left different tickets, e.g. {diff}")
        print("  both runs left every ticket in the same state (status, deadline, updated_at, address)")
        extra = {k: v - before["rows"][k] for k, v in after_ours["rows"].items() if v != before["rows"][k]}
        extra_raw = {k: v - before["rows"][k] for k, v in after_raw["rows"].items() if v != before["rows"][k]}
        print(f"  rows added by shouhou: {extra}")
        print(f"  rows added by raw:     {extra_raw}")
        new_events = after_ours["events"] - before["events"]
        print(f"  events written by shouhou: {dict(new_events)}")

        print("results:")
        for name, took in (("shouhou", t_ours), ("raw sqlite3", t_raw)):
            print(f"  {name:12} {took:8.2f} s   {args.due / took:10,.0f} tickets/s")
        print(f"  ratio shouhou / raw: {t_ours / t_raw:.1f}x")
        if report:
            print(report)


if __name__ == "__main__":
    main()
