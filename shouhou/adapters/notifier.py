"""Notifiers: where events go after their transaction commits (logging by default)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

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


class Pusher(Protocol):
    """A push channel to the buyer's app (DY-OP-10). Called after commit, never inside a transaction."""

    def push(self, buyer_id: str, title: str, body: str, data: dict[str, Any]) -> None: ...


class LogPusher:
    def push(self, buyer_id: str, title: str, body: str, data: dict[str, Any]) -> None:
        log.info("push to buyer %s: %s — %s %s", buyer_id, title, body, data)


@dataclass(frozen=True)
class Push:
    buyer_id: str
    title: str
    body: str
    data: dict[str, Any]


class MemoryPusher:
    """Keeps the pushes: tests."""

    def __init__(self) -> None:
        self.pushed: list[Push] = []

    def push(self, buyer_id: str, title: str, body: str, data: dict[str, Any]) -> None:
        self.pushed.append(Push(buyer_id, title, body, data))
