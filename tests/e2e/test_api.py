"""HTTP API: the flows, the error shape, and tenancy on every route (others' objects answer exactly
as missing ones do: 404, never a hint that they exist)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.entrypoints.api import create_app
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM

TOKENS = {"plat": ("platform", "ops", "platform_operator"), "own1": ("staff", "OWN1", None),
          "ag1": ("staff", "AG1", None), "own2": ("staff", "OWN2", None), "b1": ("buyer", "B1", None),
          "b2": ("buyer", "B2", None)}


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(app: Shouhou, clock: VirtualClock) -> Iterator[tuple[TestClient, Shouhou, VirtualClock]]:
    for sid, policy in (("S1", "kuaishou"), ("S2", "douyin")):
        app.handle(c.CreateShop(sid, sid, policy, return_address=f"{sid} 仓库"), PLATFORM)
    for mid, sid, role in (("OWN1", "S1", "owner"), ("AG1", "S1", "cs_agent"), ("OWN2", "S2", "owner")):
        app.handle(c.AddStaff(mid, sid, role), PLATFORM)
    for b in ("B1", "B2"):
        app.handle(c.AddBuyer(b), PLATFORM)
    for token, (kind, ident, role) in TOKENS.items():
        app.handle(c.IssueToken(kind, ident, role, token=token), PLATFORM)
    now = clock.now()
    for oid, sid, bid in (("O1", "S1", "B1"), ("O2", "S2", "B2")):
        app.handle(c.ImportOrder(sid, bid, 9900, id=oid, created_at=now - timedelta(days=5),
                                 shipped_at=now - timedelta(days=4), signed_at=now - timedelta(days=2)), PLATFORM)
    with TestClient(create_app(app)) as client:
        yield client, app, clock


def apply(client: TestClient, order: str = "O1", token: str = "b1", **body: Any) -> dict[str, Any]:
    payload = {"type": "return_refund", "reason": "quality", "evidence": ["crack.jpg"], **body}
    r = client.post(f"/v1/orders/{order}/tickets", json=payload, headers=h(token))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_return_and_refund_through_http(world: Any) -> None:
    client, app, clock = world
    t = apply(client)
    assert t["status"] == "pending_review" and t["due"]["rule"] == "KS-RR-1"
    r = client.post(f"/v1/tickets/{t['id']}/approve", json={"return_address": "杭州 1 号仓"}, headers=h("ag1"))
    assert r.status_code == 200 and r.json()["status"] == "awaiting_return"
    r = client.post(f"/v1/tickets/{t['id']}/waybill", json={"carrier": "SF", "waybill": "SF1"}, headers=h("b1"))
    assert r.json()["status"] == "awaiting_receipt" and r.json()["due"]["rule"] == "KS-RR-3"
    r = client.post(f"/v1/tickets/{t['id']}/confirm-return", headers=h("own1"))
    body = r.json()
    assert body["status"] == "refunded" and body["refunded"] == "99.00"
    assert [e["type"] for e in body["timeline"]] == [
        "applied", "approved", "waybill_submitted", "return_confirmed", "refunded", "refund_funded"]
    order = client.get("/v1/orders/O1", headers=h("b1")).json()
    assert order["status"] == "closed" and order["refunded"] == "99.00"
    record = client.get("/v1/orders/O1/events", headers=h("own1")).json()["items"]
    assert {"order_created", "applied", "order_closed"} <= {e["type"] for e in record}


def test_deadline_fires_and_timeline_names_the_rule(world: Any) -> None:
    client, app, clock = world
    t = apply(client)
    clock.advance(timedelta(hours=48))
    assert app.tick() >= 1
    body = client.get(f"/v1/tickets/{t['id']}", headers=h("own1")).json()
    auto = [e for e in body["timeline"] if e["actor"] == "system"]
    assert [(e["type"], e["rule"]) for e in auto] == [("auto_approved", "KS-RR-1"), ("overdue_recorded", "KS-GOV-1")]
    assert client.get("/v1/shops/S1", headers=h("own1")).json()["overdue_records"] == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "token", "status", "code"),
    [
        ("post", "/v1/orders/O1/tickets", {"type": "return_refund", "reason": "quality"}, "b1", 422, "invalid_input"),
        ("post", "/v1/orders/O1/tickets", {"type": "return_refund", "reason": "quality", "amount": "1.234"}, "b1",
         422, "invalid_input"),
        ("post", "/v1/orders/O1/tickets", {"type": "teleport", "reason": "quality"}, "b1", 422, "invalid_input"),
        ("post", "/v1/orders/O1/tickets", {"type": "refund_only", "reason": "other", "amount": "100.00"}, "b1",
         422, "invalid_input"),
        ("post", "/v1/orders/O1/tickets", {"type": "refund_only", "reason": "other", "extra": 1}, "b1", 422,
         "invalid_input"),
        ("post", "/v1/orders/O1/tickets", {"type": "refund_only", "reason": "other"}, "own1", 403, "forbidden"),
        ("post", "/v1/orders/O1/tickets", {"type": "refund_only", "reason": "other"}, "nobody", 401,
         "unauthenticated"),
        ("post", "/v1/orders/NOPE/tickets", {"type": "refund_only", "reason": "other"}, "b1", 404, "not_found"),
        ("post", "/v1/orders/O1/ship", {}, "own1", 409, "invalid_state"),
        ("get", "/v1/tickets?status=bogus", None, "own1", 422, "invalid_input"),
        ("get", "/v1/tickets?limit=0", None, "own1", 422, "invalid_input"),
        ("get", "/v1/policies/nope", None, "own1", 404, "not_found"),
        # times and offsets out of any range a database or datetime arithmetic can take: 422, never 500
        ("get", "/v1/tickets?due_before=0001-01-01T00:00:00%2B08:00", None, "own1", 422, "invalid_input"),
        ("get", "/v1/tickets?due_before=2026-03-02T09:00:00", None, "own1", 422, "invalid_input"),  # no zone
        ("get", "/v1/shops/S1/statement?since=2026-03-02T09:00:00", None, "own1", 422, "invalid_input"),
        ("get", "/v1/shops/S1/governance?at=2026-03-02T09:00:00", None, "own1", 422, "invalid_input"),
        ("get", "/v1/tickets?offset=99999999999999999999", None, "own1", 422, "invalid_input"),
        ("get", "/v1/shops/S1/statement?since=0001-01-01T00:00:00%2B08:00", None, "own1", 422, "invalid_input"),
        ("get", "/v1/shops/S1/statement?until=9999-12-31T23:59:59%2B00:00", None, "own1", 422, "invalid_input"),
        ("get", "/v1/shops/S1/statement?offset=99999999999999999999", None, "own1", 422, "invalid_input"),
        ("get", "/v1/shops/S1/governance?at=0001-01-01T00:00:00%2B08:00", None, "own1", 422, "invalid_input"),
        ("get", "/v1/governance/report?offset=-1", None, "plat", 422, "invalid_input"),
        ("post", "/v1/orders", {"id": "OX", "shop": "S1", "buyer": "B1", "amount": "10.00",
                                "created_at": "0001-01-01T00:00:00+08:00"}, "plat", 422, "invalid_input"),
        # values no database column takes: too long, or holding NUL (PostgreSQL refuses both)
        ("post", "/v1/shops", {"id": "SX", "name": "店" * 300, "policy": "kuaishou"}, "plat", 422, "invalid_input"),
        ("post", "/v1/shops", {"id": "S\u00009", "policy": "kuaishou"}, "plat", 422, "invalid_input"),
        ("post", "/v1/orders", {"id": "OX", "shop": "S1", "buyer": "B1", "amount": "10.00", "category": "c" * 300},
         "plat", 422, "invalid_input"),
        ("post", "/v1/orders/O1/ship", {"carrier": "SF", "waybill": "\u0000"}, "own1", 422, "invalid_input"),
        ("post", "/v1/orders/O1/tickets", {"type": "refund_only", "reason": "other", "note": "a\u0000b"}, "b1", 422,
         "invalid_input"),
        ("get", "/v1/orders/a%00b", None, "own1", 422, "invalid_input"),
        ("get", "/v1/tickets?order=a%00b", None, "own1", 422, "invalid_input"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(world: Any, method: str, path: str, body: Any, token: str,
                                                        status: int, code: str) -> None:
    client, app, clock = world
    before = client.get("/v1/orders/O1/events", headers=h("plat")).json()["items"]
    r = getattr(client, method)(path, headers=h(token), **({"json": body} if body is not None else {}))
    assert r.status_code == status, r.text
    err = r.json()
    assert err["code"] == code and err["message_zh"] and err["message_en"] and isinstance(err["rules"], list)
    assert client.get("/v1/orders/O1/events", headers=h("plat")).json()["items"] == before


def test_malformed_json_is_invalid_input_not_500(world: Any) -> None:
    client, *_ = world
    r = client.post("/v1/orders/O1/tickets", content=b"{oops", headers={**h("b1"), "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"


def test_a_pack_names_the_shared_ids_it_declares_and_what_each_is_like(world: Any) -> None:
    client, *_ = world
    dy = client.get("/v1/policies/douyin", headers=h("own2")).json()
    assert dy["rule_prefix"] == "DY"
    review = next(r for r in dy["rules"] if r["setting"] == "return_refund.review")
    assert (review["rule"], review["like"]) == ("GEN-RR-1", ["KS-RR-1"])
    declared = {d["rule"]: d for d in dy["rule_ids"]}
    assert declared["GEN-RR-1"]["like"] == ["KS-RR-1"] and "48 h" in declared["GEN-RR-1"]["en"]
    assert all(r["rule"].startswith(("DY-", "GEN-")) for r in dy["rules"])
    assert all(r["like"] is None for r in dy["rules"] if r["rule"] not in declared)
    ks = client.get("/v1/policies/kuaishou", headers=h("own1")).json()
    assert ks["rule_prefix"] == "KS" and {d["rule"] for d in ks["rule_ids"]} == {"GEN-OP-6", "GEN-OP-9", "GEN-OP-10"}
    assert all(r["rule"].startswith(("KS-", "GEN-")) for r in ks["rules"])


def test_refusal_names_the_rule(world: Any) -> None:
    client, *_ = world
    apply(client)
    r = client.post("/v1/orders/O1/tickets", json={"type": "refund_only", "reason": "other"}, headers=h("b1"))
    assert r.status_code == 422 and r.json()["code"] == "limit_reached" and "GEN-APPLY-5" in r.json()["rules"]


def test_losing_the_race_to_the_worker_is_invalid_state(world: Any) -> None:
    client, app, clock = world
    t = apply(client)
    clock.advance(timedelta(hours=48, minutes=1))  # due, not yet swept
    r = client.post(f"/v1/tickets/{t['id']}/reject", json={"reason": "late"}, headers=h("own1"))
    assert r.status_code == 409 and r.json()["rules"] == ["KS-RR-1"]
    app.tick()
    assert client.get(f"/v1/tickets/{t['id']}", headers=h("own1")).json()["status"] == "awaiting_return"


def test_queue_is_the_shops_own_sorted_by_due_time(world: Any) -> None:
    client, app, clock = world
    now = clock.now()
    due_order = []
    for i, hours_ago in enumerate((10, 30, 20)):
        oid = f"Q{i}"
        app.handle(c.ImportOrder("S1", "B1", 1000, id=oid, created_at=now - timedelta(days=5),
                                 shipped_at=now - timedelta(days=4), signed_at=now - timedelta(days=3)), PLATFORM)
        app.handle(c.Apply(oid, "return_refund", "quality", evidence=("x.jpg",)), _buyer("B1"),
                   now=now - timedelta(hours=hours_ago))
        due_order.append((hours_ago, oid))
    apply(client, order="O2", token="b2")
    page = client.get("/v1/tickets?status=pending_review&limit=2", headers=h("ag1")).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert [x["order"] for x in page["items"]] == ["Q1", "Q2"]  # 30 h ago, then 20 h ago
    rest = client.get("/v1/tickets?status=pending_review&limit=2&offset=2", headers=h("ag1")).json()
    assert [x["order"] for x in rest["items"]] == ["Q0"]
    assert all(x["shop"] == "S1" for x in page["items"] + rest["items"])
    assert all("timeline" not in x for x in page["items"])  # the queue lists; GET /v1/tickets/{id} tells
    mine = client.get("/v1/tickets", headers=h("b2")).json()
    assert [x["order"] for x in mine["items"]] == ["O2"]
    everything = client.get("/v1/tickets", headers=h("plat")).json()
    assert everything["total"] == 4


def _buyer(ident: str) -> Any:
    from shouhou.domain.actors import Actor

    return Actor("buyer", ident)


# Routes with these ids are left out of test_tenancy_on_every_route, and why.
_ELSEWHERE = {
    "{name}": "a policy pack is public: nobody's object",
    "{measure_id}": "measures: tenancy is checked in tests/e2e/test_governance_api.py",
    "{ident}": "parked actions are the platform operators' alone: tests/e2e/test_operations_api.py",
    "{token_id}": "tokens belong to no shop: only manage_tokens roles reach them (tests/e2e/test_tokens.py)",
    "{buyer_id}": "a buyer's standing is the platform's alone: tests/e2e/test_fast_lanes_api.py",
    "{endpoint_id}": "webhook endpoints: tenancy is checked in tests/e2e/test_webhooks.py",
    "{delivery_id}": "webhook deliveries: tenancy is checked in tests/e2e/test_webhooks.py",
}


def _route_calls(client: TestClient) -> list[tuple[str, str]]:
    calls = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and any(
                p in route.path for p in ("{order_id}", "{ticket_id}", "{shop_id}", "{request_id}", "{appeal_id}",
                                          "{evidence_id}", "{complaint_id}")):
            for method in route.methods:
                calls.append((method.lower(), route.path))
    return sorted(calls)


def test_tenancy_on_every_route(world: Any) -> None:
    """For every route that takes an object id, a buyer or staff member of another shop gets exactly
    what they would get for an id that does not exist, and nothing changes."""
    client, app, clock = world
    t1 = apply(client)  # B1's ticket on S1's order O1
    now = clock.now()
    app.handle(c.ImportOrder("S1", "B1", 5000, id="O3", created_at=now - timedelta(days=40),
                             shipped_at=now - timedelta(days=39), signed_at=now - timedelta(days=37),
                             confirmed_at=now - timedelta(days=30)), PLATFORM)
    req = client.post("/v1/orders/O3/entry/requests", json={}, headers=h("b1"))
    assert req.status_code == 201, req.text
    complaint = client.post("/v1/orders/O3/complaints", json={"reason": "rude"}, headers=h("b1"))
    assert complaint.status_code == 201, complaint.text
    evidence_id, appeal_id = _dispute(app, clock)
    calls = _route_calls(client)
    # every route that takes an object id is checked here, but for the ids of _ELSEWHERE
    taking_ids = {(method.lower(), route.path) for route in client.app.routes  # type: ignore[attr-defined]
                  if isinstance(route, APIRoute) and "{" in route.path
                  and not any(p in route.path for p in _ELSEWHERE) for method in route.methods}
    assert set(calls) == taking_ids, f"routes taking an id with no tenancy check: {sorted(taking_ids - set(calls))}"
    assert {("post", "/v1/orders/{order_id}/tickets"), ("post", "/v1/tickets/{ticket_id}/approve"),
            ("get", "/v1/shops/{shop_id}/statement"), ("post", "/v1/reopen-requests/{request_id}/decline"),
            ("post", "/v1/appeals/{appeal_id}/decision"), ("get", "/v1/evidence/{evidence_id}/content"),
            ("post", "/v1/orders/{order_id}/complaints"), ("get", "/v1/complaints/{complaint_id}"),
            ("post", "/v1/complaints/{complaint_id}/close"), ("post", "/v1/tickets/{ticket_id}/freight-claim"),
            ("post", "/v1/tickets/{ticket_id}/freight-claim/decide")} <= set(calls)
    owned = {"{order_id}": "O1", "{ticket_id}": t1["id"], "{shop_id}": "S1", "{request_id}": req.json()["id"],
             "{appeal_id}": appeal_id, "{evidence_id}": evidence_id, "{complaint_id}": complaint.json()["id"]}
    missing = {"{order_id}": "NOPE", "{ticket_id}": "TNOPE", "{shop_id}": "SNOPE", "{request_id}": "RNOPE",
               "{appeal_id}": "ANOPE", "{evidence_id}": "ENOPE", "{complaint_id}": "CNOPE"}
    bodies = {"approve": {}, "reject": {"reason": "x"}, "waybill": {"waybill": "1"}, "refuse-return": {"reason": "x"},
              "intervention": {}, "ship": {}, "tickets": {"type": "refund_only", "reason": "other"},
              "status": {"status": "suspended"}, "staff": {"id": "X9", "role": "cs_agent"}, "requests": {},
              "decline": {"reason": "no"}, "top-up": {"account": "wallet", "amount": "1.00"},
              "withdraw": {"amount": "1.00"}, "appeals": {"reason": "x"}, "decision": {"upheld": False},
              "ruling": {"in_favour_of": "buyer"}, "ship-replacement": {}, "automation": {"rules": []},
              "complaints": {"reason": "x"}, "close": {"answer": "x"},
              "freight-claim": {"amount": "1.00"}, "decide": {"approve": True}}
    evidence = {"files": [("files", ("a.jpg", b"\xff\xd8\xff a", "image/jpeg"))]}  # a multipart upload
    before = client.get("/v1/orders/O1/events", headers=h("plat")).json()["items"]
    checked = 0
    for outsider in ("own2", "b2"):
        for method, path in calls:
            def url(ids: dict[str, str], path: str = path) -> str:
                for k, v in ids.items():
                    path = path.replace(k, v)
                return path
            body = bodies.get(path.rsplit("/", 1)[-1])
            kw = evidence if path.endswith("/evidence") else {"json": body} if method in ("post", "put") else {}
            real = getattr(client, method)(url(owned), headers=h(outsider), **kw)
            ghost = getattr(client, method)(url(missing), headers=h(outsider), **kw)
            assert real.status_code == ghost.status_code, (outsider, method, path, real.text, ghost.text)
            assert real.status_code in (403, 404), (outsider, method, path, real.text)
            if real.status_code == 404:
                assert real.json()["code"] == "not_found"
            checked += 1
    assert checked == 2 * len(calls)
    assert client.get("/v1/orders/O1/events", headers=h("plat")).json()["items"] == before


def _dispute(app: Shouhou, clock: VirtualClock) -> tuple[str, str]:
    """B1's ticket on S1 taken to the platform, with evidence, a ruling and an appeal."""
    from shouhou.domain.actors import Actor

    now = clock.now()
    app.handle(c.ImportOrder("S1", "B1", 3000, id="O4", created_at=now - timedelta(days=5),
                             shipped_at=now - timedelta(days=4), signed_at=now - timedelta(days=2)), PLATFORM)
    buyer, staff, cs = Actor("buyer", "B1"), Actor("staff", "OWN1", shop_id="S1", role="owner"), Actor(
        "platform", "cs", role="platform_cs")
    tid = app.handle(c.Apply("O4", "refund_only", "quality", evidence=("m.jpg",)), buyer)
    app.handle(c.Reject(tid, "no"), staff)
    app.handle(c.RequestIntervention(tid), buyer)
    app.handle(c.RespondIntervention(tid), cs)
    app.handle(c.RequestEvidence(tid), cs)
    evidence = app.handle(c.SubmitEvidence(tid, (c.EvidenceFile("m2.jpg", "image/jpeg", b"\xff\xd8\xff jpeg"),)), buyer)
    app.handle(c.Rule(tid, "buyer"), cs)
    appeal = app.handle(c.FileAppeal(tid, "we disagree"), staff)
    return evidence[0], appeal


