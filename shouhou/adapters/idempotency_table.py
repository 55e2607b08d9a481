"""Idempotency keys (Stripe's semantics) and the short transactions that claim, fill and release
them. A key is scoped by the SHA-256 of the caller's bearer token (never the token) and names one
request by the SHA-256 of its method, path and body (`fingerprint`). A row with no `status` is a
request in flight; with one, the answer to replay. The claim is an INSERT on the primary key in its
own transaction before the request runs, so of any number of requests arriving together with one
key exactly one runs. The table shares `tables.metadata` (migration 0010)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from .tables import Instant, metadata

KEPT = timedelta(hours=24)  # a key answers the same for at least this long (Stripe: 24 hours)
STALE = timedelta(minutes=5)  # an in-flight claim this old belongs to a process that died: taken over

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("token_hash", String(64), primary_key=True),  # services.access.hash_token of the bearer token
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # SHA-256 of method, path, query and body
    Column("claim", String(32), nullable=False),  # who runs it now (a fresh id per claim or takeover)
    Column("claimed_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=False),
    Column("status", Integer),  # None while in flight
    Column("headers", Text),  # JSON [[name, value], ...] of the stored answer
    Column("body", LargeBinary),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)


@dataclass(frozen=True)
class Stored:
    """An answer to replay."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True)
class Claimed:
    """The key is ours: run the request, then `store` or `release` with this claim."""

    claim: str


@dataclass(frozen=True)
class Busy:
    """Another request with this key is still running."""


@dataclass(frozen=True)
class Mismatch:
    """The key was used for a different request (another path or body)."""


Outcome = Claimed | Stored | Busy | Mismatch
k = idempotency_keys.c


def claim(engine: Engine, token_hash: str, key: str, fingerprint: str, now: datetime) -> Outcome:
    """Claim `key` for this request, or say what it already holds. An expired row is removed (the
    token's other expired keys with it) and the key claimed afresh; an in-flight row older than
    STALE is taken over."""
    for _ in range(3):  # an expired row removed, or a takeover lost to another request: look again
        mine = uuid.uuid4().hex
        try:
            with engine.begin() as conn:
                conn.execute(insert(idempotency_keys).values(
                    token_hash=token_hash, key=key, fingerprint=fingerprint, claim=mine, claimed_at=now,
                    expires_at=now + KEPT))
            return Claimed(mine)
        except IntegrityError:
            pass
        with engine.begin() as conn:
            row = conn.execute(select(idempotency_keys).where(k.token_hash == token_hash, k.key == key)).first()
            if row is None:
                continue  # released meanwhile
            if row.expires_at <= now:
                conn.execute(delete(idempotency_keys).where(k.token_hash == token_hash, k.expires_at <= now))
                continue
            if row.fingerprint != fingerprint:
                return Mismatch()
            if row.status is not None:
                pairs = json.loads(row.headers or "[]")
                return Stored(row.status, [(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs],
                              bytes(row.body or b""))
            if row.claimed_at > now - STALE:
                return Busy()
            taken = conn.execute(update(idempotency_keys).where(
                k.token_hash == token_hash, k.key == key, k.claim == row.claim, k.status.is_(None)).values(
                claim=mine, claimed_at=now, expires_at=now + KEPT))
            if taken.rowcount == 1:
                return Claimed(mine)
    return Busy()


def store(engine: Engine, token_hash: str, key: str, claim_id: str, answer: Stored) -> None:
    """Keep the answer of the request that holds the claim (nothing if it was taken over meanwhile)."""
    headers = json.dumps([[n.decode("latin-1"), v.decode("latin-1")] for n, v in answer.headers])
    with engine.begin() as conn:
        conn.execute(update(idempotency_keys).where(
            k.token_hash == token_hash, k.key == key, k.claim == claim_id, k.status.is_(None)).values(
            status=answer.status, headers=headers, body=answer.body))


def release(engine: Engine, token_hash: str, key: str, claim_id: str) -> None:
    """Forget the claim (the request failed in a way a retry may fix: 5xx, 429, a crash)."""
    with engine.begin() as conn:
        conn.execute(delete(idempotency_keys).where(
            k.token_hash == token_hash, k.key == key, k.claim == claim_id, k.status.is_(None)))


def purge(engine: Engine, now: datetime, limit: int = 1000) -> int:
    """Remove up to `limit` expired keys; how many went. (Claims also purge lazily, per token.)"""
    with engine.begin() as conn:
        ids = conn.execute(select(k.token_hash, k.key).where(k.expires_at <= now).limit(limit)).all()
        for token_hash, key in ids:
            conn.execute(delete(idempotency_keys).where(k.token_hash == token_hash, k.key == key))
    return len(ids)


def prune_expired(conn: Connection, now: datetime, limit: int) -> int:
    """Remove up to `limit` expired keys (of tokens that never came back to re-use them); how many."""
    k = idempotency_keys.c
    old = (select(k.token_hash, k.key).where(k.expires_at <= now, k.status.is_not(None))
           .order_by(k.expires_at).limit(limit))
    rows = [tuple(r) for r in conn.execute(old)]
    for start in range(0, len(rows), 200):
        chunk = rows[start:start + 200]
        conn.execute(delete(idempotency_keys).where(or_(*[and_(k.token_hash == h, k.key == key) for h, key in chunk])))
    return len(rows)
