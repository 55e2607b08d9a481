"""Migration 0004 (GEN-APPLY-7) on a database with history: orders and tickets that existed before
order lines get the one line an order without lines has, carrying what was refunded. SQLite only;
the schema itself is checked on both databases by test_migrations.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select

import shouhou
from shouhou.adapters import tables as t
from shouhou.adapters.db import make_engine, migrate
from shouhou.clock import VirtualClock
from shouhou.domain.actors import Actor
from shouhou.domain.lines import Cover, OrderLine
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, START


def test_0004_gives_existing_orders_and_tickets_their_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    migrate(url)
    engine = make_engine(url)
    app = Shouhou.with_fakes(engine, VirtualClock(START), PolicyRegistry.default())
    app.handle(c.CreateShop("S1", "S1", "kuaishou"), PLATFORM)
    app.handle(c.AddStaff("U1", "S1", "owner"), PLATFORM)
    app.handle(c.AddBuyer("B1"), PLATFORM)
    app.handle(c.ImportOrder("S1", "B1", 9900, id="O1", freight_fen=900, created_at=START - timedelta(days=3),
                             shipped_at=START - timedelta(days=2), signed_at=START - timedelta(days=1)), PLATFORM)
    ticket = app.handle(c.Apply("O1", "refund_only", "other", 3000), Actor("buyer", "B1"))
    app.handle(c.Approve(ticket), Actor("staff", "U1", shop_id="S1", role="owner"))

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(shouhou.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.downgrade(cfg, "0003")
    command.upgrade(cfg, "head")

    with engine.connect() as conn:
        (lines,) = conn.execute(select(t.orders.c.lines).where(t.orders.c.id == "O1")).one()
        (cover,) = conn.execute(select(t.tickets.c.lines).where(t.tickets.c.id == ticket)).one()
    assert lines == (OrderLine("O1", "O1", 1, 9000, 9000, "goods", refunded_fen=3000, held_fen=0),)
    assert cover == (Cover("O1", 1),)
    engine.dispose()
