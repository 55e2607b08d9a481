"""governance counters: per shop and day, kept by triggers, backfilled from the rows

The 30-day metrics of merchant governance (KS-GOV-2) were counted by scanning a shop's tickets,
overdue records, interventions and events at every evaluation. They are now read from counters per
shop and UTC+8 day and per hour (gov_daily, gov_hourly), each handled ticket's handling seconds (gov_handling) and the interventions that repeat a ticket's (gov_iv_repeats), which triggers on the
four counted tables keep in step in the writer's own statement; two indexes serve the rows read at
the window's partial end hours. This
migration creates them, installs the triggers (shouhou.adapters.counts_sql: a later change to the
triggers comes with a migration of its own that installs them again) and backfills the counters from
the existing rows, the counted tables locked against writers meanwhile on PostgreSQL.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shouhou.adapters import counts_sql
from shouhou.adapters.tables import Instant

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    for table, bucket in (("gov_daily", sa.Column("day", sa.Date(), nullable=False)),
                          ("gov_hourly", sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False))):
        op.create_table(
            table,
            sa.Column("shop_id", sa.String(64), nullable=False),
            bucket,
            _count("applications"),
            _count("refund_only_overdue"),
            _count("return_refund_overdue"),
            _count("exchange_overdue"),
            _count("delayed_shipments"),
            sa.Column("last_overdue_at", Instant(), nullable=True),
            _count("interventions"),
            _count("rulings"),
            _count("rulings_against"),
            sa.Column("last_against_at", Instant(), nullable=True),
            _count("over_period_openings"),
            sa.PrimaryKeyConstraint("shop_id", bucket.name, name=op.f(f"pk_{table}")),
        )
        op.create_index(f"ix_{table}_{bucket.name}", table, [bucket.name])
    op.create_table(
        "gov_handling",
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("s", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_gov_handling")),
    )
    op.create_index("ix_gov_handling_hour", "gov_handling", ["hour"])
    op.create_index("ix_gov_handling_rank", "gov_handling", ["shop_id", "type", "s", "hour"])
    op.create_table(
        "gov_iv_repeats",
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("prev_at", Instant(), nullable=False),
        sa.Column("at", Instant(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "id", name=op.f("pk_gov_iv_repeats")),
    )
    op.create_index("ix_gov_iv_repeats_shop_at", "gov_iv_repeats", ["shop_id", "at"])
    op.create_index("ix_tickets_shop_ended", "tickets", ["shop_id", "ended_at"])
    op.create_index("ix_interventions_shop_requested", "interventions", ["shop_id", "requested_at"])
    conn = op.get_bind()
    counts_sql.install(conn)
    counts_sql.rebuild(conn)


def downgrade() -> None:
    counts_sql.uninstall(op.get_bind())
    op.drop_index("ix_interventions_shop_requested", table_name="interventions")
    op.drop_index("ix_tickets_shop_ended", table_name="tickets")
    op.drop_index("ix_gov_iv_repeats_shop_at", table_name="gov_iv_repeats")
    op.drop_table("gov_iv_repeats")
    op.drop_index("ix_gov_handling_rank", table_name="gov_handling")
    op.drop_index("ix_gov_handling_hour", table_name="gov_handling")
    op.drop_table("gov_handling")
    for table, bucket in (("gov_hourly", "hour"), ("gov_daily", "day")):
        op.drop_index(f"ix_{table}_{bucket}", table_name=table)
        op.drop_table(table)
