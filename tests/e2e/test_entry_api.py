"""The over-period entry through HTTP: explanation before clicking, opening, the worker closing it,
buyer requests, site messages and pushes after commit, bulk opening, over-period tickets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from shouhou.adapters import webhooks as wh
from shouhou.adapters.notifier import MemoryNotifier, MemoryPusher
from shouhou.clock import VirtualClock
from shouhou.entrypoints.api import create_app
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.app import Shouhou
from shouhou.services.dispatch import LEASE

from ..conftest import PLATFORM


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def pusher() -> MemoryPusher:
    return MemoryPusher()


@pytest.fixture
def world(engine: Engine, clock: VirtualClock, pusher: MemoryPusher) -> Iterator[tuple[TestClient, Shouhou]]:
    app = Shouhou.with_fakes(engine, clock, PolicyRegistry.default(), MemoryNotifier(), pusher)
    app.handle(c.CreateShop("KS", "快手店", "kuaishou", wallet_fen=2000, deposit_fen=100_000), PLATFORM)
    app.handle(c.CreateShop("DY", "抖店", "douyin"), PLATFORM)
    for mid, sid, role in (("KOWN", "KS", "owner"), ("KAG", "KS", "cs_agent"), ("DAG", "DY", "cs_agent")):
        app.handle(c.AddStaff(mid, sid, role), PLATFORM)
    app.handle(c.AddBuyer("B1"), PLATFORM)
    for token, kind, ident in (("kown", "staff", "KOWN"), ("kag", "staff", "KAG"), ("dag", "staff", "DAG"),
                               ("b1", "buyer", "B1")):
        app.handle(c.IssueToken(kind, ident, token=token), PLATFORM)
    now = clock.now()

    def past(oid: str, shop: str, confirmed_days_ago: int, **kw: Any) -> None:
        conf = now - timedelta(days=confirmed_days_ago)
        app.handle(c.ImportOrder(shop, "B1", 19900, id=oid, created_at=conf - timedelta(days=5),
                                 shipped_at=conf - timedelta(days=4), signed_at=conf - timedelta(days=2),
                                 confirmed_at=conf, **kw), PLATFORM)

    past("K1", "KS", 40)
    past("K2", "KS", 40)
    past("KOLD", "KS", 140)
    past("KPRE", "KS", 40, kind="presale_deposit")
    past("D1", "DY", 30)
    past("DFRESH", "DY", 3)
    with TestClient(create_app(app)) as client:
        yield client, app


def test_explanation_lists_every_condition_before_anyone_clicks(world: Any) -> None:
    client, _ = world
    view = client.get("/v1/orders/KOLD/entry", headers=h("kag")).json()
    assert view["state"] == "closed" and view["eligible"] is False
    by_rule = {(x["rule"], x["name"]): x for x in view["conditions"]}
    old = by_rule[("KS-OP-1", "completed_within")]
    assert old["passed"] is False and old["figures"]["limit_days"] == 120
    assert "超过 120 天" in old["message_zh"] and "limit 120 days" in old["message_en"]
    assert by_rule[("KS-OP-2", "funds_cover_refundable")]["passed"] is True
    assert view["roles"] == {"allowed": ["owner", "admin", "cs_admin"], "rule": "KS-OP-6", "you_may_open": False}
    assert client.get("/v1/orders/K1/entry", headers=h("kown")).json()["eligible"] is True


def test_open_apply_over_period_and_the_worker_closes_the_window(world: Any, pusher: MemoryPusher) -> None:
    client, app = world
    r = client.post("/v1/orders/K1/entry/open", headers=h("kag"))
    assert r.status_code == 403 and r.json()["rules"] == ["KS-OP-6"]
    r = client.post("/v1/orders/K1/entry/open", headers=h("kown"))
    assert r.status_code == 200 and r.json()["state"] == "open"
    assert r.json()["window"] == {"length": "3 d", "rule": "KS-OP-7"}
    again = client.post("/v1/orders/K1/entry/open", headers=h("kown"))
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    # DY-OP-10 in both packs: a site message stored, and pushed by the outbox's dispatcher, once
    msgs = client.get("/v1/messages", headers=h("b1")).json()
    assert msgs["total"] == 1 and msgs["items"][0]["order"] == "K1"
    assert pusher.pushed == []  # nothing leaves inside the transaction
    assert app.dispatcher().push_due() == 1 and app.dispatcher().push_due() == 0
    assert [p.buyer_id for p in pusher.pushed] == ["B1"] and pusher.pushed[0].data == {
        "order": "K1", "message": msgs["items"][0]["id"]}
    t = client.post("/v1/orders/K1/tickets", json={"type": "refund_only", "reason": "quality", "amount": "10.00",
                                                   "evidence": ["a.jpg"]}, headers=h("b1"))
    assert t.status_code == 201, t.text
    ticket = t.json()
    assert ticket["over_period"] is True and ticket["labels"] == ["超期售后"]
    assert ticket["timeline"][0]["payload"]["over_period"] is True
    queue = client.get("/v1/tickets?over_period=true", headers=h("kag")).json()
    assert [x["id"] for x in queue["items"]] == [ticket["id"]]
    assert client.get("/v1/tickets?over_period=false", headers=h("kag")).json()["total"] == 0
    # then the normal flow: the shop approves, the refund happens
    done = client.post(f"/v1/tickets/{ticket['id']}/approve", json={}, headers=h("kag")).json()
    assert done["status"] == "refunded" and done["refunded"] == "10.00"
    # the window runs out: the worker closes it, citing KS-OP-7
    clock: VirtualClock = app.clock  # type: ignore[assignment]
    clock.advance(timedelta(days=3))
    assert app.tick() >= 1
    assert client.get("/v1/orders/K1/entry", headers=h("kown")).json()["state"] == "closed"
    record = client.get("/v1/orders/K1/events", headers=h("kown")).json()["items"]
    closed = [e for e in record if e["type"] == "entry_closed"]
    assert len(closed) == 1 and closed[0]["rule"] == "KS-OP-7" and closed[0]["actor"] == "system"
    late = client.post("/v1/orders/K1/tickets", json={"type": "refund_only", "reason": "other"}, headers=h("b1"))
    assert late.status_code == 422 and "GEN-APPLY-1" in late.json()["rules"]


def test_refusal_names_every_failing_rule_with_figures(world: Any, pusher: MemoryPusher) -> None:
    client, _ = world
    r = client.post("/v1/orders/DFRESH/entry/open", headers=h("dag"))
    assert r.status_code == 422 and r.json()["code"] == "ineligible" and r.json()["rules"] == ["DY-OP-1"]
    assert pusher.pushed == []
    assert client.get("/v1/messages", headers=h("b1")).json()["total"] == 0


def test_buyer_request_is_queued_then_answered_by_opening(world: Any) -> None:
    client, _ = world
    r = client.post("/v1/orders/D1/entry/requests", json={"note": "鞋底开胶"}, headers=h("b1"))
    assert r.status_code == 201 and r.json()["status"] == "pending"
    dup = client.post("/v1/orders/D1/entry/requests", json={}, headers=h("b1"))
    assert dup.status_code == 422 and dup.json()["code"] == "limit_reached"
    queue = client.get("/v1/reopen-requests?status=pending", headers=h("dag")).json()
    assert [x["order"] for x in queue["items"]] == ["D1"]
    assert client.get("/v1/reopen-requests", headers=h("kown")).json()["total"] == 0  # another shop's
    assert client.get("/v1/orders/D1/entry", headers=h("dag")).json()["pending_requests"][0]["note"] == "鞋底开胶"
    client.post("/v1/orders/D1/entry/open", headers=h("dag"))
    answered = client.get("/v1/reopen-requests", headers=h("b1")).json()["items"][0]
    assert answered["status"] == "opened" and answered["answered_by"] == "staff:DAG"


def test_buyer_request_declined_with_a_reason(world: Any) -> None:
    client, _ = world
    req = client.post("/v1/orders/D1/entry/requests", json={}, headers=h("b1")).json()
    r = client.post(f"/v1/reopen-requests/{req['id']}/decline", json={}, headers=h("dag"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    r = client.post(f"/v1/reopen-requests/{req['id']}/decline", json={"reason": "超出质保"}, headers=h("dag"))
    assert r.status_code == 200 and r.json()["status"] == "declined" and r.json()["answer_reason"] == "超出质保"
    r = client.post(f"/v1/reopen-requests/{req['id']}/decline", json={}, headers=h("b1"))
    assert r.status_code == 403


def test_bulk_opening_gives_each_order_its_own_result(world: Any) -> None:
    client, _ = world
    r = client.post("/v1/entries/open", json={"orders": ["K1", "KOLD", "KPRE", "K2", "NOPE", "D1"]},
                    headers=h("kown"))
    assert r.status_code == 200
    body = r.json()
    results = {x["order"]: x for x in body["results"]}
    assert body["opened"] == 2 and body["refused"] == 4
    assert results["K1"]["ok"] and results["K2"]["ok"] and results["K1"]["closes_at"]
    assert results["KOLD"]["error"]["rules"] == ["KS-OP-1"]
    assert results["KPRE"]["error"]["rules"] == ["KS-OP-4"]
    assert results["NOPE"]["error"]["code"] == "not_found"
    assert results["D1"]["error"]["code"] == "not_found"  # another shop's order looks missing


def test_over_period_applications_do_not_count_towards_DY_APPLY_1(world: Any) -> None:
    client, app = world
    assert client.post("/v1/orders/D1/entry/open", headers=h("dag")).status_code == 200
    for _ in range(7):
        t = client.post("/v1/orders/D1/tickets", json={"type": "refund_only", "reason": "other", "amount": "1.00"},
                        headers=h("b1"))
        assert t.status_code == 201, t.text
        assert client.post(f"/v1/tickets/{t.json()['id']}/cancel", headers=h("b1")).status_code == 200
    assert client.get("/v1/orders/D1", headers=h("b1")).json()["applications_in_period"] == 0


class _Down:
    """A notifier and a pusher whose service is down."""

    def publish(self, events: Any) -> None:
        raise ConnectionError("notifier down")

    def push(self, buyer_id: str, title: str, body: str, data: dict[str, Any]) -> None:
        raise ConnectionError("push service down")


def test_a_failing_notifier_or_pusher_never_fails_what_was_committed(world: Any, engine: Engine,
                                                                      clock: VirtualClock, pusher: MemoryPusher) -> None:
    """DY-OP-10: pushes leave after the commit; when the push service is down the openings stand, the
    bulk request answers for every order and the site messages are there to read."""
    client, app = world
    down = Shouhou.with_fakes(engine, clock, PolicyRegistry.default(), _Down(), _Down())  # type: ignore[arg-type]
    with TestClient(create_app(down)) as broken:
        r = broken.post("/v1/entries/open", json={"orders": ["K1", "K2"]}, headers=h("kown"))
        assert r.status_code == 200, r.text
        assert r.json()["opened"] == 2
        one = broken.post("/v1/orders/K1/entry/open", headers=h("kown"))
        assert one.status_code == 409 and one.json()["code"] == "invalid_state"  # open already: it stood
    messages = client.get("/v1/messages", headers=h("b1")).json()
    assert {m["order"] for m in messages["items"]} == {"K1", "K2"}
    # the pushes wait in the outbox: tried, failed, tried again on the webhooks' schedule until one works
    assert down.dispatcher().push_due() == 0
    assert pusher.pushed == []
    assert down.dispatcher().push_due() == 0  # not due again yet: the first retry waits a minute
    clock.advance(timedelta(minutes=1))
    assert app.dispatcher().push_due() == 2  # the push service is back (this engine's pusher works)
    assert sorted(p.data["order"] for p in pusher.pushed) == ["K1", "K2"]
    clock.advance(timedelta(hours=1))
    assert app.dispatcher().push_due() == 0  # pushed once each


def test_a_push_is_not_lost_when_the_dispatcher_dies_after_claiming_it(world: Any, pusher: MemoryPusher,
                                                                       clock: VirtualClock) -> None:
    """DY-OP-10 through the outbox: a dispatcher that claims the push and dies before pushing leaves it
    to the next one once its claim runs out; the push carries the message id to de-duplicate."""
    client, app = world
    assert client.post("/v1/orders/K1/entry/open", headers=h("kown")).status_code == 200
    with app.uow() as uow:  # what a dispatcher's claim does, and then it dies
        assert len(wh.claim_pushes(uow.conn, clock.now(), 10, LEASE)) == 1
        uow.commit()
    assert app.dispatcher().push_due() == 0 and pusher.pushed == []  # claimed by the dead one
    clock.advance(LEASE)
    assert app.dispatcher().push_due() == 1
    assert [p.data["order"] for p in pusher.pushed] == ["K1"]
