"""Merchant governance over HTTP (RULES §9): the shop's governance page with its score inputs and the
effects in force, the platform's report (JSON and CSV), cart suspension refusing order creation,
lifting by platform staff only, appeals, and tenancy on every route."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from shouhou.adapters.db import make_engine, migrate
from shouhou.clock import VirtualClock
from shouhou.entrypoints import cli
from shouhou.entrypoints.api import create_app
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, START
from ..integration.test_governance import BUYER, DUE, late_ticket, make_shop, seed_history

D = timedelta(days=1)
TOKENS = {"plat": ("platform", "ops", "platform_operator"), "own": ("staff", "OWN", None),
          "ag": ("staff", "AG", None), "own2": ("staff", "OWN2", None), "b1": ("buyer", "B1", None)}


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(app: Shouhou, clock: VirtualClock) -> Iterator[tuple[TestClient, Shouhou, VirtualClock]]:
    for shop in ("S1", "S2"):
        app.handle(c.CreateShop(shop, shop, "kuaishou", wallet_fen=300_000, deposit_fen=200_000), PLATFORM,
                   now=START - 10 * D)
    for mid, shop, staff_role in (("OWN", "S1", "owner"), ("AG", "S1", "cs_agent"), ("OWN2", "S2", "owner")):
        app.handle(c.AddStaff(mid, shop, staff_role), PLATFORM, now=START - 10 * D)
    app.handle(c.AddBuyer(BUYER.id), PLATFORM, now=START - 10 * D)
    for token, (kind, ident, role) in TOKENS.items():
        app.handle(c.IssueToken(kind, ident, role, token=token), PLATFORM, now=START - 10 * D)
    # S1: 99 overdue records of 190 applications, then the engine's 100th at DUE: high risk (KS-GOV-4)
    seed_history(app.engine, "S1", applications=190, overdue=99, created=START - 6 * D, overdue_at=START - 4 * D)
    app.handle(c.ImportOrder("S1", "B1", 6_600, id="EARLY", created_at=START - 5 * D, shipped_at=START - 4 * D,
                             signed_at=START - 3 * D), PLATFORM, now=START)  # bought before the cart stopped
    late_ticket(app, "LATE")
    app.tick(DUE)
    clock.set(DUE + timedelta(hours=1))
    with TestClient(create_app(app)) as client:
        yield client, app, clock


def _measure(client: TestClient, name: str) -> dict[str, Any]:
    page = client.get("/v1/shops/S1/measures?status=active", headers=h("own")).json()
    found: dict[str, Any] = next(m for m in page["items"] if m["measure"] == name)
    return found


def test_the_shop_sees_its_metrics_score_inputs_and_the_effects_in_force(world: Any) -> None:
    client, *_ = world
    r = client.get("/v1/shops/S1/governance", headers=h("ag"))
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["metrics"]["overdue"] == 100 and v["metrics"]["applications"] == 191
    assert v["window"] == {"start": (DUE + timedelta(hours=1) - 30 * D).isoformat(),
                           "end": (DUE + timedelta(hours=1)).isoformat(), "days": 30, "rule": "KS-GOV-2"}
    assert v["measures_in_force"][-1] == v["step"] == "high_risk"
    assert (v["refund_handling"], v["refund_handling_rule"], v["cart_suspended"], v["freight_claims_by_platform"],
            v["points_deducted"]) == ("disabled", "KS-GOV-4", True, True, 10)
    score = v["score"]
    assert score["rule"] == "KS-GOV-2" and {x["metric"] for x in score["inputs"]} == {
        "overdue_rate", "intervention_rate", "fault_rate"}
    assert (score["value"], v["level"], score["unrounded"]) == (38, "L1", "37.6440")  # 100 - 100 x 100/191 - 10
    hr = next(m for m in v["measures"] if m["measure"] == "high_risk")
    assert hr["rule"] == "KS-GOV-4" and hr["ends_at"] is None and hr["snapshot"]["metrics"]["overdue"] == 100
    assert all(rung["reached"] for rung in v["ladder"])
    before = client.get("/v1/shops/S1/governance", params={"at": (START - D).isoformat()}, headers=h("own")).json()
    assert before["measures_in_force"] == [] and before["refund_handling"] == "enabled"  # as it stood then
    naive = client.get("/v1/shops/S1/governance?at=2026-03-01T09:00:00", headers=h("own"))
    assert naive.status_code == 422


def test_other_shops_and_buyers_see_nothing(world: Any) -> None:
    client, *_ = world
    mid = _measure(client, "warning")["id"]
    for token in ("own2", "b1"):
        for path in ("/v1/shops/S1/governance", "/v1/shops/S1/measures", f"/v1/measures/{mid}"):
            r = client.get(path, headers=h(token))
            assert (r.status_code, r.json()["code"]) == (404, "not_found"), (token, path)
    r = client.post(f"/v1/measures/{mid}/appeals", json={"reason": "x"}, headers=h("own2"))
    assert r.status_code == 404
    assert client.get("/v1/governance/report", headers=h("b1")).status_code == 403
    own = client.post("/v1/shops/S1/governance/evaluate", headers=h("own"))
    assert own.status_code == 403 and own.json()["rules"] == ["KS-GOV-3"]  # its own shop: may see, not judge
    assert client.post("/v1/shops/S1/governance/evaluate", headers=h("own2")).status_code == 404  # another's


def test_the_report_shows_every_shop_to_the_platform_and_its_own_row_to_a_shop(world: Any) -> None:
    client, *_ = world
    everyone = client.get("/v1/governance/report?sort=overdue_rate", headers=h("plat")).json()
    assert [r["shop"] for r in everyone["rows"]] == ["S1", "S2"]
    s1 = everyone["rows"][0]
    assert (s1["overdue"], s1["step"], s1["refund_handling"], s1["level"]) == (100, "high_risk", "disabled", "L1")
    assert everyone["windows"] == {"kuaishou": {"days": 30, "rule": "KS-GOV-2"}}
    asc = client.get("/v1/governance/report?sort=score&order=asc&limit=1", headers=h("plat")).json()
    assert [r["shop"] for r in asc["rows"]] == ["S1"] and asc["total"] == 2
    own = client.get("/v1/governance/report", headers=h("own2")).json()
    assert [r["shop"] for r in own["rows"]] == ["S2"]
    r = client.get("/v1/governance/report?format=csv&sort=shop&order=asc", headers=h("plat"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["shop"] for x in rows] == ["S1", "S2"] and rows[0]["measures"].split(";")[-1] == "high_risk"
    bad = client.get("/v1/governance/report?sort=nope", headers=h("plat"))
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")


def test_cart_suspension_refuses_order_creation(world: Any) -> None:
    client, *_ = world
    body = {"shop": "S1", "buyer": "B1", "amount": "10.00"}
    r = client.post("/v1/orders", json=body, headers=h("plat"))
    assert r.status_code == 422, r.text
    err = r.json()
    assert (err["code"], err["rules"]) == ("ineligible", ["KS-GOV-3"])
    assert "购物车" in err["message_zh"] and "shopping cart is suspended" in err["message_en"]
    assert client.post("/v1/orders", json={**body, "shop": "S2"}, headers=h("plat")).status_code == 201


def test_in_high_risk_an_application_is_refunded_at_once(world: Any) -> None:
    client, *_ = world
    t = client.post("/v1/orders/EARLY/tickets", json={"type": "return_refund", "reason": "no_reason"}, headers=h("b1"))
    assert t.status_code == 201, t.text
    ticket = t.json()
    assert (ticket["status"], ticket["refunded"], ticket["due"]) == ("refunded", "66.00", None)
    approved = [e for e in ticket["timeline"] if e["type"] == "auto_approved"]
    assert [(e["rule"], e["actor"]) for e in approved] == [("KS-GOV-4", "system")]
    funded = [e for e in ticket["timeline"] if e["type"] == "refund_funded"]
    assert funded and funded[0]["payload"]["amount"] == "66.00"
    r = client.post("/v1/orders", json={"shop": "S2", "buyer": "B1", "amount": "10.00", "id": "S2O"}, headers=h("plat"))
    assert r.status_code == 201
    t2 = client.post("/v1/orders/S2O/tickets", json={"type": "refund_only", "reason": "other"}, headers=h("b1"))
    assert t2.json()["status"] == "pending_review"  # S2 still handles its own refunds


def test_only_platform_staff_lift_and_only_with_a_reason(world: Any) -> None:
    client, *_ = world
    mid = _measure(client, "high_risk")["id"]
    assert client.post(f"/v1/measures/{mid}/lift", json={"reason": "x"}, headers=h("own")).status_code == 403
    missing = client.post(f"/v1/measures/{mid}/lift", json={}, headers=h("plat"))
    assert (missing.status_code, missing.json()["code"]) == (422, "invalid_input")
    blank = client.post(f"/v1/measures/{mid}/lift", json={"reason": " "}, headers=h("plat"))
    assert (blank.status_code, blank.json()["rules"]) == (422, ["KS-GOV-4"])
    r = client.post(f"/v1/measures/{mid}/lift", json={"reason": "整改完成 rectified"}, headers=h("plat"))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["end_reason"], r.json()["end_note"]) == ("lifted", "lifted", "整改完成 rectified")
    v = client.get("/v1/shops/S1/governance", headers=h("own")).json()
    assert v["refund_handling"] == "enabled" and "high_risk" not in v["measures_in_force"]
    again = client.post(f"/v1/measures/{mid}/lift", json={"reason": "x"}, headers=h("plat"))
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")


def test_the_shop_appeals_and_the_platform_decides(world: Any) -> None:
    client, *_ = world
    mid = _measure(client, "freight_by_platform")["id"]
    assert client.post(f"/v1/measures/{mid}/appeals", json={"reason": "x"}, headers=h("ag")).status_code == 403
    r = client.post(f"/v1/measures/{mid}/appeals", json={"reason": "运费争议已处理 settled"}, headers=h("own"))
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert (appeal["status"], appeal["filed_by"]) == ("pending", "staff:OWN")
    assert [a["id"] for a in client.get("/v1/measure-appeals?status=pending", headers=h("plat")).json()["items"]] == [
        appeal["id"]]
    assert client.get("/v1/measure-appeals", headers=h("own2")).json()["items"] == []
    assert client.post(f"/v1/measure-appeals/{appeal['id']}/decision", json={"upheld": True},
                       headers=h("own")).status_code == 403
    r = client.post(f"/v1/measure-appeals/{appeal['id']}/decision", json={"upheld": True, "answer": "属实"},
                    headers=h("plat"))
    assert r.status_code == 200 and r.json()["status"] == "upheld"
    m = client.get(f"/v1/measures/{mid}", headers=h("own")).json()
    assert m["status"] == "voided" and m["appeals"][0]["answer"] == "属实"
    assert client.get("/v1/shops/S1/governance", headers=h("own")).json()["freight_claims_by_platform"] is False


# -- the command line: `shouhou governance report` ----------------------------------------------------

def test_cli_governance_report_as_table_csv_and_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate(url)
    app = Shouhou.with_fakes(make_engine(url), VirtualClock(START), PolicyRegistry.default())
    make_shop(app, "S1")
    make_shop(app, "S2")
    seed_history(app.engine, "S1", applications=29, overdue=11, created=START - 5 * D, overdue_at=START - 3 * D)
    late_ticket(app, "O1")
    app.tick(DUE)
    app.engine.dispose()
    runner = CliRunner()
    base = ["governance", "report", "--database-url", url, "--at", DUE.isoformat()]
    as_json = runner.invoke(cli.app, [*base, "--format", "json", "--sort", "score", "--asc"])
    assert as_json.exit_code == 0, as_json.output
    view = json.loads(as_json.output)
    assert [r["shop"] for r in view["rows"]] == ["S1", "S2"] and view["descending"] is False
    assert (view["rows"][0]["overdue"], view["rows"][0]["measures"]) == (12, ["warning", "forced_study"])
    as_csv = runner.invoke(cli.app, [*base, "--format", "csv", "--sort", "shop", "--asc", "--limit", "1"])
    assert as_csv.exit_code == 0 and as_csv.output.splitlines()[1].startswith("S1,S1,kuaishou@2026.1,L2,60,30,12,")
    table = runner.invoke(cli.app, base)
    assert table.exit_code == 0 and "forced_study" in table.output and "KS-GOV-2" in table.output
    bad = runner.invoke(cli.app, [*base, "--sort", "bogus"])
    assert bad.exit_code == 2 and "cannot sort by 'bogus'" in bad.output


def test_cli_governance_check_finds_a_counter_out_of_step_and_rebuild_mends_it(tmp_path: Path) -> None:
    """The counters the metrics are read from agree with a scan of the rows; one changed behind the
    triggers' back is found (exit 1, the shop and the field named), and --rebuild mends it."""
    url = f"sqlite:///{tmp_path / 'check.db'}"
    migrate(url)
    app = Shouhou.with_fakes(make_engine(url), VirtualClock(START), PolicyRegistry.default())
    make_shop(app, "S1")
    seed_history(app.engine, "S1", applications=9, overdue=4, created=START - 5 * D, overdue_at=START - 3 * D)
    late_ticket(app, "O1")
    app.tick(DUE)
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE gov_daily SET applications = applications + 1 WHERE shop_id = 'S1'"))
    app.engine.dispose()
    runner = CliRunner()
    base = ["governance", "check", "--database-url", url, "--at", DUE.isoformat()]
    off = runner.invoke(cli.app, base)
    assert off.exit_code == 1 and "S1: applications" in off.output and "1 shop(s) differ" in off.output
    mended = runner.invoke(cli.app, [*base, "--rebuild"])
    assert mended.exit_code == 0, mended.output
    assert "counters rebuilt" in mended.output and "counters agree" in mended.output
    assert runner.invoke(cli.app, base).exit_code == 0
