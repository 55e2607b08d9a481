"""The values a pack is made of: each setting carries the rule ID of RULES.md it comes from and
where the number comes from (seed, public, default)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..money import MoneyFormatError, parse_yuan

RULE_ID = re.compile(r"^[A-Z]+(?:-[A-Z]+)*-\d+$")


class Setting(BaseModel):
    """One setting of a pack: its value (in the subclasses), the rule it comes from and its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    source: str = "default"
    note: str | None = None

    @field_validator("rule")
    @classmethod
    def _rule_id(cls, v: str) -> str:
        if not RULE_ID.match(v):
            raise ValueError(f"not a rule ID such as KS-RR-1: {v!r}")
        return v


SPAN_MAX = timedelta(days=3660)  # ten years: longer is a typo, and would overflow dates further in


class Span(Setting):
    """A duration counted from a triggering event, with the rule it comes from."""

    days: int | None = Field(default=None, ge=0)
    hours: int | None = Field(default=None, ge=0)
    minutes: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_length(self) -> Span:
        if self.delta <= timedelta(0):
            raise ValueError("a span needs a positive length in days, hours or minutes")
        if self.delta > SPAN_MAX:
            raise ValueError(f"a span may be at most {SPAN_MAX.days} days, not {self.show()}")
        return self

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days or 0, hours=self.hours or 0, minutes=self.minutes or 0)

    def show(self) -> str:
        parts = []
        if self.days:
            parts.append(f"{self.days} d")
        if self.hours:
            parts.append(f"{self.hours} h")
        if self.minutes:
            parts.append(f"{self.minutes} min")
        return " ".join(parts)


class WorkingDays(Setting):
    """N working days by mainland China's official calendar: the end of the N-th working day after
    the day of the triggering event."""

    working_days: int = Field(gt=0, le=250)

    def show(self) -> str:
        return f"{self.working_days} working days"


class Limit(Setting):
    value: int = Field(ge=0)

    def show(self) -> str:
        return str(self.value)


class Flag(Setting):
    enabled: bool

    def show(self) -> str:
        return "yes" if self.enabled else "no"


class Choice(Setting):
    value: list[str]

    def show(self) -> str:
        return ", ".join(self.value) if self.value else "(none)"


class DateFloor(Setting):
    """A fixed instant something must be at or after (DY-OP-5: orders created on or after
    2020-07-01 00:00 Asia/Shanghai, "2020年6月30日后创建")."""

    not_before: datetime

    @field_validator("not_before")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("needs a zone offset, e.g. 2020-07-01T00:00:00+08:00")
        return v

    def admits(self, at: datetime) -> bool:
        return at >= self.not_before

    def show(self) -> str:
        return f"on or after {self.not_before.isoformat()}"


class Money(Setting):
    """An amount in yuan as a decimal string ("20.00"), more than zero; integer fen inside."""

    amount: str

    @field_validator("amount")
    @classmethod
    def _yuan(cls, v: str) -> str:
        try:
            fen = parse_yuan(v)
        except MoneyFormatError as e:
            raise ValueError(str(e)) from None
        if fen <= 0:
            raise ValueError("an amount must be more than 0.00 yuan")
        return v

    @property
    def fen(self) -> int:
        return parse_yuan(self.amount)

    def show(self) -> str:
        return f"¥{self.amount}"
