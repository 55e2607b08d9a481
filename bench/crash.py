"""Crash-injection campaign: several deadline workers on one PostgreSQL database, killed with SIGKILL
at random moments while a seeder keeps adding work; afterwards the invariants are checked.

- N `shouhou worker` processes sweep (short interval, small batches, so a kill lands inside a
  transaction or between a payout's channel call and its record more often than not);
- a seeder adds paid orders with refund-only applications made three days ago, so their review has
  run out: each one is an automatic approval, a refund funded through the ledger, an overdue record
  with its governance evaluation (and measures, liquidated damages) and a payout through the fake
  channel (which remembers its keys in the database, as a real channel would);
- a killer SIGKILLs each worker after a random life of a few seconds (most of it sweeping) and
  starts a new one in its place, until `--kills` kills;
- then the seeder stops, one worker drains what is left, and the invariant queries run:
  no ticket took the same transition twice, no refund funded or paid twice, no payout both paid and
  compensated, nothing left due, every journal entry balanced, every shop's stored balances equal to
  the sums of its journal lines.

Prints a line per check and, last, one JSON object. Exit 0 when every invariant holds.

    python bench/crash.py                                  # 4 workers, 1,000 kills
    python bench/crash.py --quick                          # 2 workers, 60 kills
    python bench/crash.py --database-url postgresql://postgres@127.0.0.1:5432/shouhou_crash
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shouhou.adapters import operations as ops  # noqa: E402
from shouhou.adapters import tables as t  # noqa: E402
from shouhou.adapters.db import make_engine, migrate  # noqa: E402
from shouhou.adapters.payment import FakeChannel  # noqa: E402
from shouhou.adapters.uow import SqlUnitOfWork  # noqa: E402
from shouhou.clock import SystemClock, VirtualClock  # noqa: E402
from shouhou.config import Settings  # noqa: E402
from shouhou.domain.actors import Actor  # noqa: E402
from shouhou.errors import Refusal  # noqa: E402
from shouhou.policies import PolicyRegistry  # noqa: E402
from shouhou.services import commands as c  # noqa: E402
from shouhou.services.app import Shouhou  # noqa: E402

PLATFORM = Actor("platform", "crash", role="platform_operator")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/shouhou_crash"
D = timedelta(days=1)


def fresh_database(url: str) -> str:
    """Drop and create the campaign's database; returns the SQLAlchemy URL, migrated to the head."""
    url = Settings(database_url=url).database_url
    base, name = url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    migrate(url)
    return url


class Seeder(threading.Thread):
    """Adds orders with refund-only applications made three days ago (their review has run out)."""

    def __init__(self, url: str, shops: int, rate: float, seed: int) -> None:
        super().__init__(name="seeder", daemon=True)
        self.engine = make_engine(url)
        self.clock = VirtualClock(SystemClock().now() - 3 * D)
        self.app = Shouhou.with_fakes(self.engine, self.clock, PolicyRegistry.default())
        self.shops, self.rate, self.rng = shops, rate, random.Random(seed)
        self.stop, self.added, self.refused, self.errors = threading.Event(), 0, 0, 0

    def setup(self) -> None:
        for i in range(self.shops):
            pack = "kuaishou" if i % 2 == 0 else "douyin"
            self.app.handle(c.CreateShop(f"S{i}", f"S{i}", pack, wallet_fen=50_000, deposit_fen=20_000,
                                         return_address="仓"), PLATFORM)
        for b in range(20):
            self.app.handle(c.AddBuyer(f"B{b}"), PLATFORM)

    def seed_one(self) -> None:
        self.clock.set(SystemClock().now() - 3 * D)
        shop, buyer = f"S{self.rng.randrange(self.shops)}", f"B{self.rng.randrange(20)}"
        n = self.added + self.refused + self.errors
        order = self.app.handle(c.ImportOrder(shop, buyer, self.rng.randrange(1_000, 30_000), id=f"O{n}",
                                              created_at=self.clock.now() - 2 * D,
                                              shipped_at=self.clock.now() - D), PLATFORM)
        self.app.handle(c.Apply(order, "refund_only", "quality", None, ("x.jpg",)), Actor("buyer", buyer))
        self.added += 1

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.seed_one()
            except Refusal:  # the engine at work: a shop whose cart governance suspended (KS-GOV-3)
                self.refused += 1
            except Exception:  # noqa: BLE001 - a seeding failure is counted, never hidden
                self.errors += 1
            self.stop.wait(1 / self.rate)


