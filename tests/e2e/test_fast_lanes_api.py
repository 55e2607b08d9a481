"""Fast lanes over HTTP (RULES §10): platform staff set a buyer's standing and membership, buyers and
orders arrive with them, and a good buyer's unshipped refund-only application is refunded at once
(KS-FAST-1) while a custom order's waits for the shop."""

from __future__ import annotations

from typing import Any

from .test_api import h, world  # noqa: F401  (the fixture)


def _buyer(client: Any, buyer: str = "B1", token: str = "plat") -> Any:
    return client.get(f"/v1/platform/buyers/{buyer}", headers=h(token))


def test_platform_staff_set_standing_and_membership(world: Any) -> None:  # noqa: F811
    client, *_ = world
    assert _buyer(client).json() == {"id": "B1", "name": "B1", "standing": "normal", "member": False}
    r = client.patch("/v1/platform/buyers/B1", json={"standing": "good", "reason": "信用良好"}, headers=h("plat"))
    assert r.status_code == 200, r.text
    assert (r.json()["standing"], r.json()["member"]) == ("good", False)
    r = client.patch("/v1/platform/buyers/B1", json={"member": True}, headers=h("plat"))
    assert (r.json()["standing"], r.json()["member"]) == ("good", True)  # the standing stays


def test_bad_standing_changes_nothing(world: Any) -> None:  # noqa: F811
    client, *_ = world
    for body in ({"standing": "excellent"}, {"member": "maybe"}, {"standing": 3}, {"colour": "red"}):
        r = client.patch("/v1/platform/buyers/B1", json=body, headers=h("plat"))
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == "invalid_input"
    r = client.patch("/v1/platform/buyers/B1", json={}, headers=h("plat"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input", r.text
    missing = client.patch("/v1/platform/buyers/NOPE", json={"standing": "good"}, headers=h("plat"))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert _buyer(client).json()["standing"] == "normal"


def test_only_platform_staff_see_or_set_a_standing(world: Any) -> None:  # noqa: F811
    client, *_ = world
    for token in ("b1", "own1", "ag1"):
        r = client.patch("/v1/platform/buyers/B1", json={"standing": "good"}, headers=h(token))
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (token, r.text)
        # a missing buyer answers the same: no hint who exists
        assert client.patch("/v1/platform/buyers/NOPE", json={"standing": "good"}, headers=h(token)).status_code == 403
        assert _buyer(client, token=token).status_code == 403
    assert _buyer(client).json()["standing"] == "normal"


def test_a_buyer_created_good_and_a_custom_order_imported(world: Any) -> None:  # noqa: F811
    client, *_ = world
    r = client.post("/v1/buyers", json={"id": "B9", "standing": "good", "member": True}, headers=h("plat"))
    assert r.status_code == 201, r.text
    assert _buyer(client, "B9").json() == {"id": "B9", "name": "B9", "standing": "good", "member": True}
    assert client.post("/v1/buyers", json={"id": "B8", "standing": "vip"}, headers=h("plat")).status_code == 422
    for oid, custom in (("OC", True), ("OP", False)):
        r = client.post("/v1/orders", json={"id": oid, "shop": "S1", "buyer": "B9", "amount": "88.00",
                                            "custom": custom}, headers=h("plat"))
        assert r.status_code == 201, r.text
        assert r.json()["custom"] is custom and r.json()["status"] == "paid"
    assert client.get("/v1/orders/O1", headers=h("b1")).json()["custom"] is False  # the default
    bad = client.post("/v1/orders", json={"id": "OX", "shop": "S1", "buyer": "B9", "amount": "1.00", "custom": "maybe"},
                      headers=h("plat"))
    assert bad.status_code == 422
    assert client.get("/v1/orders/OX", headers=h("plat")).status_code == 404
    # KS-FAST-1: refunded at once on the plain order; the custom (定制) one waits for the shop
    b9 = client.post("/v1/tokens", json={"kind": "buyer", "actor_id": "B9"}, headers=h("plat")).json()["token"]
    fast = client.post("/v1/orders/OP/tickets", json={"type": "refund_only", "reason": "other"}, headers=h(b9))
    assert fast.status_code == 201, fast.text
    assert (fast.json()["status"], fast.json()["refunded"]) == ("refunded", "88.00")
    events = client.get(f"/v1/tickets/{fast.json()['id']}", headers=h(b9)).json()["timeline"]
    assert ("fast_refund", "KS-FAST-1") in [(e["type"], e["rule"]) for e in events]
    slow = client.post("/v1/orders/OC/tickets", json={"type": "refund_only", "reason": "other"}, headers=h(b9))
    assert (slow.json()["status"], slow.json()["refunded"], slow.json()["due"]["rule"]) == (
        "pending_review", "0.00", "KS-RO-1")
