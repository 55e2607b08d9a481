"""Rate limits, with the `limits` library's sliding window counter in its in-memory storage (O(1) a
request whatever the limit: its moving window kept one entry per request of the window and inserted
each at the front of a list, a cost that grew with the limit): requests per token
(SHOUHOU_RATE_LIMIT), and failed authentications per client address (SHOUHOU_AUTH_RATE_LIMIT): once an
address has used those up, it gets 429 before its token is even looked up, so guessing tokens stops.

Failed authentications keep the exact moving window (their limit is small, so its cost is too): the
sliding counter's estimate lets a guesser through again as soon as the window it used up starts to
age out, a few seconds after a minute boundary.

The counts live in this process: N API processes behind a balancer let N times the rate through.
`limits` also offers Redis and Memcached storages for a shared count, should that matter."""

from __future__ import annotations

import hashlib

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

from ...errors import Reason
from .errors import RateLimited


class Gate:
    """One per app: `check_address` before authenticating, `failed` on a bad or missing token,
    `admit` once the token is known. Each raises RateLimited (429, Retry-After) when over."""

    def __init__(self, per_token: str, auth_failures: str) -> None:
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.guards = MovingWindowRateLimiter(MemoryStorage())  # failed authentications: exact
        self.per_token: RateLimitItem = parse(per_token)
        self.failures: RateLimitItem = parse(auth_failures)

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
        if not self.limiter.hit(self.per_token, "token", key):
            raise self._refuse(self.per_token, f"请求过于频繁(每个令牌上限 {self.per_token}),请稍后再试",
                               f"too many requests for this token ({self.per_token}); try again later")
