"""The unit of work over SQLAlchemy Core: one transaction, repositories that track what they load
(adapters.repositories), and one flush that writes changed rows and the events recorded on them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)

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
from .repositories import MeasureAppealRepository, MeasureRepository, Repo, Repository
from .rows import TIMELINE, Query, insert_entries
from .rows import columns as _columns
from .rows import event_row as _event_row

Reactor = Callable[["SqlUnitOfWork", list[Event]], None]


class SqlUnitOfWork:
    """`with uow: ...; uow.commit()`. Leaving without commit rolls back: a refused command changes nothing.

    Every aggregate goes through a repository; `commit` writes what changed, stores the events
    recorded on the aggregates (the only way events travel), lets the reactor answer them in the
    same transaction (services.reactions: money and governance), and commits."""

    shops = Repo(t.shops, Shop)
    staff = Repo(t.staff, Staff)
    buyers = Repo(t.buyers, Buyer)
    orders = Repo(t.orders, Order)
    tickets = Repo(t.tickets, Ticket)
    reopen_requests = Repo(t.reopen_requests, ReopenRequest)
    messages = Repo(t.site_messages, SiteMessage)
    payouts = Repo(t.payouts, Payout)
    clawbacks = Repo(t.clawbacks, Clawback)
    interventions = Repo(t.interventions, Intervention)
    appeals = Repo(t.appeals, Appeal)
    evidence = Repo(t.evidence_items, EvidenceItem)
    measures = Repo(t.measures, MeasureInstance, MeasureRepository)
    measure_appeals = Repo(t.measure_appeals, MeasureAppeal, MeasureAppealRepository)
    complaints = Repo(ct.complaints, Complaint)
    remedies = Repo(rt.remedies, Remedy)
    freight = Repo(ft.freight_claims, FreightClaim)

    def __init__(self, engine: Engine, clock: Clock, write: bool = True, reactor: Reactor | None = None) -> None:
        self.engine, self.clock, self.write, self.reactor = engine, clock, write, reactor
        self.conn: Connection

    def __enter__(self) -> SqlUnitOfWork:
        self.conn = self.engine.connect().execution_options(shouhou_write=self.write)
        self.tx = self.conn.begin()
        for name in REPOSITORIES:  # made on first use (a read touches two or three of the 17)
            self.__dict__.pop(name, None)
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
    def repositories(self) -> list[Repository[Any]]:
        """The repositories this transaction used, in the order declared above (a flush writes shops
        before orders before tickets)."""
        made = self.__dict__
        return [made[name] for name in REPOSITORIES if name in made]

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
        query = _due_query(table, column, kind, self.dialect == "postgresql")
        params: dict[str, Any] = {"now": now, "lim": limit, "off": 0}
        if kind is not None:
            params["kind"] = kind
        return [(r[0], r[1]) for r in query.rows(self.conn, **params)]

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

    def metrics_at(self, ends_at: dict[str, datetime], window: timedelta, handling: bool = True) -> dict[str, Metrics]:
        """Several shops' metrics, each over (ends_at[shop] - window, ends_at[shop]], at once."""
        return m.metrics_at(self.conn, ends_at, window, handling)

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


REPOSITORIES = tuple(name for name, value in vars(SqlUnitOfWork).items() if isinstance(value, Repo))


@functools.cache
def _due_query(table: Table, column: str, kind: str | None, lock: bool) -> Query:
    """due_ids' statement for one deadline column, compiled once per dialect (rows.Query): a sweep
    scans nine such columns per batch, and building each SELECT anew cost a tenth of a SQLite sweep."""
    col = table.c[column]
    now = bindparam("now", type_=col.type)
    stmt = select(col, table.c.id).where(col.is_not(None), col <= now).order_by(col, table.c.id)
    # both as parameters: SQLite renders LIMIT ? OFFSET ?, and a literal offset would be one more bind
    stmt = stmt.limit(bindparam("lim", type_=Integer)).offset(bindparam("off", type_=Integer))
    if kind is not None:
        pa = ops.parked_actions.c
        stmt = stmt.where(~exists().where(pa.kind == bindparam("kind", type_=pa.kind.type), pa.ident == table.c.id,
                                          pa.next_try_at > now))
    return Query(stmt.with_for_update(skip_locked=True) if lock else stmt)
