"""Shop automation rules (GEN-AUTO-1) through HTTP: GET and PUT /v1/shops/{shop}/automation. Money is
a yuan string at the edge; unknown keys are refused by the edge, a `reject` rule and bad values by the
domain (naming GEN-AUTO-1); an agent reads but may not change them; another shop sees nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shouhou.entrypoints.api import create_app
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM

URL = "/v1/shops/S1/automation"
RULES = [
    {"id": "SMALL", "action": "approve", "when": {"types": ["refund_only"], "max_amount": "50.00",
                                                   "order_state": "unshipped"}},
    {"id": "RECEIPT", "action": "confirm_receipt", "when": {}},
]


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app: Shouhou) -> Iterator[TestClient]:
    app.handle(c.CreateShop("S1", "S1", "kuaishou", return_address="仓"), PLATFORM)
    app.handle(c.CreateShop("S2", "S2", "douyin"), PLATFORM)
    for mid, sid, role in (("OWN", "S1", "owner"), ("AG", "S1", "cs_agent"), ("OWN2", "S2", "owner")):
        app.handle(c.AddStaff(mid, sid, role), PLATFORM)
        app.handle(c.IssueToken("staff", mid, token=mid.lower()), PLATFORM)
    app.handle(c.AddBuyer("B1"), PLATFORM)
    app.handle(c.IssueToken("buyer", "B1", token="b1"), PLATFORM)
    app.handle(c.ImportOrder("S1", "B1", 3900, id="O1"), PLATFORM)
    with TestClient(create_app(app)) as tc:
        yield tc


def test_put_replaces_and_get_reads_back(client: TestClient) -> None:
    assert client.get(URL, headers=h("ag")).json() == {"shop": "S1", "rule": "GEN-AUTO-1", "rules": [],
                                                       "updated_at": None, "updated_by": None}
    r = client.put(URL, json={"rules": RULES}, headers=h("own"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["id"] for x in body["rules"]] == ["SMALL", "RECEIPT"]
    assert body["rules"][0]["when"]["max_amount"] == "50.00" and body["updated_by"] == "staff:OWN"
    assert client.put(URL, json={"rules": RULES[1:]}, headers=h("own")).json()["rules"][0]["id"] == "RECEIPT"


def test_a_rule_approves_the_buyers_application_over_http(client: TestClient) -> None:
    assert client.put(URL, json={"rules": RULES}, headers=h("own")).status_code == 200
    t = client.post("/v1/orders/O1/tickets", json={"type": "refund_only", "reason": "other"}, headers=h("b1"))
    assert t.status_code == 201, t.text
    ticket = client.get(f"/v1/tickets/{t.json()['id']}", headers=h("ag")).json()
    assert ticket["status"] == "refunded"


def test_a_rejecting_rule_is_refused_naming_the_shops_own_rejection_rule(client: TestClient) -> None:
    """A rule never rejects: the refusal names GEN-AUTO-1 and the rejection rule of the shop's pack,
    KS-RR-4 on Kuaishou, GEN-RR-4 (declared like KS-RR-4) on Douyin: never another platform's ID."""
    for url, token, rule in ((URL, "own", "KS-RR-4"), ("/v1/shops/S2/automation", "own2", "GEN-RR-4")):
        r = client.put(url, json={"rules": [{"id": "NO", "action": "reject"}]}, headers=h(token))
        assert r.status_code == 422 and r.json()["rules"] == ["GEN-AUTO-1", rule], r.text


@pytest.mark.parametrize("rules, code, rule", [
    ([{"id": "NO", "action": "reject"}], 422, "GEN-AUTO-1"),
    ([{"id": "R", "action": "approve", "when": {"max_amount": "ten"}}], 422, None),
    ([{"id": "R", "action": "approve", "when": {"max_amount": 10}}], 422, None),
    ([{"id": "R", "action": "approve", "when": {"max_amount": "0.00"}}], 422, "GEN-AUTO-1"),
    ([{"id": "R", "action": "approve", "when": {"colour": "red"}}], 422, None),
    ([{"id": "R", "action": "approve", "when": {"types": ["exchange"]}}], 422, "GEN-AUTO-1"),
])
def test_what_is_not_a_rule_is_refused(client: TestClient, rules: list[dict[str, Any]], code: int,
                                       rule: str | None) -> None:
    r = client.put(URL, json={"rules": rules}, headers=h("own"))
    assert r.status_code == code, r.text
    body = r.json()
    assert body["message_zh"] and body["message_en"]
    if rule is not None:
        assert rule in body["rules"]
    assert client.get(URL, headers=h("own")).json()["rules"] == []


def test_who_may(client: TestClient) -> None:
    assert client.put(URL, json={"rules": RULES}, headers=h("ag")).status_code == 403
    assert client.put(URL, json={"rules": RULES}, headers=h("b1")).status_code in (403, 404)
    assert client.get(URL, headers=h("own2")).status_code == 404
    assert client.put(URL, json={"rules": RULES}, headers=h("own2")).status_code == 404
    assert client.get(URL).status_code == 401
