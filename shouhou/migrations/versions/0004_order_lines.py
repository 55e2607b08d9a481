"""order lines (GEN-APPLY-7): orders.lines and tickets.lines as JSON

An order's lines (SKU, name, qty, unit price paid, listed price, kind) with what each has refunded and
what the open ticket holds on it; a ticket's lines are the {sku, qty} it covers. Existing orders get
the one line GEN-APPLY-7 gives an order without lines (SKU = the order's id, qty 1, the amount less
freight), carrying what the order refunded and holds; existing tickets cover that line.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("lines", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("lines", sa.JSON(), nullable=False, server_default="[]"))
    conn = op.get_bind()
    orders = sa.table("orders", sa.column("id", sa.String), sa.column("amount_fen", sa.BigInteger),
                      sa.column("freight_fen", sa.BigInteger), sa.column("refunded_fen", sa.BigInteger),
                      sa.column("held_fen", sa.BigInteger), sa.column("lines", sa.JSON))
    tickets = sa.table("tickets", sa.column("order_id", sa.String), sa.column("lines", sa.JSON))
    rows = conn.execute(sa.select(orders.c.id, orders.c.amount_fen, orders.c.freight_fen, orders.c.refunded_fen,
                                  orders.c.held_fen)).all()
    for oid, amount, freight, refunded, held in rows:
        goods = amount - freight
        on_line = min(refunded, goods)
        line = {"sku": oid, "name": oid, "qty": 1, "price_fen": goods, "listed_price_fen": goods, "kind": "goods",
                "refunded_fen": on_line, "held_fen": max(min(held, goods - on_line), 0)}
        conn.execute(orders.update().where(orders.c.id == oid).values(lines=[line]))
        conn.execute(tickets.update().where(tickets.c.order_id == oid).values(lines=[{"sku": oid, "qty": 1}]))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("lines")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("lines")
