"""operations: token ids, expiry and revocation; worker heartbeats; parked deadline actions; the fake
payment channel's idempotency keys

Tokens get a public id (what `token list` shows and `token revoke` names; existing tokens take the
first 16 hex digits of their hash), an expiry and a revocation time. A deadline action that raises
is parked with backoff instead of stopping the sweep; workers record when they last swept; the fake
payment channel remembers its keys in the database so a rehearsal with several workers is honest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shouhou.adapters.tables import Instant

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("expires_at", Instant(), nullable=True))
        batch.add_column(sa.Column("revoked_at", Instant(), nullable=True))
    op.execute("UPDATE tokens SET id = 'tok_' || substr(token_hash, 1, 16)")
    with op.batch_alter_table("tokens") as batch:
        batch.alter_column("id", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_tokens_id", ["id"])
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker", sa.String(120), primary_key=True),
        sa.Column("started_at", Instant(), nullable=False),
        sa.Column("last_sweep_at", Instant(), nullable=False),
        sa.Column("last_fired", sa.Integer(), nullable=False),
        sa.Column("fired_total", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text()),
    )
    op.create_table(
        "parked_actions",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("ident", sa.String(64), primary_key=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", Instant(), nullable=False),
        sa.Column("last_failed_at", Instant(), nullable=False),
        sa.Column("next_try_at", Instant(), nullable=False),
    )
    op.create_index("ix_parked_actions_next_try", "parked_actions", ["next_try_at"])
    op.create_table(
        "fake_channel_refunds",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reference", sa.String(80)),
        sa.Column("reason", sa.Text()),
        sa.Column("buyer_account", sa.Boolean(), nullable=False),
        sa.Column("at", Instant(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("fake_channel_refunds")
    op.drop_index("ix_parked_actions_next_try", table_name="parked_actions")
    op.drop_table("parked_actions")
    op.drop_table("worker_heartbeats")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_constraint("uq_tokens_id", type_="unique")
        batch.drop_column("revoked_at")
        batch.drop_column("expires_at")
        batch.drop_column("id")
