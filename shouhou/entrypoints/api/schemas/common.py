"""What every area's bodies share: money and time fields, the request body base, the error body, and
the events and deadlines that orders and tickets both show."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ....money import MoneyFormatError, parse_yuan

Yuan = str


def valid_yuan(v: str | None) -> str | None:
    """A field validator: the string is an amount in yuan, as parse_yuan reads it."""
    if v is None:
        return None
    try:
        parse_yuan(v)
    except MoneyFormatError as e:
        raise ValueError(str(e)) from None
    return v


EARLIEST, LATEST = 1970, 2999  # the years a time given to the API may fall in


def aware(v: datetime | None) -> datetime | None:
    """A time with its zone offset, within the years shouhou handles (no overflow further in)."""
    if v is None:
        return v
    if v.tzinfo is None:
        raise ValueError("a time needs its zone offset, e.g. 2026-03-02T09:00:00+08:00")
    if not EARLIEST <= v.year <= LATEST:
        raise ValueError(f"a time must fall between the years {EARLIEST} and {LATEST}")
    return v


# A time in a query string (?due_before=, ?since=): zone offset required, years 1970-2999.
When = Annotated[datetime, AfterValidator(aware)]
# A page offset: large enough for any real listing, small enough for every database's integers.
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]


def _no_nul(value: Any, where: str = "") -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where or 'a value'} holds a NUL character")
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k, where)
            _no_nul(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, (list, tuple)):
        for v in value:
            _no_nul(v, where)


class Body(BaseModel):
    """A request body: no unknown fields, no NUL characters anywhere (no database stores them)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _printable(self) -> Body:
        for name in type(self).model_fields:
            _no_nul(getattr(self, name), name)
        return self


class ErrorOut(BaseModel):
    code: str = Field(examples=["invalid_state"])
    message_zh: str
    message_en: str
    rules: list[str] = Field(examples=[["KS-RR-1"]])


class Due(BaseModel):
    at: str
    action: str
    rule: str


class EventOut(BaseModel):
    id: int
    at: str
    type: str
    actor: str
    rule: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    ticket: str | None
    order: str | None
    shop: str | None
    payload: dict[str, Any]

    model_config = ConfigDict(populate_by_name=True)
