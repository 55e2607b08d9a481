"""Order lines over HTTP (GEN-APPLY-7): an order posted with lines, a ticket on some of them, the order
showing what each line refunded and can still refund; bad lines are a clear 422."""

from __future__ import annotations

from typing import Any

from .test_api import apply, h, world  # noqa: F401 - world is the fixture the tests take

ORDER = {"id": "OL", "shop": "S1", "buyer": "B1", "amount": "208.00", "freight": "10.00",
         "lines": [{"sku": "CASE-1", "name": "手机壳", "qty": 2, "price": "49.00", "listed_price": "59.00"},
                   {"sku": "CHARGER-1", "name": "充电器", "price": "100.00", "kind": "accessory"},
                   {"sku": "FILM-1", "name": "贴膜", "price": "0.00", "listed_price": "10.00", "kind": "gift"}]}


def test_an_order_with_lines_and_a_partial_ticket(world: Any) -> None:  # noqa: F811
    client, _, _ = world
    r = client.post("/v1/orders", json=ORDER, headers=h("plat"))
    assert r.status_code == 201, r.text
    lines = r.json()["lines"]
    assert [(x["sku"], x["qty"], x["kind"], x["listed_price"]) for x in lines] == [
        ("CASE-1", 2, "goods", "59.00"), ("CHARGER-1", 1, "accessory", "100.00"), ("FILM-1", 1, "gift", "10.00")]
    client.post("/v1/orders/OL/ship", json={}, headers=h("own1"))
    t = apply(client, "OL", type="refund_only", reason="other", evidence=[], lines=[{"sku": "CASE-1", "qty": 1}])
    assert t["amount"] == "49.00" and t["lines"] == [{"sku": "CASE-1", "qty": 1}]
    r = client.post(f"/v1/tickets/{t['id']}/approve", json={}, headers=h("ag1"))
    assert r.json()["status"] == "refunded", r.text
    order = client.get("/v1/orders/OL", headers=h("b1")).json()
    case = order["lines"][0]
    assert (case["refunded"], case["refundable"], case["qty_left"]) == ("49.00", "49.00", 1)
    assert order["refunded"] == "49.00" and order["refundable"] == "159.00"


def test_an_order_without_lines_shows_one_line(world: Any) -> None:  # noqa: F811
    client, _, _ = world
    order = client.get("/v1/orders/O1", headers=h("b1")).json()
    assert [(x["sku"], x["qty"], x["price"]) for x in order["lines"]] == [("O1", 1, "99.00")]


def test_lines_that_do_not_add_up_are_refused(world: Any) -> None:  # noqa: F811
    client, _, _ = world
    r = client.post("/v1/orders", json={**ORDER, "amount": "209.00"}, headers=h("plat"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input", r.text
    assert "GEN-APPLY-7" in r.json()["rules"]
    r = client.post("/v1/orders", json={**ORDER, "lines": [{**ORDER["lines"][0], "qty": 0}]},  # type: ignore[dict-item]
                    headers=h("plat"))
    assert r.status_code == 422, r.text


def test_a_cover_beyond_the_lines_is_refused_with_the_rule(world: Any) -> None:  # noqa: F811
    client, _, _ = world
    assert client.post("/v1/orders", json=ORDER, headers=h("plat")).status_code == 201
    r = client.post("/v1/orders/OL/tickets", json={"type": "refund_only", "reason": "other",
                                                    "lines": [{"sku": "CASE-1", "qty": 3}]}, headers=h("b1"))
    assert r.status_code == 422 and "GEN-APPLY-7" in r.text, r.text
