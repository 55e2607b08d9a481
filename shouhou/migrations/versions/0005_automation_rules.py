"""automation rules: the shop's rules that act for it (GEN-AUTO-1, 售后小助手)

One row per rule, in the shop's order (`position`); saving a shop's rules replaces them all. The
conditions are the rule's `when` as the shop wrote it (JSON, money in yuan text).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shouhou.adapters.tables import Instant

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "automation_rules",
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_automation_rules_shop_id_shops")),
        sa.PrimaryKeyConstraint("shop_id", "id", name=op.f("pk_automation_rules")),
    )


def downgrade() -> None:
    op.drop_table("automation_rules")
