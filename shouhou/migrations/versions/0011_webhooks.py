"""webhooks: endpoints, the outbox of deliveries, the attempts' log; the events' place in the feed

The dispatcher gives every stored event its place in the feed (events.feed_seq, in commit order) in
the same transaction as the deliveries it makes for the endpoints that want it; events stored before
this migration take their id as their place, so the feed starts with the whole history and no
endpoint receives it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shouhou.adapters.tables import Instant

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("events") as b:
        b.add_column(sa.Column("feed_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE events SET feed_seq = id")
    op.create_index("ux_events_feed_seq", "events", ["feed_seq"], unique=True)
    op.create_index("ix_events_unsequenced", "events", ["id"], postgresql_where=sa.text("feed_seq IS NULL"),
                    sqlite_where=sa.text("feed_seq IS NULL"))
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("events", sa.JSON(), nullable=True),
        sa.Column("description", sa.String(200), nullable=True),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("old_secret", sa.String(100), nullable=True),
        sa.Column("old_secret_expires_at", Instant(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failing_since", Instant(), nullable=True),
        sa.Column("after_event", sa.BigInteger(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index("ix_webhook_endpoints_shop", "webhook_endpoints", ["shop_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("endpoint_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", Instant(), nullable=True),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("last_attempt_at", Instant(), nullable=True),
        sa.Column("delivered_at", Instant(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["next_try_at"],
                    postgresql_where=sa.text("next_try_at IS NOT NULL"), sqlite_where=sa.text("next_try_at IS NOT NULL"))
    op.create_index("ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id", "created_at"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("endpoint_id", sa.String(64), nullable=False),
        sa.Column("at", Instant(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_attempts_delivery", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_endpoint", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhook_endpoints_shop", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.drop_index("ix_events_unsequenced", table_name="events")
    op.drop_index("ux_events_feed_seq", table_name="events")
    with op.batch_alter_table("events") as b:
        b.drop_column("feed_seq")
