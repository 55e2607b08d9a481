"""The `shouhou` command line, end to end through Typer's runner: scenario exit codes and JSON lines
(../shared/SCENARIOS.md), policy tables, the database commands, the worker, tokens, the demo data
and `serve` (with uvicorn replaced, so no port is opened)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from shouhou.adapters.db import make_engine, migrate
from shouhou.adapters.notifier import MemoryNotifier
from shouhou.adapters.tables import metadata
from shouhou.clock import SystemClock, VirtualClock
from shouhou.entrypoints import cli, serving
from shouhou.entrypoints.api import create_app
from shouhou.entrypoints.demo import DY_SHOP, KS_SHOP, SLOW_SHOP, load_demo
from shouhou.policies import PolicyRegistry
from shouhou.services.access import actor_for_token
from shouhou.services.app import Shouhou
from shouhou.services.views import governance

from ..conftest import SHARED

runner = CliRunner()

PASSING = """\
name: silent shop, auto-approved
policy: kuaishou
start: 2026-03-02T09:00:00+08:00
shops:
  - {id: S1, wallet: "500.00", deposit: "2000.00"}
staff:
  - {id: U1, shop: S1, role: cs_agent}
buyers: [B1]
orders:
  - {id: O1, shop: S1, buyer: B1, amount: "99.00", signed_at: "-2d"}
steps:
  - at: "+1h"
    as: buyer:B1
    do: apply
    args: {order: O1, type: return_refund, reason: quality, evidence: [crack.jpg]}
    id: T1
  - at: "+48h"
    expect:
      - {ticket: T1, status: awaiting_return}
      - {event: {type: auto_approved, ticket: T1, rule: KS-RR-1}}
"""


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(cli.app, list(args), env=env)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


# -- scenario run ---------------------------------------------------------------------------------

def test_scenario_run_exits_0_when_every_expectation_holds(tmp_path: Path) -> None:
    result = invoke("scenario", "run", str(write(tmp_path, "pass.yaml", PASSING)))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("PASS ")
    assert "2 expectations held" in result.stdout


def test_scenario_run_exits_1_and_names_the_failed_expectation(tmp_path: Path) -> None:
    failing = PASSING.replace("{ticket: T1, status: awaiting_return}", "{ticket: T1, status: closed}")
    result = invoke("scenario", "run", str(write(tmp_path, "fail.yaml", failing)))
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("FAIL ")
    assert "1 of 2 expectations failed" in result.stdout
    assert "expected status = closed, found awaiting_return" in result.stdout


def test_scenario_run_exits_2_naming_the_field_and_line_of_an_invalid_file(tmp_path: Path) -> None:
    invalid = PASSING.replace('  - at: "+48h"', '  - at: "in two days"')  # line 17
    result = invoke("scenario", "run", str(write(tmp_path, "invalid.yaml", invalid)))
    assert result.exit_code == 2, result.output
    assert "line 17" in result.stderr
    assert ": at: not a time" in result.stderr


def test_scenario_run_exits_2_on_an_unknown_key(tmp_path: Path) -> None:
    invalid = PASSING.replace('amount: "99.00"', 'amout: "99.00"')
    result = invoke("scenario", "run", str(write(tmp_path, "typo.yaml", invalid)))
    assert result.exit_code == 2
    assert "line 10" in result.stderr and "amout" in result.stderr


def test_scenario_run_reports_every_file_and_exits_with_the_worst(tmp_path: Path) -> None:
    good = write(tmp_path, "pass.yaml", PASSING)
    bad = write(tmp_path, "fail.yaml", PASSING.replace("status: awaiting_return", "status: closed"))
    result = invoke("scenario", "run", str(good), str(bad))
    assert result.exit_code == 1
    assert [line.split()[0] for line in result.stdout.splitlines() if not line.startswith(" ")] == ["PASS", "FAIL"]


def test_scenario_run_json_prints_events_in_time_order_then_the_summary(tmp_path: Path) -> None:
    result = invoke("scenario", "run", "--json", str(write(tmp_path, "pass.yaml", PASSING)))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[-1] == {"result": "pass", "expectations": 2, "failed": 0}
    events = lines[:-1]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert {"at": "2026-03-04T10:00:00+08:00", "type": "auto_approved", "ticket": "T1", "order": "O1",
            "shop": "S1", "actor": "system", "rule": "KS-RR-1", "from": "pending_review",
            "to": "awaiting_return"}.items() <= next(e for e in events if e["type"] == "auto_approved").items()


def test_scenario_run_json_summary_counts_the_failures(tmp_path: Path) -> None:
    failing = PASSING.replace("{ticket: T1, status: awaiting_return}", "{ticket: T1, status: closed}")
    result = invoke("scenario", "run", "--json", str(write(tmp_path, "fail.yaml", failing)))
    assert result.exit_code == 1
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary == {"result": "fail", "expectations": 2, "failed": 1}


def test_the_shared_scenarios_run_from_the_command_line() -> None:
    files = sorted(str(p) for p in (SHARED / "scenarios").glob("ks_return_*.yaml"))
    result = invoke("scenario", "run", "--json", *files)
    assert result.exit_code == 0, result.output
    summaries = [json.loads(line) for line in result.stdout.splitlines() if '"result"' in line]
    assert len(summaries) == len(files) and all(s["result"] == "pass" for s in summaries)


# -- policy ---------------------------------------------------------------------------------------

def test_policy_show_lists_the_rules_with_their_ids() -> None:
    result = invoke("policy", "show", "kuaishou")
    assert result.exit_code == 0, result.output
    for text in ("KS-RR-1", "KS-RR-2", "KS-RR-3", "GEN-ORD-1", "return_refund.review", "48 h", "version 2026.1",
                 "effective from 2024-01-01"):
        assert text in result.stdout


def test_policy_show_a_version_or_the_one_in_force_at_a_time() -> None:
    assert "DY-RR-2" in invoke("policy", "show", "douyin", "--version", "2026.1").stdout
    assert invoke("policy", "show", "douyin", "--at", "2026-03-02T09:00:00+08:00").exit_code == 0
    unknown = invoke("policy", "show", "douyin", "--version", "1999.1")
    assert unknown.exit_code == 2 and "1999.1" in unknown.stderr


def test_policy_show_explains_the_shared_ids_a_pack_declares() -> None:
    """Douyin applies Kuaishou's 48 h review as GEN-RR-1: the table says what it is like, and a second
    table gives each declared ID's title in both languages."""
    out = invoke("policy", "show", "douyin").stdout
    assert "GEN-RR-1 (as KS-RR-1)" in out and "GEN-PI-2 (as KS-PI-2)" in out
    assert "shared rule IDs douyin declares" in out
    assert "退货退款申请 48 小时内审核" in out and "the shop reviews a return & refund application" in out
    ks = invoke("policy", "show", "kuaishou").stdout
    assert "GEN-OP-9 (as DY-OP-9)" in ks and "shared rule IDs kuaishou declares" in ks


