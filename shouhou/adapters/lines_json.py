"""Order lines and a ticket's cover (GEN-APPLY-7) stored as JSON: the simplest honest storage for a
value the domain reads and writes whole. The domain sees tuples of frozen dataclasses; the column
holds a list of objects in fen."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ..domain.lines import Cover, OrderLine


class OrderLines(TypeDecorator[tuple[OrderLine, ...]]):
    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: tuple[OrderLine, ...] | None, dialect: Dialect) -> list[dict[str, Any]]:
        return [line.as_json() for line in value or ()]

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[OrderLine, ...]:
        return tuple(OrderLine.from_json(d) for d in value or [])


class Covers(TypeDecorator[tuple[Cover, ...]]):
    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: tuple[Cover, ...] | None, dialect: Dialect) -> list[dict[str, Any]]:
        return [c.as_json() for c in value or ()]

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[Cover, ...]:
        return tuple(Cover.from_json(d) for d in value or [])
