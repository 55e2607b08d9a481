"""What stands between the network and the routes, as pure ASGI middleware (nothing here reads a body
into memory): security headers, CORS when configured, the request body limit; and the rate limits'
gate (ratelimit.py) that deps.py asks.
Refusals are the API's error envelope."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...config import Settings
from ...errors import Code
from ...policies import PolicyRegistry
from .ratelimit import Gate

ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
          (b"referrer-policy", b"no-referrer"))
API_ONLY = ((b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
                                         b"form-action 'none'"),)
# The interactive docs load their scripts from this server (local assets) but start them inline.
DOCS_CSP = ((b"content-security-policy", b"default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                         b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                         b"worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"),)
# The pages: everything from this server, forms post only to it.
PAGES_CSP = ((b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                                          b"base-uri 'none'; form-action 'self'"),)
DOCS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
API_PREFIXES = ("/v1/", "/healthz", "/openapi.json", "/metrics")
Limit = tuple[str, re.Pattern[str], int]  # (method, path pattern, largest body in bytes)
EVIDENCE_UPLOAD = re.compile(r"/v1/tickets/[^/]+/intervention/evidence|/(?:shop|buyer)/tickets/[^/]+/evidence")
PHOTO_UPLOAD = re.compile(r"/buyer/orders/[^/]+/apply")  # the pages' application form: up to 9 photos
PHOTOS_LIMIT = 9 * 10 * 1024 * 1024
OVERHEAD = 64 * 1024  # the body's framing around the files (field names, headers, boundaries)


def upload_limit(policies: PolicyRegistry) -> int:
    """The largest evidence upload any pack version can take in one request: its items per
    submission times the bytes per item, or its bytes per side per case if fewer, plus framing."""
    versions = [v.intervention for name in policies.names() for v in policies.get(name).versions]
    largest = max((min(iv.evidence_max_items.value * iv.evidence_max_bytes.value, iv.evidence_case_max_bytes.value)
                   for iv in versions), default=0)
    return largest + OVERHEAD


def install(app: FastAPI, settings: Settings, policies: PolicyRegistry) -> None:
    """The edge's middleware on the app, from its settings and the packs' evidence limits. The last
    added runs first: security headers around everything (413s and CORS answers too), then CORS
    when origins are configured, then the body limit."""
    app.state.gate = Gate(settings.rate_limit, settings.auth_rate_limit)
    app.add_middleware(BodyLimit, default=settings.max_body_bytes,
                       larger=[("POST", EVIDENCE_UPLOAD, upload_limit(policies)),
                               ("POST", PHOTO_UPLOAD, PHOTOS_LIMIT + OVERHEAD)])
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                           expose_headers=["Retry-After", "Content-Disposition", "X-Content-SHA256", "X-Total-Count",
                                           "Idempotent-Replayed"],
                           max_age=600)
    app.add_middleware(SecurityHeaders)


async def reply(send: Send, status: int, code: Code, zh: str, en: str,
                headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """An error envelope sent straight through ASGI (before or instead of the app)."""
    body = json.dumps({"code": code, "message_zh": zh, "message_en": en, "rules": []},
                      ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """On every answer: no MIME sniffing, no framing, no referrer, and a Content-Security-Policy: the
    JSON API may load nothing at all; the pages and the interactive docs (/docs, /redoc) load only
    from this server (the docs start their scripts inline)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        csp = DOCS_CSP if path in DOCS else API_ONLY if path.startswith(API_PREFIXES) else PAGES_CSP
        wanted = ALWAYS + csp

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *((k, v) for k, v in wanted if k not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses a request body larger than its limit with 413: at once when Content-Length says so
    (nothing is read), else while it streams in (chunked), counting each chunk as the app reads it.
    `larger` gives some routes their own limit (evidence uploads); every other body gets `default`."""

    def __init__(self, app: ASGIApp, default: int, larger: Sequence[Limit] = ()) -> None:
        self.app, self.default, self.larger = app, default, tuple(larger)

    def limit(self, method: str, path: str) -> int:
        for m, pattern, limit in self.larger:
            if m == method and pattern.fullmatch(path):
                return limit
        return self.default

    async def too_large(self, send: Send, limit: int) -> None:
        await reply(send, 413, "payload_too_large", f"请求内容过大:最多 {limit} 字节",
                    f"the request body is too large: at most {limit} bytes", [(b"connection", b"close")])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["method"], scope["path"])
        declared = [v for k, v in scope["headers"] if k == b"content-length"]
        if declared:
            try:
                length = int(declared[0])
            except ValueError:
                await reply(send, 400, "bad_request", "Content-Length 无效", "Content-Length is not a number")
                return
            if length > limit:
                await self.too_large(send, limit)
                return
            await self.app(scope, receive, send)  # the server reads exactly Content-Length bytes: no more come
            return
        if scope["method"] in ("GET", "HEAD") and not any(k == b"transfer-encoding" for k, _ in scope["headers"]):
            await self.app(scope, receive, send)  # no body, and no route of these methods reads one
            return
        state: dict[str, Any] = {"received": 0, "exceeded": False, "started": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise _TooLarge()
            return message

        async def guarded(message: Message) -> None:
            if state["exceeded"]:
                return  # whatever the app made of the cut-off body: the answer is 413
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not state["exceeded"]:
                raise
        if state["exceeded"] and not state["started"]:
            await self.too_large(send, limit)