def test_policy_show_refuses_an_unknown_pack() -> None:
    result = invoke("policy", "show", "taobao")
    assert result.exit_code == 2
    assert "taobao" in result.stderr and "kuaishou" in result.stderr


def test_policy_list_names_the_built_in_packs() -> None:
    result = invoke("policy", "list")
    assert result.exit_code == 0
    assert "kuaishou" in result.stdout and "douyin" in result.stdout


def test_policy_check_accepts_a_valid_pack_and_names_the_field_of_an_invalid_one(tmp_path: Path) -> None:
    builtin = Path(cli.__file__).resolve().parents[1] / "policies" / "kuaishou.toml"
    assert invoke("policy", "check", str(builtin)).exit_code == 0
    broken = tmp_path / "broken.toml"
    broken.write_text(builtin.read_text(encoding="utf-8").replace('rule = "KS-RR-1"', 'rule = "review"'),
                      encoding="utf-8")
    result = invoke("policy", "check", str(broken))
    assert result.exit_code == 2
    assert "return_refund.review.rule" in result.stderr and "not a rule ID" in result.stderr
    douyin = Path(cli.__file__).resolve().parents[1] / "policies" / "douyin.toml"
    ok = invoke("policy", "check", str(douyin))
    assert ok.exit_code == 0 and "GEN-RR-1 (as KS-RR-1)" in ok.stdout
    borrowed = tmp_path / "borrowed.toml"  # a Kuaishou ID cited in the Douyin pack
    borrowed.write_text(douyin.read_text(encoding="utf-8").replace('rule = "GEN-RR-1"', 'rule = "KS-RR-1"'),
                        encoding="utf-8")
    result = invoke("policy", "check", str(borrowed))
    assert result.exit_code == 2 and "KS-RR-1 is not a rule of this pack" in result.stderr


# -- db, worker, token ----------------------------------------------------------------------------

