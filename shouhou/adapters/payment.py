"""The payment channel that refunds buyers, with the payout id as idempotency key.

A real channel implements `refund` and `status`. `status(key)` is the channel's own record of a
refund it was asked for: how it ended, or None when it never received that key. shouhou asks it
before retrying a payout whose earlier attempt may have gone through (a worker killed after the
call, an answer lost to a timeout) and before the platform advance-compensates, so a refund that in
fact left is recorded as paid instead of paid twice.

The built-in `FakeChannel` pays at once and can be told to fail; given an engine it keeps its
answers in the database (`fake_channel_refunds`), so several workers and restarts see one memory,
as a real channel's would be.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..clock import Clock
from .operations import fake_channel_refunds


@dataclass(frozen=True)
class ChannelResult:
    ok: bool
    reference: str | None = None
    reason: str | None = None
    buyer_account: bool = False  # the failure is the buyer's account (closed, frozen...): DY-OP-9
    in_doubt: bool = False  # no answer (a timeout, an error): the refund may or may not have left


class PaymentChannel(Protocol):
    def refund(self, key: str, buyer_id: str, amount_fen: int) -> ChannelResult: ...

    def status(self, key: str) -> ChannelResult | None: ...


class FakeChannel:
    """Pays at once, remembers every key (a repeated key gets the first answer back), and fails on
    request: `fail_buyers` for accounts that refuse money, `transient` for the next N calls (a
    timeout before anything happened), `lost_answers` for the next N calls that pay but whose answer
    is lost (a timeout after the money left)."""

    def __init__(self, fail_buyers: set[str] | None = None, transient: int = 0, lost_answers: int = 0,
                 engine: Engine | None = None, clock: Clock | None = None) -> None:
        if (engine is None) != (clock is None):
            raise ValueError("a FakeChannel that remembers in the database needs the engine and the clock")
        self.fail_buyers = set(fail_buyers or ())
        self.transient, self.lost_answers = transient, lost_answers
        self.engine, self.clock = engine, clock
        self.answers: dict[str, ChannelResult] = {}
        self.paid: dict[str, int] = {}  # key -> fen, what really left (this process)
        self.calls = self.status_calls = 0
        self._lock = threading.Lock()

    def refund(self, key: str, buyer_id: str, amount_fen: int) -> ChannelResult:
        with self._lock:
            self.calls += 1
            known = self._recall(key)
            if known is not None and known.ok:
                return known
            if self.transient > 0:
                self.transient -= 1
                return ChannelResult(False, reason="channel timeout", in_doubt=True)
            if buyer_id in self.fail_buyers:
                result = ChannelResult(False, reason="buyer account frozen (买家账户异常)", buyer_account=True)
            else:
                result = ChannelResult(True, reference=f"fake-{key}")
            result = self._remember(key, buyer_id, amount_fen, result)
            if result.ok:
                self.paid[key] = amount_fen
                if self.lost_answers > 0:
                    self.lost_answers -= 1
                    return ChannelResult(False, reason="channel timeout (the answer was lost)", in_doubt=True)
            return result

    def status(self, key: str) -> ChannelResult | None:
        with self._lock:
            self.status_calls += 1
            return self._recall(key)

    def _recall(self, key: str) -> ChannelResult | None:
        if self.engine is None:
            return self.answers.get(key)
        r = fake_channel_refunds.c
        with self.engine.connect() as conn:
            row = conn.execute(select(r.ok, r.reference, r.reason, r.buyer_account).where(r.key == key)).first()
        return None if row is None else ChannelResult(row.ok, row.reference, row.reason, row.buyer_account)

    def _remember(self, key: str, buyer_id: str, amount_fen: int, result: ChannelResult) -> ChannelResult:
        """Store the answer for `key` (a failure may be replaced by a later answer; a payment never is).
        When another worker's call stored a payment first, that one stands."""
        if self.engine is None or self.clock is None:
            self.answers[key] = result
            return result
        r = fake_channel_refunds.c
        row = {"buyer_id": buyer_id, "amount_fen": amount_fen, "ok": result.ok, "reference": result.reference,
               "reason": result.reason, "buyer_account": result.buyer_account, "at": self.clock.now()}
        with self.engine.begin() as conn:
            if conn.execute(update(fake_channel_refunds).where(r.key == key, r.ok.is_(False)).values(**row)).rowcount:
                return result
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(fake_channel_refunds).values(key=key, **row))
        except IntegrityError:
            stored = self._recall(key)
            if stored is not None:
                return stored
        return result
