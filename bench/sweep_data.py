"""The sweep benchmark's data set (see bench/sweep.py), on SQLite or PostgreSQL, and its copies.

The shape (`plan`): `shops` shops, `buyers` buyers and `tickets` return & refund tickets pending
review (KS-RR-1), each on its own signed order, applied within the last 48 hours, except `due` of
them applied 48 to 72 hours ago (their review ran out: the sweep auto-approves them). The due ones
are dealt to the shops in turn, at most four a shop, so that no KS-GOV-3 rung is reached (the first
wants five overdue records) and the sweep's governance work is the same on both sides: evaluate,
score, set the next evaluation; the raw baseline writes no measures (it stops if one is due). The
other tickets go to shops at random.

Two loaders write the same rows:

- `load_domain`: every order and ticket made by the domain (Order.schedule, aftersales.apply) and
  written through the unit of work, 10,000 per transaction, the counting triggers on: what the
  benchmark always did.
- `load_bulk`, for a million tickets (the domain costs about 180 us a ticket in Python, the unit of
  work as much again): `TEMPLATES` applications made by the domain, each cloned for its share of
  the rows with its ids, shop and buyer replaced and every instant moved by the same amount (the
  pack's review and shipping deadlines are exact durations, so a moved application is the
  application made at the moved time), stored through the columns' own bind processing and written
  by executemany (SQLite) or COPY (PostgreSQL) with the counting triggers off, then the counters
  rebuilt from the rows set-based. A sample of clones is checked equal, row for row, to the domain
  making the same application at its time.

Either way the schema is Alembic's (`migrate`), and the planner's statistics are taken after
loading: ANALYZE on SQLite, VACUUM ANALYZE on PostgreSQL, as autovacuum would after a load.
"""

from __future__ import annotations

import functools
import json
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import JSON, Engine, Table

from bench.governance_data import analyze
from shouhou.adapters import counts_sql
from shouhou.adapters import tables as t
from shouhou.adapters.db import make_engine, migrate
from shouhou.adapters.rows import columns, event_row, to_row
from shouhou.adapters.uow import SqlUnitOfWork
from shouhou.clock import SHANGHAI, VirtualClock
from shouhou.domain import aftersales
from shouhou.domain.actors import Actor
from shouhou.domain.orders import Order
from shouhou.domain.shops import Buyer, Shop
from shouhou.policies import PolicyRegistry, PolicyVersion

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=SHANGHAI)
PACK = "kuaishou"
REVIEW = timedelta(hours=48)  # KS-RR-1
FIRST_DUE = NOW - timedelta(hours=24)  # the due ones fall due in (FIRST_DUE, NOW)
ADDRESS = "浙江省杭州市西湖区退货仓 1 号"
TEMPLATES = 512  # domain-made applications the bulk loader clones (one amount each)
PER_SHOP = 4  # due tickets a shop gets at most: KS-GOV-3's first rung wants 5 overdue records
CHUNK = 20_000


@dataclass(frozen=True)
class Spec:
    tickets: int
    due: int
    shops: int
    buyers: int
    seed: int


def amount(j: int) -> int:
    return 1_000 + (j * 7_919) % 99_000  # the template's order amount, fen


def plan(spec: Spec) -> Iterator[tuple[int, str, str, datetime]]:
    """Every ticket: (number, shop, buyer, applied at)."""
    rng = random.Random(spec.seed)
    rank = {i: k for k, i in enumerate(sorted(rng.sample(range(spec.tickets), spec.due)))}
    for i in range(spec.tickets):
        k = rank.get(i)
        if k is not None:  # due: applied 48-72 h ago, dealt to the shops in turn
            shop, ago = k % spec.shops, REVIEW + timedelta(seconds=rng.randrange(1, 24 * 3600))
        else:
            shop, ago = rng.randrange(spec.shops), timedelta(seconds=rng.randrange(1, int(REVIEW.total_seconds())))
        yield i, f"S{shop:05d}", f"B{rng.randrange(spec.buyers):06d}", NOW - ago


@functools.cache
def policy() -> PolicyVersion:
    return PolicyRegistry.default().get(PACK).at(NOW)


