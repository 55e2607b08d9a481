"""Freight claims (运费申请, GEN-FREIGHT-1) over HTTP: the buyer claims once the return is on its way,
the shop decides, money is a decimal string, bad input is a 4xx that changes nothing, others' claims
are missing (404), and the routes are in the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .test_api import apply, h, world  # noqa: F401  (the fixture)


def _returned(client: Any) -> str:
    t = apply(client)  # O1 of S1 (kuaishou), quality, by B1
    assert client.post(f"/v1/tickets/{t['id']}/approve", json={}, headers=h("own1")).status_code == 200
    r = client.post(f"/v1/tickets/{t['id']}/waybill", json={"carrier": "SF", "waybill": "SF1"}, headers=h("b1"))
    assert r.status_code == 200, r.text
    return str(t["id"])


def test_GEN_FREIGHT_1_claim_and_approve_through_http(world: Any) -> None:  # noqa: F811
    client, app, clock = world
    tid = _returned(client)
    r = client.post(f"/v1/tickets/{tid}/freight-claim", json={"amount": "12.50"}, headers=h("b1"))
    assert r.status_code == 201, r.text
    x = r.json()
    assert (x["amount"], x["receipt"], x["decides"], x["status"], x["ticket"], x["payout"]) == (
        "12.50", False, "shop", "pending", tid, None)
    assert x["due"]["rule"] == "GEN-FREIGHT-1" and x["due"]["action"] == "auto_approve"
    assert client.get(f"/v1/tickets/{tid}", headers=h("b1")).json()["freight_claim"]["id"] == x["id"]
    r = client.post(f"/v1/tickets/{tid}/freight-claim/decide", json={"approve": True}, headers=h("ag1"))
    assert r.status_code == 200, r.text
    y = r.json()
    assert (y["status"], y["decided_by"], y["due"], y["payout"]) == ("approved", "staff:AG1", None, f"{tid}:freight")
    timeline = client.get(f"/v1/tickets/{tid}", headers=h("own1")).json()["timeline"]
    [e] = [e for e in timeline if e["type"] == "freight_refunded"]
    assert (e["rule"], e["payload"]["amount"], e["payload"]["payout"]) == ("GEN-FREIGHT-1", "12.50", f"{tid}:freight")
    again = client.post(f"/v1/tickets/{tid}/freight-claim/decide", json={"approve": False, "reason": "x"},
                        headers=h("own1"))
    assert again.status_code == 409 and again.json()["rules"] == ["GEN-FREIGHT-1"]


def test_GEN_FREIGHT_1_refusals_are_4xx_name_the_rule_and_change_nothing(world: Any) -> None:  # noqa: F811
    client, app, clock = world
    tid = _returned(client)
    url = f"/v1/tickets/{tid}/freight-claim"
    for body, status in (({"amount": "20.01"}, 422), ({"amount": "50.01", "receipt": True}, 422),
                         ({"amount": "0.00"}, 422), ({"amount": "-1.00"}, 422), ({"amount": 12}, 422),
                         ({"amount": "1.234"}, 422), ({"amount": "12.00", "receipt": "yes"}, 422),
                         ({"amount": "12.00", "extra": 1}, 422), ({}, 422)):
        r = client.post(url, json=body, headers=h("b1"))
        assert r.status_code == status, (body, r.text)
        assert r.json()["code"] == "invalid_input"
    assert client.post(url, json={"amount": "20.01"}, headers=h("b1")).json()["rules"] == ["GEN-FREIGHT-1"]
    assert client.get(url, headers=h("b1")).status_code == 404  # nothing was made
    assert client.post(url, json={"amount": "12.00"}, headers=h("own1")).status_code == 403
    assert client.post(url, json={"amount": "12.00"}, headers=h("b2")).status_code == 404
    assert client.post("/v1/tickets/T-nope/freight-claim", json={"amount": "1.00"}, headers=h("b1")).status_code == 404
    assert client.post(url, json={"amount": "50.00", "receipt": True}, headers=h("b1")).status_code == 201
    dup = client.post(url, json={"amount": "1.00"}, headers=h("b1"))
    assert dup.status_code == 422 and dup.json()["code"] == "limit_reached"
    decide = f"{url}/decide"
    no_reason = client.post(decide, json={"approve": False}, headers=h("own1"))
    assert no_reason.status_code == 422 and no_reason.json()["rules"] == ["GEN-FREIGHT-1"]
    assert client.post(decide, json={"approve": True}, headers=h("own2")).status_code == 404
    assert client.post(decide, json={"approve": True}, headers=h("plat")).status_code == 403
    assert client.post(decide, json={"approve": True}, headers=h("b1")).status_code == 403
    assert client.get(url, headers=h("b1")).json()["status"] == "pending"
    r = client.post(decide, json={"approve": False, "reason": "凭证不符"}, headers=h("own1"))
    assert r.status_code == 200 and (r.json()["status"], r.json()["reason"]) == ("rejected", "凭证不符")


def test_GEN_FREIGHT_1_the_worker_approves_at_48h_and_lists_are_scoped(world: Any) -> None:  # noqa: F811
    client, app, clock = world
    tid = _returned(client)
    x = client.post(f"/v1/tickets/{tid}/freight-claim", json={"amount": "8.00"}, headers=h("b1")).json()
    clock.advance(timedelta(hours=48) - timedelta(seconds=1))
    app.tick()
    assert client.get(f"/v1/tickets/{tid}/freight-claim", headers=h("b1")).json()["status"] == "pending"
    clock.advance(timedelta(seconds=1))
    assert app.tick() >= 1
    y = client.get(f"/v1/tickets/{tid}/freight-claim", headers=h("b1")).json()
    assert (y["status"], y["decided_by"], y["decided_at"]) == ("approved", "system", x["due"]["at"])
    ids = lambda tok, q="": [c["id"] for c in client.get(f"/v1/freight-claims{q}", headers=h(tok)).json()["items"]]  # noqa: E731
    assert ids("b1") == ids("own1") == ids("plat") == [x["id"]]
    assert ids("b2") == ids("own2") == [] and ids("plat", "?status=pending") == []
    assert ids("plat", "?status=approved&decides=shop") == [x["id"]]
    assert client.get("/v1/freight-claims?status=nope", headers=h("plat")).status_code == 422
    assert client.get(f"/v1/tickets/{tid}/freight-claim", headers=h("b2")).status_code == 404


def test_the_freight_routes_are_in_the_openapi_document(world: Any) -> None:  # noqa: F811
    client, *_ = world
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    assert {"post", "get"} <= set(paths["/v1/tickets/{ticket_id}/freight-claim"])
    assert "post" in paths["/v1/tickets/{ticket_id}/freight-claim/decide"]
    assert "get" in paths["/v1/freight-claims"]
    amount = doc["components"]["schemas"]["FreightClaimIn"]["properties"]["amount"]
    assert amount["type"] == "string" and "pattern" in amount