def test_db_upgrade_creates_the_schema_and_current_reports_head(sqlite_url: str) -> None:
    before = invoke("db", "current", "--check", "--database-url", sqlite_url)
    assert before.exit_code == 2 and "no database at" in before.stderr  # and it creates none (test_cli_ops)
    result = invoke("db", "upgrade", "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "(head)" in result.stdout
    assert invoke("db", "upgrade", "--database-url", sqlite_url).exit_code == 0  # twice is fine
    current = invoke("db", "current", "--check", env={"SHOUHOU_DATABASE_URL": sqlite_url})
    assert current.exit_code == 0 and current.stdout.strip().endswith("(head)")


def test_db_revision_writes_a_migration_that_builds_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`shouhou db revision` on a migrations folder with no revisions yet: the file it writes must
    need no application import and must build exactly tables.py's schema."""
    package = Path(cli.__file__).resolve().parents[1] / "migrations"
    scripts = tmp_path / "migrations"
    (scripts / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(package / name, scripts / name)
    real = cli._alembic_config

    def scratch_config(url: str) -> Config:
        cfg = real(url)
        cfg.set_main_option("script_location", str(scripts))
        return cfg

    monkeypatch.setattr(cli, "_alembic_config", scratch_config)
    result = invoke("db", "revision", "-m", "everything")
    assert result.exit_code == 0, result.output
    (written,) = (scripts / "versions").glob("*.py")
    assert written.name == "0001_everything.py"
    source = written.read_text(encoding="utf-8")
    assert "shouhou" not in source and "sa.DateTime(timezone=True)" in source
    url = f"sqlite:///{tmp_path / 'built.db'}"
    command.upgrade(scratch_config(url), "head")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()
    again = invoke("db", "revision", "-m", "nothing")
    assert again.exit_code == 0 and "nothing to write" in again.stdout


def test_worker_refuses_a_database_that_was_not_migrated(sqlite_url: str) -> None:
    result = invoke("worker", "--once", "--database-url", sqlite_url)
    assert result.exit_code == 2
    assert "shouhou db upgrade" in result.stderr


def test_a_calendar_file_is_read_at_start_and_a_bad_one_stops_it(sqlite_url: str, tmp_path: Path) -> None:
    migrate(sqlite_url)
    good = write(tmp_path, "good.toml", "[2027]\nholidays = [2027-01-01]\nworkdays = [2027-02-20]\n")
    ok = invoke("worker", "--once", "--database-url", sqlite_url, env={"SHOUHOU_CALENDAR_FILE": str(good)})
    assert ok.exit_code == 0, ok.output
    bad = write(tmp_path, "bad.toml", "[2027]\nholidays = [2026-01-01]\n")
    result = invoke("worker", "--once", "--database-url", sqlite_url, env={"SHOUHOU_CALENDAR_FILE": str(bad)})
    assert result.exit_code == 2 and "another year" in result.stderr and "bad.toml" in result.stderr


def test_worker_once_fires_what_is_due_and_then_nothing(sqlite_url: str) -> None:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        # The demo as it was loaded three days ago: its short deadlines have all fallen due since.
        past = Shouhou.with_fakes(engine, VirtualClock(SystemClock().now() - timedelta(days=3)), PolicyRegistry.default(),
                       MemoryNotifier())
        load_demo(past)
    finally:
        engine.dispose()
    first = invoke("worker", "--once", "--batch", "3", "--database-url", sqlite_url)
    assert first.exit_code == 0, first.output
    fired = int(first.stdout.split()[-1])
    assert fired >= 5
    again = invoke("worker", "--once", "--database-url", sqlite_url)
    assert again.exit_code == 0 and again.stdout.strip() == "fired 0"


def test_token_create_prints_a_token_that_authenticates(sqlite_url: str) -> None:
    assert invoke("db", "upgrade", "--database-url", sqlite_url).exit_code == 0
    result = invoke("token", "create", "--platform", "platform_cs", "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    engine = make_engine(sqlite_url)
    try:
        app = Shouhou.with_fakes(engine, SystemClock(), PolicyRegistry.default())
        with app.uow(write=False) as uow:
            actor = actor_for_token(uow, token)
    finally:
        engine.dispose()
    assert actor is not None and actor.is_platform and actor.role == "platform_cs"


def test_token_create_needs_exactly_one_kind_and_a_known_actor(sqlite_url: str) -> None:
    assert invoke("db", "upgrade", "--database-url", sqlite_url).exit_code == 0
    both = invoke("token", "create", "--buyer", "B1", "--staff", "U1", "--database-url", sqlite_url)
    assert both.exit_code == 2
    unknown = invoke("token", "create", "--buyer", "nobody", "--database-url", sqlite_url)
    assert unknown.exit_code == 1 and "not_found" in unknown.stderr


# -- demo and serve -------------------------------------------------------------------------------

def _statuses(app: Shouhou) -> dict[str, str]:
    with app.uow(write=False) as uow:
        return {t.order_id: t.status for t in uow.tickets.where()}


def test_demo_loads_twice_and_leaves_tickets_in_every_waiting_state(app: Shouhou, clock: VirtualClock) -> None:
    first = load_demo(app)
    second = load_demo(app)
    assert first["created"] and not second["created"]
    assert first["tickets"] == second["tickets"]
    assert {"demo-platform", "demo-ks-owner", "demo-ks-agent", "demo-dy-owner", "demo-buyer-1"} <= set(first["tokens"])
    statuses = _statuses(app)
    assert {"pending_review", "awaiting_return", "awaiting_receipt", "rejected", "refunded"} <= set(statuses.values())
    with app.uow(write=False) as uow:
        orders = {o.status for o in uow.orders.where()}
        shops = {s.id: s for s in uow.shops.where()}
        roles = {(m.shop_id, m.role) for m in uow.staff.where()}
    assert {"paid", "shipped", "signed", "confirmed", "completed"} <= orders
    assert shops[KS_SHOP].policy == "kuaishou" and shops[DY_SHOP].policy == "douyin"
    assert all(s.return_address and s.wallet_fen > 0 and s.deposit_fen > 0 for s in shops.values())
    assert {(shop, role) for shop in (KS_SHOP, DY_SHOP) for role in ("owner", "admin", "cs_admin", "cs_agent")} <= roles


def test_demo_deadlines_fall_due_within_minutes_of_start(app: Shouhou, clock: VirtualClock) -> None:
    info = load_demo(app)
    soon = [t for t in info["tickets"] if t["due"] and t["due"] <= (clock.now() + timedelta(minutes=20)).isoformat()]
    assert len(soon) >= 3
    before = _statuses(app)
    loaded = clock.now()
    fired = app.tick(now=clock.now() + timedelta(minutes=20))
    assert fired >= len(soon)
    after = _statuses(app)
    assert all(after[t["order"]] != before[t["order"]] for t in soon)
    with app.uow(write=False) as uow:
        types = {e["type"] for e in uow.all_events() if e["at"] > loaded}
    assert {"auto_approved", "auto_closed", "overdue_recorded"} <= types


def test_demo_slow_shop_is_under_the_first_measures_of_the_ladder(app: Shouhou) -> None:
    load_demo(app)
    with app.uow(write=False) as uow:
        records = [e for e in uow.events_for(shop_id=SLOW_SHOP) if e["type"] == "overdue_recorded"]
        applied = [e for e in uow.events_for(shop_id=SLOW_SHOP) if e["type"] == "measure_applied"]
        shop = uow.shops.get(SLOW_SHOP)
        in_force = governance.measures_in_force(uow, SLOW_SHOP)
    assert len(records) == 10 and {e["rule"] for e in records} == {"KS-GOV-1"}
    # the fifth record brings the warning, the tenth forced study, each at its record's own time
    assert [(e["payload"]["measure"], e["at"]) for e in applied] == [
        ("warning", records[4]["at"]), ("forced_study", records[9]["at"])]
    assert in_force == ["warning", "forced_study"]
    assert shop is not None and shop.refund_handling == "enabled"


def test_demo_tokens_act_for_their_holders(app: Shouhou) -> None:
    load_demo(app)
    with app.uow(write=False) as uow:
        owner = actor_for_token(uow, "demo-ks-owner")
        buyer = actor_for_token(uow, "demo-buyer-1")
        platform = actor_for_token(uow, "demo-platform")
    assert owner is not None and owner.shop_id == KS_SHOP and owner.role == "owner"
    assert buyer is not None and buyer.is_buyer and buyer.id == "buyer-1"
    assert platform is not None and platform.is_platform


@pytest.fixture
def no_uvicorn(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    fake: Callable[..., None] = lambda app, **kw: calls.append({"app": app, **kw})  # noqa: E731
    monkeypatch.setattr(serving.uvicorn, "run", fake)
    return calls


def test_serve_demo_migrates_loads_and_prints_tokens_and_a_curl_line(
    sqlite_url: str, no_uvicorn: list[dict[str, Any]],
) -> None:
    result = invoke("serve", "--demo", "--port", "8123", "--database-url", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "demo data: loaded" in result.stdout
    assert "demo-ks-owner" in result.stdout and "demo-buyer-1" in result.stdout
    assert "curl -s -H 'Authorization: Bearer demo-ks-owner' 'http://127.0.0.1:8123/v1/tickets?status=pending_review'" \
        in result.stdout
    (call,) = no_uvicorn
    assert isinstance(call["app"], FastAPI) and call["port"] == 8123 and call["host"] == "127.0.0.1"
    again = invoke("serve", "--demo", "--database-url", sqlite_url)
    assert again.exit_code == 0 and "already there" in again.stdout


def test_serve_refuses_a_bad_database_url(no_uvicorn: list[dict[str, Any]]) -> None:
    result = invoke("serve", "--database-url", "mysql://root@localhost/x")
    assert result.exit_code == 2
    assert "SHOUHOU_DATABASE_URL" in result.stderr
    assert no_uvicorn == []


def test_demo_has_orders_of_several_lines_with_a_gift_and_a_partial_ticket(app: Shouhou, clock: VirtualClock) -> None:
    """GEN-APPLY-7 in the demo: orders of several lines (a gift among them), a refund on one tee."""
    load_demo(app)
    with app.uow(write=False) as uow:
        orders = {o.id: o for o in uow.orders.where()}
        tickets = {t.order_id: t for t in uow.tickets.where()}
    several = [o for o in orders.values() if len(o.lines) > 1]
    assert len(several) >= 3 and any(line.kind == "gift" for o in several for line in o.lines)
    tee = orders["KS-1107"].lines[0]
    assert (tee.sku, tee.refunded_fen, tee.qty_left) == ("KS-TEE-M", 3000, 2)
    assert [(c.sku, c.qty) for c in tickets["KS-1107"].lines] == [("KS-TEE-M", 1)]


def test_demo_shows_seed_004_rulings_and_their_remedies(app: Shouhou, clock: VirtualClock) -> None:
    """KS-PI-4, -5, -6 in the demo: a reship due hours after start, a claimed compensation (a
    delayed-shipment record, KS-GOV-5) and an open retrieval task; and the fast lanes."""
    load_demo(app)
    with app.uow(write=False) as uow:
        tickets = {t.order_id: t for t in uow.tickets.where()}
        made = {r.finding: r for r in uow.remedies.where()}
        delayed = [e for e in uow.events_for(shop_id=KS_SHOP) if e["type"] == "delayed_shipment"]
    assert set(made) == {"missing_items", "wrong_item", "unjustified_rejection"}
    reship = tickets["KS-1002"]
    assert (reship.status, reship.due_action) == ("awaiting_replacement", "reship_late")
    assert reship.due_at is not None and clock.now() < reship.due_at <= clock.now() + timedelta(hours=5)
    assert made["wrong_item"].claimed_at is not None and len(delayed) == 1
    assert made["unjustified_rejection"].retrieval == "open" and tickets["KS-1111"].status == "refunded"
    with app.uow(write=False) as uow:
        rules = uow.automation_rules(KS_SHOP)
        complaints = uow.complaints.where()
    assert [r["id"] for r in rules] == ["small-unshipped-refunds", "snacks-back"]  # GEN-AUTO-1
    assert [(x.order_id, x.status) for x in complaints] == [("KS-1106", "open")]
    # RULES §10: a fast refund, a made-to-order item left to the shop, a Douyin advance
    assert tickets["KS-1112"].status == "refunded" and tickets["KS-1113"].status == "pending_review"
    assert tickets["DY-2107"].status == "awaiting_receipt" and tickets["DY-2107"].advanced_fen == 129_900
    # the README's lines: find the ticket, read its remedy, say the belt and socks cannot be reshipped
    ks = {"Authorization": "Bearer demo-ks-owner"}
    with TestClient(create_app(app)) as client:
        t4 = client.get("/v1/tickets?order=KS-1002", headers=ks).json()["items"][0]["id"]
        assert client.get(f"/v1/tickets/{t4}/intervention", headers=ks).json()["remedy"]["finding"] == "missing_items"
        done = client.post(f"/v1/tickets/{t4}/cannot-reship", headers=ks)
        assert done.status_code == 200 and done.json()["status"] == "refunded"
