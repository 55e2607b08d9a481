"""Rate limits: requests per token (SHOUHOU_RATE_LIMIT), and failed authentications per client
address (SHOUHOU_AUTH_RATE_LIMIT): once an address has used those up, it gets 429 before its token is
even looked up, so guessing tokens stops.

Requests per token are counted with a sliding window counter of our own (`SlidingCounter`): the
algorithm of the `limits` library's SlidingWindowCounterRateLimiter (the previous fixed window's
count, weighted by how much of it still overlaps the sliding window, plus the current window's), O(1)
a request whatever the limit, in a dict and under one lock. Its MemoryStorage did the same sums but
started a timer thread to expire keys whenever its last one had finished, 10 ms after each: above a
hundred requests a second, nearly a thread start per request, the largest single cost of an
authenticated GET in the profile (issue 15). Here stale keys are swept once per window, inline.

Failed authentications keep `limits`' exact moving window (their limit is small, so its cost is too,
and they are only recorded on a failure): the sliding counter's estimate lets a guesser through
again as soon as the window it used up starts to age out, a few seconds after a minute boundary.

The counts live in this process: N API processes behind a balancer let N times the rate through.
`limits` also offers Redis and Memcached storages for a shared count, should that matter."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from math import floor

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from ...errors import Reason
from .errors import RateLimited


class SlidingCounter:
    """Hits per key against `item` (n per window of w seconds): a hit is allowed while the previous
    window's count times the share of it still inside the last w seconds, plus the current window's
    count, stays within n. Windows are aligned on multiples of w of `clock` (wall time, as `limits`)."""

    def __init__(self, item: RateLimitItem, clock: Callable[[], float] = time.time) -> None:
        self.limit, self.window = item.amount, float(item.get_expiry())
        self.clock = clock
        self.counts: dict[str, list[int]] = {}  # key -> [window index, previous window's count, current count]
        self.swept = -1  # the window index of the last sweep of stale keys
        self.lock = threading.Lock()

    def hit(self, key: str) -> bool:
        now = self.clock()
        index = int(now // self.window)
        overlap = 1.0 - (now % self.window) / self.window  # the share of the previous window still inside
        with self.lock:
            if index != self.swept:
                self._sweep(index)
            entry = self.counts.get(key)
            if entry is None:
                entry = self.counts[key] = [index, 0, 0]
            elif entry[0] != index:  # a new window: the current count becomes the previous (or nothing)
                entry[1] = entry[2] if entry[0] == index - 1 else 0
                entry[0], entry[2] = index, 0
            if floor(entry[1] * overlap + entry[2]) + 1 > self.limit:
                return False
            entry[2] += 1
            return True

    def _sweep(self, index: int) -> None:
        """Forget keys last hit two or more windows ago (they count for nothing any more)."""
        self.swept = index
        for key in [k for k, e in self.counts.items() if e[0] < index - 1]:
            del self.counts[key]


class Gate:
    """One per app: `check_address` before authenticating, `failed` on a bad or missing token,
    `admit` once the token is known. Each raises RateLimited (429, Retry-After) when over."""

    def __init__(self, per_token: str, auth_failures: str) -> None:
        self.per_token: RateLimitItem = parse(per_token)
        self.failures: RateLimitItem = parse(auth_failures)
        self.limiter = SlidingCounter(self.per_token)
        self.guards = MovingWindowRateLimiter(MemoryStorage())  # failed authentications: exact

    def _refuse(self, item: RateLimitItem, zh: str, en: str) -> RateLimited:
        # Retry-After: the window's length, the longest wait there can be (no clock read here)
        return RateLimited("rate_limited", [Reason(None, zh, en)], retry_after=item.get_expiry())

    def check_address(self, address: str) -> None:
        if not self.guards.test(self.failures, "auth-failures", address):
            raise self._refuse(self.failures, f"认证失败次数过多(上限 {self.failures}),请稍后再试",
                               f"too many failed authentications ({self.failures}); try again later")

    def failed(self, address: str) -> None:
        self.guards.hit(self.failures, "auth-failures", address)

    def admit(self, token: str) -> None:
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        if not self.limiter.hit(key):
            raise self._refuse(self.per_token, f"请求过于频繁(每个令牌上限 {self.per_token}),请稍后再试",
                               f"too many requests for this token ({self.per_token}); try again later")
