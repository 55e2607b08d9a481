"""Issue 11, §4: every error the API gives is the one envelope `{code, message_zh, message_en, rules}`:
unknown routes, wrong methods, bodies that do not parse, missing tokens (with WWW-Authenticate), and
validation errors whose Chinese message is Chinese."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.services.app import Shouhou

from .edge_world import client, h, populate

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def cl(app: Shouhou, clock: VirtualClock) -> TestClient:
    populate(app, clock)
    return client(app)


def envelope(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "message_zh", "message_en", "rules"}, body
    assert body["code"] == code and body["message_zh"] and body["message_en"], body
    return body  # type: ignore[no-any-return]


def test_an_unknown_route_is_not_found_in_the_envelope(cl: TestClient) -> None:
    envelope(cl.get("/v1/no-such-thing", headers=h("b1")), 404, "not_found")
    envelope(cl.get("/nowhere"), 404, "not_found")


def test_a_wrong_method_is_405_in_the_envelope(cl: TestClient) -> None:
    r = cl.delete("/v1/tickets", headers=h("b1"))
    envelope(r, 405, "method_not_allowed")
    assert "GET" in r.headers["allow"]


def test_a_body_that_is_not_utf8_is_a_bad_request(cl: TestClient) -> None:
    r = cl.post("/v1/orders/O1/tickets", content=b'{"type": "refund_only", "reason": "\xff\xfe"}',
                headers={**h("b1"), **JSON})
    assert r.status_code in (400, 422)
    envelope(r, r.status_code, "bad_request" if r.status_code == 400 else "invalid_input")


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_json_nested_deep_is_refused_in_the_envelope(cl: TestClient, depth: int) -> None:
    r = cl.post("/v1/orders/O1/tickets", content="[" * depth + "]" * depth, headers={**h("b1"), **JSON})
    assert r.status_code in (400, 422)
    envelope(r, r.status_code, "bad_request" if r.status_code == 400 else "invalid_input")
    deep = '{"type": "refund_only", "reason": "quality", "note": ' + "[" * depth + "]" * depth + "}"
    r = cl.post("/v1/orders/O1/tickets", content=deep, headers={**h("b1"), **JSON})
    assert r.status_code in (400, 422)


def test_a_missing_or_unknown_token_says_bearer(cl: TestClient) -> None:
    for headers in ({}, h("nobody")):
        r = cl.get("/v1/me", headers=headers)
        envelope(r, 401, "unauthenticated")
        assert r.headers["www-authenticate"] == "Bearer"


def test_validation_errors_are_chinese_in_message_zh_and_english_in_message_en(cl: TestClient) -> None:
    r = cl.post("/v1/orders/O1/tickets", json={"type": "refund_only", "reason": 5, "surprise": 1,
                                               "note": "x" * 3000}, headers=h("b1"))
    body = envelope(r, 422, "invalid_input")
    zh = body["message_zh"]
    assert "Input should" not in zh and "Extra inputs" not in zh and "String should" not in zh, zh
    assert re.search(r"[\u4e00-\u9fff]", zh.replace("请求内容有误", "")), zh
    assert "reason" in zh and "surprise" in zh and "note" in zh  # the field still named
    assert "Input should be a valid string" in body["message_en"]
    missing = envelope(cl.post("/v1/orders/O1/tickets", json={}, headers=h("b1")), 422, "invalid_input")
    assert "缺少" in missing["message_zh"] and "Field required" in missing["message_en"]


def test_an_unexpected_error_is_still_the_envelope(app: Shouhou, clock: VirtualClock,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    populate(app, clock)
    cl = client(app)

    def boom(*args: Any, **kw: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app, "handle", boom)
    r = cl.post("/v1/orders/O1/confirm", headers=h("b1"))
    body = envelope(r, 500, "internal_error")
    assert "a bug" not in body["message_en"]  # no internals leak


def test_405_names_every_method_the_path_takes(cl: TestClient) -> None:
    """GET and POST /v1/tickets/{id}/intervention are two routes; Allow named only the first one's."""
    r = cl.put("/v1/tickets/T1/intervention", headers=h("b1"))
    envelope(r, 405, "method_not_allowed")
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}


@pytest.mark.parametrize("at", ["0", "0.5", "1700000000"])
def test_a_time_is_iso_text_not_a_number_of_seconds(cl: TestClient, at: str) -> None:
    envelope(cl.get(f"/v1/shops/S1/governance?at={at}", headers=h("own")), 422, "invalid_input")
    r = cl.post("/v1/orders", json={"shop": "S1", "buyer": "B1", "amount": "9.00", "created_at": float(at)},
                headers=h("plat"))
    envelope(r, 422, "invalid_input")


def test_the_schema_names_each_vocabulary(cl: TestClient) -> None:
    """What the domain takes, said in the OpenAPI schema (the domain still refuses the rest)."""
    doc = cl.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert schemas["ApplyIn"]["properties"]["type"]["enum"] == ["refund_only", "return_refund", "exchange", "repair",
                                                               "reship"]
    assert schemas["ShopStatusIn"]["properties"]["status"]["enum"] == ["normal", "suspended", "closed"]
    assert "merchant" in schemas["RulingIn"]["properties"]["in_favour_of"]["enum"]
    params = {p["name"]: p for p in doc["paths"]["/v1/shops/{shop_id}/statement"]["get"]["parameters"]}
    assert params["format"]["schema"]["enum"] == ["json", "csv"]
