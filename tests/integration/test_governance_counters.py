"""The governance counters (adapters.counts_table, kept by the triggers of adapters.counts_sql) give
exactly the figures of the SQL that scans the rows (adapters.metrics_scan, the reference), on the
database named by SHOUHOU_TEST_DATABASE_URL (SQLite by default; .ci/run runs PostgreSQL too).

Hypothesis draws a world of shops, tickets, overdue records, interventions and events whose instants
crowd the counters' boundaries (UTC+8 midnights and whole hours, to the microsecond) and the windows' ends, given
in several time zones; half-second handling times (the rounding), tickets with several interventions,
some at the same instant; then changes it the ways the engine and anyone else can: tickets ending,
rulings made and their fault changed by an appeal, interventions opened on handled tickets, moved to
another ticket or deleted, records and events deleted or moved, in single- and multi-row statements.
At many instants and window lengths (30 days, a day, hours, from a midnight to a midnight) every
shop's metrics, one by one and all at once (one window, and a window per policy), equal the
reference's to the last bit, and a rebuild from the rows finds the counters the triggers kept."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, insert, select, update

from shouhou.adapters import counts_sql, counts_table
from shouhou.adapters import metrics as counted
from shouhou.adapters import metrics_scan as scanned
from shouhou.adapters import tables as t
from shouhou.clock import SHANGHAI

from ..conftest import _empty
from .test_governance import _order_row, _ticket_row

UTC8 = timezone(timedelta(hours=8))
ZONES = (UTC, SHANGHAI, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)))
MIDNIGHT = datetime(2026, 3, 1, tzinfo=UTC8)
US, S, D = timedelta(microseconds=1), timedelta(seconds=1), timedelta(days=1)
NUDGES = (timedelta(0), US, -US, S, -S, timedelta(milliseconds=500), -timedelta(milliseconds=500), timedelta(hours=12))
SHOPS = [f"C{i}" for i in range(5)]
TYPES = ("refund_only", "return_refund", "refund_only", "exchange", "reship")
STATUSES = ("refunded", "closed", "rejected", "cancelled", "pending_review", "in_intervention", "completed")
OVERDUE = ("refund_only_overdue", "return_refund_overdue", "exchange_overdue", "reship_overdue", "delayed_shipment")
FAULTS = ("shop", "buyer", "both", "platform", None)


def _instant(rnd: random.Random, days: int = 40) -> datetime:
    """An instant in the 40 days before 1 March 2026, often on or next to a midnight or a whole hour
    (the counters' days and the histogram's hours), in some zone."""
    day = MIDNIGHT + rnd.randint(-days, 3) * D
    if rnd.random() < 0.35:
        x = day + rnd.choice(NUDGES) + rnd.choice((timedelta(0), timedelta(hours=rnd.randrange(24))))
    else:
        x = day + timedelta(seconds=rnd.randrange(86_400), microseconds=rnd.choice((0, 500_000, rnd.randrange(10**6))))
    return x.astimezone(rnd.choice(ZONES))


def _duration(rnd: random.Random) -> timedelta:
    return rnd.choice((timedelta(seconds=rnd.randint(1, 5 * 86_400)), timedelta(seconds=rnd.randint(1, 600), milliseconds=500),
                       timedelta(seconds=rnd.randint(1, 3 * 86_400), microseconds=rnd.randrange(10**6)), 2 * D))


def _intervention(n: int, ticket: dict[str, Any], at: datetime, rnd: random.Random) -> dict[str, Any]:
    ruled = at + _duration(rnd) if rnd.random() < 0.6 else None
    fault = rnd.choice(FAULTS) if ruled else None
    return {"id": f"CI{n:04d}", "ticket_id": ticket["id"], "order_id": ticket["order_id"], "shop_id": ticket["shop_id"],
            "buyer_id": "CB", "policy": "kuaishou", "policy_version": "2026.1", "requested_at": at, "requested_by": "x",
            "cause": "rejected", "previous_status": "rejected", "status": "ruled" if ruled else "coordinating",
            "response_due_at": at + 2 * D, "ruled_at": ruled, "fault": fault,
            "effective_fault": rnd.choice((fault, fault, "buyer", "shop")) if fault else None}


def _world(conn: Connection, rnd: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Rows inserted in multi-row statements, as a seed or an import would."""
    conn.execute(insert(t.shops), [{"id": s, "name": s, "policy": "douyin" if i == 4 else "kuaishou", "status": "normal",
                                    "wallet_fen": 0, "deposit_fen": 0, "wallet_opened_at": MIDNIGHT - 400 * D,
                                    "created_at": MIDNIGHT - 400 * D} for i, s in enumerate(SHOPS)])
    conn.execute(insert(t.buyers), [{"id": "CB", "name": "CB"}])
    rows: dict[str, list[dict[str, Any]]] = {"tickets": [], "overdue_records": [], "interventions": [], "events": []}
    for i in range(rnd.randint(30, 160)):
        shop, created = rnd.choice(SHOPS[:4]), _instant(rnd)  # the last shop has no activity
        status = rnd.choice(STATUSES)
        ended = None if status in ("pending_review", "in_intervention") else created + _duration(rnd)
        tk = _ticket_row(f"CT{i:04d}", f"CO{i:04d}", shop, "CB", rnd.choice(TYPES), status, created, ended)
        rows["tickets"].append(tk)
        if rnd.random() < 0.4:
            rows["overdue_records"].append({"shop_id": shop, "ticket_id": tk["id"], "order_id": tk["order_id"],
                                            "type": rnd.choice(OVERDUE), "rule": "KS-GOV-1", "cause_rule": None,
                                            "at": rnd.choice((created + 2 * D, _instant(rnd)))})
        for _ in range(rnd.choice((0, 0, 0, 1, 1, 2, 3))):
            at = rnd.choice((created + _duration(rnd), _instant(rnd)))
            rows["interventions"].append(_intervention(len(rows["interventions"]), tk, at, rnd))
            if rnd.random() < 0.3:  # a second one at the same instant
                rows["interventions"].append(_intervention(len(rows["interventions"]), tk, at, rnd))
        if rnd.random() < 0.3:
            rows["events"].append({"at": _instant(rnd), "actor": "staff:U", "shop_id": rnd.choice((shop, shop, None)),
                                   "type": rnd.choice(("entry_opened", "entry_opened", "applied")),
                                   "order_id": tk["order_id"], "payload": {}, "recorded_at": created})
    conn.execute(insert(t.orders), [_order_row(x["order_id"], x["shop_id"], "CB", x["created_at"]) for x in rows["tickets"]])
    for table in ("tickets", "overdue_records", "interventions", "events"):
        if rows[table]:
            conn.execute(insert(getattr(t, table)), rows[table])
    return rows


