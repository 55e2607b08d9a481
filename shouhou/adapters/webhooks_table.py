"""Webhooks (Standard Webhooks): the endpoints integrators register, the outbox of deliveries (one row
per message and endpoint, its body fixed when it is made, so every retry sends the same bytes under
the same `webhook-id`) and the log of every attempt. They share `tables.metadata` (importing
shouhou.adapters registers them), so Alembic owns them like the rest (migration 0011)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, Table, Text, text

from .tables import Instant, metadata

_ID = BigInteger().with_variant(Integer, "sqlite")
_DUE = text("next_try_at IS NOT NULL")

webhook_endpoints = Table(
    "webhook_endpoints", metadata,
    Column("id", String(64), primary_key=True),  # we_<hex>
    Column("shop_id", String(64)),  # the shop whose events it receives; NULL: platform-wide, every event
    Column("url", String(2048), nullable=False),
    Column("events", JSON),  # the event types it wants; NULL: all
    Column("description", String(200)),
    Column("secret", String(100), nullable=False),  # whsec_<base64>
    Column("old_secret", String(100)),  # still signs beside the new one until old_secret_expires_at
    Column("old_secret_expires_at", Instant),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("failing_since", Instant),
    Column("after_event", BigInteger, nullable=False),  # the last event stored before it was registered  # the first failed attempt since its last success
    Column("created_at", Instant, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("updated_at", Instant, nullable=False),
    Index("ix_webhook_endpoints_shop", "shop_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("endpoint_id", String(64), nullable=False),
    Column("event_id", BigInteger),  # NULL for a test ping
    Column("message_id", String(64), nullable=False),  # the webhook-id: msg_<event id>, the same on every try
    Column("type", String(40), nullable=False),
    Column("body", JSON, nullable=False),  # {id, type, timestamp, data}
    Column("status", String(12), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_try_at", Instant),  # pending only: when the next attempt is due (or its claim expires)
    Column("created_at", Instant, nullable=False),
    Column("last_attempt_at", Instant),
    Column("delivered_at", Instant),
    Index("ix_webhook_deliveries_due", "next_try_at", postgresql_where=_DUE, sqlite_where=_DUE),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("delivery_id", BigInteger, nullable=False),
    Column("endpoint_id", String(64), nullable=False),
    Column("at", Instant, nullable=False),
    Column("status_code", Integer),  # NULL: no answer (refused, timed out)
    Column("latency_ms", Integer, nullable=False),
    Column("error", Text),
    Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)
