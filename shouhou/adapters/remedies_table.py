"""The remedies a ruling with a finding ordered (KS-PI-4, -5, -6): one row per ruling, its id the
case's. It shares `tables.metadata` (importing shouhou.adapters registers it), so Alembic owns it
like the rest (migration 0009)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table

from .tables import Covers, Instant, metadata

remedies = Table(
    "remedies", metadata,
    Column("id", String(64), ForeignKey("interventions.id"), primary_key=True),
    Column("ticket_id", String(64), ForeignKey("tickets.id"), nullable=False, index=True),
    Column("order_id", String(64), nullable=False),
    Column("shop_id", String(64), nullable=False),
    Column("buyer_id", String(64), nullable=False),
    Column("finding", String(32), nullable=False),  # missing_items | wrong_item | unjustified_rejection
    Column("remedy", String(16), nullable=False),  # reship | refund | return_refund | exchange
    Column("rule", String(32), nullable=False),
    Column("ruled_at", Instant, nullable=False),
    Column("lines", Covers, nullable=False),
    Column("claimed_at", Instant),  # KS-PI-5: the buyer's compensation claim
    Column("retrieval", String(8)),  # KS-PI-6: open | done
    Column("retrieved_at", Instant),
    Column("retrieved_by", String(80)),
    # the shop's open retrieval tasks (KS-PI-6), for its desk
    Index("ix_remedies_shop_retrieval", "shop_id", "retrieval"),
)