def make(i: int, shop: str, buyer: str, applied: datetime) -> tuple[Order, Any]:
    """One signed order and its return & refund application, by the domain."""
    pv = policy()
    signed = applied - timedelta(hours=1)
    order = Order(id=f"O{i:07d}", shop_id=shop, buyer_id=buyer, policy=PACK, policy_version=pv.version,
                  amount_fen=amount(i % TEMPLATES), freight_fen=0, payment="online", kind="normal", marketing=False,
                  goods="physical", category="general", no_reason_return=True, commission={},
                  created_at=signed - timedelta(days=2), status="signed", shipped_at=signed - timedelta(days=1),
                  signed_at=signed)
    order.schedule(pv)
    ticket = aftersales.apply(f"T{i:07d}", order, Actor("buyer", buyer), pv, applied, "return_refund",
                              "not_as_described", None, [], None)
    return order, ticket


def rows_of(order: Order, ticket: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The rows the unit of work writes for them (the events recorded at NOW, the virtual clock)."""
    events = [event_row(e, NOW) for x in (order, ticket) for e in x.drain_events()]
    return to_row(order, columns(t.orders)), to_row(ticket, columns(t.tickets)), events


def setup(url: str, spec: Spec) -> Engine:
    """The schema (Alembic's), the shops and the buyers."""
    migrate(url)
    engine = make_engine(url)
    with SqlUnitOfWork(engine, VirtualClock(NOW)) as uow:
        for s in range(spec.shops):
            uow.shops.add(Shop(id=f"S{s:05d}", name=f"店铺 {s}", policy=PACK, status="normal", wallet_fen=10**7,
                               deposit_fen=10**6, wallet_opened_at=NOW - timedelta(days=400),
                               created_at=NOW - timedelta(days=400), return_address=ADDRESS))
        for b in range(spec.buyers):
            uow.buyers.add(Buyer(id=f"B{b:06d}", name=f"买家 {b}"))
        uow.commit()
    return engine


def load_domain(url: str, spec: Spec) -> None:
    engine = setup(url, spec)
    rows = plan(spec)
    for start in range(0, spec.tickets, 10_000):
        with SqlUnitOfWork(engine, VirtualClock(NOW)) as uow:
            for i, shop, buyer, applied in rows:
                order, ticket = make(i, shop, buyer, applied)
                uow.orders.add(order)
                uow.tickets.add(ticket)
                if i + 1 >= min(start + 10_000, spec.tickets):
                    break
            uow.commit()
    analyze(engine)
    engine.dispose()


# -- the bulk loader --------------------------------------------------------------------------------

TABLES = (t.orders, t.tickets, t.events)  # what one application writes: its order, its ticket, its events


def stored_columns(table: Table) -> list[str]:
    """The columns a loader writes: all but an autoincrement key."""
    return [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]


def _storer(table: Table, dialect: Any) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A row as the database stores it: each value through its column type's bind processing, as
    SQLAlchemy's INSERT does (Instant: naive UTC text on SQLite, UTC on PostgreSQL); JSON as the
    text SQLAlchemy's default serializer (json.dumps) makes, which COPY takes."""
    names = stored_columns(table)
    procs: list[Any] = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    for k, n in enumerate(names):
        typ = table.c[n].type
        if dialect.name == "postgresql" and typ._type_affinity is JSON:  # noqa: SLF001 - not psycopg's Json
            bind = getattr(typ, "process_bind_param", None)
            procs[k] = (lambda v, b=bind: json.dumps(b(v, dialect) if b else v))
    return lambda row: tuple(row.get(n) if p is None else p(row.get(n)) for n, p in zip(names, procs, strict=True))


class Template:
    """Application j made by the domain at NOW - 1 day under placeholder ids, kept as the stored rows
    it writes, with where its ids and instants are: a clone replaces those and nothing else (its
    instants moved by the same amount; `recorded_at`, the loader's NOW, stays)."""

    def __init__(self, j: int, store: list[Callable[[dict[str, Any]], tuple[Any, ...]]], pg: bool) -> None:
        self.at, self.pg = NOW - timedelta(days=1), pg
        order, ticket, events = rows_of(*make(j, "S~", "B~", self.at))
        marks = {f"O{j:07d}": "o", f"T{j:07d}": "t", "S~": "s", "B~": "b", "buyer:B~": "a"}
        self.rows: list[tuple[tuple[Any, ...], list[tuple[int, str, Any]]]] = []
        for k, row in zip((0, 1, *[2] * len(events)), (order, ticket, *events), strict=True):
            stored = store[k](row)
            isos = {x.isoformat(): x for r in (order, ticket, row) for c, x in r.items()
                    if isinstance(x, datetime) and c != "recorded_at"}
            slots: list[tuple[int, str, Any]] = []
            for pos, (col, v) in enumerate(zip(stored_columns(TABLES[k]), stored, strict=True)):
                raw = row.get(col)
                if isinstance(raw, datetime) and col != "recorded_at":
                    base = raw.astimezone(UTC)
                    slots.append((pos, "at", base if pg else base.replace(tzinfo=None)))
                elif isinstance(raw, str) and raw in marks:
                    slots.append((pos, "id", marks[raw]))
                elif isinstance(v, str) and isinstance(raw, dict | list | tuple) and (
                        any(iso in v for iso in isos) or any(f'"{m}"' in v for m in marks)):
                    slots.append((pos, "json", (v, {iso: x for iso, x in isos.items() if iso in v}, marks)))
            self.rows.append((stored, slots))

    def clone(self, i: int, shop: str, buyer: str, applied: datetime) -> list[tuple[Any, ...]]:
        """The stored rows of the same application made at `applied` for ticket i."""
        delta = applied - self.at
        names = {"o": f"O{i:07d}", "t": f"T{i:07d}", "s": shop, "b": buyer, "a": f"buyer:{buyer}"}
        out = []
        for stored, slots in self.rows:
            row = list(stored)
            for pos, kind, x in slots:
                if kind == "at":
                    row[pos] = x + delta if self.pg else (x + delta).isoformat(sep=" ", timespec="microseconds")
                elif kind == "id":
                    row[pos] = names[x]
                else:
                    text_, isos, marks = x
                    for iso, at in isos.items():
                        text_ = text_.replace(iso, (at + delta).isoformat())
                    for mark, name in marks.items():
                        text_ = text_.replace(f'"{mark}"', f'"{names[name]}"')
                    row[pos] = text_
            out.append(tuple(row))
        return out


def _insert_sql(table: Table, pg: bool) -> str:
    cols = stored_columns(table)
    if pg:
        return f"COPY {table.name} ({', '.join(cols)}) FROM STDIN"
    return f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def _drop_indexes(raw: Any, pg: bool) -> list[str]:
    """Drop the secondary indexes of the tables loaded (not those of keys and constraints); returns
    the statements that make them again."""
    names = [x.name for x in TABLES]
    if pg:
        found = raw.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class tb ON tb.oid = x.indrelid WHERE tb.relname = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)", (names,)).fetchall()
    else:
        found = raw.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                            f"AND tbl_name IN ({', '.join('?' * len(names))})", names).fetchall()
    for name, _ddl in found:
        raw.execute(f'DROP INDEX "{name}"')
    return [ddl for _name, ddl in found]


