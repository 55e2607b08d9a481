"""The published payload schemas (issue 14): every event type has a versioned JSON Schema, listed at
GET /v1/event-types and in the OpenAPI document's webhooks section; an endpoint may subscribe only to
types that exist. (That every event the suite makes matches its schema is checked for every test by
the autouse fixture in tests/conftest.py.)"""

from __future__ import annotations

from typing import Any

import jsonschema

from shouhou.event_types import catalogue, message_schema

from .test_api import h, world  # noqa: F401  (the fixture)


def test_every_type_is_listed_with_a_valid_json_schema(world: Any) -> None:  # noqa: F811
    client, *_ = world
    r = client.get("/v1/event-types", headers=h("own1"))
    assert r.status_code == 200, r.text
    page = r.json()
    names = [x["type"] for x in page["items"]]
    assert names == sorted(catalogue()) and page["total"] == len(names) >= 80
    for x in page["items"]:
        jsonschema.Draft202012Validator.check_schema(x["schema"])
        assert x["schema"]["properties"]["version"]["const"] == x["version"] >= 1
        assert x["summary_zh"] and x["summary_en"]
    one = client.get("/v1/event-types/auto_approved", headers=h("b1")).json()
    assert "KS-RR-1" in one["rules"] and one["actors"] == ["system"]
    assert one["schema"]["$id"] == "urn:shouhou:event:auto_approved:v1"
    missing = client.get("/v1/event-types/no_such_thing", headers=h("own1"))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert client.get("/v1/event-types").status_code == 401


def test_a_schema_refuses_what_its_type_does_not_carry() -> None:
    """The payload is closed and typed: an integrator can rely on what the schema says."""
    schema = message_schema("refunded")
    good = {"id": "msg_7", "type": "refunded", "version": 1, "timestamp": "2026-03-04T09:00:00+08:00",
            "data": {"shop": "S1", "order": "O1", "ticket": "T1", "rule": "KS-RR-3", "actor": "system",
                     "from_status": None, "to_status": None, "payload": {"amount": "99.00"}}}
    jsonschema.validate(good, schema)
    for bad in ({"amount": 9900}, {"amount": "99"}, {"amount": "99.00", "surprise": 1}, {}):
        body = {**good, "data": {**good["data"], "payload": bad}}
        assert not jsonschema.Draft202012Validator(schema).is_valid(body), bad
    assert not jsonschema.Draft202012Validator(schema).is_valid({**good, "version": 2})


def test_the_openapi_document_describes_every_webhook(world: Any) -> None:  # noqa: F811
    client, *_ = world
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["webhooks"]) == set(catalogue())
    post = doc["webhooks"]["refund_paid"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["data"]["properties"]["payload"]["required"] == ["amount", "channel_ref", "payout"]
    assert "webhook-signature" in post["description"]


def test_an_endpoint_subscribes_only_to_types_that_exist(world: Any) -> None:  # noqa: F811
    client, *_ = world
    r = client.post("/v1/webhook-endpoints", json={"url": "https://x.example/h", "events": ["refunded", "refundd"]},
                    headers=h("own1"))
    assert r.status_code == 422 and "refundd" in r.json()["message_en"]
    ok = client.post("/v1/webhook-endpoints", json={"url": "https://x.example/h", "events": ["refunded"]},
                     headers=h("own1"))
    assert ok.status_code == 201 and ok.json()["events"] == ["refunded"]
