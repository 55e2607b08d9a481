"""The sweep benchmark's raw baseline (see bench/sweep.py): what shouhou's sweep writes and reads for
each due return & refund ticket, by hand, through the raw driver (sqlite3 or psycopg), in batches of
the same size, one transaction each:

1. the due ids, soonest first, through the partial index (on PostgreSQL FOR UPDATE SKIP LOCKED, as
   several sweepers need);
2. the batch's shops: their pack (on PostgreSQL locked in id order, FOR UPDATE, before anything is
   written: what keeps two sweepers whose batches share shops from deadlocking on their counters);
3. the writes of an auto-approve (KS-RR-1): the ticket row (awaiting_return, its KS-RR-2 deadline,
   the return address), the `auto_approved` and `overdue_recorded` events, the overdue_records row
   (KS-GOV-1). The counters (gov_daily, gov_hourly) are written by the schema's own triggers, as for
   shouhou: the same schema, the same triggers, the same rows counted;
4. KS-GOV-3 for each shop of the batch at its newest record in the batch: the shop's measures, and
   its 30-day figures (applications, overdue records, interventions, rulings and rulings against
   it, the newest record) from the counters: the window's whole days from gov_daily, the whole
   hours of its two partial days from gov_hourly, its two partial hours from the rows (the same
   cut as adapters.metrics); then the ladder (the pack's thresholds) and the score (the pack's
   formula), and the shop row: score, governance_evaluated_at, governance_due_at (the next daily
   evaluation while the shop has records in the window).

It writes no measures: the data set reaches no rung (bench/sweep_data), and the baseline stops
with an error if a shop would reach one, or already has a measure. The pack's constants (deadlines,
thresholds, weights) are read once, before the clock starts.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as daytime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg

from bench.sweep_data import ADDRESS, NOW, PACK
from shouhou.clock import SHANGHAI
from shouhou.policies import PolicyRegistry

UTC8 = timezone(timedelta(hours=8))
EPOCH, HOUR = datetime(1970, 1, 1, tzinfo=UTC), timedelta(hours=1)
_SUMS = ("applications AS a, refund_only_overdue + return_refund_overdue + exchange_overdue + delayed_shipments AS o, "
         "interventions AS i, rulings AS r, rulings_against AS ra, last_overdue_at AS lo, last_against_at AS la")
_AGAINST = "coalesce(effective_fault, fault) IN ('shop', 'both')"


def _edges(col: str) -> list[str]:
    """The window's two partial hours, read from the rows: (start, ha) and [hb, end]."""
    return [f"{col} > :start AND {col} < :ha", f"{col} >= :hb AND {col} <= :end"]


FIGURES = (
    "SELECT coalesce(sum(a), 0), coalesce(sum(o), 0), coalesce(sum(i), 0), coalesce(sum(r), 0), "
    "coalesce(sum(ra), 0), max(lo), max(la) FROM ("
    + " UNION ALL ".join(
        [f"SELECT {_SUMS} FROM gov_daily WHERE shop_id = :shop AND day >= :d1 AND day < :d2",
         f"SELECT {_SUMS} FROM gov_hourly WHERE shop_id = :shop AND hour >= :l1 AND hour < :l2",
         f"SELECT {_SUMS} FROM gov_hourly WHERE shop_id = :shop AND hour >= :r1 AND hour < :r2"]
        + [f"SELECT count(*), 0, 0, 0, 0, NULL, NULL FROM tickets WHERE shop_id = :shop AND {e}"
           for e in _edges("created_at")]
        + [f"SELECT 0, count(*), 0, 0, 0, max(at), NULL FROM overdue_records WHERE shop_id = :shop AND {e}"
           for e in _edges("at")]
        + [f"SELECT 0, 0, count(*), 0, 0, NULL, NULL FROM interventions WHERE shop_id = :shop AND {e}"
           for e in _edges("requested_at")]
        + [f"SELECT 0, 0, 0, count(*), sum(CASE WHEN {_AGAINST} THEN 1 ELSE 0 END), NULL, "
           f"max(CASE WHEN {_AGAINST} THEN ruled_at END) FROM interventions WHERE shop_id = :shop AND {e}"
           for e in _edges("ruled_at")]
        # a ticket taken to the platform twice in the window counts once (distinct tickets)
        + ["SELECT 0, 0, -count(*), 0, 0, NULL, NULL FROM gov_iv_repeats WHERE shop_id = :shop "
           "AND at > :start AND at <= :end AND prev_at > :start"])
    + ") AS x")


