"""Rows in and out for the unit of work's repositories: aggregates from rows and back, the statements
they run most (built once per table, not per call), and a flush's writes done set-wise: one UPDATE
per table and shape of change for all the rows that changed that way, one INSERT for a flush's
journal entries and one for their lines."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, Table, Update, bindparam, insert, select, update

from ..domain.ledger import Entry
from . import tables as t

T = TypeVar("T")


def columns(table: Table) -> list[str]:
    return [c.name for c in table.columns]


def to_row(obj: Any, cols: list[str]) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in cols}


_FIELDS: dict[type, frozenset[str]] = {}


def from_row(cls: type[T], row: Any, cols: list[str]) -> T:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = frozenset(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    data = row._mapping
    return cls(**{c: data[c] for c in cols if c in fields})


@cache
def by_id(table: Table) -> Select[Any]:
    """SELECT the row with id :ident (the statement built once per table)."""
    return select(table).where(table.c.id == bindparam("ident", type_=table.c.id.type))


@cache
def _update(table: Table, cols: tuple[str, ...]) -> Update:
    return (update(table).where(table.c.id == bindparam("_id", type_=table.c.id.type))
            .values({c: bindparam(f"_v_{c}", type_=table.c[c].type) for c in cols}))


def update_rows(conn: Connection, table: Table, changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Write each (id, changed columns) as one UPDATE per distinct set of changed columns."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for key, changed in changes:
        shapes.setdefault(tuple(sorted(changed)), []).append({"_id": key, **{f"_v_{c}": v for c, v in changed.items()}})
    for cols, rows in shapes.items():
        conn.execute(_update(table, cols), rows)


def insert_entries(conn: Connection, entries: Sequence[Entry], recorded_at: Any) -> None:
    """Journal entries and their lines: the entries in one statement that returns their ids in the
    order given, then every line in one."""
    if not entries:
        return
    je = t.journal_entries
    ids = conn.execute(insert(je).returning(je.c.id, sort_by_parameter_order=True), [
        {"kind": e.kind, "at": e.at, "shop_id": e.shop_id, "order_id": e.order_id, "ticket_id": e.ticket_id,
         "rule": e.rule, "memo": e.memo, "recorded_at": recorded_at} for e in entries]).scalars().all()
    if len(ids) != len(entries):
        raise RuntimeError("the database gave no id for a journal entry")
    conn.execute(insert(t.journal_lines), [{"entry_id": entry_id, "account": x.account, "amount": x.amount}
                                           for entry_id, e in zip(ids, entries, strict=True) for x in e.lines])
