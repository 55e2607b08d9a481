"""The complaints table (投诉工单). It shares `tables.metadata` (importing shouhou.adapters registers
it), so Alembic owns it like the rest (migration 0006)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from .tables import Instant, metadata

complaints = Table(
    "complaints", metadata,
    Column("id", String(64), primary_key=True),
    Column("order_id", String(64), ForeignKey("orders.id"), nullable=False, index=True),
    Column("shop_id", String(64), ForeignKey("shops.id"), nullable=False),
    Column("buyer_id", String(64), ForeignKey("buyers.id"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("status", String(16), nullable=False),  # open | closed
    Column("closed_at", Instant),
    Column("closed_by", String(80)),
    Column("answer", Text),
    Index("ix_complaints_shop_status", "shop_id", "status", "created_at"),
    Index("ix_complaints_buyer", "buyer_id", "created_at"),
)
