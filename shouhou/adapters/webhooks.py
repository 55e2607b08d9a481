"""The webhooks' SQL: endpoints, the outbox of deliveries, the attempts' log and the event feed.
Every function runs in the caller's transaction (a unit of work's connection)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, select, text, update

from ..event_types import version_of
from . import tables as t
from . import webhooks_table as wt

E, D, A = wt.webhook_endpoints.c, wt.webhook_deliveries.c, wt.webhook_attempts.c
SEQUENCING_LOCK = 0x5E0B_0001  # PostgreSQL advisory lock: one dispatcher at a time gives feed places


# -- endpoints ------------------------------------------------------------------------------------

def add_endpoint(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(wt.webhook_endpoints).values(**row))


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(t.events.c.id), 0))).scalar_one())


def endpoint(conn: Connection, ident: str, lock: bool = False) -> dict[str, Any] | None:
    stmt = select(wt.webhook_endpoints).where(E.id == ident)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return dict(row._mapping) if row else None


def endpoints(conn: Connection, conds: Sequence[Any], limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    where = and_(*conds) if conds else and_(True)
    rows = conn.execute(select(wt.webhook_endpoints).where(where).order_by(E.created_at, E.id)
                        .limit(limit).offset(offset))
    total = conn.execute(select(func.count()).select_from(wt.webhook_endpoints).where(where)).scalar_one()
    return [dict(r._mapping) for r in rows], int(total)


def change_endpoint(conn: Connection, ident: str, **values: Any) -> None:
    conn.execute(update(wt.webhook_endpoints).where(E.id == ident).values(**values))


def remove_endpoint(conn: Connection, ident: str) -> None:
    """The endpoint and its outbox: what was not delivered will not be."""
    conn.execute(delete(wt.webhook_attempts).where(A.endpoint_id == ident))
    conn.execute(delete(wt.webhook_deliveries).where(D.endpoint_id == ident))
    conn.execute(delete(wt.webhook_endpoints).where(E.id == ident))


# -- the outbox -----------------------------------------------------------------------------------

def take_sequencing_lock(conn: Connection) -> bool:
    """PostgreSQL: one transaction at a time gives events their feed places (so places follow commit
    order); the others skip sequencing this round. SQLite's write lock does the same already."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SEQUENCING_LOCK}).scalar_one())


def unsequenced_events(conn: Connection, limit: int) -> list[dict[str, Any]]:
    ev = t.events.c
    rows = conn.execute(select(t.events).where(ev.feed_seq.is_(None)).order_by(ev.id).limit(limit))
    return [dict(r._mapping) for r in rows]


def last_feed_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(t.events.c.feed_seq), 0))).scalar_one())


def set_feed_seq(conn: Connection, places: list[tuple[int, int]]) -> None:
    """Each event's feed place, in one executemany (psycopg pipelines it) rather than a statement
    built and sent per event: a backlog of thousands (a bulk load) took seconds of CPU per round."""
    if places:
        stmt = update(t.events).where(t.events.c.id == bindparam("event")).values(feed_seq=bindparam("seq"))
        conn.execute(stmt, [{"event": event_id, "seq": seq} for event_id, seq in places])


def enabled_endpoints(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(wt.webhook_endpoints).where(E.enabled.is_(True)))]


def add_deliveries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(wt.webhook_deliveries), rows)


def claim_due(conn: Connection, now: datetime, limit: int, lease: timedelta) -> list[dict[str, Any]]:
    """Up to `limit` pending deliveries due by `now` to enabled endpoints, soonest first, with their
    endpoint's url and secrets; each claimed until now + lease (a dispatcher that dies holding it
    leaves it to be tried again then). On PostgreSQL rows another dispatcher holds are skipped."""
    stmt = (select(D.id, D.endpoint_id, D.message_id, D.body, D.attempts, D.created_at, E.url, E.secret,
                   E.old_secret, E.old_secret_expires_at)
            .select_from(wt.webhook_deliveries.join(wt.webhook_endpoints, E.id == D.endpoint_id))
            .where(D.next_try_at.is_not(None), D.next_try_at <= now, E.enabled.is_(True))
            .order_by(D.next_try_at, D.id).limit(limit))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=wt.webhook_deliveries, skip_locked=True)
    rows = [dict(r._mapping) for r in conn.execute(stmt)]
    if rows:
        conn.execute(update(wt.webhook_deliveries).where(D.id.in_([r["id"] for r in rows]))
                     .values(next_try_at=now + lease))
    return rows


def delivery(conn: Connection, ident: int, lock: bool = False) -> dict[str, Any] | None:
    stmt = select(wt.webhook_deliveries).where(D.id == ident)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return dict(row._mapping) if row else None


