"""The HTTP benchmark's baseline (bench/http.py): a bare Starlette app that runs the same SQL as
shouhou's GET /v1/tickets/{id} and GET /v1/tickets through the raw driver (psycopg, sqlite3), with
no ORM, no validation and no framework beyond Starlette, served by uvicorn with shouhou's own
settings (shouhou.entrypoints.serving.UVICORN).

The same work as shouhou, request for request: the bearer token hashed and looked up (token row,
then staff row) unless read less than shouhou's token cache ttl ago; in one transaction the ticket
(tenancy checked: another shop's ticket is 404), its events oldest first and its freight claim, or
the queue's count and first page (soonest deadline first); instants turned to Asia/Shanghai and JSON
decoded as shouhou's column types do; the answer as JSON. What it leaves out is shouhou's own: the
view's derived fields (status_zh, yuan, next_actions), output validation, rate limits, security
headers, metrics and logs.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/shouhou_bench python -m bench.http_bare 8001
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shouhou.clock import SHANGHAI
from shouhou.services.app import TOKEN_TTL

URL = os.environ.get("BENCH_DATABASE_URL", "")
POSTGRES = URL.startswith("postgres")
MARK = "%s" if POSTGRES else "?"
TICKET_COLS = (
    "id, order_id, shop_id, buyer_id, type, reason, amount_fen, policy, policy_version, created_at, over_period, "
    "status, refunded_fen, advanced_fen, evidence, lines, note, shipped_when_applied, return_address, carrier, "
    "waybill, reject_reason, rejected_at, ended_at, updated_at, intervention_id, replacement_carrier, "
    "replacement_waybill, replacement_shipped_at, replacement_signed_at, due_at, due_action, due_rule")
EVENT_COLS = "id, at, actor, type, shop_id, order_id, ticket_id, from_status, to_status, rule, payload, recorded_at, feed_seq"
CLAIM_COLS = ("id, ticket_id, order_id, shop_id, buyer_id, amount_fen, receipt, decides, created_at, status, due_at, "
              "due_rule, decided_at, decided_by, reason")
TOKEN_SQL = f"SELECT token_hash, id, kind, actor_id, role, label, created_at, expires_at, revoked_at FROM tokens WHERE token_hash = {MARK}"
STAFF_SQL = f"SELECT id, shop_id, role, name FROM staff WHERE id = {MARK}"
TICKET_SQL = f"SELECT {TICKET_COLS} FROM tickets WHERE id = {MARK}"
EVENTS_SQL = f"SELECT {EVENT_COLS} FROM events WHERE ticket_id = {MARK} ORDER BY at, id"
CLAIM_SQL = f"SELECT {CLAIM_COLS} FROM freight_claims WHERE ticket_id = {MARK}"
COUNT_SQL = f"SELECT count(*) FROM tickets WHERE shop_id = {MARK}"
QUEUE_SQL = (f"SELECT {TICKET_COLS} FROM tickets WHERE shop_id = {MARK} "
             f"ORDER BY due_at IS NULL, due_at, created_at, id LIMIT {MARK} OFFSET {MARK}")


def _instant(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(SHANGHAI).isoformat()
    return value


def _sqlite_connect() -> Any:
    sqlite3.register_converter("DATETIME", lambda b: datetime.fromisoformat(b.decode()))
    sqlite3.register_converter("JSON", json.loads)
    conn = sqlite3.connect(URL.split("///", 1)[1], detect_types=sqlite3.PARSE_DECLTYPES, isolation_level=None,
                           check_same_thread=False, timeout=30)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _postgres_connect() -> Any:
    import psycopg
    return psycopg.connect(URL.replace("postgresql+psycopg://", "postgresql://"))


class Pool:
    """SQLAlchemy's default QueuePool sizes (5 kept, 10 more at most), without its machinery."""

    def __init__(self, size: int = 15) -> None:
        self.idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self.made, self.size, self.lock = 0, size, threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A connection inside a read transaction, rolled back after (as shouhou's read units are)."""
        try:
            conn = self.idle.get_nowait()
        except queue.Empty:
            with self.lock:
                make = self.made < self.size
                self.made += make
            conn = (_postgres_connect() if POSTGRES else _sqlite_connect()) if make else self.idle.get()
        try:
            cur = conn.cursor()
            if not POSTGRES:
                cur.execute("BEGIN")
            yield cur
        finally:
            conn.rollback() if POSTGRES else conn.execute("ROLLBACK")
            self.idle.put(conn)


POOL = Pool()
TOKENS: dict[str, tuple[float, dict[str, Any] | None]] = {}  # token hash -> (read at, the caller)


def _rows(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [{n: _instant(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]


def caller(request: Request) -> dict[str, Any] | None:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None
    key = hashlib.sha256(header[7:].strip().encode()).hexdigest()
    now = time.monotonic()
    hit = TOKENS.get(key)
    if hit is not None and now - hit[0] < TOKEN_TTL.total_seconds():
        return hit[1]
    with POOL.transaction() as cur:
        cur.execute(TOKEN_SQL, (key,))
        found = _rows(cur)
        who = None
        if found and found[0]["revoked_at"] is None:
            row = found[0]
            who = {"kind": row["kind"], "id": row["actor_id"], "shop": None, "role": row["role"]}
            if row["kind"] == "staff":
                cur.execute(STAFF_SQL, (row["actor_id"],))
                staff = _rows(cur)
                who = {**who, "shop": staff[0]["shop_id"], "role": staff[0]["role"]} if staff else None
    if who is not None:
        TOKENS[key] = (now, who)
    return who


def answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), status,
                    media_type="application/json")


def get_ticket(request: Request) -> Response:
    who = caller(request)
    if who is None:
        return answer({"code": "unauthenticated"}, 401)
    ticket_id = request.path_params["ticket_id"]
    with POOL.transaction() as cur:
        cur.execute(TICKET_SQL, (ticket_id,))
        found = _rows(cur)
        if not found or (who["shop"] is not None and found[0]["shop_id"] != who["shop"]):
            return answer({"code": "not_found"}, 404)
        ticket = found[0]
        cur.execute(EVENTS_SQL, (ticket_id,))
        ticket["timeline"] = _rows(cur)
        cur.execute(CLAIM_SQL, (ticket_id,))
        claims = _rows(cur)
    ticket["freight_claim"] = claims[0] if claims else None
    return answer(ticket)


def list_tickets(request: Request) -> Response:
    who = caller(request)
    if who is None or who["shop"] is None:
        return answer({"code": "unauthenticated"}, 401)
    limit, offset = int(request.query_params.get("limit", 50)), int(request.query_params.get("offset", 0))
    with POOL.transaction() as cur:
        cur.execute(COUNT_SQL, (who["shop"],))
        total = cur.fetchone()[0]
        cur.execute(QUEUE_SQL, (who["shop"], limit, offset))
        items = _rows(cur)
    return answer({"items": items, "total": total, "limit": limit, "offset": offset})


app = Starlette(routes=[Route("/v1/tickets", list_tickets), Route("/v1/tickets/{ticket_id}", get_ticket),
                        Route("/healthz", lambda request: answer({"status": "ok"}))])


if __name__ == "__main__":
    import uvicorn

    from shouhou.entrypoints.serving import UVICORN
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    uvicorn.run("bench.http_bare:app", host="127.0.0.1", port=int(sys.argv[1]), workers=workers, **UVICORN)