def load_bulk(url: str, spec: Spec, check_every: int = 50_000) -> None:
    engine = setup(url, spec)
    dialect, pg = engine.dialect, engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        counts_sql.uninstall(conn)
    store = [_storer(x, dialect) for x in TABLES]
    templates = [Template(j, store, pg) for j in range(TEMPLATES)]
    sql = [_insert_sql(x, pg) for x in TABLES]
    raw: Any = psycopg.connect(url.replace("+psycopg", ""), autocommit=True) if pg else \
        sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    if not pg:  # a benchmark file, made again at will: no fsync; and room for the indexes' pages
        raw.execute("PRAGMA synchronous=OFF")
        raw.execute("PRAGMA cache_size=-1000000")
    indexes = _drop_indexes(raw, pg)
    batch: list[list[tuple[Any, ...]]] = [[], [], []]

    def flush() -> None:
        if pg:
            with raw.transaction(), raw.cursor() as cur:
                for q, rows in zip(sql, batch, strict=True):
                    with cur.copy(q) as cp:
                        for r in rows:
                            cp.write_row(r)
        else:
            raw.execute("BEGIN")
            for q, rows in zip(sql, batch, strict=True):
                raw.executemany(q, rows)
            raw.execute("COMMIT")
        for rows in batch:
            rows.clear()

    for i, shop, buyer, applied in plan(spec):
        order, ticket, *events = templates[i % TEMPLATES].clone(i, shop, buyer, applied)
        if i % check_every == 0 or i < TEMPLATES:  # a clone is what the domain makes at its time, stored
            o, tk, evs = rows_of(*make(i, shop, buyer, applied))
            want = [store[0](o), store[1](tk), *(store[2](e) for e in evs)]
            if [order, ticket, *events] != want:
                sys.exit(f"bulk loader: ticket {i} differs from the domain's:\n{[order, ticket, *events]}\n{want}")
        batch[0].append(order)
        batch[1].append(ticket)
        batch[2].extend(events)
        if len(batch[1]) >= CHUNK:
            flush()
            print(f"  {i + 1:,} tickets", end="\r", file=sys.stderr, flush=True)
    flush()
    print(file=sys.stderr)
    for ddl in indexes:  # made again, the same, from the rows: sorting beats inserting
        raw.execute(ddl)
    raw.close()
    with engine.begin() as conn:
        counts_sql.install(conn)
        counts_sql.rebuild(conn)
    analyze(engine)
    engine.dispose()


