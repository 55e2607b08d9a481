"""The deadline worker's sweep: every automatic action fires exactly once, at its due time, in the
same transaction as its state change.

Due rows are found through partial indexes on `due_at` (only rows with a pending action are in
them), so a sweep costs in proportion to what is due, not to all tickets. On PostgreSQL the rows are
claimed with FOR UPDATE SKIP LOCKED, so several workers share the work; on SQLite the unit of work
holds the write lock from its first statement. A worker that dies mid-batch rolls back the whole
batch; the next sweep fires it again, once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..adapters import tables as t
from ..adapters.uow import SqlUnitOfWork
from ..domain import aftersales, disputes, entry
from ..domain.events import Event
from ..policies import PolicyRegistry
from . import governance, money


def fire_batch(uow: SqlUnitOfWork, policies: PolicyRegistry, now: datetime, limit: int) -> int:
    """Fire up to `limit` due actions, soonest first, each at its own due time. The caller commits."""
    due: list[tuple[datetime, str, str]] = []
    due += [(at, "ticket", i) for at, i in uow.due_ids(t.tickets, now, limit)]
    due += [(at, "order", i) for at, i in uow.due_ids(t.orders, now, limit)]
    due += [(at, "entry", i) for at, i in uow.due_ids(t.orders, now, limit, column="entry_closes_at")]
    due += [(at, "clawback", i) for at, i in uow.due_ids(t.clawbacks, now, limit)]
    due += [(at, "intervention", i) for at, i in uow.due_ids(t.interventions, now, limit)]
    due += [(at, "appeal", i) for at, i in uow.due_ids(t.appeals, now, limit)]
    due += [(at, "governance", i) for at, i in uow.due_ids(t.shops, now, limit, column="governance_due_at")]
    due.sort()
    fired = 0
    batch = due[:limit]
    _prefetch(uow, [ident for _at, kind, ident in batch if kind == "ticket"])
    for i, (_at, kind, ident) in enumerate(batch):
        if kind == "ticket":
            touched = _fire_ticket(uow, policies, ident, now)
        elif kind == "order":
            touched = _fire_order(uow, policies, ident, now)
        elif kind == "entry":
            touched = _close_entry(uow, ident, now)
        elif kind == "clawback":
            touched = money.retry_clawback(uow, policies, ident, now)
        elif kind == "intervention":
            touched = _fire_intervention(uow, policies, ident, now)
        elif kind == "governance":
            if fired:
                break  # what fired before reacts at commit (overdue records): evaluate after it, next batch
            touched = governance.fire(uow, policies, ident, now)  # KS-GOV-3: daily, and measures' ends
        else:
            touched = _fire_appeal(uow, ident, now)
        if not touched:
            continue
        fired += 1
        # Firing may have set a new action due before the rest of this batch: stop here so the
        # next batch takes everything in due-time order.
        if i + 1 < len(batch):
            upcoming = batch[i + 1][0]
            if any(a.due_at is not None and a.due_at < upcoming for a in touched):
                break
    return fired


def _prefetch(uow: SqlUnitOfWork, ticket_ids: list[str]) -> None:
    """The batch's tickets, their orders and shops, three statements in all instead of three per
    ticket; `_fire_ticket` then reads them from the unit of work (re-checking each is still due)."""
    if not ticket_ids:
        return
    uow.tickets.get_many(ticket_ids, lock=True)
    tickets = [uow.tickets.get(i) for i in ticket_ids]
    uow.orders.get_many([x.order_id for x in tickets if x is not None], lock=True)
    uow.shops.get_many({x.shop_id for x in tickets if x is not None})


def _fire_ticket(uow: SqlUnitOfWork, policies: PolicyRegistry, ticket_id: str, now: datetime) -> list[Any]:
    ticket = uow.tickets.get(ticket_id, lock=True)
    if ticket is None or not ticket.is_due(now):  # fired meanwhile by another worker
        return []
    order = uow.orders.get(ticket.order_id, lock=True)
    shop = uow.shops.get(ticket.shop_id)
    assert order is not None and shop is not None and ticket.due_at is not None
    pv = policies.resolve(ticket.policy, ticket.policy_version)
    aftersales.fire(ticket, order, pv, ticket.due_at, shop.return_address)
    return [ticket, order]


def _fire_order(uow: SqlUnitOfWork, policies: PolicyRegistry, order_id: str, now: datetime) -> list[Any]:
    order = uow.orders.get(order_id, lock=True)
    if order is None or order.due_at is None or order.due_at > now:
        return []
    pv = policies.resolve(order.policy, order.policy_version)
    order.fire(order.due_at, pv)
    return [order]


def _close_entry(uow: SqlUnitOfWork, order_id: str, now: datetime) -> list[Any]:
    order = uow.orders.get(order_id, lock=True)
    if order is None or order.entry_closes_at is None or order.entry_closes_at > now:
        return []
    entry.close_entry(order, order.entry_closes_at)
    return [order]


def _fire_intervention(uow: SqlUnitOfWork, policies: PolicyRegistry, case_id: str, now: datetime) -> list[Any]:
    case = uow.interventions.get(case_id, lock=True)
    if case is None or case.due_at is None or case.due_at > now:
        return []
    ticket = uow.tickets.get(case.ticket_id, lock=True)
    order = uow.orders.get(case.order_id, lock=True)
    shop = uow.shops.get(case.shop_id)
    assert ticket is not None and order is not None and shop is not None
    pv = policies.resolve(ticket.policy, ticket.policy_version)
    disputes.fire(case, ticket, order, pv, case.due_at, shop.return_address)
    return [case, ticket, order]


def _fire_appeal(uow: SqlUnitOfWork, appeal_id: str, now: datetime) -> list[Any]:
    appeal = uow.appeals.get(appeal_id, lock=True)
    if appeal is None or appeal.due_at is None or appeal.due_at > now:
        return []
    ticket = uow.tickets.get(appeal.ticket_id, lock=True)
    assert ticket is not None
    disputes.fire_appeal(appeal, ticket, appeal.due_at)
    return [appeal]


def sweep(
    uow_factory: Callable[[], SqlUnitOfWork], policies: PolicyRegistry, now: datetime, batch: int = 200,
    on_commit: Callable[[list[Event]], None] | None = None,
) -> int:
    """Fire everything due at or before `now`, batch by batch (one transaction each), including
    actions that firing makes due. Returns how many fired."""
    total = 0
    while True:
        with uow_factory() as uow:
            fired = fire_batch(uow, policies, now, batch)
            events = uow.commit()
        if on_commit and events:
            on_commit(events)
        total += fired
        if fired == 0:
            return total
