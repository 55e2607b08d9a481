"""Platform intervention through HTTP: the console queue by response deadline with SLA misses,
evidence uploaded, hashed and downloaded, rulings, appeals; and an exchange end to end."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import SHANGHAI, VirtualClock
from shouhou.entrypoints.api import create_app
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(app: Shouhou, clock: VirtualClock) -> Iterator[tuple[TestClient, Shouhou, VirtualClock]]:
    clock.set(datetime(2026, 9, 30, 9, 0, tzinfo=SHANGHAI))
    app.handle(c.CreateShop("S1", "S1", "kuaishou", return_address="杭州 1 号仓"), PLATFORM)
    app.handle(c.CreateShop("S2", "S2", "kuaishou"), PLATFORM)
    app.handle(c.AddStaff("U1", "S1", "cs_agent"), PLATFORM)
    app.handle(c.AddStaff("U2", "S2", "owner"), PLATFORM)
    for b in ("B1", "B2"):
        app.handle(c.AddBuyer(b), PLATFORM)
    for token, kind, ident, role in (("u1", "staff", "U1", None), ("u2", "staff", "U2", None),
                                     ("b1", "buyer", "B1", None), ("b2", "buyer", "B2", None),
                                     ("cs", "platform", "CS1", "platform_cs")):
        app.handle(c.IssueToken(kind, ident, role, token=token), PLATFORM)
    now = clock.now()
    for oid, bid in (("O1", "B1"), ("O2", "B1"), ("O3", "B2")):
        app.handle(c.ImportOrder("S1", bid, 8800, id=oid, created_at=now - timedelta(days=5),
                                 shipped_at=now - timedelta(days=4), signed_at=now - timedelta(days=2)), PLATFORM)
    with TestClient(create_app(app)) as client:
        yield client, app, clock


def dispute(client: TestClient, order: str = "O1", buyer: str = "b1") -> str:
    t = client.post(f"/v1/orders/{order}/tickets", json={"type": "refund_only", "reason": "quality",
                                                          "evidence": ["m.jpg"]}, headers=h(buyer)).json()
    assert client.post(f"/v1/tickets/{t['id']}/reject", json={"reason": "no"}, headers=h("u1")).status_code == 200
    r = client.post(f"/v1/tickets/{t['id']}/intervention", json={"reason": "发霉"}, headers=h(buyer))
    assert r.status_code == 200 and r.json()["status"] == "in_intervention"
    return t["id"]  # type: ignore[no-any-return]


def test_console_queue_by_response_deadline_with_sla_misses(world: Any) -> None:
    client, app, clock = world
    first = dispute(client)
    clock.advance(timedelta(hours=30))  # 10-01: a holiday
    second = dispute(client, "O3", "b2")
    queue = client.get("/v1/platform/interventions", headers=h("cs")).json()
    assert [x["ticket"] for x in queue["items"]] == [first, second]
    assert queue["items"][0]["response_due_at"] == "2026-10-10T00:00:00+08:00"
    assert client.get("/v1/platform/interventions", headers=h("u1")).status_code == 403
    clock.set(datetime(2026, 10, 10, 0, 0, tzinfo=SHANGHAI))
    app.tick()
    missed = client.get("/v1/platform/interventions?sla_missed=true", headers=h("cs")).json()
    assert [x["ticket"] for x in missed["items"]] == [first, second]
    case = client.get(f"/v1/tickets/{first}/intervention", headers=h("u1")).json()
    assert case["sla_missed"] is True and case["sla_missed_at"] == "2026-10-10T00:00:00+08:00"


def test_evidence_is_stored_by_sha256_and_downloadable_by_the_parties_only(world: Any) -> None:
    client, app, clock = world
    tid = dispute(client)
    assert client.post(f"/v1/tickets/{tid}/intervention/respond", headers=h("cs")).status_code == 200
    assert client.post(f"/v1/tickets/{tid}/intervention/evidence-request", headers=h("cs")).status_code == 200
    photo = b"\xff\xd8\xff fake jpeg"
    r = client.post(f"/v1/tickets/{tid}/intervention/evidence", files=[("files", ("mould.jpg", photo, "image/jpeg"))],
                    headers=h("b1"))
    assert r.status_code == 201, r.text
    item = r.json()["evidence_items"][0]
    assert (item["side"], item["size"], item["sha256"]) == ("buyer", len(photo), hashlib.sha256(photo).hexdigest())
    got = client.get(f"/v1/evidence/{item['id']}/content", headers=h("u1"))
    assert got.content == photo and got.headers["content-type"] == "image/jpeg"
    assert client.get(f"/v1/evidence/{item['id']}/content", headers=h("u2")).status_code == 404
    bad = client.post(f"/v1/tickets/{tid}/intervention/evidence", headers=h("b1"),  # not a JPEG at all
                      files=[("files", ("x.jpg", b"@@@", "image/jpeg"))])
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
    exe = client.post(f"/v1/tickets/{tid}/intervention/evidence", headers=h("u1"),
                      files=[("files", ("x.exe", b"x", "application/x-msdownload"))])
    assert exe.status_code == 422 and exe.json()["rules"] == ["KS-PI-2"]


def test_ruling_and_appeal_through_http(world: Any) -> None:
    client, app, clock = world
    tid = dispute(client)
    early = client.post(f"/v1/tickets/{tid}/intervention/ruling", json={"in_favour_of": "buyer"}, headers=h("cs"))
    assert early.status_code == 409 and "KS-PI-1" in early.json()["rules"]
    client.post(f"/v1/tickets/{tid}/intervention/respond", headers=h("cs"))
    r = client.post(f"/v1/tickets/{tid}/intervention/ruling", json={"in_favour_of": "buyer", "amount": "50.00",
                                                                      "fault": "shop"}, headers=h("cs"))
    assert r.status_code == 200 and r.json()["status"] == "refunded" and r.json()["refunded"] == "50.00"
    a = client.post(f"/v1/tickets/{tid}/appeals", json={"reason": "买家保存不当"}, headers=h("u1"))
    assert a.status_code == 201 and a.json()["status"] == "pending"
    assert client.get("/v1/appeals?status=pending", headers=h("cs")).json()["total"] == 1
    assert client.get("/v1/appeals", headers=h("u2")).json()["total"] == 0
    d = client.post(f"/v1/appeals/{a.json()['id']}/decision", json={"upheld": False, "answer": "证据不足"},
                    headers=h("cs"))
    assert d.status_code == 200 and d.json()["status"] == "rejected"
    case = client.get(f"/v1/tickets/{tid}/intervention", headers=h("b1")).json()
    assert case["ruling"]["effective_fault"] == "shop" and case["appeals"][0]["status"] == "rejected"


def test_KS_PI_3_pending_appeals_count_towards_the_monthly_limit(world: Any) -> None:
    """Three appeals filed at once and all rejected would make three failures: a fourth filed while
    they are pending is refused, as the limit would otherwise be passed."""
    client, app, clock = world
    now = clock.now()
    ruled = []
    for i in range(4):
        app.handle(c.ImportOrder("S1", "B1", 8800, id=f"P{i}", created_at=now - timedelta(days=5),
                                 shipped_at=now - timedelta(days=4), signed_at=now - timedelta(days=2)), PLATFORM)
        tid = dispute(client, f"P{i}")
        assert client.post(f"/v1/tickets/{tid}/intervention/respond", headers=h("cs")).status_code == 200
        r = client.post(f"/v1/tickets/{tid}/intervention/ruling", json={"in_favour_of": "buyer", "fault": "shop"},
                        headers=h("cs"))
        assert r.status_code == 200, r.text
        ruled.append(tid)
    for tid in ruled[:3]:
        assert client.post(f"/v1/tickets/{tid}/appeals", json={"reason": "理由"}, headers=h("u1")).status_code == 201
    fourth = client.post(f"/v1/tickets/{ruled[3]}/appeals", json={"reason": "理由"}, headers=h("u1"))
    assert fourth.status_code == 422 and fourth.json()["code"] == "limit_reached"
    assert fourth.json()["rules"] == ["KS-PI-3"] and "3 appeals failed or pending" in fourth.json()["message_en"]
    first = client.get("/v1/appeals?status=pending", headers=h("cs")).json()["items"][0]
    d = client.post(f"/v1/appeals/{first['id']}/decision", json={"upheld": True, "fault_after": "buyer"},
                    headers=h("cs"))
    assert d.status_code == 200, d.text  # upheld: not a failure, and no longer pending
    assert client.post(f"/v1/tickets/{ruled[3]}/appeals", json={"reason": "理由"}, headers=h("u1")).status_code == 201


def test_a_late_answer_still_records_the_miss_at_its_deadline(world: Any) -> None:
    """KS-PI-1: the platform answers after the 2 working days, before the worker swept: the miss is on
    the record at the deadline, and the console lists it."""
    client, app, clock = world
    tid = dispute(client)  # 2026-09-30: due 2026-10-10 00:00, after National Day
    clock.set(datetime(2026, 10, 12, 10, 0, tzinfo=SHANGHAI))
    assert client.post(f"/v1/tickets/{tid}/intervention/respond", headers=h("cs")).status_code == 200
    case = client.get(f"/v1/tickets/{tid}/intervention", headers=h("u1")).json()
    assert case["sla_missed"] is True and case["sla_missed_at"] == "2026-10-10T00:00:00+08:00"
    missed = client.get("/v1/platform/interventions?sla_missed=true", headers=h("cs")).json()
    assert [x["ticket"] for x in missed["items"]] == [tid]
    events = [(e["type"], e["at"]) for e in client.get(f"/v1/tickets/{tid}/events", headers=h("u1")).json()["items"]]
    assert ("intervention_sla_missed", "2026-10-10T00:00:00+08:00") in events
    app.tick()
    assert [e["type"] for e in client.get(f"/v1/tickets/{tid}/events", headers=h("u1")).json()["items"]].count(
        "intervention_sla_missed") == 1  # recorded once


def test_exchange_end_to_end(world: Any) -> None:
    client, app, clock = world
    t = client.post("/v1/orders/O2/tickets", json={"type": "exchange", "reason": "quality", "evidence": ["s.jpg"]},
                    headers=h("b1")).json()
    tid = t["id"]
    for path, token, body in (("approve", "u1", {}), ("waybill", "b1", {"waybill": "R1"}),
                              ("confirm-return", "u1", None), ("ship-replacement", "u1", {"waybill": "N1"}),
                              ("sign-replacement", "cs", None), ("confirm-replacement", "b1", None)):
        r = client.post(f"/v1/tickets/{tid}/{path}", headers=h(token), **({"json": body} if body is not None else {}))
        assert r.status_code == 200, (path, r.text)
    final = client.get(f"/v1/tickets/{tid}", headers=h("b1")).json()
    assert final["status"] == "completed" and final["refunded"] == "0.00"
    assert [e["type"] for e in final["timeline"]] == [
        "applied", "approved", "waybill_submitted", "return_confirmed", "replacement_shipped", "replacement_signed",
        "replacement_confirmed"]


@pytest.mark.parametrize(("shipped", "ok"), [(False, True), (True, False)])
def test_GEN_EX_2_refund_instead_on_a_stalled_exchange_the_platform_has(world: Any, shipped: bool, ok: bool) -> None:
    """Before the replacement ships the shop may still refund instead, the platform's case then
    ending without a ruling; once it has shipped it may not."""
    client, app, clock = world
    tid = client.post("/v1/orders/O2/tickets", json={"type": "exchange", "reason": "quality", "evidence": ["s.jpg"]},
                      headers=h("b1")).json()["id"]
    steps = [("approve", "u1", {}), ("waybill", "b1", {"waybill": "R1"}), ("confirm-return", "u1", None)]
    if shipped:
        steps.append(("ship-replacement", "u1", {"waybill": "N1"}))
    for path, token, body in steps:
        r = client.post(f"/v1/tickets/{tid}/{path}", headers=h(token), **({"json": body} if body is not None else {}))
        assert r.status_code == 200, (path, r.text)
    r = client.post(f"/v1/tickets/{tid}/intervention", json={"reason": "迟迟不发货"}, headers=h("b1"))
    assert r.status_code == 200 and r.json()["status"] == "in_intervention", r.text
    r = client.post(f"/v1/tickets/{tid}/refund-instead", headers=h("u1"))
    if not ok:
        assert r.status_code == 409 and r.json()["rules"] == ["GEN-EX-2"]
        assert client.get(f"/v1/tickets/{tid}", headers=h("u1")).json()["status"] == "in_intervention"
        return
    assert r.status_code == 200 and r.json()["status"] == "refunded" and r.json()["refunded"] == "88.00", r.text
    case = client.get(f"/v1/tickets/{tid}/intervention", headers=h("b1")).json()
    assert case["status"] == "withdrawn"
    assert client.get("/v1/platform/interventions", headers=h("cs")).json()["total"] == 0
    withdrawn = [e for e in r.json()["timeline"] if e["type"] == "intervention_withdrawn"]
    assert withdrawn[0]["rule"] == "GEN-EX-2" and withdrawn[0]["payload"]["reason"] == "the shop refunded instead"
