"""The counters of merchant governance (KS-GOV-2): what the 30-day metrics add up, kept per shop and
per day and per hour, with each handled ticket's handling time, so that evaluating a shop reads about
thirty day rows, the hours of the window's two partial days and the rows of its two partial hours
(and, where needed, its handling times) instead of its tickets.

A "day" here is a calendar day at UTC+8 (Asia/Shanghai has kept that offset since 1991): the bucket
[midnight, next midnight); an hour, a whole hour since 1970 UTC (a whole hour at UTC+8 too). The
triggers of adapters.counts_sql keep every row in step with the rows it counts, in the same statement,
whoever writes them (the unit of work, a set-based sweep, a bulk load, a test seeding rows);
adapters.metrics reads them. They share `tables.metadata` (importing shouhou.adapters registers them),
so Alembic owns them like the rest (migration 0013).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Date, Index, Integer, String, Table

from . import tables as t
from .tables import Instant, metadata


def _count(name: str) -> Column[int]:
    return Column(name, Integer, nullable=False, server_default="0")


# One row per shop and day with something to count. Each count is of the rows whose instant falls in
# the day: tickets by created_at (applications), overdue records by at (by type, as adapters.metrics
# names them), interventions by requested_at (every request, not distinct tickets: see gov_iv_repeats)
# and by ruled_at (rulings, and those against the shop as the fault now stands), entry openings by at.
# The two instants are the newest overdue record and ruling against the shop.
def _counts() -> list[Column[Any]]:
    return [_count("applications"), _count("refund_only_overdue"), _count("return_refund_overdue"),
            _count("exchange_overdue"), _count("delayed_shipments"), Column("last_overdue_at", Instant),
            _count("interventions"), _count("rulings"), _count("rulings_against"), Column("last_against_at", Instant),
            _count("over_period_openings")]


gov_daily = Table(
    "gov_daily", metadata,
    Column("shop_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    *_counts(),
    Index("ix_gov_daily_day", "day"),  # the report: every shop's days of the window
)

# The same per hour (whole hours since 1970 UTC, whole hours at UTC+8 too): the window's two partial
# days are read from their whole hours, and only their two partial hours from the rows themselves.
gov_hourly = Table(
    "gov_hourly", metadata,
    Column("shop_id", String(64), primary_key=True),
    Column("hour", Integer, primary_key=True, autoincrement=False),
    *_counts(),
    Index("ix_gov_hourly_hour", "hour"),  # whose rows to read at a partial hour
)

# The handling times: one row per refund-only or return-refund ticket refunded, closed or rejected
# without the platform (no intervention), with the hour it ended (whole hours since 1970 UTC) and its
# whole seconds from application to end, exactly as the percentiles count them. A row per ticket, not
# a count per value, so that writers never wait for one another's row (two workers refunding tickets
# of the same shop at the same deadline would share a count's row).
gov_handling = Table(
    "gov_handling", metadata,
    Column("ticket_id", String(64), primary_key=True),
    Column("shop_id", String(64), nullable=False),
    Column("hour", Integer, nullable=False),
    Column("type", String(16), nullable=False),
    Column("s", Integer, nullable=False),
    Index("ix_gov_handling_hour", "hour"),  # whose tickets to read at a partial hour
    # The percentiles rank every shop's values in this order: read in it (index only), they need no sort.
    Index("ix_gov_handling_rank", "shop_id", "type", "s", "hour"),
)

# The interventions that are not their ticket's first (in the shop, by requested_at then id), with
# the time of the one before: the window counts distinct tickets, so a request whose predecessor is
# in the window too (prev_at after the window's start) is counted once less.
gov_iv_repeats = Table(
    "gov_iv_repeats", metadata,
    Column("ticket_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("shop_id", String(64), nullable=False),
    Column("prev_at", Instant, nullable=False),
    Column("at", Instant, nullable=False),
    Index("ix_gov_iv_repeats_shop_at", "shop_id", "at"),
)

# The counted tables come after the counters in `metadata.sorted_tables`, so whatever empties the
# tables in reverse order (the tests' clean-up) deletes the counted rows, whose triggers write the
# counters, before it empties the counters.
for _counted in (t.tickets, t.overdue_records, t.interventions, t.events):
    for _counter in (gov_daily, gov_hourly, gov_handling, gov_iv_repeats):
        _counted.add_is_dependent_on(_counter)
