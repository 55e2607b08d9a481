"""Initial schema: shops, staff, buyers, tokens, orders, tickets, events, overdue records, reopen
requests, site messages, journal entries, journal lines, payouts, clawbacks, interventions, evidence
items, appeals, measures and measure appeals.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Written from shouhou/adapters/tables.py. Times are `timestamptz` on PostgreSQL and naive UTC on SQLite
(the `Instant` type of tables.py converts; a migration never imports application code, so it spells
the column type out). The deadline indexes are partial: only rows with a pending automatic action
are in them (`WHERE due_at IS NOT NULL`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def serial() -> sa.types.TypeEngine[int]:
    """BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _pending(column: str) -> dict[str, Any]:
    """A partial index: only rows where `column` is set."""
    cond = sa.text(f"{column} IS NOT NULL")
    return {"postgresql_where": cond, "sqlite_where": cond}


PENDING = _pending("due_at")


def upgrade() -> None:
    op.create_table(
        "shops",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("wallet_fen", sa.BigInteger(), nullable=False),
        sa.Column("deposit_fen", sa.BigInteger(), nullable=False),
        sa.Column("wallet_opened_at", instant(), nullable=False),
        sa.Column("debt_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("return_address", sa.Text(), nullable=True),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("refund_handling", sa.String(16), server_default="enabled", nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), server_default="0", nullable=False),
        sa.Column("freight_claims_by_platform", sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column("cart_suspended", sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column("governance_evaluated_at", instant(), nullable=True),
        sa.Column("governance_due_at", instant(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shops")),
    )
    op.create_index("ix_shops_governance_due", "shops",
                    ["governance_due_at"], **_pending("governance_due_at"))
    op.create_table(
        "staff",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_staff_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
    )
    op.create_index(op.f("ix_staff_shop_id"), "staff", ["shop_id"])
    op.create_table(
        "buyers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyers")),
    )
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("created_at", instant(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_tokens")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(32), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("freight_fen", sa.BigInteger(), nullable=False),
        sa.Column("payment", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("goods", sa.String(16), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("no_reason_return", sa.Boolean(), nullable=False),
        sa.Column("commission", sa.JSON(), nullable=False),
        sa.Column("promoters", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("settled_at", instant(), nullable=True),
        sa.Column("shipped_at", instant(), nullable=True),
        sa.Column("carrier", sa.String(64), nullable=True),
        sa.Column("waybill", sa.String(64), nullable=True),
        sa.Column("signed_at", instant(), nullable=True),
        sa.Column("confirmed_at", instant(), nullable=True),
        sa.Column("confirmed_by", sa.String(80), nullable=True),
        sa.Column("completed_at", instant(), nullable=True),
        sa.Column("closed_at", instant(), nullable=True),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("held_fen", sa.BigInteger(), nullable=False),
        sa.Column("open_ticket_id", sa.String(64), nullable=True),
        sa.Column("last_ticket_id", sa.String(64), nullable=True),
        sa.Column("applications_in_period", sa.Integer(), nullable=False),
        sa.Column("entry_opened_at", instant(), nullable=True),
        sa.Column("entry_closes_at", instant(), nullable=True),
        sa.Column("entry_rule", sa.String(32), nullable=True),
        sa.Column("entry_openings", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_at", instant(), nullable=True),
        sa.Column("due_action", sa.String(32), nullable=True),
        sa.Column("due_rule", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_orders_shop_id_shops")),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_orders_buyer_id_buyers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index(op.f("ix_orders_buyer_id"), "orders", ["buyer_id"])
    op.create_index("ix_orders_due", "orders", ["due_at"], **PENDING)
    # The worker closes over-period entries (KS-OP-7, DY-OP-6): only open entries are in this index.
    op.create_index("ix_orders_entry_closes", "orders", ["entry_closes_at"], **_pending("entry_closes_at"))
    op.create_index("ix_orders_shop_status", "orders", ["shop_id", "status"])
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(32), nullable=False),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("over_period", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("shipped_when_applied", sa.Boolean(), nullable=False),
        sa.Column("return_address", sa.Text(), nullable=True),
        sa.Column("carrier", sa.String(64), nullable=True),
        sa.Column("waybill", sa.String(64), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("rejected_at", instant(), nullable=True),
        sa.Column("ended_at", instant(), nullable=True),
        sa.Column("updated_at", instant(), nullable=True),
        sa.Column("intervention_id", sa.String(64), nullable=True),
        sa.Column("replacement_carrier", sa.String(64), nullable=True),
        sa.Column("replacement_waybill", sa.String(64), nullable=True),
        sa.Column("replacement_shipped_at", instant(), nullable=True),
        sa.Column("replacement_signed_at", instant(), nullable=True),
        sa.Column("due_at", instant(), nullable=True),
        sa.Column("due_action", sa.String(32), nullable=True),
        sa.Column("due_rule", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_tickets_order_id_orders")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_tickets_shop_id_shops")),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_tickets_buyer_id_buyers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index(op.f("ix_tickets_buyer_id"), "tickets", ["buyer_id"])
    op.create_index(op.f("ix_tickets_order_id"), "tickets", ["order_id"])
    # The worker's sweep: only tickets with a pending automatic action are in this index.
    op.create_index("ix_tickets_due", "tickets", ["due_at"], **PENDING)
    # The shop's work queue: its tickets by status, soonest deadline first.
    op.create_index("ix_tickets_shop_queue", "tickets", ["shop_id", "status", "due_at"])
    op.create_table(
        "events",
        sa.Column("id", serial(), autoincrement=True, nullable=False),
        sa.Column("at", instant(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=True),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("ticket_id", sa.String(64), nullable=True),
        sa.Column("from_status", sa.String(24), nullable=True),
        sa.Column("to_status", sa.String(24), nullable=True),
        sa.Column("rule", sa.String(32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("recorded_at", instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_order", "events", ["order_id", "id"])
    op.create_index("ix_events_shop_at", "events", ["shop_id", "at"])
    op.create_index("ix_events_ticket", "events", ["ticket_id", "id"])
    op.create_table(
        "overdue_records",
        sa.Column("id", serial(), autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("cause_rule", sa.String(32), nullable=True),
        sa.Column("at", instant(), nullable=False),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_overdue_records_ticket_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overdue_records")),
    )
    op.create_index("ix_overdue_shop_at", "overdue_records", ["shop_id", "at"])
    op.create_table(
        "reopen_requests",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answered_at", instant(), nullable=True),
        sa.Column("answered_by", sa.String(80), nullable=True),
        sa.Column("answer_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_reopen_requests_order_id_orders")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_reopen_requests_shop_id_shops")),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_reopen_requests_buyer_id_buyers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reopen_requests")),
    )
    op.create_index(op.f("ix_reopen_requests_order_id"), "reopen_requests", ["order_id"])
    op.create_index("ix_reopen_requests_shop_status", "reopen_requests", ["shop_id", "status", "created_at"])
    op.create_table(
        "site_messages",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title_zh", sa.Text(), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("read_at", instant(), nullable=True),
        sa.ForeignKeyConstraint(["buyer_id"], ["buyers.id"], name=op.f("fk_site_messages_buyer_id_buyers")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_site_messages_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_messages")),
    )
    op.create_index("ix_site_messages_buyer", "site_messages", ["buyer_id", "created_at"])

    # Money (RULES §8): immutable journal entries whose lines add up to zero.
    op.create_table(
        "journal_entries",
        sa.Column("id", serial(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", instant(), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=True),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("ticket_id", sa.String(64), nullable=True),
        sa.Column("rule", sa.String(32), nullable=True),
        sa.Column("memo", sa.JSON(), nullable=False),
        sa.Column("recorded_at", instant(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
    )
    op.create_index("ix_journal_entries_order", "journal_entries", ["order_id"])
    op.create_index("ix_journal_entries_shop_at", "journal_entries", ["shop_id", "at"])
    # One refund per ticket, whatever retries or races happen: the database refuses a second.
    op.create_index("ux_journal_entries_refund_ticket", "journal_entries", ["ticket_id"], unique=True,
                    postgresql_where=sa.text("kind = 'refund'"), sqlite_where=sa.text("kind = 'refund'"))
    op.create_table(
        "journal_lines",
        sa.Column("id", serial(), autoincrement=True, nullable=False),
        sa.Column("entry_id", serial(), nullable=False),
        sa.Column("account", sa.String(160), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"],
                                name=op.f("fk_journal_lines_entry_id_journal_entries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_lines")),
    )
    op.create_index(op.f("ix_journal_lines_entry_id"), "journal_lines", ["entry_id"])
    op.create_index("ix_journal_lines_account", "journal_lines", ["account", "entry_id"])
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("channel_ref", sa.String(80), nullable=True),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("settled_at", instant(), nullable=True),
        sa.Column("due_at", instant(), nullable=True),
        sa.Column("rule", sa.String(32), nullable=True),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_payouts_ticket_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
    )
    op.create_index("ix_payouts_due", "payouts", ["due_at"], **PENDING)
    op.create_table(
        "clawbacks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("account", sa.String(160), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("done_at", instant(), nullable=True),
        sa.Column("due_at", instant(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clawbacks")),
    )
    op.create_index("ix_clawbacks_due", "clawbacks", ["due_at"], **PENDING)
    op.create_index("ix_clawbacks_ticket", "clawbacks", ["ticket_id"])

    # Platform intervention 平台介入 (RULES §6): requests, evidence and appeals.
    op.create_table(
        "interventions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(32), nullable=False),
        sa.Column("requested_at", instant(), nullable=False),
        sa.Column("requested_by", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("cause", sa.String(24), nullable=False),
        sa.Column("previous_status", sa.String(24), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("response_due_at", instant(), nullable=False),
        sa.Column("responded_at", instant(), nullable=True),
        sa.Column("responded_by", sa.String(80), nullable=True),
        sa.Column("sla_missed_at", instant(), nullable=True),
        sa.Column("evidence_requested_at", instant(), nullable=True),
        sa.Column("buyer_evidence_due_at", instant(), nullable=True),
        sa.Column("shop_evidence_due_at", instant(), nullable=True),
        sa.Column("buyer_evidence_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shop_evidence_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("buyer_evidence_closed", sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column("shop_evidence_closed", sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column("ruled_at", instant(), nullable=True),
        sa.Column("ruled_by", sa.String(80), nullable=True),
        sa.Column("in_favour_of", sa.String(16), nullable=True),
        sa.Column("remedy", sa.String(16), nullable=True),
        sa.Column("fault", sa.String(16), nullable=True),
        sa.Column("effective_fault", sa.String(16), nullable=True),
        sa.Column("ruling_rule", sa.String(32), nullable=True),
        sa.Column("due_at", instant(), nullable=True),
        sa.Column("due_action", sa.String(32), nullable=True),
        sa.Column("due_rule", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_interventions_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interventions")),
    )
    op.create_index(op.f("ix_interventions_ticket_id"), "interventions", ["ticket_id"])
    op.create_index("ix_interventions_due", "interventions", ["due_at"], **PENDING)
    op.create_index("ix_interventions_queue", "interventions", ["status", "response_due_at"])
    op.create_index("ix_interventions_shop_ruled", "interventions", ["shop_id", "ruled_at"])
    op.create_table(
        "evidence_items",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("intervention_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("submitted_by", sa.String(80), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("blob_key", sa.String(255), nullable=False),
        sa.Column("submitted_at", instant(), nullable=False),
        sa.ForeignKeyConstraint(["intervention_id"], ["interventions.id"],
                                name=op.f("fk_evidence_items_intervention_id_interventions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_items")),
    )
    op.create_index(op.f("ix_evidence_items_intervention_id"), "evidence_items", ["intervention_id"])
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("intervention_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("filed_at", instant(), nullable=False),
        sa.Column("filed_by", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer_due_at", instant(), nullable=False),
        sa.Column("answered_at", instant(), nullable=True),
        sa.Column("answered_by", sa.String(80), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("fault_before", sa.String(16), nullable=True),
        sa.Column("fault_after", sa.String(16), nullable=True),
        sa.Column("sla_missed_at", instant(), nullable=True),
        sa.Column("due_at", instant(), nullable=True),
        sa.Column("due_rule", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["intervention_id"], ["interventions.id"],
                                name=op.f("fk_appeals_intervention_id_interventions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_index(op.f("ix_appeals_intervention_id"), "appeals", ["intervention_id"])
    op.create_index("ix_appeals_due", "appeals", ["due_at"], **PENDING)
    op.create_index("ix_appeals_queue", "appeals", ["status", "answer_due_at"])
    op.create_index("ix_appeals_shop_filed", "appeals", ["shop_id", "filed_at"])
    op.create_table(
        "measures",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", instant(), nullable=False),
        sa.Column("ends_at", instant(), nullable=True),
        sa.Column("ended_at", instant(), nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.Column("ended_by", sa.String(80), nullable=True),
        sa.Column("end_note", sa.Text(), nullable=True),
        sa.Column("points", sa.Integer(), server_default="0", nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("charged", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_measures_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measures")),
    )
    op.create_index("ix_measures_shop_status", "measures", ["shop_id", "status", "started_at"])
    op.create_table(
        "measure_appeals",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("measure_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("filed_at", instant(), nullable=False),
        sa.Column("filed_by", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_at", instant(), nullable=True),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["measure_id"], ["measures.id"],
                                name=op.f("fk_measure_appeals_measure_id_measures")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_appeals")),
    )
    op.create_index(op.f("ix_measure_appeals_measure_id"), "measure_appeals", ["measure_id"])
    op.create_index("ix_measure_appeals_queue", "measure_appeals", ["status", "filed_at"])


def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table("measure_appeals")
    op.drop_table("measures")
    op.drop_table("appeals")
    op.drop_table("evidence_items")
    op.drop_table("interventions")
    op.drop_table("clawbacks")
    op.drop_table("payouts")
    op.drop_table("journal_lines")
    op.drop_table("journal_entries")
    op.drop_table("site_messages")
    op.drop_table("reopen_requests")
    op.drop_table("overdue_records")
    op.drop_table("events")
    op.drop_table("tickets")
    op.drop_table("orders")
    op.drop_table("tokens")
    op.drop_table("buyers")
    op.drop_table("staff")
    op.drop_table("shops")
