"""Seed 004's rulings through HTTP (KS-PI-4, -5, -6): a finding and the lines it is about in the
ruling, the remedy on the case, the shop's and the buyer's follow-up actions, the shop's card, and
the error envelope for what a finding may not take."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import SHANGHAI, VirtualClock
from shouhou.domain.lines import OrderLine
from shouhou.entrypoints.api import create_app
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(app: Shouhou, clock: VirtualClock) -> Iterator[tuple[TestClient, Shouhou, VirtualClock]]:
    clock.set(datetime(2026, 9, 1, 9, 0, tzinfo=SHANGHAI))
    app.handle(c.CreateShop("S1", "S1", "kuaishou", wallet_fen=50_000, return_address="杭州 1 号仓"), PLATFORM)
    app.handle(c.AddStaff("U1", "S1", "cs_agent"), PLATFORM)
    app.handle(c.AddBuyer("B1"), PLATFORM)
    for token, kind, ident, role in (("u1", "staff", "U1", None), ("b1", "buyer", "B1", None),
                                     ("cs", "platform", "CS1", "platform_cs")):
        app.handle(c.IssueToken(kind, ident, role, token=token), PLATFORM)
    now = clock.now()
    lines = (OrderLine("CASE-1", "手机壳", 1, 8_000, 8_000), OrderLine("FILM-1", "贴膜", 1, 0, 1_500, "gift"))
    for oid in ("O1", "O2"):
        app.handle(c.ImportOrder("S1", "B1", 8_000, id=oid, created_at=now - timedelta(days=5), lines=lines,
                                 shipped_at=now - timedelta(days=4), signed_at=now - timedelta(days=2)), PLATFORM)
    with TestClient(create_app(app)) as client:
        yield client, app, clock


def in_intervention(client: TestClient, order: str, reason: str) -> str:
    t = client.post(f"/v1/orders/{order}/tickets", json={"type": "refund_only", "reason": reason},
                    headers=h("b1")).json()
    assert client.post(f"/v1/tickets/{t['id']}/reject", json={"reason": "已核对"}, headers=h("u1")).status_code == 200
    assert client.post(f"/v1/tickets/{t['id']}/intervention", json={}, headers=h("b1")).status_code == 200
    assert client.post(f"/v1/tickets/{t['id']}/intervention/respond", headers=h("cs")).status_code == 200
    return t["id"]  # type: ignore[no-any-return]


def test_a_missing_gift_is_compensated_at_its_listed_price_when_the_shop_cannot_reship(world: Any) -> None:
    client, app, clock = world
    tid = in_intervention(client, "O1", "missing_items")
    bad = client.post(f"/v1/tickets/{tid}/intervention/ruling",
                      json={"in_favour_of": "buyer", "finding": "missing_items", "amount": "5.00"}, headers=h("cs"))
    assert bad.status_code == 422 and bad.json()["rules"] == ["KS-PI-4"]
    r = client.post(f"/v1/tickets/{tid}/intervention/ruling",
                    json={"in_favour_of": "buyer", "finding": "missing_items", "lines": [{"sku": "FILM-1", "qty": 1}]},
                    headers=h("cs"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "awaiting_replacement" and r.json()["type"] == "reship"
    case = client.get(f"/v1/tickets/{tid}/intervention", headers=h("u1")).json()
    assert case["remedy"]["finding"] == "missing_items" and case["remedy"]["lines"] == [{"sku": "FILM-1", "qty": 1}]
    assert case["ruling"]["rule"] == "KS-PI-4"
    assert client.post(f"/v1/tickets/{tid}/cannot-reship", headers=h("b1")).status_code == 403
    r = client.post(f"/v1/tickets/{tid}/cannot-reship", headers=h("u1"))
    assert r.status_code == 200 and r.json()["status"] == "completed"  # nothing was paid for the gift
    shop = client.get("/v1/shops/S1", headers=h("u1")).json()
    assert shop["wallet"] == "485.00"  # the gift's listed ¥15, borne by the shop
    events = [e["type"] for e in client.get(f"/v1/tickets/{tid}/events", headers=h("u1")).json()["items"]]
    assert "priority_compensation" in events and "compensated" in events


def test_wrong_item_claim_and_unjustified_rejection_retrieval(world: Any) -> None:
    client, app, clock = world
    wrong = in_intervention(client, "O1", "wrong_item")
    r = client.post(f"/v1/tickets/{wrong}/intervention/ruling",
                    json={"in_favour_of": "buyer", "finding": "wrong_item", "remedy": "exchange"}, headers=h("cs"))
    assert r.status_code == 200 and r.json()["type"] == "exchange"
    assert client.post(f"/v1/tickets/{wrong}/compensation-claim", headers=h("b1")).status_code == 200
    again = client.post(f"/v1/tickets/{wrong}/compensation-claim", headers=h("b1"))
    assert again.status_code == 409 and again.json()["rules"] == ["KS-PI-5"]
    shop = client.get("/v1/shops/S1", headers=h("u1")).json()
    assert shop["delayed_shipments"] == 1 and shop["wallet"] == "496.00"  # 5 % of ¥80 is ¥4 (min ¥3)
    # KS-GOV-5: counted in the 30-day metrics like an overdue record, so in the rate and the score
    gov = client.get("/v1/shops/S1/governance", headers=h("u1")).json()
    assert gov["metrics"]["delayed_shipments"] == 1 and gov["metrics"]["overdue"] == 1
    assert gov["metrics"]["overdue_rate"] == 1.0  # one record on the one application
    overdue_input = next(x for x in gov["score"]["inputs"] if x["metric"] == "overdue_rate")
    assert overdue_input["value"] == "1.0000" and gov["score"]["value"] < 100

    other = in_intervention(client, "O2", "other")
    r = client.post(f"/v1/tickets/{other}/intervention/ruling",
                    json={"in_favour_of": "buyer", "finding": "unjustified_rejection"}, headers=h("cs"))
    assert r.status_code == 200 and r.json()["status"] == "refunded"
    assert client.get("/v1/shops/S1", headers=h("u1")).json()["open_retrievals"] == 1
    assert client.post(f"/v1/tickets/{other}/goods-retrieved", headers=h("u1")).status_code == 200
    case = client.get(f"/v1/tickets/{other}/intervention", headers=h("b1")).json()
    assert case["remedy"]["retrieval"] == "done" and case["remedy"]["retrieved_by"] == "staff:U1"
    assert client.get("/v1/shops/S1", headers=h("u1")).json()["open_retrievals"] == 0


def test_a_finding_the_schema_does_not_know_is_refused_at_the_edge(world: Any) -> None:
    client, app, clock = world
    tid = in_intervention(client, "O1", "other")
    r = client.post(f"/v1/tickets/{tid}/intervention/ruling",
                    json={"in_favour_of": "buyer", "finding": "lost_in_space"}, headers=h("cs"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    assert client.get(f"/v1/tickets/{tid}", headers=h("cs")).json()["status"] == "in_intervention"
