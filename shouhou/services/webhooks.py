"""Webhook endpoints (Standard Webhooks) and the event feed, as the caller may see them.

A shop's owner or admin registers endpoints for their shop's events; the platform's operator
registers platform-wide ones (every event) or one for a shop. Others' endpoints answer 404. The
secret (`whsec_…`) is shown when it is made (on creation and rotation), never listed; a rotated
secret keeps signing beside the new one for ROTATION_OVERLAP."""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ..adapters import webhooks as wh
from ..adapters.uow import SqlUnitOfWork
from ..domain.actors import Actor
from ..domain.roles import require_act
from ..errors import not_found, refuse
from ..event_types import catalogue, describe, version_of
from .access import visible_shop

ROTATION_OVERLAP = timedelta(hours=24)
MAX_URL = 2048
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_.]{0,39}$")


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def check_url(url: str, allow_private: bool = False) -> str:
    """An http(s) url; unless `allow_private`, not one that names a loopback or private address or
    localhost (names that resolve to one are refused by the sender, before each post)."""
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname or any(
            ch.isspace() for ch in url):
        raise refuse("invalid_input", f"Webhook 地址须为 http(s) 地址,不超过 {MAX_URL} 个字符",
                     f"a webhook url must be an http or https url of at most {MAX_URL} characters")
    if not allow_private and _private_host(parts.hostname):
        raise refuse("invalid_input", "Webhook 地址不能指向本机或内网地址",
                     "a webhook url must not point at a loopback, private or link-local address "
                     "(SHOUHOU_WEBHOOK_ALLOW_PRIVATE=true allows it)")
    return url


def _private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False  # a name: checked when it is resolved, before each post


def check_events(events: list[str] | None) -> list[str] | None:
    if events is None:
        return None
    if not events or len(events) > 100 or any(not EVENT_TYPE.match(e) for e in events):
        raise refuse("invalid_input", "events 须为 1–100 个事件类型(小写字母、数字、下划线)",
                     "events must list 1 to 100 event types (lower-case letters, digits, underscores)")
    unknown = sorted(set(events) - set(catalogue()))
    if unknown:
        raise refuse("invalid_input", f"未知的事件类型:{', '.join(unknown)}(见 GET /v1/event-types)",
                     f"unknown event types: {', '.join(unknown)} (see GET /v1/event-types)")
    return sorted(set(events))


def event_types() -> dict[str, Any]:
    """Every event type with its summary, rules and the JSON Schema of its message."""
    items = [describe(name) for name in sorted(catalogue())]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


def event_type(name: str) -> dict[str, Any]:
    if name not in catalogue():
        raise not_found("event type", name)
    return describe(name)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def view(row: dict[str, Any], secret: bool = False) -> dict[str, Any]:
    out = {"id": row["id"], "shop": row["shop_id"], "url": row["url"], "events": row["events"],
           "description": row["description"], "enabled": row["enabled"], "disabled_reason": row["disabled_reason"],
           "failing_since": _iso(row["failing_since"]), "created_at": _iso(row["created_at"]),
           "updated_at": _iso(row["updated_at"]),
           "previous_secret_until": _iso(row["old_secret_expires_at"]) if row["old_secret"] else None}
    if secret:
        out["secret"] = row["secret"]
    return out


def _load(uow: SqlUnitOfWork, actor: Actor, ident: str, lock: bool = False) -> dict[str, Any]:
    require_act(actor, "manage_webhooks")
    row = wh.endpoint(uow.conn, ident, lock=lock)
    if row is None or not (actor.is_platform or (actor.is_staff and row["shop_id"] == actor.shop_id)):
        raise not_found("webhook endpoint", ident)
    return row


def create_endpoint(uow: SqlUnitOfWork, actor: Actor, now: datetime, url: str, events: list[str] | None,
                    description: str | None, shop_id: str | None, allow_private: bool = False) -> dict[str, Any]:
    require_act(actor, "manage_webhooks")
    if actor.is_staff:
        if shop_id not in (None, actor.shop_id):
            raise not_found("shop", shop_id or "")
        shop_id = actor.shop_id
    if shop_id is not None:
        visible_shop(uow, actor, shop_id)
    row = {"id": "we_" + secrets.token_hex(8), "shop_id": shop_id, "url": check_url(url, allow_private),
           "events": check_events(events), "description": description, "secret": new_secret(), "old_secret": None,
           "old_secret_expires_at": None, "enabled": True, "disabled_reason": None, "failing_since": None,
           "after_event": wh.last_event_id(uow.conn), "created_at": now, "created_by": actor.label, "updated_at": now}
    wh.add_endpoint(uow.conn, row)
    return view(row, secret=True)


def list_endpoints(uow: SqlUnitOfWork, actor: Actor, limit: int, offset: int) -> dict[str, Any]:
    require_act(actor, "manage_webhooks")
    conds = [] if actor.is_platform else [wh.E.shop_id == actor.shop_id]
    rows, total = wh.endpoints(uow.conn, conds, limit, offset)
    return {"items": [view(r) for r in rows], "total": total, "limit": limit, "offset": offset}


def get_endpoint(uow: SqlUnitOfWork, actor: Actor, ident: str) -> dict[str, Any]:
    return view(_load(uow, actor, ident))


