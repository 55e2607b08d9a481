"""What every area's bodies share: money and time fields, the request body base, the error body, and
the events and deadlines that orders and tickets both show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from annotated_types import GroupedMetadata, MaxLen, MinLen
from fastapi import Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError

from ....domain.actors import PLATFORM_ROLES, SHOP_ROLES
from ....money import MoneyFormatError, parse_yuan

YUAN_PATTERN = r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$"  # what money.parse_yuan reads, as a JSON schema says it


def _fen(v: Any) -> int:
    """An amount in yuan as the API takes it, a decimal string ("99.00"), to integer fen."""
    if not isinstance(v, str) or v != v.strip():
        raise PydanticCustomError("yuan", 'an amount in yuan is a decimal string such as "99.00"')
    try:
        return parse_yuan(v)
    except MoneyFormatError as e:
        raise PydanticCustomError("yuan", "{problem}", {"problem": str(e)}) from None


# Money in a request: a decimal string in yuan on the wire ("99.00", at most 2 places), integer fen
# once parsed; a route never parses money itself. Money in an answer is a string: YuanText.
Yuan = Annotated[int, BeforeValidator(_fen), WithJsonSchema(
    {"type": "string", "pattern": YUAN_PATTERN, "examples": ["99.00"],
     "description": "an amount in yuan, a decimal string with at most 2 places"})]
YuanText = str  # "99.00"


@dataclass(frozen=True)
class WithJsonSchemaHook:
    """Metadata that adjusts a field's JSON schema through `hook` (and validates nothing)."""

    hook: Any

    def __get_pydantic_json_schema__(self, core: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        result: JsonSchemaValue = self.hook(core, handler)
        return result


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


def _iso_text(v: Any) -> Any:
    """A time the API takes is ISO 8601 text; pydantic would also read a number as seconds since 1970."""
    if isinstance(v, (int, float)) or (isinstance(v, str) and re.fullmatch(r"\s*[-+]?[0-9.]+\s*", v)):
        raise PydanticCustomError("datetime_parsing", "a time is ISO 8601 text, e.g. 2026-03-02T09:00:00+08:00")
    return v


# A time the API takes (?due_before=, ?since=, an order's times): ISO 8601 with its zone offset, years
# 1970-2999.
def _years_in_the_schema(core: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
    schema = handler(core)
    schema["pattern"] = r"^(19[7-9][0-9]|2[0-9]{3})-"  # EARLIEST to LATEST, as far as a schema can say
    return schema


When = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(aware), WithJsonSchemaHook(_years_in_the_schema)]
# A page offset: large enough for any real listing, small enough for every database's integers.
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]


def _valid_text(v: str) -> str:
    if "\x00" in v:
        raise PydanticCustomError("text_nul", "a NUL character is not accepted (no database stores it)")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("text_surrogate", "not valid Unicode text (a lone surrogate)") from None
    return v


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """The one kind of string the API accepts, for every field, list item, dict key and value:
    valid Unicode (no lone surrogate such as "\\udc00", which no UTF-8 answer could carry back), no
    NUL character, at most `max_length` characters. `Annotated[str, Text(200)]`; `Line`, `Id` and
    `Note` below are the usual ones."""

    max_length: int
    min_length: int = 0

    def __iter__(self) -> Iterator[object]:
        if self.min_length:
            yield MinLen(self.min_length)
        yield MaxLen(self.max_length)
        yield AfterValidator(_valid_text)
        yield WithJsonSchemaHook(_no_nul_in_the_schema)


@dataclass(frozen=True)
class OneOf:
    """The values a vocabulary field takes, as the OpenAPI schema's enum. The domain still decides
    and refuses the others with its own message and rule: this only says so in the schema."""

    values: tuple[str, ...]

    def __get_pydantic_json_schema__(self, core: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core)
        schema["enum"] = list(self.values)
        return schema


def _no_nul_in_the_schema(core: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
    schema = handler(core)
    schema.setdefault("pattern", "^[^\\u0000]*$")  # what _valid_text refuses, as far as a schema can say
    return schema


FORMATS = ("json", "csv")  # what an export may be asked for (?format=)
ACTOR_KINDS = ("buyer", "staff", "platform")  # who holds a token (services.shops.issue_token)
ACTOR_KINDS_AND_SYSTEM = (*ACTOR_KINDS, "system")  # who acted: the deadline worker is "system"
ROLES = (*SHOP_ROLES, *PLATFORM_ROLES)  # a staff member's or platform operator's role (domain.actors)
Id = Annotated[str, Text(64, min_length=1)]  # an id the caller chooses or names (order, shop, staff)
Word = Annotated[str, Text(32)]  # a value of a small vocabulary (a status, a role, a kind)
Line = Annotated[str, Text(200)]  # a name, a label, a waybill
Note = Annotated[str, Text(2000)]  # free text: a reason, a note, an answer, an address


def _every_string(value: Any, where: str) -> None:
    if isinstance(value, str):
        try:
            _valid_text(value)
        except PydanticCustomError as e:
            raise ValueError(f"{where}: {e.message()}") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _every_string(k, where)
            _every_string(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for v in value:
            _every_string(v, where)


class Body(BaseModel):
    """A request body: no unknown fields; its strings are `Text` (no NUL, valid Unicode, bounded).
    A field declared as a plain `str` is still checked for NUL and lone surrogates here (a net under
    the rule, not a second rule: declare `Text`)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _valid_strings(self) -> Body:
        for name in type(self).model_fields:
            _every_string(getattr(self, name), name)
        return self


class ErrorOut(BaseModel):
    code: str = Field(examples=["invalid_state"])
    message_zh: str
    message_en: str
    rules: list[str] = Field(examples=[["KS-RR-1"]])


class CreatedOut(BaseModel):
    """What a create route answers when it has no richer view: the new object's id."""

    id: str = Field(examples=["B1"])


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


class EventPage(BaseModel):
    """An order's or a ticket's events, oldest first, a page at a time (the list envelope every list
    route answers with)."""

    items: list[EventOut]
    total: int
    limit: int
    offset: int


def page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """A whole list, cut to one page in the list envelope."""
    return {"items": items[offset:offset + limit], "total": len(items), "limit": limit, "offset": offset}