def cut(start: datetime, end: datetime) -> dict[str, Any]:
    """Where (start, end] meets the counters' buckets: whole UTC+8 days [d1, d2), whole hours since
    1970 [l1, l2) before them and [r1, r2) after, and the partial hours (start, ha) and [hb, end]."""
    s, e = start.astimezone(UTC8), end.astimezone(UTC8)
    a = datetime.combine(s.date() + timedelta(days=1), daytime(), UTC8)
    b = datetime.combine(e.date(), daytime(), UTC8)
    if a > b:
        a = b = end
    hl, hr = (start - EPOCH) // HOUR, (end - EPOCH) // HOUR
    ha, hb = EPOCH + (hl + 1) * HOUR, EPOCH + hr * HOUR
    if ha > hb:
        ha = hb = end
    day = lambda x: x.astimezone(UTC8).date()  # noqa: E731
    return {"start": start, "end": end, "ha": ha, "hb": hb, "d1": day(a), "d2": day(b),
            "l1": hl + 1, "l2": (a - EPOCH) // HOUR, "r1": (b - EPOCH) // HOUR, "r2": hr}


class Pack:
    """The pack's constants the sweep needs, read once."""

    def __init__(self) -> None:
        pv = PolicyRegistry.default().in_force(PACK, NOW)
        gov = pv.governance
        self.ships, self.ships_rule = pv.return_refund.buyer_ships.delta, pv.return_refund.buyer_ships.rule  # KS-RR-2
        self.window, self.every = gov.window.delta, gov.evaluation.delta
        self.ladder = [(name, m.when) for name, m in gov.ladder()]
        f = gov.score
        self.base, self.floor, self.points_weight = Decimal(f.base), Decimal(f.floor), f.points_weight
        self.terms = [(x.metric, x.weight) for x in f.terms]
        known = {"overdue", "applications", "interventions", "rulings", "rulings_against", "overdue_rate",
                 "intervention_rate", "fault_rate"}
        if not gov.metrics_read() <= known:
            sys.exit(f"raw: the pack reads {gov.metrics_read() - known}, which this baseline does not compute")

    def values(self, o: int, a: int, i: int, r: int, ra: int) -> dict[str, Decimal]:
        rate = lambda n, d: Decimal(n) / Decimal(d) if d else Decimal(0)  # noqa: E731
        return {"overdue": Decimal(o), "applications": Decimal(a), "interventions": Decimal(i),
                "rulings": Decimal(r), "rulings_against": Decimal(ra), "overdue_rate": rate(o, a),
                "intervention_rate": rate(i, a), "fault_rate": rate(ra, r)}

    def rung(self, o: int, a: int, i: int, r: int, ra: int) -> str | None:
        """The first rung the figures reach (rates compared as counts: n >= min * d)."""
        counts = {"overdue": o, "applications": a, "interventions": i, "rulings": r, "rulings_against": ra}
        rates = {"overdue_rate": (o, a), "intervention_rate": (i, a), "fault_rate": (ra, r)}

        def meets(k: str, v: Decimal) -> bool:
            if k in rates:
                n, d = rates[k]
                return Decimal(n) >= v * d if d else v <= 0
            return Decimal(counts[k]) >= v
        for name, when in self.ladder:
            if any(all(meets(k, v) for k, v in cond.items()) for cond in when):
                return name
        return None

    def score(self, figures: dict[str, Decimal], points: int = 0) -> int:
        total = self.base
        for metric, weight in self.terms:
            total += weight * figures[metric] + 0
        total += self.points_weight * points
        return int(min(max(total, self.floor), self.base).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _text(at: datetime) -> str:
    """An instant as SQLite stores it (naive UTC text), or a day as ISO text."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class Raw:
    """One connection of the raw driver, SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.pg = url.startswith("postgresql")
        if self.pg:
            self.conn: Any = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
            self.mark = lambda q: re.sub(r":(\w+)", r"%(\1)s", q).replace("?", "%s")
        else:
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.mark = lambda q: q
        self.figures = self.mark(FIGURES)
        self.pack = Pack()

    def stored(self, v: Any) -> Any:
        if self.pg:
            return v
        if isinstance(v, datetime):
            return _text(v)
        return v.isoformat() if isinstance(v, date) else v

    def instant(self, v: Any) -> datetime:
        if isinstance(v, str):
            v = datetime.fromisoformat(v).replace(tzinfo=UTC)
        out: datetime = v.astimezone(SHANGHAI)
        return out

    def among(self, col: str, values: list[str]) -> tuple[str, list[Any]]:
        if self.pg:
            return f"{col} = ANY(%s)", [values]
        return f"{col} IN ({', '.join('?' * len(values))})", list(values)

    def many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        rows = [tuple(self.stored(v) for v in r) for r in rows]
        if self.pg:
            with self.conn.cursor() as cur:
                cur.executemany(self.mark(sql), rows)
        else:
            self.conn.executemany(sql, rows)

    def shop_figures(self, params: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Each shop's figures at its own instant: one statement a shop (pipelined on PostgreSQL)."""
        if not self.pg:
            return [self.conn.execute(self.figures, {k: self.stored(v) for k, v in p.items()}).fetchone()
                    for p in params]
        out = []
        with self.conn.cursor() as cur:
            cur.executemany(self.figures, params, returning=True)
            while True:
                out.append(cur.fetchone())
                if not cur.nextset():
                    break
        return out

    def batch(self, pack: Pack, size: int, until: datetime, recorded: datetime) -> int:
        """One transaction: returns how many tickets fired (0: nothing was due)."""
        lock = " FOR UPDATE SKIP LOCKED" if self.pg else ""
        rows = self.conn.execute(self.mark(
            "SELECT id, due_at, due_rule, order_id, shop_id FROM tickets WHERE due_at IS NOT NULL AND due_at <= ? "
            f"ORDER BY due_at, id LIMIT ?{lock}"), (self.stored(until), size)).fetchall()
        if not rows:
            return 0
        shop_ids = sorted({r[4] for r in rows})
        cond, args = self.among("id", shop_ids)
        packs = dict(self.conn.execute(f"SELECT id, policy FROM shops WHERE {cond} ORDER BY id"
                                       + (" FOR UPDATE" if self.pg else ""), args).fetchall())
        if set(packs.values()) != {PACK}:
            sys.exit(f"raw: shops of other packs than {PACK}: {set(packs.values())}")
        tickets: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        overdue: list[tuple[Any, ...]] = []
        newest: dict[str, datetime] = {}
        for ident, due, cause, order_id, shop_id in rows:
            at = self.instant(due)
            nxt = at + pack.ships
            tickets.append(("awaiting_return", nxt, "auto_close", pack.ships_rule, ADDRESS, at, ident))
            body = {"return_address": ADDRESS, "due": {"at": nxt.isoformat(), "action": "auto_close",
                                                       "rule": pack.ships_rule}}
            events.append((at, "system", "auto_approved", shop_id, order_id, ident, "pending_review", "awaiting_return",
                           cause, json.dumps(body), recorded))
            events.append((at, "system", "overdue_recorded", shop_id, order_id, ident, None, None, "KS-GOV-1",
                           json.dumps({"overdue_type": "return_refund_overdue", "cause": cause}), recorded))
            overdue.append((shop_id, ident, order_id, "return_refund_overdue", "KS-GOV-1", cause, at))
            newest[shop_id] = max(newest.get(shop_id, at), at)
        self.many("UPDATE tickets SET status = ?, due_at = ?, due_action = ?, due_rule = ?, return_address = ?, "
                  "updated_at = ? WHERE id = ?", tickets)
        self.many("INSERT INTO events (at, actor, type, shop_id, order_id, ticket_id, from_status, to_status, rule, "
                  "payload, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
        self.many("INSERT INTO overdue_records (shop_id, ticket_id, order_id, type, rule, cause_rule, at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)", sorted(overdue, key=lambda r: (r[0], r[6])))
        # KS-GOV-3: each shop at its newest record, after the records are written (and counted)
        cond, args = self.among("shop_id", shop_ids)
        if self.conn.execute(f"SELECT shop_id FROM measures WHERE {cond} LIMIT 1", args).fetchall():
            sys.exit("raw: a shop of the batch has a measure; this baseline writes none (see bench/sweep_data)")
        params = [{"shop": s, **cut(newest[s] - pack.window, newest[s])} for s in shop_ids]
        shops = []
        for s, (a, o, i, r, ra, _lo, _la) in zip(shop_ids, self.shop_figures(params), strict=True):
            if (name := pack.rung(o, a, i, r, ra)) is not None:
                sys.exit(f"raw: shop {s} reaches {name} ({o} overdue of {a}); this baseline writes no measures")
            watched = o > 0 or r > 0
            shops.append((pack.score(pack.values(o, a, i, r, ra)), newest[s],
                          newest[s] + pack.every if watched else None, s))
        self.many("UPDATE shops SET score = ?, governance_evaluated_at = ?, governance_due_at = ? WHERE id = ?", shops)
        return len(rows)

    def sweep(self, until: datetime, size: int) -> int:
        """Every batch due by `until`, one transaction each (events recorded at NOW, as shouhou's virtual
        clock has it); returns how many fired."""
        fired = 0
        while True:
            if self.pg:
                with self.conn.transaction():
                    n = self.batch(self.pack, size, until, NOW)
            else:
                self.conn.execute("BEGIN IMMEDIATE")
                n = self.batch(self.pack, size, until, NOW)
                self.conn.execute("COMMIT")
            if n == 0:
                return fired
            fired += n

    def close(self) -> None:
        self.conn.close()
