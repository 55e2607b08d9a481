"""The values a pack is made of: each setting carries the rule ID of RULES.md it comes from and
where the number comes from (seed, public, default)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..money import MoneyFormatError, parse_yuan

RULE_ID = re.compile(r"^[A-Z]+(?:-[A-Z]+)*-\d+$")
SHARED_PREFIX = "GEN"  # RULES.md: GEN rules hold for both packs; KS and DY are each platform's own
SOURCES = ("seed", "public", "default")  # a source tag starts with one of these


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


class Compensation(Setting):
    """A compensation as a share of an amount, kept between a minimum and a maximum (KS-GOV-5: 5 % of
    the order's paid amount, at least ¥3, at most ¥50). Money in yuan strings, as everywhere in packs."""

    rate: str
    min: str
    max: str

    @model_validator(mode="after")
    def _sane(self) -> Compensation:
        r = Decimal(self.rate)
        if not Decimal(0) <= r <= Decimal(1):
            raise ValueError(f"rate must be between 0 and 1, not {self.rate}")
        if not 0 <= parse_yuan(self.min) <= parse_yuan(self.max):
            raise ValueError(f"need 0 <= min <= max, not {self.min} and {self.max}")
        return self

    def of(self, amount_fen: int) -> int:
        """rate x amount in fen (half up), raised to the minimum and capped at the maximum."""
        share = int((Decimal(amount_fen) * Decimal(self.rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return min(max(share, parse_yuan(self.min)), parse_yuan(self.max))

    def show(self) -> str:
        return f"{Decimal(self.rate) * 100:g} %, at least ¥{self.min}, at most ¥{self.max}"


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


class DeclaredRule(BaseModel):
    """A shared rule ID (GEN-…) a pack declares because RULES.md does not list it: the pack applies a
    rule RULES.md gives for the other platform (`like`), as shouhou's default for both. By convention
    the ID keeps the area and number of the rule it generalises: GEN-PI-2 is KS-PI-2 on a pack other
    than Kuaishou's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    like: tuple[str, ...] = Field(min_length=1)  # the RULES.md rule(s) it generalises
    source: str = "default"
    note: str | None = None

    @field_validator("like", mode="before")
    @classmethod
    def _one_or_more(cls, v: object) -> object:
        return (v,) if isinstance(v, str) else v

    @field_validator("like")
    @classmethod
    def _rule_ids(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [x for x in v if not RULE_ID.match(x)]
        if bad:
            raise ValueError(f"not rule IDs such as KS-PI-1: {bad}")
        return v

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        if not v.startswith(SOURCES):
            raise ValueError(f"a source starts with one of {list(SOURCES)}: {v!r}")
        return v

    def show(self) -> str:
        return f"{self.zh} / {self.en} (as {', '.join(self.like)})"


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