def log_attempt(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(wt.webhook_attempts).values(**row))


def change_delivery(conn: Connection, ident: int, **values: Any) -> None:
    conn.execute(update(wt.webhook_deliveries).where(D.id == ident).values(**values))


def redeliver_since(conn: Connection, endpoint_id: str, since: datetime, now: datetime) -> int:
    """Every delivery to the endpoint made since `since`, whatever became of it, due again now."""
    return int(conn.execute(update(wt.webhook_deliveries)
                            .where(D.endpoint_id == endpoint_id, D.created_at >= since)
                            .values(status="pending", next_try_at=now)).rowcount)


def deliveries(conn: Connection, endpoint_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    rows = [dict(r._mapping) for r in conn.execute(
        select(wt.webhook_deliveries).where(D.endpoint_id == endpoint_id).order_by(D.id.desc())
        .limit(limit).offset(offset))]
    total = conn.execute(select(func.count()).select_from(wt.webhook_deliveries)
                         .where(D.endpoint_id == endpoint_id)).scalar_one()
    ids = [r["id"] for r in rows]
    tries: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for a in conn.execute(select(wt.webhook_attempts).where(A.delivery_id.in_(ids)).order_by(A.id)):
            tries[a.delivery_id].append(dict(a._mapping))
    for r in rows:
        r["attempt_log"] = tries[r["id"]]
    return rows, int(total)


# -- the feed -------------------------------------------------------------------------------------

def feed(conn: Connection, after: int, limit: int, shop_id: str | None = None,
         buyer_id: str | None = None) -> list[dict[str, Any]]:
    """Events in feed order after place `after`: all, a shop's, or those of a buyer's orders."""
    ev = t.events.c
    stmt = select(t.events).where(ev.feed_seq.is_not(None), ev.feed_seq > after)
    if shop_id is not None:
        stmt = stmt.where(ev.shop_id == shop_id)
    if buyer_id is not None:
        stmt = stmt.where(ev.order_id.in_(select(t.orders.c.id).where(t.orders.c.buyer_id == buyer_id)))
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(ev.feed_seq).limit(limit))]


def message_of(ev: dict[str, Any]) -> dict[str, Any]:
    """An event as it leaves the service (the Standard Webhooks shape), in a webhook and in the feed:
    its id is the `webhook-id`, the same for every try and every endpoint."""
    return {"id": f"msg_{ev['id']}", "type": ev["type"], "version": version_of(ev["type"]),
            "timestamp": ev["at"].isoformat(), "data": {
        "shop": ev["shop_id"], "order": ev["order_id"], "ticket": ev["ticket_id"], "rule": ev["rule"],
        "actor": ev["actor"], "from_status": ev["from_status"], "to_status": ev["to_status"],
        "payload": ev["payload"]}}


# -- DY-OP-10's pushes: the site message is the push's outbox row ----------------------------------

M = t.site_messages.c


def claim_pushes(conn: Connection, now: datetime, limit: int, lease: timedelta) -> list[dict[str, Any]]:
    """Up to `limit` site messages whose push is due, soonest first, each claimed until now + lease."""
    stmt = (select(M.id, M.buyer_id, M.order_id, M.title_zh, M.body_zh, M.push_attempts)
            .where(M.push_next_at.is_not(None), M.push_next_at <= now, M.push_status == "pending")
            .order_by(M.push_next_at, M.id).limit(limit))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = [dict(r._mapping) for r in conn.execute(stmt)]
    if rows:
        conn.execute(update(t.site_messages).where(M.id.in_([r["id"] for r in rows])).values(push_next_at=now + lease))
    return rows


def push_state(conn: Connection, ident: str) -> dict[str, Any] | None:
    stmt = select(M.id, M.push_status, M.push_attempts).where(M.id == ident)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return dict(row._mapping) if row else None


def change_push(conn: Connection, ident: str, **values: Any) -> None:
    conn.execute(update(t.site_messages).where(M.id == ident).values(**values))


# -- housekeeping ---------------------------------------------------------------------------------

def prune_deliveries(conn: Connection, before: datetime, limit: int) -> int:
    """Remove up to `limit` deliveries made before `before` that are settled (delivered or failed),
    with their attempts; how many deliveries went."""
    ids = list(conn.execute(select(D.id).where(D.next_try_at.is_(None), D.created_at < before)
                            .order_by(D.id).limit(limit)).scalars())
    if ids:
        conn.execute(delete(wt.webhook_attempts).where(A.delivery_id.in_(ids)))
        conn.execute(delete(wt.webhook_deliveries).where(D.id.in_(ids)))
    return len(ids)
