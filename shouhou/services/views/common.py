"""What every view shares: times as ISO 8601 in Asia/Shanghai, and a pending automatic action."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from ...clock import SHANGHAI


class HasDeadline(Protocol):
    @property
    def due_at(self) -> datetime | None: ...

    @property
    def due_action(self) -> str | None: ...

    @property
    def due_rule(self) -> str | None: ...


def iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    # an instant read back from the database is in Asia/Shanghai already (adapters.instant)
    return (at if at.tzinfo is SHANGHAI else at.astimezone(SHANGHAI)).isoformat()


def due(obj: HasDeadline) -> dict[str, Any] | None:
    """The automatic action pending on an order, ticket or intervention: when, what, under which rule."""
    if obj.due_at is None:
        return None
    return {"at": iso(obj.due_at), "action": obj.due_action, "rule": obj.due_rule}
