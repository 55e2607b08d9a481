"""Complaints (投诉工单) over HTTP: the buyer files one on their order, each actor lists what they may
see, the platform closes it, and while it is open the shop's exit check fails (KS-EXIT-1)."""

from __future__ import annotations

from typing import Any

from .test_api import h, world  # noqa: F401  (the fixture)


def test_a_complaint_blocks_the_exit_check_until_the_platform_closes_it(world: Any) -> None:  # noqa: F811
    client, *_ = world
    r = client.post("/v1/orders/O1/complaints", json={"reason": "客服态度差"}, headers=h("b1"))
    assert r.status_code == 201, r.text
    x = r.json()
    assert (x["status"], x["order"], x["shop"], x["buyer"]) == ("open", "O1", "S1", "B1")
    check = client.get("/v1/shops/S1/exit-check", headers=h("own1")).json()
    assert {"kind": "complaint", "id": x["id"]} in [{"kind": b["kind"], "id": b["id"]} for b in check["blocking"]]
    assert all(b["rule"] == "KS-EXIT-1" for b in check["blocking"] if b["kind"] == "complaint")
    assert client.post(f"/v1/complaints/{x['id']}/close", json={}, headers=h("own1")).status_code == 403
    closed = client.post(f"/v1/complaints/{x['id']}/close", json={"answer": "已核实"}, headers=h("plat"))
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["answer"] == "已核实"
    check = client.get("/v1/shops/S1/exit-check", headers=h("own1")).json()
    assert "complaint" not in [b["kind"] for b in check["blocking"]]
    again = client.post(f"/v1/complaints/{x['id']}/close", json={}, headers=h("plat"))
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"


def test_lists_are_scoped_and_others_complaints_are_missing(world: Any) -> None:  # noqa: F811
    client, *_ = world
    c1 = client.post("/v1/orders/O1/complaints", json={"reason": "a"}, headers=h("b1")).json()
    c2 = client.post("/v1/orders/O2/complaints", json={"reason": "b"}, headers=h("b2")).json()
    assert client.post("/v1/orders/O1/complaints", json={"reason": "x"}, headers=h("b2")).status_code == 404
    assert client.post("/v1/orders/O1/complaints", json={"reason": ""}, headers=h("b1")).status_code == 422
    assert client.post("/v1/orders/O1/complaints", json={}, headers=h("b1")).status_code == 422
    assert client.post("/v1/orders/O1/complaints", json={"reason": "x"}, headers=h("own1")).status_code == 403
    ids = lambda tok, q="": [x["id"] for x in client.get(f"/v1/complaints{q}", headers=h(tok)).json()["items"]]  # noqa: E731
    assert ids("b1") == [c1["id"]] and ids("own1") == [c1["id"]] and ids("own2") == [c2["id"]]
    assert sorted(ids("plat")) == sorted([c1["id"], c2["id"]])
    assert ids("plat", "?status=closed") == []
    assert client.get("/v1/complaints?status=nope", headers=h("plat")).status_code == 422
    assert client.get(f"/v1/complaints/{c1['id']}", headers=h("own1")).status_code == 200
    for tok in ("b2", "own2"):
        r = client.get(f"/v1/complaints/{c1['id']}", headers=h(tok))
        assert r.status_code == 404 and r.json()["code"] == "not_found"
