"""The payment channel that refunds buyers. The default is a fake that can be told to fail; a real
one implements the same `refund` with the payout id as its idempotency key."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ChannelResult:
    ok: bool
    reference: str | None = None
    reason: str | None = None
    buyer_account: bool = False  # the failure is the buyer's account (closed, frozen...): DY-OP-9


class PaymentChannel(Protocol):
    def refund(self, key: str, buyer_id: str, amount_fen: int) -> ChannelResult: ...


class FakeChannel:
    """Pays at once, remembers every key (a repeated key gets the first answer back), and fails on
    request: `fail_buyers` for accounts that refuse money, `transient` for the next N calls."""

    def __init__(self, fail_buyers: set[str] | None = None, transient: int = 0) -> None:
        self.fail_buyers = set(fail_buyers or ())
        self.transient = transient
        self.answers: dict[str, ChannelResult] = {}
        self.paid: dict[str, int] = {}  # key -> fen, what really left
        self.calls = 0
        self._lock = threading.Lock()

    def refund(self, key: str, buyer_id: str, amount_fen: int) -> ChannelResult:
        with self._lock:
            self.calls += 1
            if key in self.answers and self.answers[key].ok:
                return self.answers[key]
            if self.transient > 0:
                self.transient -= 1
                return ChannelResult(False, reason="channel timeout")
            if buyer_id in self.fail_buyers:
                result = ChannelResult(False, reason="buyer account frozen (买家账户异常)", buyer_account=True)
            else:
                self.paid[key] = amount_fen
                result = ChannelResult(True, reference=f"fake-{key}")
            self.answers[key] = result
            return result
