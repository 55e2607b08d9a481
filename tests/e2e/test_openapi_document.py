"""What the OpenAPI document promises a client generator: a bearer scheme on every route that needs a
token (not on /healthz), tags on every route, enums on the answers' closed sets, and every list in the
list envelope."""

from __future__ import annotations

import re
from typing import Any

from .test_api import apply, h, world  # noqa: F401

OPEN = {"/healthz"}  # answers without a token


def test_every_route_but_healthz_declares_the_bearer_scheme_and_a_tag(world: Any) -> None:  # noqa: F811
    client, *_ = world
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]["bearer"]["description"]}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            assert op.get("tags"), (method, path)
            assert (op.get("security") == [{"bearer": []}]) is (path not in OPEN), (method, path)
    assert not any(p.startswith("/docs") or p.startswith("/console") for p in doc["paths"])


def test_answers_name_their_closed_sets_and_lists_come_in_envelopes(world: Any) -> None:  # noqa: F811
    client, *_ = world
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    summary = schemas["TicketSummary"]["properties"]
    assert "pending_review" in summary["status"]["enum"] and "refunded" in summary["status"]["enum"]
    assert summary["type"]["enum"][0] == "refund_only" and "quality" in summary["reason"]["enum"]
    order = schemas["OrderOut"]["properties"]
    assert order["payment"]["enum"] == ["online", "cod"] and "closed" in order["status"]["enum"]
    doc = client.get("/openapi.json").json()
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            ok = next((v for k, v in op["responses"].items() if k.startswith("2")), {})
            schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
            assert schema.get("type") != "array", (method, path)
            if schema.get("$ref", "").endswith("Page"):
                name = schema["$ref"].rsplit("/", 1)[1]
                fields = set(schemas[name]["properties"])  # limit/offset pages count; cursor pages go on
                assert "items" in fields and ("total" in fields or {"next", "has_more"} <= fields), name


ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$")


def times(value: Any, key: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in times(v, k)]
    if isinstance(value, list):
        return [x for v in value for x in times(v, key)]
    return [(key, value)] if isinstance(value, str) and (key == "at" or key.endswith("_at")) else []


def test_every_time_in_an_answer_is_iso_8601_with_its_offset(world: Any) -> None:  # noqa: F811
    client, *_ = world
    t = apply(client)
    client.post(f"/v1/tickets/{t['id']}/approve", json={}, headers=h("ag1"))
    answers = [client.get(f"/v1/tickets/{t['id']}", headers=h("b1")).json(),
               client.get("/v1/tickets", headers=h("ag1")).json(),
               client.get("/v1/orders/O1", headers=h("b1")).json(),
               client.get("/v1/orders/O1/events", headers=h("plat")).json(),
               client.get("/v1/tokens", headers=h("plat")).json()]
    found = [x for a in answers for x in times(a)]
    assert len(found) > 10
    assert [x for x in found if not ISO.match(x[1])] == []
