"""site message pushes through the outbox (DY-OP-10)

The site message is the push's outbox row: it is stored in the transaction that opens the entry, with
push_status 'pending' and push_next_at set; the dispatcher pushes it afterwards, at least once, and
retries on the webhooks' schedule. Messages stored before this migration were pushed after their
commit already (or lost with a crash): they are left with no push pending.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-11 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shouhou.adapters.tables import Instant

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = sa.text("push_next_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("site_messages") as batch:
        batch.add_column(sa.Column("push_status", sa.String(12)))
        batch.add_column(sa.Column("push_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("push_next_at", Instant()))
        batch.add_column(sa.Column("pushed_at", Instant()))
        batch.add_column(sa.Column("push_error", sa.Text()))
    op.create_index("ix_site_messages_push_due", "site_messages", ["push_next_at"],
                    postgresql_where=_DUE, sqlite_where=_DUE)


def downgrade() -> None:
    op.drop_index("ix_site_messages_push_due", table_name="site_messages")
    with op.batch_alter_table("site_messages") as batch:
        for name in ("push_error", "pushed_at", "push_next_at", "push_attempts", "push_status"):
            batch.drop_column(name)
