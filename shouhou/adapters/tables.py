"""The schema (SQLAlchemy Core). Alembic owns its evolution: see shouhou/migrations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from .instant import Instant as Instant
from .lines_json import Covers as Covers  # re-exported for the migrations
from .lines_json import (
    OrderLines as OrderLines,  # re-exported: services, uow and migrations/env.py use tables.Instant
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s"})


def _pending(col: str) -> dict[str, Any]:
    cond = text(f"{col} IS NOT NULL")
    return {"postgresql_where": cond, "sqlite_where": cond}


shops = Table(
    "shops", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("policy", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("wallet_fen", BigInteger, nullable=False),
    Column("deposit_fen", BigInteger, nullable=False),
    Column("wallet_opened_at", Instant, nullable=False),
    Column("debt_fen", BigInteger, nullable=False, server_default="0"),
    Column("return_address", Text),
    Column("created_at", Instant, nullable=False),
    # Governance (RULES §9): the effects of the measures in force, kept with the shop so that order
    # creation and applications read them without a query, and the daily evaluation's deadline.
    Column("refund_handling", String(16), nullable=False, server_default="enabled"),  # KS-GOV-4
    Column("score", Integer),  # KS-GOV-2: the after-sales score at the last evaluation
    Column("points", Integer, nullable=False, server_default="0"),  # KS-GOV-3: points deducted, in force
    Column("freight_claims_by_platform", Boolean, nullable=False, server_default=text("false")),
    Column("cart_suspended", Boolean, nullable=False, server_default=text("false")),
    Column("governance_evaluated_at", Instant),
    Column("governance_due_at", Instant),
    # The worker's daily evaluation: only shops under watch are in this index.
    Index("ix_shops_governance_due", "governance_due_at", **_pending("governance_due_at")),
)

staff = Table(
    "staff", metadata,
    Column("id", String(64), primary_key=True),
    Column("shop_id", String(64), ForeignKey("shops.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("name", String(200), nullable=False),
)

buyers = Table(
    "buyers", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("standing", String(8), nullable=False, server_default="normal"),  # RULES §10: normal | good | poor
    Column("member", Boolean, nullable=False, server_default=text("false")),  # DY-FAST-1: a top member
)

tokens = Table(
    "tokens", metadata,
    Column("token_hash", String(64), primary_key=True),  # the token itself is never stored
    Column("id", String(32), nullable=False, unique=True),  # what lists show and revoke names
    Column("kind", String(16), nullable=False),  # buyer | staff | platform
    Column("actor_id", String(64), nullable=False),
    Column("role", String(32)),
    Column("label", String(200)),
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant),
    Column("revoked_at", Instant),
)

orders = Table(
    "orders", metadata,
    Column("id", String(64), primary_key=True),
    Column("shop_id", String(64), ForeignKey("shops.id"), nullable=False),
    Column("buyer_id", String(64), ForeignKey("buyers.id"), nullable=False, index=True),
    Column("policy", String(64), nullable=False),
    Column("policy_version", String(32), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("freight_fen", BigInteger, nullable=False),
    Column("payment", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("marketing", Boolean, nullable=False),
    Column("goods", String(16), nullable=False),
    Column("category", String(64), nullable=False),
    Column("no_reason_return", Boolean, nullable=False),
    Column("custom", Boolean, nullable=False, server_default=text("false")),  # 定制: no fast lane (RULES §10)
    Column("commission", JSON, nullable=False),
    Column("promoters", JSON, nullable=False, server_default="{}"),
    Column("lines", OrderLines, nullable=False, server_default="[]"),  # GEN-APPLY-7
    Column("created_at", Instant, nullable=False),
    Column("status", String(16), nullable=False),
    Column("settled_at", Instant),
    Column("shipped_at", Instant),
    Column("carrier", String(64)),
    Column("waybill", String(64)),
    Column("signed_at", Instant),
    Column("confirmed_at", Instant),
    Column("confirmed_by", String(80)),
    Column("completed_at", Instant),
    Column("closed_at", Instant),
    Column("refunded_fen", BigInteger, nullable=False),
    Column("held_fen", BigInteger, nullable=False),
    Column("open_ticket_id", String(64)),
    Column("last_ticket_id", String(64)),
    Column("applications_in_period", Integer, nullable=False),
    Column("entry_opened_at", Instant),
    Column("entry_closes_at", Instant),
    Column("entry_rule", String(32)),
    Column("entry_openings", Integer, nullable=False, server_default="0"),
    Column("due_at", Instant),
    Column("due_action", String(32)),
    Column("due_rule", String(32)),
    Index("ix_orders_shop_status", "shop_id", "status"),
    Index("ix_orders_due", "due_at", **_pending("due_at")),
    # The worker closes over-period entries (KS-OP-7, DY-OP-6): only open entries are in this index.
    Index("ix_orders_entry_closes", "entry_closes_at", **_pending("entry_closes_at")),
)

tickets = Table(
    "tickets", metadata,
    Column("id", String(64), primary_key=True),
    Column("order_id", String(64), ForeignKey("orders.id"), nullable=False, index=True),
    Column("shop_id", String(64), ForeignKey("shops.id"), nullable=False),
    Column("buyer_id", String(64), ForeignKey("buyers.id"), nullable=False, index=True),
    Column("type", String(16), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("policy", String(64), nullable=False),
    Column("policy_version", String(32), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("over_period", Boolean, nullable=False),
    Column("status", String(24), nullable=False),
    Column("refunded_fen", BigInteger, nullable=False),
    Column("advanced_fen", BigInteger, nullable=False, server_default="0"),  # DY-FAST-1: the platform paid first
    Column("evidence", JSON, nullable=False),
    Column("lines", Covers, nullable=False, server_default="[]"),  # GEN-APPLY-7: {sku, qty} covered
    Column("note", Text),
    Column("shipped_when_applied", Boolean, nullable=False),
    Column("return_address", Text),
    Column("carrier", String(64)),
    Column("waybill", String(64)),
    Column("reject_reason", Text),
    Column("rejected_at", Instant),
    Column("ended_at", Instant),
    Column("updated_at", Instant),
    Column("intervention_id", String(64)),
    Column("replacement_carrier", String(64)),
    Column("replacement_waybill", String(64)),
    Column("replacement_shipped_at", Instant),
    Column("replacement_signed_at", Instant),
    Column("due_at", Instant),
    Column("due_action", String(32)),
    Column("due_rule", String(32)),
    # The shop's work queue: its tickets by status, soonest deadline first.
    Index("ix_tickets_shop_queue", "shop_id", "status", "due_at"),
    # KS-GOV-2's 30-day window: the metrics read its partial end days' rows through these (adapters.metrics)
    Index("ix_tickets_shop_created", "shop_id", "created_at"),
    Index("ix_tickets_shop_ended", "shop_id", "ended_at"),
    # The worker's sweep: only tickets with a pending automatic action are in this index.
    Index("ix_tickets_due", "due_at", **_pending("due_at")),
)
# The work queue in its order (views.tickets.list_tickets): a page reads rows off it, sorting nothing.
Index("ix_tickets_shop_next", tickets.c.shop_id, tickets.c.due_at.is_(None), tickets.c.due_at, tickets.c.created_at,
      tickets.c.id)

events = Table(
    "events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", Instant, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("type", String(40), nullable=False),
    Column("shop_id", String(64)),
    Column("order_id", String(64)),
    Column("ticket_id", String(64)),
    Column("from_status", String(24)),
    Column("to_status", String(24)),
    Column("rule", String(32)),
    Column("payload", JSON, nullable=False),
    Column("recorded_at", Instant, nullable=False),
    Column("feed_seq", BigInteger),  # its place in the feed, given by the dispatcher (services.dispatch)
    Index("ux_events_feed_seq", "feed_seq", unique=True),
    Index("ix_events_unsequenced", "id", postgresql_where=text("feed_seq IS NULL"), sqlite_where=text("feed_seq IS NULL")),
    Index("ix_events_ticket", "ticket_id", "id"),
    Index("ix_events_order", "order_id", "id"),
    Index("ix_events_shop_at", "shop_id", "at"),
    Index("ix_events_shop_type_at", "shop_id", "type", "at"),
)

overdue_records = Table(
    "overdue_records", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("shop_id", String(64), nullable=False),
    Column("ticket_id", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("type", String(32), nullable=False),  # KS-GOV-1's overdue types, or KS-GOV-5's delayed_shipment
    Column("rule", String(32), nullable=False),
    Column("cause_rule", String(32)),
    Column("at", Instant, nullable=False),
    Index("ix_overdue_shop_at", "shop_id", "at"),
    UniqueConstraint("ticket_id", "type", name="uq_overdue_records_ticket_type"),  # one of each per ticket
)

reopen_requests = Table(
    "reopen_requests", metadata,
    Column("id", String(64), primary_key=True),
    Column("order_id", String(64), ForeignKey("orders.id"), nullable=False, index=True),
    Column("shop_id", String(64), ForeignKey("shops.id"), nullable=False),
    Column("buyer_id", String(64), ForeignKey("buyers.id"), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("note", Text),
    Column("status", String(16), nullable=False),
    Column("answered_at", Instant),
    Column("answered_by", String(80)),
    Column("answer_reason", Text),
    Index("ix_reopen_requests_shop_status", "shop_id", "status", "created_at"),
)

site_messages = Table(
    "site_messages", metadata,
    Column("id", String(64), primary_key=True),
    Column("buyer_id", String(64), ForeignKey("buyers.id"), nullable=False),
    Column("order_id", String(64), ForeignKey("orders.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("title_zh", Text, nullable=False),
    Column("body_zh", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("body_en", Text, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("read_at", Instant),
    Column("push_status", String(12)),  # DY-OP-10's push, the message its outbox row: pending|pushed|failed
    Column("push_attempts", Integer, nullable=False, server_default="0"),
    Column("push_next_at", Instant), Column("pushed_at", Instant),  # next try (or claim's end); done
    Column("push_error", Text),
    Index("ix_site_messages_buyer", "buyer_id", "created_at"),
    Index("ix_site_messages_push_due", "push_next_at", **_pending("push_next_at")),
)

# -- money (RULES §8): immutable journal entries whose lines add up to zero ------------------------

journal_entries = Table(
    "journal_entries", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("at", Instant, nullable=False),
    Column("shop_id", String(64)),
    Column("order_id", String(64)),
    Column("ticket_id", String(64)),
    Column("rule", String(32)),
    Column("memo", JSON, nullable=False),
    Column("recorded_at", Instant, nullable=False),
    Index("ix_journal_entries_shop_at", "shop_id", "at"),
    Index("ix_journal_entries_order", "order_id"),
    # One refund per ticket, whatever retries or races happen: the database refuses a second.
    Index("ux_journal_entries_refund_ticket", "ticket_id", unique=True,
          postgresql_where=text("kind = 'refund'"), sqlite_where=text("kind = 'refund'")),
)

journal_lines = Table(
    "journal_lines", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entry_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("journal_entries.id"),
           nullable=False, index=True),
    Column("account", String(160), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Index("ix_journal_lines_account", "account", "entry_id"),
)

payouts = Table(
    "payouts", metadata,
    Column("id", String(64), primary_key=True),  # the ticket id for a refund; <ticket>:<cause> beyond it
    Column("ticket_id", String(64), nullable=False, index=True),  # a refund (its id is the ticket's: once) and beyond it
    Column("order_id", String(64), nullable=False),
    Column("shop_id", String(64), nullable=False),
    Column("buyer_id", String(64), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # pending | paid | compensated
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("channel_ref", String(80)),
    Column("created_at", Instant, nullable=False),
    Column("settled_at", Instant),
    Column("due_at", Instant),
    Column("rule", String(32)),
    Index("ix_payouts_due", "due_at", **_pending("due_at")),
)

clawbacks = Table(
    "clawbacks", metadata,
    Column("id", String(64), primary_key=True),
    Column("ticket_id", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("shop_id", String(64), nullable=False),
    Column("account", String(160), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("rule", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # pending | done
    Column("attempts", Integer, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("done_at", Instant),
    Column("due_at", Instant),
    Index("ix_clawbacks_due", "due_at", **_pending("due_at")),
    Index("ix_clawbacks_ticket", "ticket_id"),
)

# -- platform intervention (RULES §6) -------------------------------------------------------------

interventions = Table(
    "interventions", metadata,
    Column("id", String(64), primary_key=True),
    Column("ticket_id", String(64), ForeignKey("tickets.id"), nullable=False, index=True),
    Column("order_id", String(64), nullable=False),
    Column("shop_id", String(64), nullable=False),
    Column("buyer_id", String(64), nullable=False),
    Column("policy", String(64), nullable=False),
    Column("policy_version", String(32), nullable=False),
    Column("requested_at", Instant, nullable=False),
    Column("requested_by", String(80), nullable=False),
    Column("reason", Text),
    Column("cause", String(24), nullable=False),  # rejected | return_refused | stalled_exchange
    Column("previous_status", String(24), nullable=False),
    Column("status", String(24), nullable=False),  # awaiting_response | coordinating | collecting_evidence | ruled | withdrawn
    Column("response_due_at", Instant, nullable=False),  # KS-PI-1: 2 working days
    Column("responded_at", Instant),
    Column("responded_by", String(80)),
    Column("sla_missed_at", Instant),
    Column("evidence_requested_at", Instant),
    Column("buyer_evidence_due_at", Instant),
    Column("shop_evidence_due_at", Instant),
    Column("buyer_evidence_count", Integer, nullable=False, server_default="0"),
    Column("shop_evidence_count", Integer, nullable=False, server_default="0"),
    Column("buyer_evidence_closed", Boolean, nullable=False, server_default=text("false")),
    Column("shop_evidence_closed", Boolean, nullable=False, server_default=text("false")),
    Column("ruled_at", Instant),
    Column("ruled_by", String(80)),
    Column("in_favour_of", String(16)),  # buyer | merchant
    Column("remedy", String(16)),  # refund | return_refund | close
    Column("fault", String(16)),  # shop | buyer | both | platform | creator: as ruled
    Column("effective_fault", String(16)),  # after an upheld appeal (KS-PI-3)
    Column("ruling_rule", String(32)),
    Column("due_at", Instant),  # the pending automatic action: sla_miss or evidence_closed
    Column("due_action", String(32)),
    Column("due_rule", String(32)),
    Index("ix_interventions_due", "due_at", **_pending("due_at")),
    Index("ix_interventions_queue", "status", "response_due_at"),
    Index("ix_interventions_shop_ruled", "shop_id", "ruled_at"),
    Index("ix_interventions_shop_requested", "shop_id", "requested_at"),
)

evidence_items = Table(
    "evidence_items", metadata,
    Column("id", String(64), primary_key=True),
    Column("intervention_id", String(64), ForeignKey("interventions.id"), nullable=False, index=True),
    Column("ticket_id", String(64), nullable=False),
    Column("side", String(8), nullable=False),  # buyer | shop
    Column("submitted_by", String(80), nullable=False),
    Column("name", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("blob_key", String(255), nullable=False),
    Column("submitted_at", Instant, nullable=False),
)

appeals = Table(
    "appeals", metadata,
    Column("id", String(64), primary_key=True),
    Column("intervention_id", String(64), ForeignKey("interventions.id"), nullable=False, index=True),
    Column("ticket_id", String(64), nullable=False),
    Column("shop_id", String(64), nullable=False),
    Column("filed_at", Instant, nullable=False),
    Column("filed_by", String(80), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | upheld | rejected
    Column("answer_due_at", Instant, nullable=False),  # KS-PI-3: 5 working days
    Column("answered_at", Instant),
    Column("answered_by", String(80)),
    Column("answer", Text),
    Column("fault_before", String(16)),
    Column("fault_after", String(16)),
    Column("sla_missed_at", Instant),
    Column("due_at", Instant),
    Column("due_rule", String(32)),
    Index("ix_appeals_due", "due_at", **_pending("due_at")),
    Index("ix_appeals_shop_filed", "shop_id", "filed_at"),
    Index("ix_appeals_queue", "status", "answer_due_at"),
)

# -- governance (RULES §9): measures of the KS-GOV-3 ladder and KS-GOV-4, and shops' appeals --------

measures = Table(
    "measures", metadata,
    Column("id", String(64), primary_key=True),
    Column("shop_id", String(64), ForeignKey("shops.id"), nullable=False),
    Column("measure", String(32), nullable=False),  # warning ... high_risk (policies.MEASURES)
    Column("rule", String(32), nullable=False),
    Column("policy", String(64), nullable=False),
    Column("policy_version", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # active | ended | lifted | voided
    Column("started_at", Instant, nullable=False),
    Column("ends_at", Instant),  # the planned end; NULL: until platform staff lift it
    Column("ended_at", Instant),
    Column("end_reason", String(16)),  # expired | lifted | appeal_upheld
    Column("ended_by", String(80)),
    Column("end_note", Text),
    Column("points", Integer, nullable=False, server_default="0"),
    Column("amount_fen", BigInteger, nullable=False, server_default="0"),
    Column("charged", JSON, nullable=False),  # liquidated damages: fen taken from each source
    Column("snapshot", JSON, nullable=False),  # the metrics and the condition that triggered it
    Index("ix_measures_shop_status", "shop_id", "status", "started_at"),
)

measure_appeals = Table(
    "measure_appeals", metadata,
    Column("id", String(64), primary_key=True),
    Column("measure_id", String(64), ForeignKey("measures.id"), nullable=False, index=True),
    Column("shop_id", String(64), nullable=False),
    Column("filed_at", Instant, nullable=False),
    Column("filed_by", String(80), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | upheld | rejected
    Column("decided_at", Instant),
    Column("decided_by", String(80)),
    Column("answer", Text),
    Index("ix_measure_appeals_queue", "status", "filed_at"),
)
