"""Rows to aggregates and back, for the unit of work's repositories: the column names of a table and
the fields of a dataclass are read once, not at every unit of work and every row."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

from sqlalchemy import Table

A = TypeVar("A")


@functools.cache
def columns(table: Table) -> list[str]:
    """The table's column names in its order (shared: never changed by callers)."""
    return [c.name for c in table.columns]


@functools.cache
def fields(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


def to_row(obj: Any, cols: list[str]) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in cols}


def from_row(cls: type[A], row: Any, cols: list[str]) -> A:
    """The aggregate of a row of `select(table)` (its values in the table's column order), from the
    columns its dataclass has."""
    known = fields(cls)  # type: ignore[arg-type]  # a class is hashable
    return cls(**{c: v for c, v in zip(cols, row, strict=True) if c in known})