# -- where the data lives: a SQLite file or a PostgreSQL database, and two copies ---------------------

class Place:
    """The loaded database ("base") and its two copies ("shouhou", "raw")."""

    kind: str

    def url(self, which: str) -> str:  # SQLAlchemy's URL
        raise NotImplementedError

    def fresh(self) -> None:
        raise NotImplementedError

    def copy(self) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError


class SqliteFiles(Place):
    kind = "sqlite"

    def __init__(self, folder: Path, tag: str = "") -> None:
        self.folder, self.tag = folder, tag

    def path(self, which: str) -> Path:
        return self.folder / f"sweep{self.tag}_{which}.db"

    def url(self, which: str) -> str:
        return f"sqlite:///{self.path(which)}"

    def fresh(self) -> None:
        for which in ("base", "shouhou", "raw"):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path(which)}{suffix}").unlink(missing_ok=True)

    drop = fresh

    def copy(self) -> None:
        for which in ("shouhou", "raw"):
            with sqlite3.connect(self.path("base")) as a, sqlite3.connect(self.path(which)) as b:
                a.backup(b)
            a.close()
            b.close()


class PostgresDatabases(Place):
    """The database named by the URL holds the load; <name>_shouhou and <name>_raw are its copies
    (CREATE DATABASE ... TEMPLATE). All three are dropped and made again."""

    kind = "postgresql"

    def __init__(self, url: str, tag: str = "") -> None:
        self.server, _, name = url.replace("postgresql+psycopg://", "postgresql://", 1).rpartition("/")
        self.name = name + tag

    def dbname(self, which: str) -> str:
        return self.name if which == "base" else f"{self.name}_{which}"

    def url(self, which: str) -> str:
        return f"{self.server}/{self.dbname(which)}".replace("postgresql://", "postgresql+psycopg://", 1)

    def _recreate(self, which: str, template: str | None = None) -> None:
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname(which)}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.dbname(which)}"' + (f' TEMPLATE "{template}"' if template else ""))

    def fresh(self) -> None:
        self._recreate("base")

    def drop(self) -> None:
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as conn:
            for which in ("base", "shouhou", "raw"):
                conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname(which)}" WITH (FORCE)')

    def copy(self) -> None:
        for which in ("shouhou", "raw"):
            self._recreate(which, self.name)


def load(place: Place, spec: Spec, bulk: bool) -> float:
    """Load the data set into the place's base and copy it twice; returns the seconds loading took."""
    place.fresh()
    started = time.perf_counter()
    (load_bulk if bulk else load_domain)(place.url("base"), spec)
    took = time.perf_counter() - started
    place.copy()
    return took
