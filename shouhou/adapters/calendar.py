"""Mainland China's official working-day calendar.

The maintained `chinesecalendar` package knows each year's public holidays and adjusted working
weekends (调休) once the State Council has published them (each autumn, for the year after). For a
year the installed package does not know yet, an operator adds the published schedule in a calendar
file (SHOUHOU_CALENDAR_FILE, TOML); a year in the file is taken from the file.

```toml
[2027]
holidays = [2027-01-01, 2027-02-06, ...]  # days off, weekdays included
workdays = [2027-02-20]                    # adjusted working weekends (调休)
```

Where neither knows the year, the fallback counts Monday to Friday less the fixed-date statutory
holidays of 《全国年节及纪念日放假办法》 (New Year's Day, 1-2 May, 1-3 October) and logs, once per
year, that the lunar holidays and the adjusted weekends are unknown.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import chinese_calendar

log = logging.getLogger("shouhou.calendar")

# The statutory holidays on fixed Gregorian dates (放假办法, as revised for 2025): (month, day).
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


class CalendarFileError(ValueError):
    """The calendar file does not load: the message names the year and the entry."""


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: days off (weekdays included) and working weekend days."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


@dataclass
class OfficialCalendar:
    """`is_workday(day)`: the calendar file for its years, else chinesecalendar, else the fallback."""

    extra: Mapping[int, YearSchedule] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set, repr=False)

    def is_workday(self, day: date) -> bool:
        schedule = self.extra.get(day.year)
        if schedule is not None:
            return schedule.is_workday(day)
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning("no official calendar for %s (chinesecalendar %s, no calendar file entry): counting "
                            "Monday to Friday less New Year's Day, 1-2 May and 1-3 October; the lunar holidays "
                            "and adjusted weekends are unknown until SHOUHOU_CALENDAR_FILE gives them",
                            day.year, _package_version())
            return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS

    def covers(self, day: date) -> bool:
        """Whether the official schedule of this day's year is known (not the fallback)."""
        if day.year in self.extra:
            return True
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            return False
        return True


def load_calendar_file(path: str | Path) -> dict[int, YearSchedule]:
    """Read a calendar file (see the module's docstring). Raises CalendarFileError naming what is wrong."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CalendarFileError(f"calendar file {path}: {e}") from None
    out: dict[int, YearSchedule] = {}
    for key, table in data.items():
        if not (key.isdigit() and len(key) == 4) or not isinstance(table, dict):
            raise CalendarFileError(f"calendar file {path}: [{key}] must be a year table like [2027]")
        year = int(key)
        unknown = set(table) - {"holidays", "workdays"}
        if unknown:
            raise CalendarFileError(f"calendar file {path}: [{key}] has unknown keys {sorted(unknown)}")
        days: dict[str, frozenset[date]] = {}
        for name in ("holidays", "workdays"):
            values = table.get(name, [])
            if not isinstance(values, list) or not all(type(v) is date for v in values):
                raise CalendarFileError(f"calendar file {path}: [{key}] {name} must be a list of dates (2027-01-01)")
            wrong = [v.isoformat() for v in values if v.year != year]
            if wrong:
                raise CalendarFileError(f"calendar file {path}: [{key}] {name} has days of another year: {wrong}")
            days[name] = frozenset(values)
        both = days["holidays"] & days["workdays"]
        if both:
            raise CalendarFileError(f"calendar file {path}: [{key}] lists {sorted(d.isoformat() for d in both)} "
                                    "as both a holiday and a working day")
        out[year] = YearSchedule(days["holidays"], days["workdays"])
    return out


def _package_version() -> str:
    try:
        from importlib.metadata import version
        return version("chinesecalendar")
    except Exception:  # noqa: BLE001 - only for the log line
        return "?"


DEFAULT = OfficialCalendar()


def is_workday(day: date) -> bool:
    """The default calendar (chinesecalendar, then the fallback), without a calendar file."""
    return DEFAULT.is_workday(day)


def covers(day: date) -> bool:
    return DEFAULT.covers(day)
