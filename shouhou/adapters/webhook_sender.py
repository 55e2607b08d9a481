"""Sending one webhook message over HTTP, signed by the Standard Webhooks library: headers
`webhook-id`, `webhook-timestamp`, `webhook-signature` (one `v1,<HMAC-SHA256>` per secret, space
separated, while a rotated secret overlaps the new one). The timestamp is the wall clock's (the
receiver compares it with its own to refuse replays), whatever clock the engine runs on.

Server-side request forgery: an endpoint's url is the integrator's to choose, so by default a message
goes only to public addresses. `PublicOnly` resolves the host before each post and refuses one that
resolves to a loopback, private, link-local (the cloud metadata service at 169.254.169.254), reserved
or multicast address; SHOUHOU_WEBHOOK_ALLOW_PRIVATE=true lifts this for receivers on your own network.
(A name that resolves differently between this check and the connection is not covered: pin such
receivers behind a proxy that enforces the rule itself.)"""

from __future__ import annotations

import ipaddress
import json
import socket
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


def not_public(host: str) -> str | None:
    """Why `host` (a name or an address) must not be posted to, or None when every address it resolves
    to is a public one."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as e:
        return f"{host} does not resolve: {e}"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            return f"{host} resolves to {address}, not a public address"
    return None


class PublicOnly(httpx.HTTPTransport):
    """The default transport: refuses, before connecting, a host that resolves to a non-public address."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        why = not_public(request.url.host)
        if why:
            raise httpx.ConnectError(f"refused: {why} (SHOUHOU_WEBHOOK_ALLOW_PRIVATE)", request=request)
        return super().handle_request(request)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class HttpSender:
    """Posts with httpx, to public addresses only unless `allow_private`; `transport` (an httpx
    transport, which then decides where posts go) and `stamp` (the timestamp's clock) are for tests and
    benches. Redirects are not followed: an endpoint answers 2xx itself."""

    def __init__(self, timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
                 stamp: Callable[[], datetime] = _wall_clock, allow_private: bool = False) -> None:
        if transport is None:
            transport = httpx.HTTPTransport() if allow_private else PublicOnly()
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
