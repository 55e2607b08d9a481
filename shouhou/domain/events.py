"""Domain events: one immutable record per state change, the timeline and the audit."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_seq = itertools.count()


@dataclass(frozen=True)
class Event:
    type: str
    at: datetime
    actor: str  # "buyer:B1", "staff:U1", "platform:P1" or "system"
    shop_id: str | None = None
    order_id: str | None = None
    ticket_id: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    rule: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    seq: int = field(default_factory=lambda: next(_seq), compare=False)


class Recorder:
    """Mixin for aggregates: events wait in `pending_events` until the unit of work stores them."""

    pending_events: list[Event]

    def record(self, event: Event) -> None:
        if not hasattr(self, "pending_events"):
            self.pending_events = []
        self.pending_events.append(event)

    def drain_events(self) -> list[Event]:
        out = list(getattr(self, "pending_events", []))
        self.pending_events = []
        return out
