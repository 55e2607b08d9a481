"""The unit of work over SQLAlchemy Core: one transaction, repositories that track what they load,
and one flush that writes changed rows and the events recorded on them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Table, and_, delete, exists, func, insert, select, update
from sqlalchemy.sql.expression import bindparam

from ..clock import Clock
from ..domain.appeals import Appeal
from ..domain.complaints import Complaint
from ..domain.disputes import EvidenceItem, Intervention
from ..domain.entry import ReopenRequest, SiteMessage
from ..domain.events import Event
from ..domain.freight import FreightClaim
from ..domain.governance import MeasureAppeal, MeasureInstance, Metrics
from ..domain.ledger import Clawback, Entry, Payout
from ..domain.orders import Order
from ..domain.remedies import Remedy
from ..domain.shops import Buyer, Shop, Staff
from ..domain.tickets import Ticket
from . import automation_table as au
from . import complaints_table as ct
from . import freight_table as ft
from . import metrics as m
from . import operations as ops
from . import remedies_table as rt
from . import tables as t
from .rows import TIMELINE, Query, by_column, insert_entries
from .rows import columns as _columns
from .rows import event_row as _event_row
from .rows import from_row as _from_row
from .rows import to_row as _to_row


class Identified(Protocol):
    id: str


A = TypeVar("A", bound=Identified)
Reactor = Callable[["SqlUnitOfWork", list[Event]], None]
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
        rows wait for each other instead of deadlocking."""
        ids = sorted(set(idents))
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
            set_: dict[str, Any] = {c: bindparam(f"v_{c}") for c in cols}
            self.uow.conn.execute(update(self.table).where(self.table.c.id == bindparam("k_id")).values(set_), rows)
        return touched


class MeasureRepository(Repository[MeasureInstance]):
    def of_shop(self, shop_id: str) -> list[MeasureInstance]:
        """Every measure the shop has had, in the order they started."""
        c = self.table.c
        return self.where(c.shop_id == shop_id, order_by=(c.started_at, c.id))


class MeasureAppealRepository(Repository[MeasureAppeal]):
    def of_measure(self, measure_id: str) -> list[MeasureAppeal]:
        c = self.table.c
        return self.where(c.measure_id == measure_id, order_by=(c.filed_at, c.id))


