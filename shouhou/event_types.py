"""The catalogue of event types (event_types.toml) and the JSON Schema of each type's message.

Every event shouhou records leaves the same way, in a webhook, in the feed (GET /v1/events) and in the
timelines: `{"id", "type", "version", "timestamp", "data": {shop, order, ticket, rule, actor,
from_status, to_status, payload}}`. The catalogue says, for each type, its payload's version and
fields, the rule IDs it cites and who acts; `message_schema(type)` is that as a JSON Schema (draft
2020-12), served at GET /v1/event-types and in the OpenAPI document's `webhooks` section. The payload
is closed (`additionalProperties: false`): a field that is not in the catalogue is a change of the
contract, and the test suite, which checks every event it makes against its schema, refuses it.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["99.00"]}
INSTANT = {"type": "string", "format": "date-time", "examples": ["2026-03-04T09:00:00+08:00"]}
RULE_ID = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
# the named field types of the catalogue, beside JSON Schema's own
NAMED: dict[str, dict[str, Any]] = {
    "money": MONEY,
    "instant": INSTANT,
    "due": {"type": "object", "description": "a deadline", "required": ["at", "action", "rule"],
            "properties": {"at": INSTANT, "action": {"type": "string", "examples": ["auto_approve"]},
                           "rule": {"type": ["string", "null"], "pattern": RULE_ID}}},
    "when": {"type": "object", "required": ["at", "rule"],
             "properties": {"at": INSTANT, "rule": {"type": ["string", "null"], "pattern": RULE_ID}}},
    "lines": {"type": "array", "items": {"type": "object", "required": ["sku", "qty"],
                                         "properties": {"sku": {"type": "string"},
                                                        "qty": {"type": "integer", "minimum": 1}}}},
}


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    zh: str
    en: str
    rules: tuple[str, ...]
    actors: tuple[str, ...]
    payload: dict[str, dict[str, Any]]  # field -> {type, required, description}
    data: str = "event"  # "ping": a test message's data is {"endpoint": id}


@functools.cache
def catalogue() -> dict[str, EventType]:
    raw = tomllib.loads(resources.files("shouhou").joinpath("event_types.toml").read_text(encoding="utf-8"))
    return {name: EventType(name, int(t["version"]), t["zh"], t["en"], tuple(t["rules"]), tuple(t["actors"]),
                            dict(t.get("payload", {})), t.get("data", "event"))
            for name, t in raw["event"].items()}


def version_of(name: str) -> int:
    known = catalogue().get(name)
    return known.version if known else 1


def _field(spec: dict[str, Any]) -> dict[str, Any]:
    kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    schemas = [NAMED.get(k, {"type": k}) for k in kinds]
    if len(schemas) == 1:
        out = dict(schemas[0])
    elif all(set(s) == {"type"} for s in schemas):
        out = {"type": [s["type"] for s in schemas]}
    else:
        out = {"anyOf": schemas}
    out["description"] = spec["description"]
    return out


def payload_schema(name: str) -> dict[str, Any]:
    t = catalogue()[name]
    return {"type": "object", "additionalProperties": False,
            "properties": {k: _field(v) for k, v in t.payload.items()},
            "required": sorted(k for k, v in t.payload.items() if v.get("required"))}


def message_schema(name: str) -> dict[str, Any]:
    """The whole message of one event type, as a webhook body and a feed item carry it."""
    t = catalogue()[name]
    nullable = {"type": ["string", "null"]}
    if t.data == "ping":
        data: dict[str, Any] = {"type": "object", "required": ["endpoint"],
                                "properties": {"endpoint": {"type": "string", "description": "the endpoint pinged"}}}
    else:
        data = {"type": "object", "additionalProperties": False,
                "required": ["shop", "order", "ticket", "rule", "actor", "from_status", "to_status", "payload"],
                "properties": {
                    "shop": {**nullable, "description": "the shop's id"},
                    "order": {**nullable, "description": "the order's id"},
                    "ticket": {**nullable, "description": "the ticket's id"},
                    "rule": {"type": ["string", "null"], "pattern": RULE_ID,
                             "description": "the rule ID the event cites (RULES.md), e.g. " + (t.rules[0] if t.rules
                                                                                              else "KS-RR-1")},
                    "actor": {"type": "string", "pattern": r"^(system|(buyer|staff|platform):.+)$",
                              "description": "who acted: system, buyer:<id>, staff:<id>, platform:<id>"},
                    "from_status": {**nullable, "description": "the status before (a ticket's or an order's)"},
                    "to_status": {**nullable, "description": "the status after"},
                    "payload": payload_schema(name)}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:shouhou:event:{name}:v{t.version}",
        "title": name, "description": f"{t.en} ({t.zh})",
        "type": "object", "required": ["id", "type", "version", "timestamp", "data"],
        "properties": {
            "id": {"type": "string", "pattern": r"^msg_[A-Za-z0-9_]+$",
                   "description": "the message id, also the webhook-id header: the same on every try"},
            "type": {"const": name},
            "version": {"const": t.version, "description": "the payload's version"},
            "timestamp": {**INSTANT, "description": "when it happened (Asia/Shanghai offset)"},
            "data": data,
        },
    }


def describe(name: str) -> dict[str, Any]:
    """One type as GET /v1/event-types lists it."""
    t = catalogue()[name]
    return {"type": name, "version": t.version, "summary_zh": t.zh, "summary_en": t.en, "rules": list(t.rules),
            "actors": list(t.actors), "schema": message_schema(name)}
