"""freight_claims: a buyer's claim for a return's freight (运费申请, GEN-FREIGHT-1)

One claim per ticket; a pending claim's due_at is the worker's deadline (approved automatically after
the pack's 48 h), indexed for pending claims only.

payouts.ticket_id is no longer unique: a ticket's refund is one payout (its id is the ticket's id, the
primary key keeps it to one), and what the shop pays the buyer beyond it is another, named
`<ticket>:<cause>` (a return's freight, GEN-FREIGHT-1; a compensation, KS-GOV-5). The unique
constraint refused the second payout of a refunded ticket; a plain index stays for lookups.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shouhou.adapters.tables import Instant

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("due_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("payouts") as batch:
        batch.drop_constraint("uq_payouts_ticket_id", type_="unique")
        batch.create_index("ix_payouts_ticket_id", ["ticket_id"])
    op.create_table(
        "freight_claims",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("receipt", sa.Boolean(), nullable=False),
        sa.Column("decides", sa.String(16), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", Instant(), nullable=True),
        sa.Column("due_rule", sa.String(32), nullable=True),
        sa.Column("decided_at", Instant(), nullable=True),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_freight_claims_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_freight_claims_order_id_orders")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_freight_claims_shop_id_shops")),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_freight_claims_buyer_id_buyers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_freight_claims")),
    )
    op.create_index("ux_freight_claims_ticket", "freight_claims", ["ticket_id"], unique=True)
    op.create_index("ix_freight_claims_shop_status", "freight_claims", ["shop_id", "status", "created_at"])
    op.create_index("ix_freight_claims_buyer", "freight_claims", ["buyer_id", "created_at"])
    op.create_index("ix_freight_claims_due", "freight_claims", ["due_at"], postgresql_where=PENDING,
                    sqlite_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_freight_claims_due", table_name="freight_claims")
    op.drop_index("ix_freight_claims_buyer", table_name="freight_claims")
    op.drop_index("ix_freight_claims_shop_status", table_name="freight_claims")
    op.drop_index("ux_freight_claims_ticket", table_name="freight_claims")
    op.drop_table("freight_claims")
    with op.batch_alter_table("payouts") as batch:
        batch.drop_index("ix_payouts_ticket_id")
        batch.create_unique_constraint("uq_payouts_ticket_id", ["ticket_id"])
