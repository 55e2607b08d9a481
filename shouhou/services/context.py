"""What every use case is handed besides its command, its actor and its unit of work: the time read
once at the edge, the policy packs, the blob store and the working-day calendar."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..adapters.blobs import BlobStore
from ..domain.workdays import IsWorkday
from ..policies import PolicyRegistry

RETRYABLE = ("40001", "40P01")  # PostgreSQL: serialization failure, deadlock detected: run it again


@dataclass(frozen=True)
class Context:
    now: datetime
    policies: PolicyRegistry
    blobs: BlobStore
    is_workday: IsWorkday


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(8)}"


def backoff(attempts: int) -> timedelta:
    """How long a parked action (one that raised) waits before its next try: 1, 2, 4 … minutes, at
    most an hour."""
    return min(timedelta(minutes=2 ** min(attempts - 1, 10)), timedelta(hours=1))


@dataclass(frozen=True)
class Fired:
    """What a deadline action did: it fired, and these are the deadlines it left pending on what it
    touched (the sweep stops its batch before any that falls earlier than the rest of the batch)."""

    next_due: tuple[datetime | None, ...] = ()

    @staticmethod
    def on(*aggregates: object) -> Fired:
        return Fired(tuple(getattr(a, "due_at", None) for a in aggregates))
