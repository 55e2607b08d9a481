"""Rows to aggregates and back, for the unit of work's repositories: the column names of a table and
the fields of a dataclass are read once, not at every unit of work and every row; and a flush's
journal entries written set-wise (one INSERT for the entries, one for their lines)."""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Dialect, Select, Table, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError

from ..domain.events import Event
from ..domain.ledger import Entry
from . import tables as t

A = TypeVar("A")
# SQL, parameter order, bind processors by name, result processors by column index
Compiled = tuple[str, tuple[str, ...] | None, dict[str, Any], list[tuple[int, Any]]]


@functools.cache
def columns(table: Table) -> list[str]:
    """The table's column names in its order (shared: never changed by callers), as interned plain
    `str`: SQLAlchemy names them with `quoted_name`, a str subclass, and Python matches such keyword
    arguments to a dataclass's parameters by comparing strings instead of by identity: building a
    36-field Ticket from its row took five times as long (issue 15's queue profile)."""
    return [sys.intern(str(c.name)) for c in table.columns]


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


class Query:
    """A SELECT compiled once per dialect and run straight on the connection's DBAPI cursor, each value
    through its column type's own result processor: the rows SQLAlchemy would give, without its
    per-execution work (statement construction, cache key, result metadata), which costs more than
    the driver on a hot read. Parameters are named bindparams, each value through its type's bind
    processor when it has one (an Instant to UTC); `rows(conn, name=value, ...)` runs it inside the
    connection's transaction."""

    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt
        self._compiled: dict[str, Compiled] = {}

    def _compile(self, dialect: Dialect) -> Compiled:
        procs = [(i, p) for i, c in enumerate(self.stmt.selected_columns)
                 if (p := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None]
        made = self._compiled[dialect.name] = (*_compiled(self.stmt, dialect), procs)
        return made

    def rows(self, conn: Connection, **params: Any) -> list[tuple[Any, ...]]:
        sql, order, binds, procs = self._compiled.get(conn.dialect.name) or self._compile(conn.dialect)
        if binds:
            params = {k: binds[k](v) if k in binds else v for k, v in params.items()}
        found = _on_driver(conn, sql, params if order is None else tuple(params[n] for n in order))
        if not procs:
            return [tuple(r) for r in found]
        out = []
        for r in found:  # only the columns that have a processor (a ticket: 8 of 33), in place
            row = list(r)
            for i, p in procs:
                row[i] = p(row[i])
            out.append(tuple(row))
        return out

    def sql(self, dialect: Dialect, **params: Any) -> tuple[str, Any]:
        """The SQL it runs on `dialect` and the driver's parameters for `params` (for EXPLAIN)."""
        sql, order, _, _ = self._compiled.get(dialect.name) or self._compile(dialect)
        return sql, params if order is None else tuple(params[n] for n in order)

    def scalar(self, conn: Connection, **params: Any) -> Any:
        """The first column of the first row (a count)."""
        return self.rows(conn, **params)[0][0]


class UpdateMany:
    """`UPDATE table SET <cols> WHERE id = ...` for many rows, compiled once per dialect and run with
    the driver's executemany, each value through its column type's bind processor: what SQLAlchemy's
    executemany does, without building and processing every row's parameters through its compiler
    (about a tenth of a sweep on SQLite, issue 15). Rows are {"k_id": id, "v_<col>": value, ...}.
    The driver's errors reach the caller as SQLAlchemy's (IntegrityError, OperationalError, ...)."""

    def __init__(self, table: Table, cols: tuple[str, ...]) -> None:
        self.stmt = (update(table).where(table.c.id == bindparam("k_id"))
                     .values({c: bindparam(f"v_{c}") for c in cols}))
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def run(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        made = self._compiled.get(conn.dialect.name)
        if made is None:
            made = self._compiled[conn.dialect.name] = _compiled(self.stmt, conn.dialect)
        sql, order, binds = made
        for row in rows:  # the caller's own dicts, made for this statement
            for key, process in binds.items():
                row[key] = process(row[key])
        _on_driver(conn, sql, rows if order is None else [tuple(r[n] for n in order) for r in rows], many=True)


def _compiled(stmt: Any, dialect: Dialect) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
    """`stmt`'s SQL on `dialect`, its parameters' order (positional drivers) and their bind
    processors by name (what SQLAlchemy itself applies to them)."""
    compiled = stmt.compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return compiled.string, order, dict(compiled._bind_processors)  # noqa: SLF001


def _on_driver(conn: Connection, sql: str, params: Any, many: bool = False) -> Sequence[Any]:
    """`sql` on the connection's driver cursor, inside its transaction: the rows (none for `many`,
    an executemany). The driver's errors reach the caller as SQLAlchemy's (IntegrityError,
    OperationalError, DataError, ...), as from conn.execute: what the services catch."""
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
            return ()
        cursor.execute(sql, params)
        return cursor.fetchall()
    except dbapi.Error as e:
        raise DBAPIError.instance(sql, params[:1] if many else params, e, dbapi.Error) from e
    finally:
        cursor.close()


@functools.cache
def update_many(table: Table, cols: tuple[str, ...]) -> UpdateMany:
    return UpdateMany(table, cols)


@functools.cache
def by_column(table: Table, column: str, lock: bool = False) -> Query:
    """Every row of `table` whose `column` equals the parameter `value` (locked FOR UPDATE if `lock`)."""
    stmt = select(table).where(table.c[column] == bindparam("value"))
    return Query(stmt.with_for_update() if lock else stmt)


# A ticket's events oldest first (its timeline, on every GET of a ticket): parameter `value`, the ticket.
TIMELINE = Query(select(t.events).where(t.events.c.ticket_id == bindparam("value")).order_by(t.events.c.at, t.events.c.id))


def event_row(e: Event, recorded_at: datetime) -> dict[str, Any]:
    return {
        "at": e.at, "actor": e.actor, "type": e.type, "shop_id": e.shop_id, "order_id": e.order_id,
        "ticket_id": e.ticket_id, "from_status": e.from_status, "to_status": e.to_status, "rule": e.rule,
        "payload": e.payload, "recorded_at": recorded_at,
    }


def insert_entries(conn: Connection, entries: list[Entry], recorded_at: datetime) -> None:
    """Journal entries and their lines: the entries in one statement that returns their ids in the
    order given, then every line in one (instead of two statements per entry)."""
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