def update_endpoint(uow: SqlUnitOfWork, actor: Actor, ident: str, now: datetime,
                    changes: dict[str, Any], allow_private: bool = False) -> dict[str, Any]:
    row = _load(uow, actor, ident, lock=True)
    values: dict[str, Any] = {"updated_at": now}
    if "url" in changes:
        values["url"] = check_url(changes["url"], allow_private)
    if "events" in changes:
        values["events"] = check_events(changes["events"])
    if "description" in changes:
        values["description"] = changes["description"]
    if "enabled" in changes:
        values["enabled"] = bool(changes["enabled"])
        if values["enabled"]:  # enabled again: a fresh start, its pending deliveries go out
            values.update(disabled_reason=None, failing_since=None)
        elif row["enabled"]:
            values["disabled_reason"] = f"disabled by {actor.label}"
    wh.change_endpoint(uow.conn, ident, **values)
    return view({**row, **values})


def delete_endpoint(uow: SqlUnitOfWork, actor: Actor, ident: str) -> None:
    _load(uow, actor, ident, lock=True)
    wh.remove_endpoint(uow.conn, ident)


def rotate_secret(uow: SqlUnitOfWork, actor: Actor, ident: str, now: datetime) -> dict[str, Any]:
    """A new secret; the old one signs beside it (a second signature) for ROTATION_OVERLAP."""
    row = _load(uow, actor, ident, lock=True)
    values = {"secret": new_secret(), "old_secret": row["secret"], "old_secret_expires_at": now + ROTATION_OVERLAP,
              "updated_at": now}
    wh.change_endpoint(uow.conn, ident, **values)
    return view({**row, **values}, secret=True)


def ping(uow: SqlUnitOfWork, actor: Actor, ident: str, now: datetime) -> dict[str, Any]:
    """A test message to the endpoint, delivered (and logged) like any other."""
    row = _load(uow, actor, ident)
    message_id = "msg_ping_" + secrets.token_hex(8)
    body = {"id": message_id, "type": "ping", "version": version_of("ping"), "timestamp": now.isoformat(),
            "data": {"endpoint": row["id"]}}
    wh.add_deliveries(uow.conn, [{"endpoint_id": ident, "event_id": None, "message_id": message_id, "type": "ping",
                                  "body": body, "status": "pending", "attempts": 0, "next_try_at": now,
                                  "created_at": now}])
    return {"message_id": message_id}


def list_deliveries(uow: SqlUnitOfWork, actor: Actor, ident: str, limit: int, offset: int) -> dict[str, Any]:
    _load(uow, actor, ident)
    rows, total = wh.deliveries(uow.conn, ident, limit, offset)
    return {"items": [delivery_view(r) for r in rows], "total": total, "limit": limit, "offset": offset}


def delivery_view(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "endpoint": r["endpoint_id"], "message_id": r["message_id"], "type": r["type"],
            "status": r["status"], "attempts": r["attempts"], "next_try_at": _iso(r["next_try_at"]),
            "created_at": _iso(r["created_at"]), "delivered_at": _iso(r["delivered_at"]),
            "attempt_log": [{"at": _iso(a["at"]), "status_code": a["status_code"], "latency_ms": a["latency_ms"],
                             "error": a["error"]} for a in r.get("attempt_log", [])]}


def redeliver(uow: SqlUnitOfWork, actor: Actor, delivery_id: int, now: datetime) -> dict[str, Any]:
    require_act(actor, "manage_webhooks")
    d = wh.delivery(uow.conn, delivery_id, lock=True)
    if d is None:
        raise not_found("webhook delivery", str(delivery_id))
    ep = wh.endpoint(uow.conn, d["endpoint_id"])
    if ep is None or not (actor.is_platform or (actor.is_staff and ep["shop_id"] == actor.shop_id)):
        raise not_found("webhook delivery", str(delivery_id))
    wh.change_delivery(uow.conn, delivery_id, status="pending", attempts=0, next_try_at=now)
    return delivery_view({**d, "status": "pending", "attempts": 0, "next_try_at": now})


def redeliver_since(uow: SqlUnitOfWork, actor: Actor, ident: str, since: datetime, now: datetime) -> dict[str, Any]:
    _load(uow, actor, ident, lock=True)
    return {"redelivering": wh.redeliver_since(uow.conn, ident, since, now)}


# -- the event feed --------------------------------------------------------------------------------

def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"f{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("f") or not raw[1:].isdigit() or len(raw) > 20:
            raise ValueError(raw)
        return int(raw[1:])
    except ValueError:
        raise refuse("invalid_input", "游标无效", "invalid cursor: pass back the `next` of a previous page") from None


def feed(uow: SqlUnitOfWork, actor: Actor, after: str | None, limit: int) -> dict[str, Any]:
    """Events in the order they were committed, after the cursor: the platform's all, staff their
    shop's, a buyer those of their orders. `next` is the cursor to pass back (the same when nothing
    is new yet)."""
    start = decode_cursor(after)
    if actor.is_platform:
        rows = wh.feed(uow.conn, start, limit)
    elif actor.is_staff:
        rows = wh.feed(uow.conn, start, limit, shop_id=actor.shop_id or "")
    elif actor.is_buyer:
        rows = wh.feed(uow.conn, start, limit, buyer_id=actor.id)
    else:
        rows = []
    items = [{**wh.message_of(r), "cursor": encode_cursor(r["feed_seq"])} for r in rows]
    last = rows[-1]["feed_seq"] if rows else start
    return {"items": items, "next": encode_cursor(last), "has_more": len(rows) == limit}
