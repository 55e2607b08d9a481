"""Issue 11, §1: every string the API takes is valid Unicode without NUL and bounded, list items and
dict keys and values included; text stored before that rule (a lone surrogate written straight into
the database) is shown escaped instead of failing every list that holds it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from shouhou.clock import VirtualClock
from shouhou.services.app import Shouhou

from ..conftest import is_postgres
from .edge_world import client, h, populate

JSON = {"Content-Type": "application/json"}
LONE = '"\\udc00"'  # a JSON string holding one lone surrogate


@pytest.fixture
def cl(app: Shouhou, clock: VirtualClock) -> TestClient:
    populate(app, clock)
    return client(app)


def refused(r: Any) -> None:
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_input"


def test_a_lone_surrogate_in_an_applications_evidence_is_refused_and_the_queue_still_answers(cl: TestClient) -> None:
    body = '{"type": "return_refund", "reason": "quality", "evidence": [' + LONE + "]}"
    refused(cl.post("/v1/orders/O1/tickets", content=body, headers={**h("b1"), **JSON}))
    assert cl.get("/v1/tickets", headers=h("own")).status_code == 200
    assert cl.get("/v1/orders/O1", headers=h("b1")).json()["open_ticket"] is None  # nothing was stored


def test_a_lone_surrogate_in_a_rejections_evidence_is_refused(cl: TestClient) -> None:
    t = cl.post("/v1/orders/O1/tickets", json={"type": "return_refund", "reason": "quality", "evidence": ["a.jpg"]},
                headers=h("b1")).json()
    body = '{"reason": "no", "evidence": [' + LONE + "]}"
    refused(cl.post(f"/v1/tickets/{t['id']}/reject", content=body, headers={**h("own"), **JSON}))
    assert cl.get("/v1/tickets", headers=h("own")).status_code == 200


def test_a_lone_surrogate_among_the_orders_of_a_bulk_opening_is_refused(cl: TestClient) -> None:
    refused(cl.post("/v1/entries/open", content='{"orders": [' + LONE + "]}", headers={**h("own"), **JSON}))


@pytest.mark.parametrize("commission", ['{"\\udc00": "0.10"}', '{"creator": "\\udc00"}', '{"creator": "a\\u0000"}'])
def test_dict_keys_and_values_are_text_too(cl: TestClient, commission: str) -> None:
    body = '{"shop": "S1", "buyer": "B1", "amount": "9.00", "commission": ' + commission + "}"
    refused(cl.post("/v1/orders", content=body, headers={**h("plat"), **JSON}))


def test_nul_in_a_list_item_is_refused_with_a_chinese_message(cl: TestClient) -> None:
    r = cl.post("/v1/orders/O1/tickets", json={"type": "return_refund", "reason": "quality", "evidence": ["a\x00"]},
                headers=h("b1"))
    refused(r)
    assert "NUL" in r.json()["message_zh"] and "evidence.0" in r.json()["message_zh"]


def test_strings_and_lists_are_bounded(cl: TestClient) -> None:
    refused(cl.post("/v1/orders/O1/tickets", json={"type": "return_refund", "reason": "quality",
                                                   "evidence": ["n" * 256]}, headers=h("b1")))
    refused(cl.post("/v1/orders/O1/tickets", json={"type": "return_refund", "reason": "quality",
                                                   "evidence": [f"{i}.jpg" for i in range(21)]}, headers=h("b1")))
    t = cl.post("/v1/orders/O1/tickets", json={"type": "return_refund", "reason": "quality", "evidence": ["a.jpg"]},
                headers=h("b1")).json()
    refused(cl.post(f"/v1/tickets/{t['id']}/approve", json={"return_address": "仓" * 2001}, headers=h("own")))
    refused(cl.post("/v1/measures/M1/lift", json={"reason": "x" * 2001}, headers=h("plat")))
    refused(cl.post("/v1/orders", json={"shop": "S1", "buyer": "B1", "amount": "9.00",
                                        "commission": {f"k{i}": "0.01" for i in range(21)}}, headers=h("plat")))


def test_every_string_of_every_request_body_is_bounded_in_the_schema(cl: TestClient) -> None:
    schemas = cl.get("/openapi.json").json()["components"]["schemas"]

    def strings(node: Any, where: str) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = []
        if isinstance(node, dict):
            if (node.get("type") == "string" and node.get("format") not in ("date-time", "binary")
                    and "contentMediaType" not in node):  # a file
                found.append((where, node))
            for k, v in node.items():
                found += strings(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                found += strings(v, f"{where}[{i}]")
        return found

    inputs = {name: s for name, s in schemas.items() if name.endswith("In") or name.startswith("Body_")}
    assert inputs
    unbounded = [w for name, s in inputs.items() for w, node in strings(s, name)
                 if "maxLength" not in node and "pattern" not in node and "enum" not in node]
    assert unbounded == []


@pytest.mark.skipif(is_postgres(), reason="PostgreSQL's JSON refuses a lone surrogate: it cannot be stored there")
def test_text_stored_before_the_rule_is_shown_escaped(cl: TestClient, engine: Engine) -> None:
    t = cl.post("/v1/orders/O1/tickets", json={"type": "return_refund", "reason": "quality", "evidence": ["a.jpg"]},
                headers=h("b1")).json()
    with engine.begin() as conn:  # as an older version let it in
        conn.execute(text("UPDATE tickets SET evidence = :e WHERE id = :i"), {"e": '["\\udc00.jpg"]', "i": t["id"]})
    for path in ("/v1/tickets", f"/v1/tickets/{t['id']}"):
        r = cl.get(path, headers=h("own"))
        assert r.status_code == 200, r.text
        assert "\\udc00.jpg" in r.content.decode("utf-8")  # the escape is visible, and the body is UTF-8
    one = cl.get(f"/v1/tickets/{t['id']}", headers=h("own")).json()
    assert one["evidence"] == ["\\udc00.jpg"]


def test_what_leaves_is_utf8_whatever_was_stored() -> None:
    from shouhou.entrypoints.api.responses import SafeJSONResponse, utf8

    body = SafeJSONResponse({"\udc00k": ["a\udc00", {"n": 1}]}).body
    assert body.decode("utf-8") == '{"\\\\udc00k":["a\\\\udc00",{"n":1}]}'
    assert utf8("a,\udc00\n") == b"a,\\udc00\n"  # the CSV exports
