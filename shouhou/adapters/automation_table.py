"""The shop automation rules table (GEN-AUTO-1), moved out of tables.py to keep that file within its
size. It shares `tables.metadata` (importing shouhou.adapters registers it), so Alembic owns it like
the rest (migration 0005)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table

from .tables import Instant, metadata

# GEN-AUTO-1: the shop's automation rules (售后小助手), in the shop's order; saving replaces them all.
automation_rules = Table(
    "automation_rules", metadata,
    Column("shop_id", String(64), ForeignKey("shops.id"), primary_key=True),
    Column("id", String(64), primary_key=True),  # the shop's own name for the rule
    Column("position", Integer, nullable=False),
    Column("action", String(32), nullable=False),  # approve | confirm_receipt
    Column("conditions", JSON, nullable=False),  # the rule's `when`, money in yuan text
    Column("updated_at", Instant, nullable=False),
    Column("updated_by", String(80), nullable=False),
)
