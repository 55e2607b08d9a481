"""Issue 11, §3: a request body has a limit (SHOUHOU_MAX_BODY_BYTES; evidence uploads their own, from
the packs), enforced while the body is read: a declared Content-Length over it is refused before
anything is read, and a chunked body is cut off as soon as it passes it. 413 in the envelope."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.config import Settings
from shouhou.entrypoints.api import create_app
from shouhou.services.app import Shouhou

from .edge_world import client, h, populate

MiB = 1024 * 1024


@pytest.fixture
def cl(app: Shouhou, clock: VirtualClock) -> TestClient:
    populate(app, clock)
    return client(app)


def too_large(r: Any) -> None:
    assert r.status_code == 413, r.text[:300]
    assert r.json()["code"] == "payload_too_large" and set(r.json()) == {"code", "message_zh", "message_en", "rules"}


def call(asgi: Any, path: str, headers: list[tuple[bytes, bytes]], chunks: Iterator[bytes],
         content_type: bytes = b"application/json") -> tuple[int, int, bytes]:
    """POST `path` straight through ASGI, the body in `chunks`; (status, chunks read, body)."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "http",
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"testserver"), (b"authorization", b"Bearer b1"),
                         (b"content-type", content_type), *headers]}
    asyncio.run(asgi(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], read, body


def endless(size: int = 64 * 1024, at_most: int = 2000) -> Iterator[bytes]:
    yield b'{"type": "return_refund", "reason": "quality", "note": "'
    for _ in range(at_most):
        yield b"x" * size


def test_a_declared_length_over_the_limit_is_refused_before_anything_is_read(app: Shouhou, clock: VirtualClock) -> None:
    populate(app, clock)
    status, read, body = call(create_app(app, settings=Settings()), "/v1/orders/O1/tickets",
                              [(b"content-length", b"53000000")], endless())
    assert (status, read) == (413, 0) and b"payload_too_large" in body


def test_a_chunked_body_is_cut_off_as_it_passes_the_limit(app: Shouhou, clock: VirtualClock) -> None:
    populate(app, clock)
    status, read, body = call(create_app(app, settings=Settings(max_body_bytes=MiB)), "/v1/orders/O1/tickets",
                              [], endless())
    assert status == 413 and b"payload_too_large" in body
    assert read <= MiB // (64 * 1024) + 2  # stopped right after the limit, not at the end of 2000 chunks


def test_a_ten_megabyte_return_address_is_refused(cl: TestClient) -> None:
    t = cl.post("/v1/orders/O1/tickets", json={"type": "return_refund", "reason": "quality", "evidence": ["a.jpg"]},
                headers=h("b1")).json()
    too_large(cl.post(f"/v1/tickets/{t['id']}/approve", json={"return_address": "仓" * (10 * MiB // 3)},
                      headers=h("own")))
    too_large(cl.post("/v1/shops", json={"id": "S9", "policy": "kuaishou", "return_address": "x" * 10 * MiB},
                      headers=h("plat")))
    assert cl.get(f"/v1/tickets/{t['id']}", headers=h("own")).json()["return_address"] is None


def test_twenty_one_megabyte_evidence_names_are_refused(cl: TestClient) -> None:
    too_large(cl.post("/v1/orders/O1/tickets", json={"type": "return_refund", "reason": "quality",
                                                     "evidence": ["n" * MiB for _ in range(20)]}, headers=h("b1")))


def test_the_limit_is_a_setting(app: Shouhou, clock: VirtualClock) -> None:
    populate(app, clock)
    small = client(app, max_body_bytes=100)
    too_large(small.post("/v1/orders/O1/tickets", json={"type": "return_refund", "reason": "quality",
                                                        "note": "x" * 200}, headers=h("b1")))
    assert small.post("/v1/orders/O1/tickets", json={"type": "refund_only", "reason": "quality",
                                                     "evidence": ["a"]}, headers=h("b1")).status_code == 201
