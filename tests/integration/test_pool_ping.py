"""PostgreSQL's pool pings a connection only when it has been idle a while (adapters/db.py): a
dropped connection is replaced before a unit of work uses it, and a connection just used costs no
extra round trip."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from shouhou.adapters import db

from ..conftest import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="the ping is PostgreSQL's pool's")


def backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: seen.append(conn) or real(conn))
    return seen


def test_an_idle_connection_dropped_by_the_server_is_replaced_unseen(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(db_url)
    db._ping_when_idle(engine, idle=0.0)  # every connection back in the pool counts as idle
    seen = pings(engine, monkeypatch)
    first = backend(engine)
    admin = create_engine(db_url, poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    try:
        assert backend(engine) != first  # no error: pinged, found dead, replaced
        assert seen
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.make_engine(db_url)
    seen = pings(engine, monkeypatch)
    try:
        assert len({backend(engine) for _ in range(5)}) == 1 and not seen
    finally:
        engine.dispose()
