"""What an operator reads: the workers' heartbeats, how much is due now, the parked actions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ...adapters import operations as ops
from ...adapters import tables as t
from ...adapters import webhooks_table as wt
from ...adapters.uow import SqlUnitOfWork
from ...domain import roles
from ...domain.actors import Actor
from .common import iso


def health(uow: SqlUnitOfWork, now: datetime) -> dict[str, Any]:
    """/healthz: the database answers; when each worker last swept and how long ago; what is due now
    (parked actions included) and how many are parked; refunds waiting for the channel."""
    hb = ops.worker_heartbeats.c
    workers = [{"worker": r.worker, "last_sweep_at": iso(r.last_sweep_at),
                "seconds_ago": round((now - r.last_sweep_at).total_seconds(), 3), "last_fired": r.last_fired,
                "fired_total": r.fired_total}
               for r in uow.conn.execute(select(ops.worker_heartbeats).order_by(hb.last_sweep_at.desc()).limit(20))]
    due = uow.due_counts(now)
    pay = t.payouts.c
    payouts = uow.conn.execute(select(func.count()).select_from(t.payouts)
                               .where(pay.status == "pending", pay.due_at <= now)).scalar_one()
    parked = uow.conn.execute(select(func.count()).select_from(ops.parked_actions)).scalar_one()
    return {"status": "ok", "now": iso(now), "last_sweep_at": workers[0]["last_sweep_at"] if workers else None,
            "workers": workers, "due": sum(due.values()), "due_by_kind": due, "payouts_due": int(payouts),
            "parked": int(parked)}


OVERDUE_AFTER = timedelta(minutes=1)  # a deadline still unfired this long after its time: the workers are behind


def gauges(uow: SqlUnitOfWork, actor: Actor, now: datetime) -> dict[str, Any]:
    """What /metrics computes at each scrape, from the due indexes (each count walks only the rows
    already due, through the partial index of its column): per kind of deadline, how many are due
    now, how many are overdue (due more than OVERDUE_AFTER ago) and how late the oldest is; the
    parked actions by kind; refunds and webhook deliveries due. Platform operators and the platform's
    own systems (read_metrics)."""
    roles.require_act(actor, "read_metrics")
    late = now - OVERDUE_AFTER
    due: dict[str, tuple[int, int, float]] = {}
    for kind, table, column in (*ops.DUE_COLUMNS, ("payout", t.payouts, "due_at"),
                                ("webhook", wt.webhook_deliveries, "next_try_at")):
        col = table.c[column]
        row = uow.conn.execute(select(func.count(), func.count().filter(col <= late), func.min(col))
                               .select_from(table).where(col.is_not(None), col <= now)).one()
        oldest = row[2]
        if oldest is not None and oldest.tzinfo is None:  # a raw aggregate on SQLite bypasses the column type
            oldest = t.Instant().process_result_value(oldest, uow.conn.dialect)
        if isinstance(oldest, str):
            oldest = t.Instant().process_result_value(datetime.fromisoformat(oldest), uow.conn.dialect)
        due[kind] = (int(row[0]), int(row[1]), max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
    pa = ops.parked_actions.c
    parked = {kind: int(n) for kind, n in uow.conn.execute(select(pa.kind, func.count()).group_by(pa.kind))}
    return {"due": due, "parked": parked}


def list_parked(uow: SqlUnitOfWork, actor: Actor, limit: int, offset: int) -> dict[str, Any]:
    """Automatic actions that raised and wait for their next try, oldest failure first."""
    roles.require_act(actor, "operate_workers")
    pa = ops.parked_actions.c
    rows = uow.conn.execute(select(ops.parked_actions).order_by(pa.first_failed_at, pa.kind, pa.ident)
                            .limit(limit).offset(offset)).all()
    total = uow.conn.execute(select(func.count()).select_from(ops.parked_actions)).scalar_one()
    return {"items": [{"kind": r.kind, "id": r.ident, "error": r.error, "attempts": r.attempts,
                       "first_failed_at": iso(r.first_failed_at), "last_failed_at": iso(r.last_failed_at),
                       "next_try_at": iso(r.next_try_at)} for r in rows],
            "total": int(total), "limit": limit, "offset": offset}


def packs_in_use(uow: SqlUnitOfWork) -> set[str]:
    """The policy packs that shops, open tickets and open orders depend on: each must be loaded for
    the worker to act on them."""
    tk, o = t.tickets.c, t.orders.c
    names = set(uow.conn.execute(select(t.shops.c.policy).distinct()).scalars())
    names |= set(uow.conn.execute(select(tk.policy).distinct().where(tk.ended_at.is_(None))).scalars())
    names |= set(uow.conn.execute(select(o.policy).distinct().where(o.status.not_in(("completed", "closed"))))
                 .scalars())
    pay = t.payouts.c  # refunds still on their way to a buyer need their ticket's pack too
    names |= set(uow.conn.execute(select(tk.policy).distinct().select_from(t.payouts.join(t.tickets, pay.ticket_id == tk.id))
                                  .where(pay.status == "pending")).scalars())
    return names
