"""Tables the operators read rather than the business: worker heartbeats, deadline actions parked
after they raised, and the fake payment channel's memory of idempotency keys. They share
`tables.metadata` (importing shouhou.adapters registers them), so Alembic owns them like the rest."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from . import freight_table as ft
from . import tables as t
from .tables import Instant, metadata

# Every stored deadline: its kind (the deadline worker's word), its table and its due column, in the
# order the sweep lists them (services.deadlines binds each kind to its fire function).
DUE_COLUMNS: tuple[tuple[str, Table, str], ...] = (
    ("ticket", t.tickets, "due_at"),
    ("order", t.orders, "due_at"),
    ("entry", t.orders, "entry_closes_at"),
    ("clawback", t.clawbacks, "due_at"),
    ("intervention", t.interventions, "due_at"),
    ("appeal", t.appeals, "due_at"),
    ("governance", t.shops, "governance_due_at"),  # KS-GOV-3: the daily evaluation, the ends of measures
    ("freight", ft.freight_claims, "due_at"),  # GEN-FREIGHT-1: a claim nobody decided is approved
)

worker_heartbeats = Table(
    "worker_heartbeats", metadata,
    Column("worker", String(120), primary_key=True),  # host:pid
    Column("started_at", Instant, nullable=False),
    Column("last_sweep_at", Instant, nullable=False),
    Column("last_fired", Integer, nullable=False),
    Column("fired_total", BigInteger, nullable=False),
    Column("last_error", Text),
)

parked_actions = Table(
    "parked_actions", metadata,
    Column("kind", String(16), primary_key=True),  # a services.deadlines kind: ticket, order, entry…
    Column("ident", String(64), primary_key=True),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_failed_at", Instant, nullable=False),
    Column("last_failed_at", Instant, nullable=False),
    Column("next_try_at", Instant, nullable=False),
    Index("ix_parked_actions_next_try", "next_try_at"),
)

fake_channel_refunds = Table(
    "fake_channel_refunds", metadata,
    Column("key", String(64), primary_key=True),  # the payout's idempotency key
    Column("buyer_id", String(64), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("reference", String(80)),
    Column("reason", Text),
    Column("buyer_account", Boolean, nullable=False),
    Column("at", Instant, nullable=False),
)
