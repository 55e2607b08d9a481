"""The freight claims table (运费申请, GEN-FREIGHT-1). It shares `tables.metadata` (importing
shouhou.adapters registers it), so Alembic owns it like the rest (migration 0007). A pending claim's
`due_at` is a stored deadline (operations.DUE_COLUMNS, kind `freight`): the partial index holds only
the pending ones. One claim per ticket, kept by a unique index as well as by the rule."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text, text

from .tables import Instant, metadata

freight_claims = Table(
    "freight_claims", metadata,
    Column("id", String(64), primary_key=True),
    Column("ticket_id", String(64), ForeignKey("tickets.id"), nullable=False),
    Column("order_id", String(64), ForeignKey("orders.id"), nullable=False),
    Column("shop_id", String(64), ForeignKey("shops.id"), nullable=False),
    Column("buyer_id", String(64), ForeignKey("buyers.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("receipt", Boolean, nullable=False),
    Column("decides", String(16), nullable=False),  # shop | platform
    Column("created_at", Instant, nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | rejected
    Column("due_at", Instant),
    Column("due_rule", String(32)),
    Column("decided_at", Instant),
    Column("decided_by", String(80)),
    Column("reason", Text),
    Index("ux_freight_claims_ticket", "ticket_id", unique=True),
    Index("ix_freight_claims_shop_status", "shop_id", "status", "created_at"),
    Index("ix_freight_claims_buyer", "buyer_id", "created_at"),
    Index("ix_freight_claims_due", "due_at", postgresql_where=text("due_at IS NOT NULL"),
          sqlite_where=text("due_at IS NOT NULL")),
)
