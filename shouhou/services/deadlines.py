"""The deadline worker's sweep: every automatic action fires exactly once, at its due time, in the
same transaction as its state change.

Each kind of deadline is a stored, indexed column (DEADLINES below) and a fire function in its
business area. Due rows are found through partial indexes (only rows with a pending action are in
them), so a sweep costs in proportion to what is due, not to all tickets. On PostgreSQL the rows are
claimed with FOR UPDATE SKIP LOCKED, so several workers share the work; on SQLite the unit of work
holds the write lock from its first statement. A worker that dies mid-batch rolls back the whole
batch; the next sweep fires it again, once.

A row whose action raises (a ticket whose policy pack is no longer loaded, a bug) never stops the
sweep: the batch is replayed row by row, the row that raises is parked (operations.parked_actions,
with the error, for the operator: `shouhou worker parked`, GET /v1/platform/parked) and tried again
with backoff; everything behind it fires on time. A database that cannot be reached is not a bad
row: that error goes up to the worker, which retries the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table
from sqlalchemy.exc import InterfaceError, OperationalError

from ..adapters import operations as ops
from ..adapters.uow import SqlUnitOfWork
from ..domain.events import Event
from ..errors import describe
from . import disputes, entry, freight, governance, money, orders, tickets
from .context import RETRYABLE, Context, Fired, backoff

Fire = Callable[[SqlUnitOfWork, Context, str], Fired | None]


@dataclass(frozen=True)
class Deadline:
    kind: str
    table: Table
    column: str
    fire: Fire


FIRE: dict[str, Fire] = {
    "ticket": tickets.fire_ticket_deadline,
    "order": orders.fire_order_deadline,
    "entry": entry.close_entry_when_due,
    "clawback": money.retry_clawback,
    "intervention": disputes.fire_case_deadline,
    "appeal": disputes.fire_appeal_deadline,
    "governance": governance.evaluate_when_due,  # KS-GOV-3: the daily evaluation and the ends of measures
    "freight": freight.fire_freight_deadline,  # GEN-FREIGHT-1: approved when nobody decided in time
}
DEADLINES: tuple[Deadline, ...] = tuple(Deadline(kind, table, column, FIRE[kind])
                                        for kind, table, column in ops.DUE_COLUMNS)


log = logging.getLogger("shouhou.deadlines")
# not a bad row but a database that is away or a race it resolved by aborting: retried whole
UNAVAILABLE = (OperationalError, InterfaceError)


def fire_batch(uow: SqlUnitOfWork, ctx: Context, limit: int, trace: list[tuple[str, str]] | None = None) -> int:
    """Fire up to `limit` actions due by ctx.now, soonest first, each at its own due time. The caller
    commits. Each action is appended to `trace` before it fires (so a failure names its row)."""
    kinds = {d.kind: d for d in DEADLINES}
    due: list[tuple[datetime, str, str]] = []
    for d in DEADLINES:
        due += [(at, d.kind, ident) for at, ident in uow.due_ids(d.table, ctx.now, limit, column=d.column, kind=d.kind)]
    due.sort()
    fired = 0
    batch = due[:limit]
    retried = uow.parked_due(ctx.now)
    _prefetch(uow, [ident for _at, kind, ident in batch if kind == "ticket"])
    for i, (_at, kind, ident) in enumerate(batch):
        if kind == "governance" and fired:
            break  # what fired before reacts at commit (overdue records): evaluate after it, next batch
        if trace is not None:
            trace.append((kind, ident))
        done = kinds[kind].fire(uow, ctx, ident)
        if (kind, ident) in retried:
            uow.unpark([(kind, ident)])  # it went through this time (or had nothing left to do)
        if done is None:
            continue
        fired += 1
        # Firing may have set a new action due before the rest of this batch: stop here so the
        # next batch takes everything in due-time order.
        if i + 1 < len(batch):
            upcoming = batch[i + 1][0]
            if any(at is not None and at < upcoming for at in done.next_due):
                break
    return fired


def _prefetch(uow: SqlUnitOfWork, ticket_ids: list[str]) -> None:
    """The batch's tickets, their orders and shops, three statements in all instead of three per
    ticket; the ticket's fire function then reads them from the unit of work (re-checking each is
    still due)."""
    if not ticket_ids:
        return
    uow.tickets.get_many(ticket_ids, lock=True)
    found = [uow.tickets.get(i) for i in ticket_ids]
    loaded = [x for x in found if x is not None]
    uow.orders.get_many([x.order_id for x in loaded], lock=True)
    # the shops too, in id order, before anything is written: two sweepers whose batches share shops
    # then queue on the first shop instead of deadlocking on the shops' governance counter rows
    uow.shops.get_many({x.shop_id for x in loaded}, lock=True)


Publish = Callable[[list[Event]], None]


def sweep_batch(uow_factory: Callable[[], SqlUnitOfWork], ctx: Context, batch: int,
                on_commit: Publish | None = None) -> int:
    """One batch of due actions in one transaction; returns how many fired. A batch that raises is
    replayed row by row and the row that raises is parked, so one bad row costs one row. A batch that
    loses a race the database resolved by aborting it (a deadlock, a serialization failure) is run
    again, twice at most."""
    for attempt in range(3):
        try:
            with uow_factory() as uow:
                fired = fire_batch(uow, ctx, batch)
                events = uow.commit()
            break
        except UNAVAILABLE as e:
            if attempt == 2 or getattr(e.orig, "sqlstate", None) not in RETRYABLE:
                raise
            log.info("batch aborted by the database (%s), running it again", getattr(e.orig, "sqlstate", None))
        except Exception:  # noqa: BLE001 - a bad row: find it and park it
            return _row_by_row(uow_factory, ctx, batch, on_commit)
    if on_commit and events:
        on_commit(events)
    return fired


def _row_by_row(uow_factory: Callable[[], SqlUnitOfWork], ctx: Context, batch: int,
                on_commit: Publish | None) -> int:
    fired = 0
    for _ in range(batch):
        trace: list[tuple[str, str]] = []
        try:
            with uow_factory() as uow:
                n = fire_batch(uow, ctx, 1, trace)
                events = uow.commit()
        except UNAVAILABLE:
            raise
        except Exception as exc:  # noqa: BLE001
            if not trace:
                raise  # nothing was firing: not a row's fault
            kind, ident = trace[-1]
            error = describe(exc)
            with uow_factory() as uow:
                retry_at = uow.park(kind, ident, error, ctx.now, backoff)
                uow.commit()
            log.error("parked %s %s until %s: %s", kind, ident, retry_at.isoformat(), error)
            continue
        if on_commit and events:
            on_commit(events)
        if n == 0 and not trace:
            break
        fired += n
    return fired
