"""Bearer tokens as operators see them: who holds each, since when, until when, revoked or not. Never
the token or its hash. Listing them is the `manage_tokens` act of domain.roles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, not_, or_, select

from ...adapters import tables as t
from ...adapters.uow import SqlUnitOfWork
from ...domain import roles
from ...domain.actors import Actor
from ...errors import not_found
from .common import iso

COLUMNS = (t.tokens.c.id, t.tokens.c.kind, t.tokens.c.actor_id, t.tokens.c.role, t.tokens.c.label,
           t.tokens.c.created_at, t.tokens.c.expires_at, t.tokens.c.revoked_at)


def _active(now: datetime) -> Any:
    c = t.tokens.c
    return and_(c.revoked_at.is_(None), or_(c.expires_at.is_(None), c.expires_at > now))


def status(row: Any, now: datetime) -> str:
    """active, expired or revoked (a revoked token reads revoked even once past its expiry)."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def _item(row: Any, now: datetime) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "actor": row.actor_id, "role": row.role, "label": row.label,
            "created_at": iso(row.created_at), "expires_at": iso(row.expires_at),
            "revoked_at": iso(row.revoked_at), "status": status(row, now)}


def list_tokens(uow: SqlUnitOfWork, actor: Actor, now: datetime, kind: str | None = None,
                holder: str | None = None, active: bool | None = None, limit: int = 50,
                offset: int = 0) -> dict[str, Any]:
    """Newest first. `holder`: the buyer's, staff member's or platform staff's id; `active`: only the
    tokens that work at `now` (True) or only those that no longer do (False)."""
    roles.require_act(actor, "manage_tokens")
    conds: list[Any] = []
    if kind is not None:
        conds.append(t.tokens.c.kind == kind)
    if holder is not None:
        conds.append(t.tokens.c.actor_id == holder)
    if active is not None:
        conds.append(_active(now) if active else not_(_active(now)))
    total = uow.conn.execute(select(func.count()).select_from(t.tokens).where(*conds)).scalar_one()
    rows = uow.conn.execute(select(*COLUMNS).where(*conds)
                            .order_by(t.tokens.c.created_at.desc(), t.tokens.c.id).limit(limit).offset(offset))
    return {"items": [_item(r, now) for r in rows], "total": int(total), "limit": limit, "offset": offset}


def get_token(uow: SqlUnitOfWork, actor: Actor, token_id: str, now: datetime) -> dict[str, Any]:
    roles.require_act(actor, "manage_tokens")
    row = uow.conn.execute(select(*COLUMNS).where(t.tokens.c.id == token_id)).first()
    if row is None:
        raise not_found("token", token_id)
    return _item(row, now)
