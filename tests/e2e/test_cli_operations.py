"""The operator's command line for the audit's worker findings: a start that refuses when open
tickets need a pack that is not loaded, and `shouhou parked` to see and retry what the worker parked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from shouhou.adapters.db import make_engine, migrate
from shouhou.clock import SystemClock, VirtualClock
from shouhou.domain.actors import Actor
from shouhou.entrypoints import cli
from shouhou.policies import BUILTIN_DIR, PolicyRegistry, load_pack
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM

runner = CliRunner()
D = timedelta(days=1)


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(cli.app, list(args), env=env)


@pytest.fixture
def custom_pack(tmp_path: Path) -> Path:
    """A custom pack `myshop`: Kuaishou's rules under another name."""
    text = (BUILTIN_DIR / "kuaishou.toml").read_text(encoding="utf-8").replace('name = "kuaishou"', 'name = "myshop"', 1)
    path = tmp_path / "myshop.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path, custom_pack: Path) -> str:
    """A database with a shop on the custom pack and a refund-only application three days old (its
    48 h review has run out)."""
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    migrate(url)
    engine = make_engine(url)
    registry = PolicyRegistry.default()
    registry.add(load_pack(custom_pack))
    past = SystemClock().now() - 3 * D
    try:
        app = Shouhou.with_fakes(engine, VirtualClock(past), registry)
        app.handle(c.CreateShop("S1", "S1", "myshop", return_address="仓"), PLATFORM)
        app.handle(c.AddBuyer("B1"), PLATFORM)
        order = app.handle(c.ImportOrder("S1", "B1", 1000, id="O1", created_at=past - D), PLATFORM)
        app.handle(c.Apply(order, "refund_only", "quality", None, ("x.jpg",)), Actor("buyer", "B1"))
    finally:
        engine.dispose()
    return url


def test_a_worker_without_a_pack_that_open_tickets_need_refuses_to_start(db: str, custom_pack: Path) -> None:
    result = invoke("worker", "--once", "--database-url", db)
    assert result.exit_code == 2, result.output
    assert "myshop" in result.stderr and "SHOUHOU_POLICY_PATHS" in result.stderr
    assert "Traceback" not in result.output
    ok = invoke("worker", "--once", "--database-url", db, env={"SHOUHOU_POLICY_PATHS": f'["{custom_pack}"]'})
    assert ok.exit_code == 0 and int(ok.stdout.split()[-1]) >= 1, ok.output


def test_parked_list_and_retry(db: str, custom_pack: Path) -> None:
    # the check passed at start, then the pack went missing under the worker: the ticket is parked
    engine = make_engine(db)
    try:
        assert Shouhou.with_fakes(engine, SystemClock(), PolicyRegistry.default()).tick() == 0
    finally:
        engine.dispose()
    env = {"SHOUHOU_POLICY_PATHS": f'["{custom_pack}"]', "COLUMNS": "250"}
    listed = invoke("parked", "list", "--database-url", db, env=env)
    assert listed.exit_code == 0, listed.output
    assert "ticket" in listed.stdout and "myshop" in listed.stdout and "1 parked" in listed.stdout
    assert invoke("parked", "retry", "ticket", "NOPE", "--database-url", db, env=env).exit_code == 1
    engine = make_engine(db)
    with engine.connect() as conn:
        ticket = conn.exec_driver_sql("SELECT ident FROM parked_actions").scalar_one()
    engine.dispose()
    retried = invoke("parked", "retry", "ticket", ticket, "--database-url", db, env=env)
    assert retried.exit_code == 0, retried.output
    assert int(invoke("worker", "--once", "--database-url", db, env=env).stdout.split()[-1]) >= 1
    assert invoke("parked", "list", "--database-url", db, env=env).stdout.strip() == "nothing parked"
