"""indexes for governance metrics

The 30-day metrics (KS-GOV-2) read a shop's applications by creation time and its over-period
openings by event type; these two indexes serve them (the sweep benchmark showed both queries
scanning the shop's rows).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:23:17
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_shop_type_at", "events", ["shop_id", "type", "at"], unique=False)
    op.create_index("ix_tickets_shop_created", "tickets", ["shop_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tickets_shop_created", table_name="tickets")
    op.drop_index("ix_events_shop_type_at", table_name="events")
