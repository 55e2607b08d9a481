"""The one injectable clock. Domain code never reads the time; it is handed `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time in Asia/Shanghai (used only at the edges: API, worker, CLI)."""

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(SHANGHAI)


class VirtualClock:
    """A clock that moves only when told: scenarios and tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the virtual clock needs an aware datetime")
        self._now = start.astimezone(SHANGHAI)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("the virtual clock needs an aware datetime")
        self._now = at.astimezone(SHANGHAI)

    def advance(self, delta: timedelta) -> None:
        self._now = self._now + delta


def minutes(at: datetime) -> str:
    """An instant as refusals and events show it, to the minute in its own zone: 2026-03-02T09:00+08:00."""
    return at.isoformat(timespec="minutes")


def local(at: datetime) -> datetime:
    """The same instant shown in Asia/Shanghai."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: every time in shouhou carries its zone")
    return at.astimezone(SHANGHAI)
