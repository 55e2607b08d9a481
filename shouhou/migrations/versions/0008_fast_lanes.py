"""fast lanes (RULES §10): buyers.standing and buyers.member, orders.custom, tickets.advanced_fen

A buyer's standing (normal | good | poor) and whether they are a Douyin top member decide the fast
lanes (KS-FAST-1, KS-FAST-2, DY-FAST-1); a made-to-order (定制) order never takes one. A ticket keeps
what the platform advanced to the buyer under DY-FAST-1, recovered when the ticket ends. Existing
buyers are `normal` and not members; existing orders are not custom; no ticket has an advance.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("buyers") as batch:
        batch.add_column(sa.Column("standing", sa.String(8), nullable=False, server_default="normal"))
        batch.add_column(sa.Column("member", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("custom", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("advanced_fen", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("advanced_fen")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("custom")
    with op.batch_alter_table("buyers") as batch:
        batch.drop_column("member")
        batch.drop_column("standing")
