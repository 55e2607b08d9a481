"""Migration 0013 on a database with history: the governance counters are backfilled from the rows
written before it (here, rows written while the database was back at 0012, with no trigger to count
them), and from then on the triggers keep them; the metrics read from them equal the scan's. On a
fresh SQLite file always, and on a fresh PostgreSQL database when SHOUHOU_TEST_DATABASE_URL names one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, update
from sqlalchemy.pool import NullPool

import shouhou
from shouhou.adapters import metrics as counted
from shouhou.adapters import metrics_scan as scanned
from shouhou.adapters import tables as t
from shouhou.adapters.db import make_engine, migrate
from shouhou.clock import VirtualClock
from shouhou.policies import PolicyRegistry
from shouhou.services.app import Shouhou

from ..conftest import START
from .test_governance import DUE, late_ticket, make_shop, seed_history
from .test_migrations import _fresh_postgres

D = timedelta(days=1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'history.db'}"
    else:
        yield from _fresh_postgres()


def _config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(shouhou.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def test_0013_backfills_the_counters_from_the_rows_and_the_triggers_take_over(url: str) -> None:
    migrate(url)
    engine = make_engine(url)
    app = Shouhou.with_fakes(engine, VirtualClock(START), PolicyRegistry.default())
    make_shop(app, "S1")
    make_shop(app, "S2")
    seed_history(engine, "S1", applications=12, overdue=5, created=START - 5 * D, overdue_at=START - 3 * D)
    late_ticket(app, "O1")
    app.tick(DUE)
    engine.dispose()

    command.downgrade(_config(url), "0012")
    raw = create_engine(url, poolclass=NullPool)
    assert "gov_daily" not in inspect(raw).get_table_names()
    seed_history(raw, "S2", applications=7, overdue=3, created=START - 2 * D, overdue_at=START - D, prefix="OLD")
    with raw.begin() as conn:  # a ticket ends while nothing counts
        conn.execute(update(t.tickets).where(t.tickets.c.id == "TOLDS200000").values(ended_at=START - D / 2))
    raw.dispose()
    command.upgrade(_config(url), "head")

    engine = make_engine(url)
    app = Shouhou.with_fakes(engine, VirtualClock(DUE), PolicyRegistry.default())
    late_ticket(app, "O2", "S2")  # written through the engine, counted by the triggers
    app.tick(DUE + 2 * D)
    at = DUE + 2 * D
    with engine.connect() as conn:
        for shop in ("S1", "S2"):
            got = counted.metrics_for(conn, shop, at, 30 * D)
            assert got == scanned.metrics_for(conn, shop, at, 30 * D)
        assert got.applications == 8 and got.refund_only_overdue == 4 and got.refund_only_handled == 8
        assert scanned.differences(conn, lambda _: 30 * D, at) == {}
    engine.dispose()
