"""Working-day deadlines (RULES §0): "N working days" is the end of the N-th working day after the
day of the request, by mainland China's official calendar (holidays and adjusted working weekends).
The calendar itself is an adapter (shouhou.adapters.calendar); this is the pure arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from ..clock import SHANGHAI

IsWorkday = Callable[[date], bool]


def working_days_deadline(at: datetime, n: int, is_workday: IsWorkday) -> datetime:
    """The end (24:00, Asia/Shanghai) of the n-th working day after the day of `at`."""
    if n <= 0:
        raise ValueError("n must be positive")
    day = at.astimezone(SHANGHAI).date()
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=SHANGHAI)
