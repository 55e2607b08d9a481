"""Sending one webhook message over HTTP, signed by the Standard Webhooks library: headers
`webhook-id`, `webhook-timestamp`, `webhook-signature` (one `v1,<HMAC-SHA256>` per secret, space
separated, while a rotated secret overlaps the new one). The timestamp is the wall clock's (the
receiver compares it with its own to refuse replays), whatever clock the engine runs on."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from standardwebhooks.webhooks import Webhook

USER_AGENT = "shouhou-webhooks/1"


@dataclass(frozen=True)
class Sent:
    status_code: int | None  # None: no answer
    latency_ms: int
    error: str | None  # what went wrong, when it did (never a secret)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender(Protocol):
    def send(self, url: str, message_id: str, body: dict[str, Any], secrets: Sequence[str]) -> Sent: ...


def encode(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def sign(message_id: str, at: datetime, payload: str, secrets: Sequence[str]) -> str:
    """The `webhook-signature` header: a signature per secret, space separated. (The library reads the
    timestamp's fields as UTC, so it is given in UTC.)"""
    utc = at.astimezone(UTC)
    return " ".join(Webhook(s).sign(message_id, utc, payload) for s in secrets)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class HttpSender:
    """Posts with httpx; `transport` (an httpx transport) and `stamp` (the timestamp's clock) are for
    tests and benches. Redirects are not followed: an endpoint answers 2xx itself."""

    def __init__(self, timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
                 stamp: Callable[[], datetime] = _wall_clock) -> None:
        self.client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False,
                                   headers={"user-agent": USER_AGENT})
        self.stamp = stamp

    def send(self, url: str, message_id: str, body: dict[str, Any], secrets: Sequence[str]) -> Sent:
        payload = encode(body)
        at = self.stamp()
        headers = {"content-type": "application/json", "webhook-id": message_id,
                   "webhook-timestamp": str(int(at.timestamp())),
                   "webhook-signature": sign(message_id, at, payload, secrets)}
        started = time.perf_counter()
        try:
            r = self.client.post(url, content=payload.encode(), headers=headers)
        except httpx.HTTPError as e:
            return Sent(None, _ms(started), f"{type(e).__name__}: {e}"[:500])
        error = None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}: {r.text[:200]}"
        return Sent(r.status_code, _ms(started), error)

    def close(self) -> None:
        self.client.close()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
