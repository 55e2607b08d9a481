"""The dispatcher: events out, at least once, each under one stable `webhook-id`.

The outbox. Every event is stored in the transaction of the change that records it (the unit of
work) with no place in the feed yet. The dispatcher's first step, in one transaction, gives a batch
of such events their places (events.feed_seq, in commit order: on PostgreSQL one dispatcher at a time
takes this step, behind an advisory lock) and writes one delivery row per event and endpoint that
wants it, its body fixed then. An event is thus either unplaced (and will be placed) or placed with
its deliveries: a crash at any line loses nothing.

Delivering follows money.pay_out: claim a batch of due deliveries and commit (on PostgreSQL with FOR
UPDATE SKIP LOCKED, so several dispatchers share the work; a claim holds for LEASE, after which a
dispatcher that died holding it is replaced), post each outside any transaction, then record each
attempt. A crash after posting and before recording posts again after the lease: at least once, the
same `webhook-id` (receivers de-duplicate on it). Deliveries to different endpoints are separate rows:
one endpoint failing delays nobody else's.

A failed attempt is tried again after SCHEDULE (Standard Webhooks' guidance, stretched past three
days); after the last the delivery is `failed`. An endpoint that has failed without a success for
DISABLE_AFTER is disabled and its owner told: a `webhook_endpoint_disabled` event (in the feed and to
the other endpoints), and the endpoint's disabled_reason.

The pushes of DY-OP-10 leave the same way: the site message, stored in the transaction that opens the
entry, is the push's outbox row; `push_due` claims the messages due, pushes each through the Pusher
outside any transaction and records the outcome, retrying on SCHEDULE. The push carries the message id
for the buyer's app to de-duplicate a push repeated after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from ..adapters import idempotency_table as idem
from ..adapters import webhooks as wh
from ..adapters.notifier import Pusher
from ..adapters.uow import SqlUnitOfWork
from ..adapters.webhook_sender import Sender, Sent
from ..clock import Clock
from ..domain.events import Event

log = logging.getLogger("shouhou.dispatch")

M, H = timedelta(minutes=1), timedelta(hours=1)
# the wait after the n-th failed attempt; 13 attempts over 77 h 36 min, then the delivery has failed
SCHEDULE: tuple[timedelta, ...] = (1 * M, 5 * M, 30 * M, 2 * H, 5 * H) + (10 * H,) * 7
DISABLE_AFTER = timedelta(days=3)
LEASE = timedelta(minutes=5)  # > a batch's sends: BATCH / threads x the sender's timeout
KEEP = timedelta(days=30)  # settled deliveries and their attempts are kept this long (Stripe: 30 days)
HOUSEKEEPING_EVERY = timedelta(hours=1)


def secrets_of(row: dict[str, Any], now: datetime) -> list[str]:
    """The secrets that sign now: the endpoint's, and the rotated one until its overlap ends."""
    out = [row["secret"]]
    if row.get("old_secret") and row.get("old_secret_expires_at") and row["old_secret_expires_at"] > now:
        out.append(row["old_secret"])
    return out


def wants(endpoint: dict[str, Any], ev: dict[str, Any]) -> bool:
    """A shop's endpoint receives its shop's events, a platform-wide one every event; either only the
    types it lists, and only events stored after it was registered."""
    return ((endpoint["shop_id"] is None or endpoint["shop_id"] == ev["shop_id"])
            and (endpoint["events"] is None or ev["type"] in endpoint["events"])
            and ev["id"] > endpoint["after_event"])


BESIDE_SWEEPS = 4  # rounds of placing events (500 each) between two sweeps of a worker that also dispatches


