"""The shop's money through HTTP: balances derived from the journal, the statement with filters and
CSV, top-ups recovering debt, and the exit check (KS-EXIT-1) guarding deposit withdrawal."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.entrypoints.api import create_app
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(app: Shouhou, clock: VirtualClock) -> Iterator[tuple[TestClient, Shouhou, VirtualClock]]:
    app.handle(c.CreateShop("S1", "S1", "douyin", wallet_fen=3000, deposit_fen=5000), PLATFORM)
    app.handle(c.CreateShop("S2", "S2", "kuaishou"), PLATFORM)
    for mid, sid, role in (("OWN", "S1", "owner"), ("AG", "S1", "cs_agent"), ("OWN2", "S2", "owner")):
        app.handle(c.AddStaff(mid, sid, role), PLATFORM)
    app.handle(c.AddBuyer("B1"), PLATFORM)
    for token, kind, ident in (("own", "staff", "OWN"), ("ag", "staff", "AG"), ("own2", "staff", "OWN2"),
                               ("b1", "buyer", "B1")):
        app.handle(c.IssueToken(kind, ident, token=token), PLATFORM)
    now = clock.now()
    app.handle(c.ImportOrder("S1", "B1", 12000, id="OLD", commission={"tech_fee": "0.05"},
                             created_at=now - timedelta(days=40), shipped_at=now - timedelta(days=39),
                             signed_at=now - timedelta(days=37), confirmed_at=now - timedelta(days=30)), PLATFORM)
    app.handle(c.ImportOrder("S1", "B1", 10000, id="NEW", commission={"tech_fee": "0.05"},
                             created_at=now - timedelta(days=5), shipped_at=now - timedelta(days=4),
                             signed_at=now - timedelta(days=2), confirmed_at=now - timedelta(days=1)), PLATFORM)
    with TestClient(create_app(app)) as client:
        yield client, app, clock


def over_period_refund(client: TestClient, order: str = "OLD") -> dict[str, Any]:
    assert client.post(f"/v1/orders/{order}/entry/open", headers=h("ag")).status_code == 200
    t = client.post(f"/v1/orders/{order}/tickets", json={"type": "refund_only", "reason": "other"}, headers=h("b1"))
    assert t.status_code == 201, t.text
    r = client.post(f"/v1/tickets/{t.json()['id']}/approve", json={}, headers=h("ag"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_balances_and_debt_follow_the_DY_OP_9_waterfall(world: Any) -> None:
    client, app, clock = world
    assert client.get("/v1/shops/S1/balances", headers=h("ag")).json() == {
        "shop": "S1", "wallet": "30.00", "deposit": "50.00", "debt": "0.00", "pending_payouts": 0,
        "pending_clawbacks": 0}
    ticket = over_period_refund(client)
    funded = [e for e in ticket["timeline"] if e["type"] == "refund_funded"][0]
    assert funded["payload"]["sources"] == {"wallet": "30.00", "deposit": "50.00", "advance": "40.00"}
    b = client.get("/v1/shops/S1/balances", headers=h("own")).json()
    assert (b["wallet"], b["deposit"], b["debt"], b["pending_payouts"]) == ("0.00", "0.00", "40.00", 1)
    app.tick()
    assert client.get("/v1/shops/S1/balances", headers=h("own")).json()["pending_payouts"] == 0
    paid = client.get(f"/v1/tickets/{ticket['id']}", headers=h("b1")).json()["timeline"]
    assert "refund_paid" in [e["type"] for e in paid]


def test_top_up_recovers_debt_first(world: Any) -> None:
    client, *_ = world
    over_period_refund(client)
    r = client.post("/v1/shops/S1/top-up", json={"account": "deposit", "amount": "100.00"}, headers=h("own"))
    assert r.status_code == 200
    assert (r.json()["deposit"], r.json()["debt"]) == ("60.00", "0.00")
    denied = client.post("/v1/shops/S1/top-up", json={"account": "wallet", "amount": "1.00"}, headers=h("ag"))
    assert denied.status_code == 403
    bad = client.post("/v1/shops/S1/top-up", json={"account": "savings", "amount": "1.00"}, headers=h("own"))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"


def test_statement_filters_and_csv(world: Any) -> None:
    client, app, clock = world
    over_period_refund(client)
    clock.advance(timedelta(days=7))
    app.tick()  # NEW completes and settles: 100.00 - 5.00 TR = 95.00, 40.00 of it pays the debt
    body = client.get("/v1/shops/S1/statement", headers=h("own")).json()
    kinds = [(x["kind"], x["account"], x["amount"]) for x in body["lines"]]
    assert ("opening", "wallet", "30.00") in kinds and ("refund", "deposit", "-50.00") in kinds
    assert ("advance_compensation", "debt", "40.00") in kinds  # owed 40.00 more
    assert ("settlement", "debt", "-40.00") in kinds and ("settlement", "wallet", "55.00") in kinds
    only_wallet = client.get("/v1/shops/S1/statement?account=wallet&kind=settlement", headers=h("own")).json()
    assert [(x["kind"], x["amount"], x["order"]) for x in only_wallet["lines"]] == [("settlement", "55.00", "NEW")]
    r = client.get("/v1/shops/S1/statement?format=csv", headers=h("own"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == body["total"] and rows[0]["kind"] == "opening"
    assert r.headers["x-total-count"] == str(body["total"]) and body["total"] > 2
    # JSON pages (200 lines unless told); the CSV export holds every line unless a limit is given
    assert len(client.get("/v1/shops/S1/statement?limit=2", headers=h("own")).json()["lines"]) == 2
    two = client.get("/v1/shops/S1/statement?format=csv&limit=2", headers=h("own"))
    assert len(list(csv.DictReader(io.StringIO(two.text)))) == 2 and two.headers["x-total-count"] == str(body["total"])
    assert client.get("/v1/shops/S1/statement", headers=h("own2")).status_code == 404
    assert client.get("/v1/shops/S1/statement?account=escrow", headers=h("own")).status_code == 422


def test_exit_check_lists_every_blocker_and_guards_the_deposit(world: Any) -> None:
    client, app, clock = world
    check = client.get("/v1/shops/S1/exit-check", headers=h("own")).json()
    assert check["passed"] is False and check["rule"] == "GEN-EXIT-1"  # S1 is Douyin's: KS-EXIT-1 as a shared ID
    assert {(b["kind"], b["id"]) for b in check["blocking"]} == {("order", "OLD"), ("order", "NEW")}
    r = client.post("/v1/shops/S1/deposit/withdraw", json={"amount": "10.00"}, headers=h("own"))
    assert r.status_code == 422 and r.json()["code"] == "ineligible" and r.json()["rules"] == ["GEN-EXIT-1"]
    assert "OLD" in r.json()["message_en"] and "NEW" in r.json()["message_en"]
    clock.advance(timedelta(days=37))
    app.tick()
    assert client.get("/v1/shops/S1/exit-check", headers=h("own")).json()["passed"] is True
    assert client.post("/v1/shops/S1/deposit/withdraw", json={"amount": "10.00"}, headers=h("ag")).status_code == 403
    too_much = client.post("/v1/shops/S1/deposit/withdraw", json={"amount": "50.01"}, headers=h("own"))
    assert too_much.status_code == 422
    ok = client.post("/v1/shops/S1/deposit/withdraw", json={"amount": "50.00"}, headers=h("own"))
    assert ok.status_code == 200 and ok.json()["deposit"] == "0.00"


def test_an_open_ticket_blocks_exit(world: Any) -> None:
    client, app, clock = world
    clock.advance(timedelta(days=40))
    app.tick()
    assert client.get("/v1/shops/S1/exit-check", headers=h("own")).json()["passed"] is True
    assert client.post("/v1/orders/OLD/entry/open", headers=h("ag")).status_code == 200
    t = client.post("/v1/orders/OLD/tickets", json={"type": "refund_only", "reason": "other"}, headers=h("b1"))
    check = client.get("/v1/shops/S1/exit-check", headers=h("own")).json()
    assert check["passed"] is False
    assert [(b["kind"], b["id"]) for b in check["blocking"]] == [("ticket", t.json()["id"]), ("entry", "OLD")]


def test_what_can_still_become_a_ticket_or_a_dispute_blocks_exit(world: Any) -> None:
    """KS-EXIT-1's 'no after-sales open' covers what is one step from a ticket or a dispute: a buyer's
    unanswered request to open the entry (DY-OP-6), an open entry (DY-OP-6's 5 days), a rejection the
    buyer may still take to the platform (DY-RR-3's 48 h)."""
    client, app, clock = world
    clock.advance(timedelta(days=40))
    app.tick()
    assert client.get("/v1/shops/S1/exit-check", headers=h("own")).json()["passed"] is True

    def blockers() -> list[tuple[str, str, str]]:
        check = client.get("/v1/shops/S1/exit-check", headers=h("own")).json()
        assert check["passed"] is (not check["blocking"])
        return [(b["kind"], b["id"], b["rule"]) for b in check["blocking"]]

    req = client.post("/v1/orders/OLD/entry/requests", json={"note": "还想退"}, headers=h("b1"))
    assert req.status_code == 201, req.text
    assert blockers() == [("reopen_request", req.json()["id"], "DY-OP-6")]
    r = client.post("/v1/shops/S1/deposit/withdraw", json={"amount": "10.00"}, headers=h("own"))
    assert r.status_code == 422 and r.json()["rules"] == ["GEN-EXIT-1", "DY-OP-6"]
    assert client.post("/v1/orders/OLD/entry/open", headers=h("own")).status_code == 200
    assert blockers() == [("entry", "OLD", "DY-OP-6")]  # the request is answered by the opening
    t = client.post("/v1/orders/OLD/tickets", json={"type": "refund_only", "reason": "other"}, headers=h("b1")).json()
    rej = client.post(f"/v1/tickets/{t['id']}/reject", json={"reason": "已超出承诺范围"}, headers=h("own"))
    assert rej.status_code == 200, rej.text
    assert blockers() == [("ticket", t["id"], "DY-RR-3"), ("entry", "OLD", "DY-OP-6")]
    clock.advance(timedelta(hours=48))  # DY-RR-3's window is over: the rejection stands
    assert blockers() == [("entry", "OLD", "DY-OP-6")]
    clock.advance(timedelta(days=3))
    app.tick()  # DY-OP-6: the entry closed 5 days after it opened
    assert blockers() == []
    assert client.post("/v1/shops/S1/deposit/withdraw", json={"amount": "10.00"}, headers=h("own")).status_code == 200