def _change(conn: Connection, rnd: random.Random, rows: dict[str, list[dict[str, Any]]]) -> None:
    """What happens next, one statement at a time, in random order."""
    tk, iv, od, ev = t.tickets.c, t.interventions.c, t.overdue_records.c, t.events.c
    tickets = [x["id"] for x in rows["tickets"]]
    moves: list[Any] = []
    for x in rnd.sample(rows["tickets"], k=len(tickets) // 3):
        status = rnd.choice(STATUSES)
        ended = None if status in ("pending_review", "in_intervention") else rnd.choice(
            (x["created_at"] + _duration(rnd), x["ended_at"] or x["created_at"] + D))
        moves.append(update(t.tickets).where(tk.id == x["id"]).values(status=status, ended_at=ended))
    for n in range(len(rows["interventions"]), len(rows["interventions"]) + len(tickets) // 8):
        x = rnd.choice(rows["tickets"])  # the platform steps in, handled or not
        moves.append(insert(t.interventions).values(**_intervention(n, x, _instant(rnd), rnd)))
    for x in rnd.sample(rows["interventions"], k=len(rows["interventions"]) // 3):
        ruled = x["ruled_at"] or x["requested_at"] + _duration(rnd)
        moves.append(update(t.interventions).where(iv.id == x["id"]).values(
            ruled_at=ruled, fault=rnd.choice(FAULTS), effective_fault=rnd.choice(FAULTS)))
    for x in rnd.sample(rows["interventions"], k=len(rows["interventions"]) // 10):
        moves.append(update(t.interventions).where(iv.id == x["id"]).values(
            ticket_id=rnd.choice(tickets), requested_at=_instant(rnd)))
    for x in rnd.sample(rows["interventions"], k=len(rows["interventions"]) // 8):
        moves.append(delete(t.interventions).where(iv.id == x["id"]))
    moves.append(update(t.overdue_records).where(od.ticket_id.in_(rnd.sample(tickets, k=5))).values(at=_instant(rnd)))
    moves.append(update(t.overdue_records).where(od.ticket_id.in_(rnd.sample(tickets, k=3))).values(type="delayed_shipment"))
    moves.append(delete(t.overdue_records).where(od.ticket_id.in_(rnd.sample(tickets, k=5))))
    moves.append(update(t.events).where(ev.order_id.in_([x["order_id"] for x in rnd.sample(rows["tickets"], k=6)]))
                 .values(type=rnd.choice(("entry_opened", "applied")), at=_instant(rnd)))
    moves.append(delete(t.events).where(ev.order_id.in_([x["order_id"] for x in rnd.sample(rows["tickets"], k=4)])))
    moves.append(update(t.tickets).where(tk.id.in_(rnd.sample(tickets, k=4))).values(created_at=_instant(rnd)))
    rnd.shuffle(moves)
    for stmt in moves:
        conn.execute(stmt)
    # tickets gone with what hangs on them (the interventions in one statement: several per ticket)
    gone = rnd.sample(tickets, k=3)
    conn.execute(delete(t.interventions).where(iv.ticket_id.in_(gone)))
    conn.execute(delete(t.overdue_records).where(od.ticket_id.in_(gone)))
    conn.execute(delete(t.tickets).where(tk.id.in_(gone)))


def _probes(rnd: random.Random, rows: dict[str, list[dict[str, Any]]]) -> list[tuple[datetime, timedelta]]:
    """Evaluation instants and windows: on and beside midnights, at a record's instant, a window's
    length after one (the record on the window's open start), on and beside whole hours, in every
    zone; windows of 30 days, 1 day, hours, and exactly whole days from a midnight."""
    instants = [x[c] for table in rows.values() for x in table for c in ("created_at", "ended_at", "at", "requested_at", "ruled_at")
                if x.get(c) is not None]
    out = []
    for _ in range(14):
        window = rnd.choice((30 * D, 30 * D, D, timedelta(hours=5), 29 * D + timedelta(hours=13), 2 * D))
        at = rnd.choice((_instant(rnd, 5), rnd.choice(instants), rnd.choice(instants) + window,
                         MIDNIGHT + rnd.randint(-3, 3) * D + rnd.choice(NUDGES),
                         MIDNIGHT + timedelta(hours=rnd.randint(-72, 72)) + rnd.choice(NUDGES)))
        out.append((at.astimezone(rnd.choice(ZONES)), window))
    return out


def _counters(conn: Connection) -> dict[str, set[tuple[Any, ...]]]:
    """The counters' rows, less days that count nothing (a row whose counts went back to zero)."""
    gd = counts_table.gov_daily
    counts = [c for c in gd.columns if c.name not in ("shop_id", "day", "last_overdue_at", "last_against_at")]
    hd = counts_table.gov_hourly
    return {
        "daily": {tuple(r) for r in conn.execute(select(gd)) if any(r._mapping[c.name] for c in counts)},
        "hourly": {tuple(r) for r in conn.execute(select(hd)) if any(r._mapping[c.name] for c in counts)},
        "handling": {tuple(r) for r in conn.execute(select(counts_table.gov_handling))},
        "repeats": {tuple(r) for r in conn.execute(select(counts_table.gov_iv_repeats))},
    }


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_the_counters_give_exactly_the_figures_of_the_scanning_sql(engine: Engine, seed: int) -> None:
    rnd = random.Random(seed)
    _empty(engine)
    with engine.begin() as conn:
        rows = _world(conn, rnd)
    with engine.begin() as conn:
        _change(conn, rnd, rows)
    per_policy = {"kuaishou": 30 * D, "douyin": 7 * D}
    with engine.connect() as conn:
        for at, window in _probes(rnd, rows):
            for shop in SHOPS:
                assert counted.metrics_for(conn, shop, at, window) == scanned.metrics_for(conn, shop, at, window), \
                    (shop, at, window)
            same = {"kuaishou": window, "douyin": window}
            assert counted.metrics_all(conn, same.__getitem__, at) == scanned.metrics_all(conn, same.__getitem__, at)
            assert counted.metrics_all(conn, per_policy.__getitem__, at) == scanned.metrics_all(
                conn, per_policy.__getitem__, at)
        # a sweep's batch: several shops at once, each at its own instant (one statement on PostgreSQL)
        for handling in (False, True):
            probes = _probes(rnd, rows)
            ends_at = {shop: probes[i][0] for i, shop in enumerate(SHOPS)}
            window = probes[0][1]
            got = counted.metrics_at(conn, ends_at, window, handling)
            for shop, at in ends_at.items():
                assert got[shop] == counted.metrics_for(conn, shop, at, window, handling), (shop, at, window)
                if handling:
                    assert got[shop] == scanned.metrics_for(conn, shop, at, window), (shop, at, window)
        kept = _counters(conn)
    with engine.begin() as conn:
        counts_sql.rebuild(conn)
        assert _counters(conn) == kept


def test_a_window_with_something_on_every_boundary_is_counted_once(engine: Engine) -> None:
    """Records exactly at a window's open start (out), at its closed end (in), on the midnights
    between (the counters' days), a microsecond either side, and a half-second handling time; a
    ticket taken to the platform at the window's start and again just after counts once."""
    at = (MIDNIGHT + 9 * timedelta(hours=1)).astimezone(UTC)
    start = at - 30 * D
    edges = [start - US, start, start + US, MIDNIGHT - 29 * D - US, MIDNIGHT - 29 * D, MIDNIGHT - US, MIDNIGHT,
             at - US, at, at + US]
    with engine.begin() as conn:
        conn.execute(insert(t.shops), [{"id": "C0", "name": "C0", "policy": "kuaishou", "status": "normal",
                                        "wallet_fen": 0, "deposit_fen": 0, "wallet_opened_at": MIDNIGHT - 400 * D,
                                        "created_at": MIDNIGHT - 400 * D}])
        conn.execute(insert(t.buyers), [{"id": "CB", "name": "CB"}])
        tickets = [_ticket_row(f"CT{i}", f"CO{i}", "C0", "CB", "refund_only", "refunded", x - timedelta(seconds=7.5), x)
                   for i, x in enumerate(edges)]
        conn.execute(insert(t.orders), [_order_row(x["order_id"], "C0", "CB", x["created_at"]) for x in tickets])
        conn.execute(insert(t.tickets), tickets)
        conn.execute(insert(t.overdue_records), [
            {"shop_id": "C0", "ticket_id": x["id"], "order_id": x["order_id"], "type": "refund_only_overdue",
             "rule": "KS-GOV-1", "cause_rule": None, "at": x["ended_at"]} for x in tickets])
        rnd = random.Random(1)
        conn.execute(insert(t.interventions), [_intervention(i, tickets[2], x, rnd)
                                               for i, x in enumerate((start, start + US, at))])
    with engine.connect() as conn:
        got = counted.metrics_for(conn, "C0", at, 30 * D)
        assert got == scanned.metrics_for(conn, "C0", at, 30 * D)
    inside = [x for x in edges if start < x <= at]
    assert got.refund_only_overdue == got.refund_only_handled + 1 == len(inside) == 7  # CT2 went to the platform
    assert got.interventions == 1
    assert got.last_record_at == at and got.refund_only_median_s in (7.0, 8.0)


@pytest.mark.parametrize("days", [0, 1, 2])
def test_counters_are_written_by_the_statement_that_writes_the_row(engine: Engine, days: int) -> None:
    """A ticket rejected, then taken to the platform, then its intervention deleted: each statement
    moves the handling times at once, in its own transaction."""
    created = MIDNIGHT - days * D + timedelta(hours=3)
    with engine.begin() as conn:
        conn.execute(insert(t.shops), [{"id": "C0", "name": "C0", "policy": "kuaishou", "status": "normal",
                                        "wallet_fen": 0, "deposit_fen": 0, "wallet_opened_at": MIDNIGHT - 400 * D,
                                        "created_at": MIDNIGHT - 400 * D}])
        conn.execute(insert(t.buyers), [{"id": "CB", "name": "CB"}])
        conn.execute(insert(t.orders), [_order_row("CO", "C0", "CB", created)])
        conn.execute(insert(t.tickets), [_ticket_row("CT", "CO", "C0", "CB", "refund_only", "pending_review",
                                                     created, None)])

    def histogram() -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(counts_table.gov_handling.c.ticket_id,
                                                          counts_table.gov_handling.c.s))]

    with engine.begin() as conn:
        conn.execute(update(t.tickets).where(t.tickets.c.id == "CT").values(status="rejected", ended_at=created + D))
    assert histogram() == [("CT", 86_400)]
    with engine.begin() as conn:
        ticket = conn.execute(select(t.tickets).where(t.tickets.c.id == "CT")).one()._mapping
        conn.execute(insert(t.interventions), [_intervention(1, dict(ticket), created + 2 * D, random.Random(days))])
    assert histogram() == []
    with engine.begin() as conn:
        conn.execute(delete(t.interventions))
    assert histogram() == [("CT", 86_400)]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_percentiles_with_tickets_handled_in_the_partial_hours_before_and_after_the_histograms(
        engine: Engine, seed: int) -> None:
    """Tickets handled in the window's two partial hours rank among the histogram's values: quick
    ones come before every value of the histogram, slow ones after, some in between; for one shop and
    for every shop at once, the median and the P95 are the scan's."""
    rnd = random.Random(seed)
    at = (MIDNIGHT - 3 * D + timedelta(hours=10, minutes=30)).astimezone(UTC)
    start = at - 30 * D
    with engine.begin() as conn:
        conn.execute(insert(t.shops), [{"id": s, "name": s, "policy": "kuaishou", "status": "normal",
                                        "wallet_fen": 0, "deposit_fen": 0, "wallet_opened_at": MIDNIGHT - 400 * D,
                                        "created_at": MIDNIGHT - 400 * D} for s in SHOPS[:3]])
        conn.execute(insert(t.buyers), [{"id": "CB", "name": "CB"}])
        rows = []
        for i in range(rnd.randint(60, 140)):
            shop = rnd.choice(SHOPS[:3])
            took = timedelta(seconds=rnd.choice((rnd.randint(1, 50), rnd.randint(1_000, 9_000), rnd.randint(10**5, 10**6))))
            ended = rnd.choice((start + timedelta(minutes=rnd.randint(1, 29)),  # the first partial hour
                                at - timedelta(minutes=rnd.randint(0, 29)),  # the last one
                                start + timedelta(hours=rnd.randint(1, 30 * 24 - 2), minutes=rnd.randint(0, 59))))
            rows.append(_ticket_row(f"CT{i}", f"CO{i}", shop, "CB", rnd.choice(("refund_only", "return_refund")),
                                    "refunded", ended - took, ended))
        conn.execute(insert(t.orders), [_order_row(x["order_id"], x["shop_id"], "CB", x["created_at"]) for x in rows])
        conn.execute(insert(t.tickets), rows)
    with engine.connect() as conn:
        for shop in SHOPS[:3]:
            assert counted.metrics_for(conn, shop, at, 30 * D) == scanned.metrics_for(conn, shop, at, 30 * D), shop
        same = {"kuaishou": 30 * D}
        assert counted.metrics_all(conn, same.__getitem__, at) == scanned.metrics_all(conn, same.__getitem__, at)
