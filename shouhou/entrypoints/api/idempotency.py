"""Idempotency keys on every POST under /v1/, with Stripe's semantics, as pure ASGI middleware.

A client that may retry sends `Idempotency-Key: <1–255 printable ASCII characters>`. Keys belong to
the bearer token that sent them (its SHA-256 is stored, never the token). The first request with a
key claims it (an INSERT in its own short transaction, adapters/idempotency_table.py), runs, and
its answer is kept for 24 hours: a retry with the same key and the same request (SHA-256 of method,
path, query and body) gets that answer again, the same status, headers and body bytes, with
`Idempotent-Replayed: true`, and nothing runs twice. The same key on a different request is 422
`invalid_input`; while the first still runs, 409 `conflict` (retry shortly). 2xx and 4xx answers are
kept (a refusal stays a refusal, as at Stripe); 5xx, 429 and 401 are not, and the key is released so
that a retry runs afresh (401: nobody's key, no row kept for a token nobody issued).

The body is read before the request runs (its hash decides); above 1 MiB (evidence uploads) it is
spooled to a temporary file, not held in memory. A request without a bearer token or without the
header passes through untouched."""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime, timedelta
from typing import IO, Any

import anyio
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...adapters import idempotency_table as store
from ...services.access import hash_token
from ...services.app import Shouhou
from .edge import reply

HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")
IN_MEMORY = 1024 * 1024  # bodies above this are spooled to disk while hashed
CHUNK = 64 * 1024
NOT_KEPT = frozenset({401, 429})  # and every 5xx: the key is released, a retry runs again
PURGE_EVERY = timedelta(hours=1)


def valid_key(raw: bytes) -> str | None:
    """The key if it is 1–255 printable ASCII characters (space to tilde), else None."""
    if not 1 <= len(raw) <= 255 or any(b < 0x20 or b > 0x7E for b in raw):
        return None
    return raw.decode("ascii")


def digest_of(method: str, path: str, query: bytes) -> Any:
    """The request's hash before its body: the body's bytes are fed to it as they arrive."""
    digest = hashlib.sha256(f"{method}\n{path}\n".encode())
    digest.update(query + b"\n")
    return digest


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What a key is compared on: the SHA-256 of method, path, query and body."""
    digest = digest_of(method, path, query)
    digest.update(body)
    return str(digest.hexdigest())


def bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text = value.decode("latin-1")
            if text.lower().startswith("bearer ") and text[7:].strip():
                return text[7:].strip()
    return None


def kept(status: int) -> bool:
    return status < 500 and status not in NOT_KEPT


class Idempotency:
    """See the module's doc. `shouhou` gives the engine (the keys' table) and the clock (their ages)."""

    def __init__(self, app: ASGIApp, shouhou: Shouhou) -> None:
        self.app, self.shouhou = app, shouhou
        self.next_purge: datetime | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        raw = [v for k, v in scope["headers"] if k == HEADER]
        token = bearer(scope)
        if not raw or token is None:
            await self.app(scope, receive, send)
            return
        key = valid_key(raw[0].strip()) if len(raw) == 1 else None
        if key is None:
            await reply(send, 400, "bad_request", "Idempotency-Key 须为 1 到 255 个可打印 ASCII 字符(只能一个)",
                        "Idempotency-Key must be one value of 1 to 255 printable ASCII characters")
            return
        spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115 - closed below
        try:
            digest = digest_of(scope["method"], scope["path"], scope.get("query_string", b""))
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                digest.update(chunk)
                spool.write(chunk)
                more = message.get("more_body", False)
            await self.run(scope, receive, send, spool, hash_token(token), key, digest.hexdigest())
        finally:
            spool.close()

    async def run(self, scope: Scope, receive: Receive, send: Send, spool: IO[bytes], token_hash: str, key: str,
                  fingerprint: str) -> None:
        engine, now = self.shouhou.engine, self.shouhou.clock.now()
        await self.purge(now)
        outcome = await run_in_threadpool(store.claim, engine, token_hash, key, fingerprint, now)
        if isinstance(outcome, store.Stored):
            await send({"type": "http.response.start", "status": outcome.status,
                        "headers": [*outcome.headers, REPLAYED]})
            await send({"type": "http.response.body", "body": outcome.body})
            return
        if isinstance(outcome, store.Mismatch):
            await reply(send, 422, "invalid_input", "该 Idempotency-Key 已用于另一个请求(路径或内容不同)",
                        "this Idempotency-Key was used for a different request (another path or body)")
            return
        if isinstance(outcome, store.Busy):
            await reply(send, 409, "conflict", "使用该 Idempotency-Key 的请求仍在处理中,请稍后重试",
                        "a request with this Idempotency-Key is still being processed; retry shortly",
                        [(b"retry-after", b"1")])
            return
        spool.seek(0)
        answer: dict[str, Any] = {"status": None, "headers": [], "body": []}
        finished = False

        async def replay_body() -> Message:
            nonlocal finished
            if finished:
                return await receive()  # the body is spent: what follows is the disconnect
            chunk = spool.read(CHUNK)
            finished = spool.tell() >= spool_size
            return {"type": "http.request", "body": chunk, "more_body": not finished}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"], answer["headers"] = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                answer["body"].append(message.get("body", b""))
            await send(message)

        spool_size = spool.seek(0, 2)
        spool.seek(0)
        done = False
        try:
            await self.app(scope, replay_body, capture)
            status = answer["status"]
            if status is not None and kept(status):
                result = store.Stored(status, answer["headers"], b"".join(answer["body"]))
                await run_in_threadpool(store.store, engine, token_hash, key, outcome.claim, result)
                done = True
        finally:
            if not done:
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(store.release, engine, token_hash, key, outcome.claim)

    async def purge(self, now: datetime) -> None:
        """Now and then (once an hour of the app's clock, per process), forget expired keys."""
        if self.next_purge is None or now >= self.next_purge:
            self.next_purge = now + PURGE_EVERY
            await run_in_threadpool(store.purge, self.shouhou.engine, now)


def install(app: FastAPI, shouhou: Shouhou) -> None:
    """Inside the edge's body limit (a body too large never claims a key), around the routes."""
    app.add_middleware(Idempotency, shouhou=shouhou)
