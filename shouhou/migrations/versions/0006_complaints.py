"""complaints: a buyer's complaint (投诉工单) on an order, open until platform staff close it

An open complaint holds up the shop's exit and deposit withdrawal (KS-EXIT-1).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shouhou.adapters.tables import Instant

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_at", Instant(), nullable=True),
        sa.Column("closed_by", sa.String(80), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_complaints_order_id_orders")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_complaints_shop_id_shops")),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_complaints_buyer_id_buyers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_index(op.f("ix_complaints_order_id"), "complaints", ["order_id"])
    op.create_index("ix_complaints_shop_status", "complaints", ["shop_id", "status", "created_at"])
    op.create_index("ix_complaints_buyer", "complaints", ["buyer_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_complaints_buyer", table_name="complaints")
    op.drop_index("ix_complaints_shop_status", table_name="complaints")
    op.drop_index(op.f("ix_complaints_order_id"), table_name="complaints")
    op.drop_table("complaints")
