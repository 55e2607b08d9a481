"""The deadline worker's sweep: every automatic action fires exactly once, at its due time, in the
same transaction as its state change.

Each kind of deadline is a stored, indexed column (DEADLINES below) and a fire function in its
business area. Due rows are found through partial indexes (only rows with a pending action are in
them), so a sweep costs in proportion to what is due, not to all tickets. On PostgreSQL the rows are
claimed with FOR UPDATE SKIP LOCKED, so several workers share the work; on SQLite the unit of work
holds the write lock from its first statement. A worker that dies mid-batch rolls back the whole
batch; the next sweep fires it again, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table

from ..adapters import tables as t
from ..adapters.uow import SqlUnitOfWork
from ..domain.events import Event
from . import disputes, entry, governance, money, orders, tickets
from .context import Context, Fired

Fire = Callable[[SqlUnitOfWork, Context, str], Fired | None]


@dataclass(frozen=True)
class Deadline:
    kind: str
    table: Table
    column: str
    fire: Fire


DEADLINES: tuple[Deadline, ...] = (
    Deadline("ticket", t.tickets, "due_at", tickets.fire_ticket_deadline),
    Deadline("order", t.orders, "due_at", orders.fire_order_deadline),
    Deadline("entry", t.orders, "entry_closes_at", entry.close_entry_when_due),
    Deadline("clawback", t.clawbacks, "due_at", money.retry_clawback),
    Deadline("intervention", t.interventions, "due_at", disputes.fire_case_deadline),
    Deadline("appeal", t.appeals, "due_at", disputes.fire_appeal_deadline),
    # KS-GOV-3: the daily evaluation and the ends of measures
    Deadline("governance", t.shops, "governance_due_at", governance.evaluate_when_due),
)


def fire_batch(uow: SqlUnitOfWork, ctx: Context, limit: int) -> int:
    """Fire up to `limit` actions due by ctx.now, soonest first, each at its own due time. The caller
    commits."""
    kinds = {d.kind: d for d in DEADLINES}
    due: list[tuple[datetime, str, str]] = []
    for d in DEADLINES:
        due += [(at, d.kind, ident) for at, ident in uow.due_ids(d.table, ctx.now, limit, column=d.column)]
    due.sort()
    fired = 0
    batch = due[:limit]
    _prefetch(uow, [ident for _at, kind, ident in batch if kind == "ticket"])
    for i, (_at, kind, ident) in enumerate(batch):
        if kind == "governance" and fired:
            break  # what fired before reacts at commit (overdue records): evaluate after it, next batch
        done = kinds[kind].fire(uow, ctx, ident)
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
    uow.shops.get_many({x.shop_id for x in loaded})


def sweep(uow_factory: Callable[[], SqlUnitOfWork], ctx: Context, batch: int = 200,
          on_commit: Callable[[list[Event]], None] | None = None) -> int:
    """Fire everything due at or before ctx.now, batch by batch (one transaction each), including
    actions that firing makes due. Returns how many fired."""
    total = 0
    while True:
        with uow_factory() as uow:
            fired = fire_batch(uow, ctx, batch)
            events = uow.commit()
        if on_commit and events:
            on_commit(events)
        total += fired
        if fired == 0:
            return total
