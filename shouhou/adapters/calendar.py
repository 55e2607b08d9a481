"""Mainland China's official working-day calendar, from the maintained `chinesecalendar` package
(public holidays and adjusted working weekends 调休). Outside the years the package knows, it falls
back to Monday–Friday and says so in the log, once per year."""

from __future__ import annotations

import logging
from datetime import date

import chinese_calendar

log = logging.getLogger("shouhou.calendar")
_warned: set[int] = set()


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned:
            _warned.add(day.year)
            log.warning("chinesecalendar has no data for %s: counting Monday to Friday as working days", day.year)
        return day.weekday() < 5


def covers(day: date) -> bool:
    """Whether the official calendar for this day is known (not the weekday fallback)."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True
