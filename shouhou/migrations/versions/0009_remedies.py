"""remedies: what a ruling with a finding ordered (KS-PI-4, -5, -6); delayed-shipment records

The remedies table keeps the finding of a ruling against the shop, the lines it is about, the
buyer's compensation claim (KS-PI-5) and the shop's retrieval task (KS-PI-6). Delayed-shipment
records (KS-GOV-5) are kept with the overdue records they count alike: a ticket may now have one of
each type, so the unique key on overdue_records becomes (ticket_id, type). (The compensations they
bring are payouts of their own beside the ticket's refund: 0007 made payouts.ticket_id non-unique.)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shouhou.adapters.tables import Covers, Instant

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "remedies",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("finding", sa.String(32), nullable=False),
        sa.Column("remedy", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("ruled_at", Instant(), nullable=False),
        sa.Column("lines", Covers(), nullable=False),
        sa.Column("claimed_at", Instant(), nullable=True),
        sa.Column("retrieval", sa.String(8), nullable=True),
        sa.Column("retrieved_at", Instant(), nullable=True),
        sa.Column("retrieved_by", sa.String(80), nullable=True),
        sa.ForeignKeyConstraint(["id"], ["interventions.id"], name=op.f("fk_remedies_id_interventions")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_remedies_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remedies")),
    )
    op.create_index(op.f("ix_remedies_ticket_id"), "remedies", ["ticket_id"])
    op.create_index("ix_remedies_shop_retrieval", "remedies", ["shop_id", "retrieval"])
    with op.batch_alter_table("overdue_records") as b:
        b.drop_constraint("uq_overdue_records_ticket_id", type_="unique")
        b.create_unique_constraint("uq_overdue_records_ticket_type", ["ticket_id", "type"])


def downgrade() -> None:
    with op.batch_alter_table("overdue_records") as b:
        b.drop_constraint("uq_overdue_records_ticket_type", type_="unique")
        b.create_unique_constraint("uq_overdue_records_ticket_id", ["ticket_id"])
    op.drop_index("ix_remedies_shop_retrieval", table_name="remedies")
    op.drop_index(op.f("ix_remedies_ticket_id"), table_name="remedies")
    op.drop_table("remedies")
