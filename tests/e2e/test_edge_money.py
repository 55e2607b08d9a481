"""Issue 11, §2: money is parsed once, at the edge, by one annotated type (schemas.common.Yuan): a
decimal string in yuan on the wire, integer fen in the route; the same refusal everywhere, and the
OpenAPI schema says "a string with this pattern"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.entrypoints.api.schemas.common import YUAN_PATTERN
from shouhou.services.app import Shouhou

from .edge_world import client, h, populate


@pytest.fixture
def cl(app: Shouhou, clock: VirtualClock) -> TestClient:
    populate(app, clock)
    return client(app)


@pytest.mark.parametrize("amount", ["9.999", "abc", "1e3", " 9.00", "", 99, 9.5, True, None, "99.00.00"])
def test_bad_money_is_the_same_invalid_input_everywhere(cl: TestClient, amount: Any) -> None:
    for path, token, body in (("/v1/orders/O1/tickets", "b1", {"type": "refund_only", "reason": "no_reason"}),
                              ("/v1/shops/S1/top-up", "own", {"account": "wallet"}),
                              ("/v1/orders", "plat", {"shop": "S1", "buyer": "B1"})):
        if amount is None and path.endswith("tickets"):
            continue  # an application without an amount asks for all that is refundable
        r = cl.post(path, json={**body, "amount": amount}, headers=h(token))
        assert r.status_code == 422, (path, r.text)
        assert r.json()["code"] == "invalid_input" and "amount" in r.json()["message_en"]
        assert "金额" in r.json()["message_zh"] or "缺少" in r.json()["message_zh"] or "须为" in r.json()["message_zh"]


def test_good_money_reaches_the_command_in_fen(cl: TestClient) -> None:
    r = cl.post("/v1/orders/O1/tickets", json={"type": "refund_only", "reason": "no_reason", "amount": "12.5"},
                headers=h("b1"))
    assert r.status_code == 201 and r.json()["amount"] == "12.50", r.text
    r = cl.post("/v1/orders", json={"shop": "S1", "buyer": "B1", "amount": "10"}, headers=h("plat"))
    assert r.status_code == 201 and (r.json()["amount"], r.json()["freight"]) == ("10.00", "0.00"), r.text
    r = cl.post("/v1/shops/S1/top-up", json={"account": "wallet", "amount": "5.00"}, headers=h("own"))
    assert r.status_code == 200 and r.json()["wallet"] == "5.00", r.text


def test_the_schema_says_money_is_a_decimal_string(cl: TestClient) -> None:
    schemas = cl.get("/openapi.json").json()["components"]["schemas"]
    for name, field in (("TopUpIn", "amount"), ("OrderIn", "amount"), ("OrderIn", "freight"), ("ShopIn", "wallet")):
        prop = schemas[name]["properties"][field]
        assert prop["type"] == "string" and prop["pattern"] == YUAN_PATTERN, (name, prop)
        assert all(re.match(YUAN_PATTERN, x) for x in prop["examples"]) and prop["examples"]
    amount = schemas["ApplyIn"]["properties"]["amount"]["anyOf"][0]
    assert amount["type"] == "string" and amount["pattern"] == YUAN_PATTERN
    assert schemas["BalancesOut"]["properties"]["wallet"]["type"] == "string"