def test_insiders_reach_their_objects(world: Any) -> None:
    client, *_ = world
    t = apply(client)
    assert client.get(f"/v1/tickets/{t['id']}", headers=h("ag1")).status_code == 200
    assert client.get(f"/v1/tickets/{t['id']}", headers=h("b1")).status_code == 200
    assert client.get("/v1/shops/S1", headers=h("ag1")).status_code == 200
    assert client.get("/v1/orders/O1", headers=h("plat")).status_code == 200


def test_openapi_lists_the_routes(world: Any) -> None:
    client, *_ = world
    spec = client.get("/openapi.json").json()
    documented = {(method, path) for path, operations in spec["paths"].items() for method in operations}
    served = {(method.lower(), route.path) for route in client.app.routes  # type: ignore[attr-defined]
              if isinstance(route, APIRoute) and route.include_in_schema for method in route.methods}
    assert documented == served, {"undocumented": sorted(served - documented), "not served": sorted(documented - served)}
    assert {("post", "/v1/tickets/{ticket_id}/approve"), ("post", "/v1/orders/{order_id}/tickets"),
            ("get", "/v1/me"), ("get", "/healthz")} <= documented
    assert client.get("/v1/me", headers=h("ag1")).json() == {"kind": "staff", "id": "AG1", "shop": "S1",
                                                              "role": "cs_agent"}