class Dispatcher:
    """`run_once()` places new events and sends what is due; `shouhou dispatch`, `shouhou worker`
    and `serve` call it in a loop. Its three steps are public so that tests can stop between them."""

    def __init__(self, uow_factory: Callable[[], SqlUnitOfWork], clock: Clock, sender: Sender,
                 batch: int = 50, threads: int = 1, pusher: Pusher | None = None) -> None:
        self.uow, self.clock, self.sender, self.batch = uow_factory, clock, sender, batch
        self.threads, self.pusher = threads, pusher
        self.housekept: datetime | None = None

    def place(self, limit: int = 500) -> int:
        """Give up to `limit` new events their feed places and their deliveries; how many were placed."""
        now = self.clock.now()
        with self.uow() as uow:
            conn = uow.conn
            if not wh.take_sequencing_lock(conn):
                return 0
            events = wh.unsequenced_events(conn, limit)
            if not events:
                return 0
            seq = wh.last_feed_seq(conn)
            endpoints = wh.enabled_endpoints(conn)
            places: list[tuple[int, int]] = []
            rows: list[dict[str, Any]] = []
            for ev in events:
                seq += 1
                places.append((ev["id"], seq))
                body = wh.message_of(ev)
                rows += [{"endpoint_id": ep["id"], "event_id": ev["id"], "message_id": body["id"], "type": ev["type"],
                          "body": body, "status": "pending", "attempts": 0, "next_try_at": now, "created_at": now}
                         for ep in endpoints if wants(ep, ev)]
            wh.set_feed_seq(conn, places)
            wh.add_deliveries(conn, rows)
            uow.commit()
        return len(events)

    def claim(self) -> list[dict[str, Any]]:
        """Claim a batch of due deliveries (committed: held for LEASE)."""
        now = self.clock.now()
        with self.uow() as uow:
            rows = wh.claim_due(uow.conn, now, self.batch, LEASE)
            uow.commit()
        for r in rows:
            r["secrets"] = secrets_of(r, now)
        return rows

    def send(self, claimed: Sequence[dict[str, Any]]) -> list[Sent]:
        """Post each claimed message, outside any transaction, several at a time."""
        def one(r: dict[str, Any]) -> Sent:
            return self.sender.send(r["url"], r["message_id"], r["body"], r["secrets"])
        if self.threads <= 1 or len(claimed) <= 1:
            return [one(r) for r in claimed]
        with ThreadPoolExecutor(max_workers=min(self.threads, len(claimed))) as pool:
            return list(pool.map(one, claimed))

    def record(self, claimed: Sequence[dict[str, Any]], results: Sequence[Sent]) -> int:
        """Log each attempt and what follows from it, in one transaction; how many were delivered."""
        now = self.clock.now()
        delivered = 0
        with self.uow() as uow:
            notices: list[Event] = []
            for r, sent in zip(claimed, results, strict=True):
                delivered += self._record_one(uow, r, sent, now, notices)
            uow.store_events(notices)
            uow.commit()
        return delivered

    def _record_one(self, uow: SqlUnitOfWork, r: dict[str, Any], sent: Sent, now: datetime,
                    notices: list[Event]) -> int:
        conn = uow.conn
        d = wh.delivery(conn, r["id"], lock=True)
        if d is None:  # its endpoint was deleted meanwhile
            return 0
        wh.log_attempt(conn, {"delivery_id": d["id"], "endpoint_id": d["endpoint_id"], "at": now,
                              "status_code": sent.status_code, "latency_ms": sent.latency_ms, "error": sent.error})
        attempts = d["attempts"] + 1
        ep = wh.endpoint(conn, d["endpoint_id"], lock=True)
        if sent.ok:
            wh.change_delivery(conn, d["id"], status="delivered", attempts=attempts, next_try_at=None,
                               last_attempt_at=now, delivered_at=d["delivered_at"] or now)
            if ep is not None and ep["failing_since"] is not None:
                wh.change_endpoint(conn, ep["id"], failing_since=None)
            return 1
        if d["status"] == "delivered":  # a late duplicate failed: the message arrived before
            wh.change_delivery(conn, d["id"], next_try_at=None, last_attempt_at=now)
            return 0
        more = attempts <= len(SCHEDULE)
        wh.change_delivery(conn, d["id"], status="pending" if more else "failed", attempts=attempts,
                           next_try_at=now + SCHEDULE[attempts - 1] if more else None, last_attempt_at=now)
        if ep is None:
            return 0
        since = ep["failing_since"] or now
        if ep["failing_since"] is None:
            wh.change_endpoint(conn, ep["id"], failing_since=now)
        if ep["enabled"] and now - since >= DISABLE_AFTER:
            reason = f"every attempt failed since {since.isoformat()}; last: {sent.error or sent.status_code}"
            wh.change_endpoint(conn, ep["id"], enabled=False, disabled_reason=reason[:1000], updated_at=now)
            notices.append(Event("webhook_endpoint_disabled", now, "system", shop_id=ep["shop_id"], payload={
                "endpoint": ep["id"], "url": ep["url"], "failing_since": since.isoformat(), "reason": reason[:1000]}))
            log.warning("webhook endpoint %s disabled: %s", ep["id"], reason)
        return 0

    def deliver_due(self) -> int:
        """Claim, send and record batch after batch until nothing is due; how many were delivered."""
        delivered = 0
        for _ in range(10_000):
            claimed = self.claim()
            if not claimed:
                break
            delivered += self.record(claimed, self.send(claimed))
        return delivered

    def push_due(self) -> int:
        """DY-OP-10: push every site message due, batch after batch; how many were pushed. Without a
        pusher (a dispatcher that only delivers webhooks) the messages wait for one that has it."""
        if self.pusher is None:
            return 0
        pushed = 0
        for _ in range(10_000):
            now = self.clock.now()
            with self.uow() as uow:
                claimed = wh.claim_pushes(uow.conn, now, self.batch, LEASE)
                uow.commit()
            if not claimed:
                break
            outcomes = [self._push_one(r) for r in claimed]
            now = self.clock.now()
            with self.uow() as uow:
                for r, error in zip(claimed, outcomes, strict=True):
                    pushed += self._record_push(uow, r["id"], error, now)
                uow.commit()
        return pushed

    def _push_one(self, r: dict[str, Any]) -> str | None:
        """Push one message; None when it went, else the error."""
        assert self.pusher is not None
        try:
            self.pusher.push(r["buyer_id"], r["title_zh"], r["body_zh"], {"order": r["order_id"], "message": r["id"]})
        except Exception as exc:  # noqa: BLE001 - a push service that fails is retried, never fatal
            log.warning("push of message %s to buyer %s failed: %s", r["id"], r["buyer_id"], exc)
            return f"{type(exc).__name__}: {exc}"[:1000]
        return None

    @staticmethod
    def _record_push(uow: SqlUnitOfWork, ident: str, error: str | None, now: datetime) -> int:
        state = wh.push_state(uow.conn, ident)
        if state is None or state["push_status"] != "pending":
            return 0  # pushed by a dispatcher whose claim had expired: this one was a duplicate
        attempts = state["push_attempts"] + 1
        if error is None:
            wh.change_push(uow.conn, ident, push_status="pushed", push_attempts=attempts, push_next_at=None,
                           pushed_at=now, push_error=None)
            return 1
        more = attempts <= len(SCHEDULE)
        wh.change_push(uow.conn, ident, push_status="pending" if more else "failed", push_attempts=attempts,
                       push_next_at=now + SCHEDULE[attempts - 1] if more else None, push_error=error)
        return 0

    def run_once(self, place_rounds: int = 10_000) -> int:
        """Place every new event (at most `place_rounds` rounds of 500: a dispatcher that shares its
        process with the deadline worker catches up on a backlog over several rounds, between sweeps,
        instead of holding the deadlines back until the whole outbox is placed), deliver everything
        due and push the site messages due; how many webhook messages were delivered."""
        for _ in range(place_rounds):
            if not self.place():
                break
        delivered = self.deliver_due()
        self.push_due()
        now = self.clock.now()
        if self.housekept is None or now - self.housekept >= HOUSEKEEPING_EVERY:
            self.housekeep(now)
        return delivered

    def housekeep(self, now: datetime, chunk: int = 1000) -> tuple[int, int]:
        """Forget what no one needs any more, a chunk per transaction: settled deliveries (and their
        attempts) older than KEEP, and idempotency keys past their 24 hours. Returns both counts."""
        self.housekept = now
        prunes: tuple[Callable[[Any], int], ...] = (lambda c: wh.prune_deliveries(c, now - KEEP, chunk),
                                                    lambda c: idem.prune_expired(c, now, chunk))
        gone = [0, 0]
        for i, prune in enumerate(prunes):
            for _ in range(10_000):
                with self.uow() as uow:
                    n = prune(uow.conn)
                    uow.commit()
                gone[i] += n
                if n < chunk:
                    break
        if any(gone):
            log.info("housekeeping: %d old deliveries and %d expired idempotency keys removed", *gone)
        return gone[0], gone[1]