def worker(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHOUHOU_DATABASE_URL": url}
    return subprocess.Popen([sys.executable, "-m", "shouhou.entrypoints.cli", "worker", "--interval", "0.02",
                             "--batch", "7"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def swept(url: str, pid: int) -> bool:
    """Whether the worker process `pid` has finished a sweep (its heartbeat is there): a kill then lands
    while it works rather than while it starts."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(ops.worker_heartbeats)
                                .where(ops.worker_heartbeats.c.worker.like(f"%:{pid}"))).scalar_one() > 0
    finally:
        engine.dispose()


def drain(url: str) -> int:
    """Sweep until nothing is due and no refund waits (payout retries are an hour apart: a clock an
    hour and a half ahead lets the last claimed ones be asked about and recorded)."""
    engine = make_engine(url)
    total = 0
    try:
        for ahead in (timedelta(0), timedelta(minutes=90), timedelta(hours=3)):
            app = Shouhou.with_fakes(engine, VirtualClock(SystemClock().now() + ahead), PolicyRegistry.default(),
                                     channel=_channel(engine))
            total += app.tick(batch=200)
    finally:
        engine.dispose()
    return total


def _channel(engine: Engine) -> FakeChannel:
    return FakeChannel(engine=engine, clock=SystemClock())


CHECKS = {
    "transition taken twice": """
        SELECT count(*) FROM (SELECT ticket_id, type, from_status, to_status, at FROM events
        WHERE ticket_id IS NOT NULL AND to_status IS NOT NULL
        GROUP BY ticket_id, type, from_status, to_status, at HAVING count(*) > 1) d""",
    "ticket refunded twice": """
        SELECT count(*) FROM (SELECT ticket_id FROM events WHERE type = 'refunded'
        GROUP BY ticket_id HAVING count(*) > 1) d""",
    "refund funded twice": """
        SELECT count(*) FROM (SELECT ticket_id FROM journal_entries WHERE kind = 'refund'
        GROUP BY ticket_id HAVING count(*) > 1) d""",
    "refund paid out twice": """
        SELECT count(*) FROM (SELECT ticket_id FROM journal_entries WHERE kind = 'payout'
        GROUP BY ticket_id HAVING count(*) > 1) d""",
    "paid and also compensated": """
        SELECT count(*) FROM payouts p WHERE p.status = 'compensated' AND EXISTS (
        SELECT 1 FROM fake_channel_refunds f WHERE f.key = p.id AND f.ok)""",
    "refund without its payout": """
        SELECT count(*) FROM journal_entries e WHERE e.kind = 'refund'
        AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.ticket_id = e.ticket_id)""",
    "unbalanced journal entry": """
        SELECT count(*) FROM (SELECT entry_id FROM journal_lines GROUP BY entry_id HAVING sum(amount) <> 0) d""",
    "stored balance unequal to its lines": """
        SELECT count(*) FROM shops s WHERE
          s.wallet_fen <> coalesce((SELECT sum(amount) FROM journal_lines WHERE account = 'wallet:' || s.id), 0)
          OR s.deposit_fen <> coalesce((SELECT sum(amount) FROM journal_lines WHERE account = 'deposit:' || s.id), 0)
          OR s.debt_fen <> -coalesce((SELECT sum(amount) FROM journal_lines WHERE account = 'debt:' || s.id), 0)""",
    "payout still pending": "SELECT count(*) FROM payouts WHERE status = 'pending'",
    "action parked": "SELECT count(*) FROM parked_actions",
}


def check(url: str) -> dict[str, int]:
    engine = make_engine(url)
    now = SystemClock().now()
    try:
        with engine.connect() as conn:
            found = {name: int(conn.execute(text(sql)).scalar_one()) for name, sql in CHECKS.items()}
        with SqlUnitOfWork(engine, SystemClock(), write=False) as uow:
            found["left due"] = sum(uow.due_counts(now).values())
    finally:
        engine.dispose()
    return found


def figures(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            count = lambda q: int(conn.execute(q).scalar_one())  # noqa: E731
            return {
                "tickets": count(select(func.count()).select_from(t.tickets)),
                "refunded": count(select(func.count()).select_from(t.tickets).where(t.tickets.c.status == "refunded")),
                "payouts_paid": count(select(func.count()).select_from(t.payouts).where(t.payouts.c.status == "paid")),
                "measures": count(select(func.count()).select_from(t.measures)),
                "journal_entries": count(select(func.count()).select_from(t.journal_entries)),
                "events": count(select(func.count()).select_from(t.events)),
                "channel_keys": count(select(func.count()).select_from(ops.fake_channel_refunds)),
            }
    finally:
        engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=DEFAULT_URL, help="a PostgreSQL database (dropped and re-created)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--shops", type=int, default=40)
    ap.add_argument("--rate", type=float, default=25.0, help="applications seeded per second")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--min-life", type=float, default=2.5, help="seconds a worker lives at least (its start-up)")
    ap.add_argument("--max-life", type=float, default=6.0, help="seconds a worker lives at most")
    ap.add_argument("--quick", action="store_true", help="2 workers, 60 kills (about a minute)")
    args = ap.parse_args()
    if args.quick:
        args.workers, args.kills = 2, 60
    rng = random.Random(args.seed)
    url = fresh_database(args.database_url)
    seeder = Seeder(url, args.shops, args.rate, args.seed)
    seeder.setup()
    for _ in range(50):  # a backlog before the first worker starts
        seeder.seed_one()
    seeder.start()
    started = time.monotonic()
    # each worker lives between `--min-life` (about a start-up) and `--max-life` seconds, so most kills
    # land while it sweeps: inside a transaction, or between a payout's channel call and its record
    pool = [worker(url) for _ in range(args.workers)]
    deaths = [time.monotonic() + rng.uniform(args.min_life, args.max_life) for _ in pool]
    kills = sweeping = 0
    try:
        while kills < args.kills:
            i = min(range(len(pool)), key=deaths.__getitem__)
            time.sleep(max(0.0, deaths[i] - time.monotonic()))
            if swept(url, pool[i].pid):
                sweeping += 1
            pool[i].send_signal(signal.SIGKILL)
            pool[i].wait()
            kills += 1
            pool[i] = worker(url)
            deaths[i] = time.monotonic() + rng.uniform(args.min_life, args.max_life)
            if kills % 100 == 0:
                print(f"{kills} kills ({sweeping} after the worker's first sweep), {seeder.added} applications "
                      f"seeded, {time.monotonic() - started:.0f} s",
                      file=sys.stderr, flush=True)
    finally:
        seeder.stop.set()
        seeder.join()
        for p in pool:
            p.send_signal(signal.SIGTERM)
        for p in pool:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        seeder.engine.dispose()
    drained = drain(url)
    found = check(url)
    for name, n in found.items():
        print(f"{'ok ' if n == 0 else 'FAIL'} {name}: {n}")
    holds = all(n == 0 for n in found.values()) and seeder.errors == 0
    print(json.dumps({"bench": "crash", "kills": kills, "kills_after_a_sweep": sweeping, "workers": args.workers,
                      "seconds": round(time.monotonic() - started, 1), "seeded": seeder.added,
                      "seed_refused": seeder.refused, "seed_errors": seeder.errors, "drained": drained, **figures(url),
                      "violations": found, "holds": holds}))
    return 0 if holds else 1


if __name__ == "__main__":
    sys.exit(main())
