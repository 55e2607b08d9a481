"""The HTTP benchmark's database (bench/http.py): migrated with Alembic as `shouhou serve` would, then
loaded through the domain and the unit of work (the rows are shouhou's own), and on PostgreSQL
`VACUUM ANALYZE`d as autovacuum would have.

`SHOPS` shops share `tickets` open return & refund tickets (pending review, applied within the last
40 hours: their KS-RR-1 deadlines lie ahead of the wall clock, so the server's worker has nothing to
fire while the bench runs); one shop, S0000, holds a `share` of them and a cs_agent whose token
(`TOKEN`) every request carries. `extra_orders` signed orders of S0000 have no ticket yet (for the
apply + approve figure)."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.governance_data import analyze
from shouhou.adapters.db import make_engine, migrate
from shouhou.adapters.uow import SqlUnitOfWork
from shouhou.clock import SystemClock, VirtualClock
from shouhou.config import Settings
from shouhou.domain import aftersales
from shouhou.domain.actors import Actor
from shouhou.domain.orders import Order
from shouhou.domain.shops import Buyer, Shop, Staff
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

PACK = "kuaishou"
SHOPS = 20
BUYERS = 2_000
TOKEN = "bench-http-agent"  # staff U0 of shop S0000, cs_agent
OWNER_TOKEN = "bench-http-owner"  # staff O0 of shop S0000, owner (approves)
BUYER_PREFIX = "bench-http-buyer-"  # + the buyer's id: a token per buyer of the apply figure
PLATFORM = Actor("platform", "bench", role="platform_operator")
ADDRESS = "浙江省杭州市西湖区退货仓 1 号"


def sqlalchemy_url(url: str) -> str:
    return Settings(database_url=url).database_url


def fresh_postgres(url: str) -> str:
    """Drop and create the bench's database (created if missing); the SQLAlchemy URL."""
    url = sqlalchemy_url(url)
    base, name = url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def load(url: str, tickets: int, share: float, extra_orders: int, seed: int = 15) -> dict[str, list[str]]:
    """Migrate and fill the database; returns the ids the load generator asks for: `tickets` (of
    S0000) and `orders` (S0000's orders without a ticket, with their buyers)."""
    migrate(url)
    rng = random.Random(seed)
    engine = make_engine(url)
    now = SystemClock().now()
    policies = PolicyRegistry.default()
    pv = policies.get(PACK).at(now)
    clock = VirtualClock(now)
    with SqlUnitOfWork(engine, clock) as uow:
        for s in range(SHOPS):
            uow.shops.add(Shop(id=f"S{s:04d}", name=f"店铺 {s}", policy=PACK, status="normal", wallet_fen=10**8,
                               deposit_fen=10**6, wallet_opened_at=now - timedelta(days=400),
                               created_at=now - timedelta(days=400), return_address=ADDRESS))
        for b in range(BUYERS):
            uow.buyers.add(Buyer(id=f"B{b:06d}", name=f"买家 {b}"))
        uow.staff.add(Staff(id="U0", shop_id="S0000", role="cs_agent", name="客服"))
        uow.staff.add(Staff(id="O0", shop_id="S0000", role="owner", name="店主"))
        uow.commit()
    mine: list[str] = []
    for start in range(0, tickets, 5_000):
        with SqlUnitOfWork(engine, clock) as uow:
            for i in range(start, min(start + 5_000, tickets)):
                shop = 0 if rng.random() < share else rng.randrange(1, SHOPS)
                applied = now - timedelta(seconds=rng.randrange(60, 40 * 3600))
                order = _order(f"O{i:07d}", f"S{shop:04d}", f"B{rng.randrange(BUYERS):06d}", pv.version,
                               applied - timedelta(hours=1), rng)
                order.schedule(pv)
                ticket = aftersales.apply(f"T{i:07d}", order, Actor("buyer", order.buyer_id), pv, applied,
                                          "return_refund", "not_as_described", None, [], "bench")
                uow.orders.add(order)
                uow.tickets.add(ticket)
                if shop == 0:
                    mine.append(ticket.id)
            uow.commit()
    orders: list[str] = []
    with SqlUnitOfWork(engine, clock) as uow:
        for i in range(extra_orders):
            order = _order(f"A{i:07d}", "S0000", f"B{i % BUYERS:06d}", pv.version, now - timedelta(hours=2), rng)
            order.schedule(pv)
            uow.orders.add(order)
            orders.append(order.id)
        uow.commit()
    app = Shouhou.with_fakes(engine, SystemClock(), policies)
    app.handle(c.IssueToken("staff", "U0", None, token=TOKEN, never_expires=True), PLATFORM)
    app.handle(c.IssueToken("staff", "O0", None, token=OWNER_TOKEN, never_expires=True), PLATFORM)
    for b in sorted({f"B{i % BUYERS:06d}" for i in range(extra_orders)}):
        app.handle(c.IssueToken("buyer", b, None, token=BUYER_PREFIX + b, never_expires=True), PLATFORM)
    with engine.begin() as conn:
        # the loaded events in the webhook feed already, as a deployment's dispatcher would have put
        # them when they happened: otherwise the served worker places the bulk load's backlog, 2,000
        # events a second, while the requests are timed (the bare server has no such work)
        conn.execute(text("UPDATE events SET feed_seq = id WHERE feed_seq IS NULL"))
    analyze(engine)  # as autovacuum would have
    engine.dispose()
    return {"tickets": mine, "orders": orders}


def _order(ident: str, shop: str, buyer: str, version: str, signed: datetime, rng: random.Random) -> Order:
    return Order(id=ident, shop_id=shop, buyer_id=buyer, policy=PACK, policy_version=version,
                 amount_fen=rng.randrange(1_000, 100_000), freight_fen=0, payment="online", kind="normal",
                 marketing=False, goods="physical", category="general", no_reason_return=True, commission={},
                 created_at=signed - timedelta(days=2), status="signed", shipped_at=signed - timedelta(days=1),
                 signed_at=signed)


def sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[1])


def wal_checkpoint(url: str) -> None:
    """SQLite: fold the WAL into the file before the servers start (both then read the same file)."""
    with sqlite3.connect(sqlite_path(url)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