class SqlUnitOfWork:
    """`with uow: ...; uow.commit()`. Leaving without commit rolls back: a refused command changes nothing.

    Every aggregate goes through a repository; `commit` writes what changed, stores the events
    recorded on the aggregates (the only way events travel), lets the reactor answer them in the
    same transaction (services.reactions: money and governance), and commits."""

    def __init__(self, engine: Engine, clock: Clock, write: bool = True, reactor: Reactor | None = None) -> None:
        self.engine, self.clock, self.write, self.reactor = engine, clock, write, reactor
        self.conn: Connection

    def __enter__(self) -> SqlUnitOfWork:
        self.conn = self.engine.connect().execution_options(shouhou_write=self.write)
        self.tx = self.conn.begin()
        self.shops = Repository(self, t.shops, Shop)
        self.staff = Repository(self, t.staff, Staff)
        self.buyers = Repository(self, t.buyers, Buyer)
        self.orders = Repository(self, t.orders, Order)
        self.tickets = Repository(self, t.tickets, Ticket)
        self.reopen_requests = Repository(self, t.reopen_requests, ReopenRequest)
        self.messages = Repository(self, t.site_messages, SiteMessage)
        self.payouts = Repository(self, t.payouts, Payout)
        self.clawbacks = Repository(self, t.clawbacks, Clawback)
        self.interventions = Repository(self, t.interventions, Intervention)
        self.appeals = Repository(self, t.appeals, Appeal)
        self.evidence = Repository(self, t.evidence_items, EvidenceItem)
        self.measures = MeasureRepository(self, t.measures, MeasureInstance)
        self.measure_appeals = MeasureAppealRepository(self, t.measure_appeals, MeasureAppeal)
        self.complaints = Repository(self, ct.complaints, Complaint)
        self.remedies = Repository(self, rt.remedies, Remedy)
        self.freight = Repository(self, ft.freight_claims, FreightClaim)
        self.repositories: tuple[Repository[Any], ...] = tuple(  # every one above, in the order made
            r for r in vars(self).values() if isinstance(r, Repository))
        self.committed = False
        self.journal: list[Entry] = []  # entries posted in this transaction, written at flush
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if not self.committed and self.tx.is_active:
                self.tx.rollback()
        finally:
            self.conn.close()

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def commit(self, then: Callable[[], object] | None = None) -> list[Event]:
        """Write everything, let the reactor answer the new events in the same transaction (a few rounds
        at most), call `then` (the caller's read of what it is about to commit), and commit."""
        events = self.flush()
        fresh = events
        for _ in range(4):
            if not fresh or self.reactor is None:
                break
            self.reactor(self, fresh)
            fresh = self.flush()
            events.extend(fresh)
        if then is not None:
            then()
        self.tx.commit()
        self.committed = True
        return events

    def flush(self) -> list[Event]:
        touched: list[Any] = []
        for repo in self.repositories:
            touched.extend(repo.flush())
        self._write_journal()
        events: list[Event] = []
        for agg in touched:
            drain = getattr(agg, "drain_events", None)
            if drain:
                events.extend(drain())
        events.sort(key=lambda e: e.seq)
        self.store_events(events)
        return events

    def _write_journal(self) -> None:
        insert_entries(self.conn, self.journal, self.clock.now())
        self.journal = []

    def balance(self, account: str) -> int:
        """An account's balance: the sum of its lines, including entries not yet written."""
        stored = self.conn.execute(
            select(func.coalesce(func.sum(t.journal_lines.c.amount), 0)).where(t.journal_lines.c.account == account)
        ).scalar_one()
        pending = sum(x.amount for e in self.journal for x in e.lines if x.account == account)
        return int(stored) + pending

    def paid_by_order(self, order_id: str, account: str) -> int:
        """What an order's settlement (or its opening, when it settled before shouhou) paid into an
        account: the ceiling of what refunds of that order may take back from it."""
        je, jl = t.journal_entries.c, t.journal_lines.c
        stored = self.conn.execute(
            select(func.coalesce(func.sum(jl.amount), 0))
            .select_from(t.journal_lines.join(t.journal_entries, jl.entry_id == je.id))
            .where(je.order_id == order_id, je.kind.in_(("settlement", "opening")), jl.account == account)
        ).scalar_one()
        pending = sum(x.amount for e in self.journal if e.order_id == order_id and e.kind in ("settlement", "opening")
                      for x in e.lines if x.account == account)
        return int(stored) + pending

    def store_events(self, events: list[Event]) -> None:
        if not events:
            return
        recorded_at = self.clock.now()
        self.conn.execute(insert(t.events), [_event_row(e, recorded_at) for e in events])
        overdue = [  # KS-GOV-1's overdue records and KS-GOV-5's delayed shipments, counted alike
            {"shop_id": e.shop_id, "ticket_id": e.ticket_id, "order_id": e.order_id,
             "type": e.payload["overdue_type"], "rule": e.rule, "cause_rule": e.payload.get("cause"), "at": e.at}
            for e in events if e.type in ("overdue_recorded", "delayed_shipment")
        ]
        if overdue:  # by shop and time: every transaction takes the governance counters' row locks in one order
            self.conn.execute(insert(t.overdue_records), sorted(overdue, key=lambda r: (r["shop_id"], r["at"])))

    # -- reads that are not aggregates -----------------------------------------------------------
    def events_for(self, ticket_id: str | None = None, order_id: str | None = None,
                   shop_id: str | None = None) -> list[dict[str, Any]]:
        if ticket_id is not None and order_id is None and shop_id is None:  # a ticket's timeline: a hot read
            return [dict(zip(_columns(t.events), r, strict=True)) for r in TIMELINE.rows(self.conn, value=ticket_id)]
        cond = []
        if ticket_id is not None:
            cond.append(t.events.c.ticket_id == ticket_id)
        if order_id is not None:
            cond.append(t.events.c.order_id == order_id)
        if shop_id is not None:
            cond.append(t.events.c.shop_id == shop_id)
        stmt = select(t.events).where(and_(*cond)).order_by(t.events.c.at, t.events.c.id)
        return [dict(r._mapping) for r in self.conn.execute(stmt)]

    def all_events(self) -> list[dict[str, Any]]:
        stmt = select(t.events).order_by(t.events.c.at, t.events.c.id)
        return [dict(r._mapping) for r in self.conn.execute(stmt)]

    def due_ids(self, table: Table, now: datetime, limit: int, column: str = "due_at",
                kind: str | None = None) -> list[tuple[datetime, str]]:
        """Ids with a pending automatic action due at or before `now`, soonest first, less those of
        `kind` parked until later (operations.parked_actions). On PostgreSQL the rows are locked and
        rows another worker holds are skipped."""
        col = table.c[column]
        stmt = (
            select(col, table.c.id)
            .where(col.is_not(None), col <= now)
            .order_by(col, table.c.id)
            .limit(limit)
        )
        if kind is not None:
            pa = ops.parked_actions.c
            stmt = stmt.where(~exists().where(pa.kind == kind, pa.ident == table.c.id, pa.next_try_at > now))
        if self.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return [(r[0], r[1]) for r in self.conn.execute(stmt)]

    # -- operations: parked actions and heartbeats ------------------------------------------------
    def parked_due(self, now: datetime) -> set[tuple[str, str]]:
        """Parked actions whose next try has come (kind, ident)."""
        pa = ops.parked_actions.c
        return {(r.kind, r.ident) for r in self.conn.execute(select(pa.kind, pa.ident).where(pa.next_try_at <= now))}

    def unpark(self, keys: Iterable[tuple[str, str]]) -> None:
        pa = ops.parked_actions.c
        for kind, ident in keys:
            self.conn.execute(delete(ops.parked_actions).where(pa.kind == kind, pa.ident == ident))

    def park(self, kind: str, ident: str, error: str, now: datetime, backoff: Callable[[int], timedelta]) -> datetime:
        """Park one action that raised: its next try waits `backoff(attempts)`. Returns that time."""
        pa = ops.parked_actions.c
        row = self.conn.execute(select(pa.attempts, pa.first_failed_at)
                                .where(pa.kind == kind, pa.ident == ident)).first()
        attempts = (row.attempts if row else 0) + 1
        next_try = now + backoff(attempts)
        values = {"error": error[:4000], "attempts": attempts, "last_failed_at": now, "next_try_at": next_try}
        if row is None:
            self.conn.execute(insert(ops.parked_actions).values(kind=kind, ident=ident, first_failed_at=now, **values))
        else:
            self.conn.execute(update(ops.parked_actions).where(pa.kind == kind, pa.ident == ident).values(**values))
        return next_try

    def retry_parked(self, kind: str, ident: str, now: datetime) -> bool:
        """Let a parked action be tried on the next sweep. False when it is not parked."""
        pa = ops.parked_actions.c
        return bool(self.conn.execute(update(ops.parked_actions).where(pa.kind == kind, pa.ident == ident)
                                      .values(next_try_at=now)).rowcount)

    def due_counts(self, now: datetime) -> dict[str, int]:
        """How many actions of each kind are due at `now` (parked ones included)."""
        out = {}
        for kind, table, column in ops.DUE_COLUMNS:
            col = table.c[column]
            out[kind] = int(self.conn.execute(select(func.count()).select_from(table)
                                              .where(col.is_not(None), col <= now)).scalar_one())
        return out

    def beat(self, worker: str, now: datetime, fired: int, error: str | None) -> None:
        """The worker's heartbeat: when it last swept, how much it fired."""
        hb = ops.worker_heartbeats.c
        done = self.conn.execute(update(ops.worker_heartbeats).where(hb.worker == worker).values(
            last_sweep_at=now, last_fired=fired, fired_total=hb.fired_total + fired, last_error=error)).rowcount
        if not done:
            self.conn.execute(insert(ops.worker_heartbeats).values(
                worker=worker, started_at=now, last_sweep_at=now, last_fired=fired, fired_total=fired,
                last_error=error))

    def next_due(self) -> datetime | None:
        best = None
        # every stored deadline but governance's (a shop's evaluation follows from what the others do)
        for col in (table.c[column] for kind, table, column in ops.DUE_COLUMNS if kind != "governance"):
            v = self.conn.execute(select(func.min(col)).where(col.is_not(None))).scalar()
            if v is not None and (best is None or v < best):
                best = v
        if best is not None and best.tzinfo is None:  # raw aggregate on SQLite bypasses the type
            best = t.Instant().process_result_value(best, self.conn.dialect)
        return best

    def metrics(self, shop_id: str, at: datetime, window: timedelta, handling: bool = True) -> Metrics:
        """One shop's governance metrics over (at - window, at] (KS-GOV-2), in this transaction."""
        return m.metrics_for(self.conn, shop_id, at, window, handling)

    def metrics_all(self, window_of: Callable[[str], timedelta], at: datetime) -> dict[str, Metrics]:
        """Every shop's metrics at `at`, each over its pack's window."""
        return m.metrics_all(self.conn, window_of, at)

    def token(self, token_hash: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(t.tokens).where(t.tokens.c.token_hash == token_hash)).first()
        return dict(row._mapping) if row else None

    def add_token(self, row: dict[str, Any]) -> None:
        self.conn.execute(insert(t.tokens), [row])

    def automation_rules(self, shop_id: str) -> list[dict[str, Any]]:
        """The shop's automation rules (GEN-AUTO-1) in its order: rows {id, action, conditions, ...}."""
        ar = au.automation_rules.c
        return [dict(r._mapping) for r in self.conn.execute(
            select(au.automation_rules).where(ar.shop_id == shop_id).order_by(ar.position))]

    def replace_automation_rules(self, shop_id: str, rules: list[dict[str, Any]], at: datetime, by: str) -> None:
        """Saving replaces the shop's whole list (rules: {id, action, when})."""
        self.conn.execute(delete(au.automation_rules).where(au.automation_rules.c.shop_id == shop_id))
        if rules:
            self.conn.execute(insert(au.automation_rules), [
                {"shop_id": shop_id, "id": r["id"], "position": i, "action": r["action"], "conditions": r["when"],
                 "updated_at": at, "updated_by": by} for i, r in enumerate(rules)])
