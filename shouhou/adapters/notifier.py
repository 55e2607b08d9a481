"""Notifiers: where events go after their transaction commits (logging by default)."""

from __future__ import annotations

import logging
from typing import Protocol

from ..domain.events import Event

log = logging.getLogger("shouhou.events")


class Notifier(Protocol):
    def publish(self, events: list[Event]) -> None: ...


class LogNotifier:
    def publish(self, events: list[Event]) -> None:
        for e in events:
            log.info("%s %s ticket=%s order=%s rule=%s actor=%s", e.at.isoformat(), e.type, e.ticket_id,
                     e.order_id, e.rule, e.actor)


class MemoryNotifier:
    """Keeps what it was given: tests."""

    def __init__(self) -> None:
        self.published: list[Event] = []

    def publish(self, events: list[Event]) -> None:
        self.published.extend(events)
