"""The repositories of the unit of work (adapters.uow): each loads the aggregates of one table,
remembers them as loaded (an identity map) and writes back only what changed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

from sqlalchemy import Table, and_, func, insert, select

from ..domain.governance import MeasureAppeal, MeasureInstance
from .rows import Query, by_column, update_many
from .rows import columns as _columns
from .rows import from_row as _from_row
from .rows import to_row as _to_row

if TYPE_CHECKING:
    from .uow import SqlUnitOfWork


class Identified(Protocol):
    id: str


A = TypeVar("A", bound=Identified)
_READ_ONLY: tuple[Any, ...] = ("read-only",)  # what a read-only unit of work keeps of a row: nothing to compare


class Repository(Generic[A]):
    """Loads aggregates of one table and remembers each as loaded (an identity map), so flush writes
    only changes and collects the events recorded on them. Queries first write the aggregates added
    to this repository (autoflush), so a query sees what this transaction added."""

    def __init__(self, uow: SqlUnitOfWork, table: Table, cls: type[A]) -> None:
        self.uow, self.table, self.cls = uow, table, cls
        self.cols = _columns(table)
        self.values = attrgetter(*self.cols)  # an aggregate's row as a tuple, in column order
        self.seen: dict[str, tuple[A, tuple[Any, ...]]] = {}
        self.new: list[A] = []
        self.new_by_id: dict[str, A] = {}  # `new` by id: a transaction that adds thousands finds each at once
        self.absent: set[str] = set()  # ids get_many looked for and did not find (until added)
        self.current: set[str] = set()  # ids read under this transaction's row lock (refresh needs no read)

    def _load(self, rows: Iterable[Any]) -> list[A]:
        out, at = [], self.cols.index("id")
        for row in rows:
            key = row[at]
            if key in self.seen:
                out.append(self.seen[key][0])
                continue
            obj = _from_row(self.cls, row, self.cols)
            self.seen[key] = (obj, self.values(obj) if self.uow.write else _READ_ONLY)
            out.append(obj)
        return out

    def get(self, ident: str, lock: bool = False) -> A | None:
        if ident in self.seen:
            return self.seen[ident][0]
        if ident in self.new_by_id or ident in self.absent:
            return self.new_by_id.get(ident)
        query = by_column(self.table, "id", lock and self.uow.dialect == "postgresql")
        found = self._load(query.rows(self.uow.conn, value=ident))
        return found[0] if found else None

    def select(self, query: Query, **params: Any) -> list[A]:
        """The rows of a compiled `select(table)` (rows.Query) (after writing what this repository added)."""
        self._write_new()
        return self._load(query.rows(self.uow.conn, **params))

    def find_by(self, column: str, value: Any) -> list[A]:
        """The rows whose `column` equals `value` (after writing what this repository added)."""
        self._write_new()
        return self._load(by_column(self.table, column).rows(self.uow.conn, value=value))

    def get_many(self, idents: Iterable[str], lock: bool = False) -> None:
        """Load the rows not loaded yet in one statement (locked, on PostgreSQL, in id order), so that
        the `get`s that follow read no row one by one."""
        missing = sorted({i for i in idents if i not in self.seen and i not in self.absent} - set(self.new_by_id))
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            stmt = select(self.table).where(self.table.c.id.in_(chunk)).order_by(self.table.c.id)
            if lock and self.uow.conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            found = self._load(self.uow.conn.execute(stmt).all())
            self.absent.update(set(chunk) - {o.id for o in found})
            if lock:
                self.current.update(o.id for o in found)

    def where(self, *conds: Any, order_by: Sequence[Any] = (), limit: int | None = None,
              offset: int | None = None, lock: bool = False) -> list[A]:
        self._write_new()
        stmt = select(self.table).where(and_(*conds)) if conds else select(self.table)
        if order_by:
            stmt = stmt.order_by(*order_by)
        stmt = stmt.limit(limit).offset(offset or None)
        if lock and self.uow.dialect == "postgresql":
            stmt = stmt.with_for_update()
        return self._load(self.uow.conn.execute(stmt).all())

    def count(self, *conds: Any) -> int:
        self._write_new()
        stmt = select(func.count()).select_from(self.table).where(*conds)
        return int(self.uow.conn.execute(stmt).scalar_one())

    def exists(self, ident: str) -> bool:
        if ident in self.seen or ident in self.new_by_id or ident in self.absent:
            return ident not in self.absent
        stmt = select(self.table.c.id).where(self.table.c.id == ident)
        return self.uow.conn.execute(stmt).first() is not None

    def add(self, obj: A) -> None:
        self.new.append(obj)
        self.new_by_id[obj.id] = obj
        self.absent.discard(obj.id)

    def lock(self, idents: Iterable[str]) -> None:
        """Take the rows' locks in id order (PostgreSQL; SQLite's transaction holds the database's write
        lock already), whether or not they were loaded before, so that transactions that lock the same
        rows wait for each other instead of deadlocking. Rows this transaction read under their lock
        already (`current`) are held: not asked for again."""
        ids = sorted(set(idents) - self.current)
        if ids and self.uow.dialect == "postgresql":
            self.uow.conn.execute(select(self.table.c.id).where(self.table.c.id.in_(ids))
                                  .order_by(self.table.c.id).with_for_update())

    def refresh(self, ident: str, columns: Sequence[str]) -> None:
        """Lock the row (PostgreSQL) and take `columns` as committed, for those this transaction has
        not changed: another transaction may have changed them since this one read the row."""
        seen = self.seen.get(ident)
        if self.uow.dialect != "postgresql" or seen is None or ident in self.current:
            return  # (read under this transaction's lock: nobody else changed it since)
        self.current.add(ident)
        row = self.uow.conn.execute(select(*(self.table.c[c] for c in columns))
                                    .where(self.table.c.id == ident).with_for_update()).first()
        if row is None:
            return
        obj, before = seen
        for col in columns:
            i = self.cols.index(col)
            if getattr(obj, col) == before[i]:
                setattr(obj, col, row._mapping[col])
                self.seen[ident] = (obj, before := (*before[:i], row._mapping[col], *before[i + 1:]))

    def _write_new(self) -> None:
        if self.new:
            self.uow.conn.execute(insert(self.table), [_to_row(o, self.cols) for o in self.new])
            self.seen.update((o.id, (o, self.values(o))) for o in self.new)
            self.new, self.new_by_id = [], {}

    def flush(self) -> list[A]:
        """Write new and changed rows; return every aggregate this repository holds (for their events)."""
        touched: list[A] = []
        self._write_new()
        # set-based: one executemany per set of changed columns (a sweep's batch changes the same ones)
        changes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for key, (obj, before) in list(self.seen.items()):
            if before is _READ_ONLY:
                raise RuntimeError(f"{self.table.name} {key} was read by a read-only unit of work: it writes nothing")
            now = self.values(obj)  # a tuple: compared at C speed, a dict only for the rows that changed
            if now != before:
                changed = {c: v for c, v, b in zip(self.cols, now, before, strict=True) if v != b}
                changes.setdefault(tuple(sorted(changed)), []).append(
                    {"k_id": key, **{f"v_{c}": v for c, v in changed.items()}})
                self.seen[key] = (obj, now)
            touched.append(obj)
        for cols, rows in changes.items():
            update_many(self.table, cols).run(self.uow.conn, rows)
        return touched


class MeasureRepository(Repository[MeasureInstance]):
    def __init__(self, uow: SqlUnitOfWork, table: Table, cls: type[MeasureInstance]) -> None:
        super().__init__(uow, table, cls)
        self.by_shop: dict[str, list[MeasureInstance]] = {}  # of_shops: read under the shops' locks

    def of_shop(self, shop_id: str) -> list[MeasureInstance]:
        """Every measure the shop has had, in the order they started."""
        if shop_id in self.by_shop:
            return sorted(self.by_shop[shop_id], key=attrgetter("started_at", "id"))
        c = self.table.c
        return self.where(c.shop_id == shop_id, order_by=(c.started_at, c.id))

    def of_shops(self, shop_ids: Iterable[str]) -> None:
        """Read the measures of many shops in one statement, for the `of_shop`s that follow in this
        transaction (with those it adds). Only for shops whose rows this transaction has locked: nobody
        else adds to their measures until it ends."""
        missing = sorted(set(shop_ids) - self.by_shop.keys())
        c = self.table.c
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            self.by_shop.update((s, []) for s in chunk)
            for inst in self.where(c.shop_id.in_(chunk)):
                self.by_shop[inst.shop_id].append(inst)

    def add(self, obj: MeasureInstance) -> None:
        super().add(obj)
        if obj.shop_id in self.by_shop:
            self.by_shop[obj.shop_id].append(obj)


class MeasureAppealRepository(Repository[MeasureAppeal]):
    def of_measure(self, measure_id: str) -> list[MeasureAppeal]:
        c = self.table.c
        return self.where(c.measure_id == measure_id, order_by=(c.filed_at, c.id))


R = TypeVar("R", bound=Repository[Any])


class Repo(Generic[R]):
    """A unit of work's repository of one table, made the first time the transaction uses it: a read
    that touches two tables of seventeen builds two repositories (issue 15: building all of them was
    a third of a ticket GET's database side)."""

    @overload
    def __init__(self: Repo[Repository[A]], table: Table, cls: type[A]) -> None: ...

    @overload
    def __init__(self, table: Table, cls: type[Any], kind: type[R]) -> None: ...

    def __init__(self, table: Table, cls: type[Any], kind: type[Any] = Repository) -> None:
        self.table, self.cls, self.kind, self.name = table, cls, kind, ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> Repo[R]: ...

    @overload
    def __get__(self, uow: SqlUnitOfWork, owner: type | None = None) -> R: ...

    def __get__(self, uow: SqlUnitOfWork | None, owner: type | None = None) -> Repo[R] | R:
        if uow is None:
            return self
        repo: R = self.kind(uow, self.table, self.cls)
        uow.__dict__[self.name] = repo  # the instance's own attribute from now on: this is not called again
        return repo
