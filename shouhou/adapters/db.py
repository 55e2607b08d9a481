"""Engines for SQLite (default, WAL) and PostgreSQL, and schema set-up."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import StaticPool

from .tables import metadata


def make_engine(url: str, pool_size: int | None = None, **kw: Any) -> Engine:
    """An engine on `url`. `pool_size`: the connections kept open (and as many again at a peak, then
    waiting); None keeps SQLAlchemy's 5 + 10, enough for the CLI and the tests. `serve` passes
    SHOUHOU_DB_POOL_SIZE: with more requests in flight than connections kept, the pool opened a
    connection for each extra request and closed it after (a third of a ticket GET's time at 16
    clients, in py-spy, issue 15)."""
    memory = url in ("sqlite://", "sqlite:///:memory:")
    if pool_size is not None and not memory:
        kw = {"pool_size": pool_size, "max_overflow": pool_size, **kw}
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            poolclass=StaticPool if memory else None,
            connect_args={"check_same_thread": False, "timeout": 30},
            **kw,
        )
        _sqlite_transactions(engine, wal=not memory)
        return engine
    engine = create_engine(url, **kw)
    _ping_when_idle(engine)
    return engine


PING_IDLE = 1.0  # seconds: a pooled connection idle longer than this is pinged before it is used again


def _ping_when_idle(engine: Engine, idle: float = PING_IDLE) -> None:
    """PostgreSQL: a connection taken from the pool after more than `idle` seconds in it is pinged
    first, and one that does not answer (the server restarted, a proxy or idle timeout dropped it)
    is replaced before any statement of the unit of work runs, as `pool_pre_ping` does. A connection
    back in the pool less than `idle` ago is used as it is: pre_ping's round trip on every checkout
    was one statement in six of a ticket GET (issue 15). A server that goes away while connections
    are busy fails the statements in flight whatever the pool does; SQLAlchemy then invalidates the
    whole pool, so the next units of work reconnect."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle:
            return  # a new connection, or one in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as e:
            raise DisconnectionError("the pooled connection did not answer its ping") from e
        if not alive:
            raise DisconnectionError("the pooled connection did not answer its ping")


def _sqlite_transactions(engine: Engine, wal: bool) -> None:
    """SQLite: we issue BEGIN ourselves so that a writing unit of work takes the write lock at its
    start (BEGIN IMMEDIATE): read-check-write is then atomic, as SELECT ... FOR UPDATE is on PostgreSQL."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # straight on the driver's connection: through exec_driver_sql this statement cost as much as
        # a ticket GET's three SELECTs together; its errors are wrapped as SQLAlchemy's would be
        statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get("shouhou_write", True) else "BEGIN"
        try:
            conn.connection.dbapi_connection.execute(statement)
        except sqlite3.Error as e:
            raise DBAPIError.instance(statement, (), e, sqlite3.Error) from e


def create_schema(engine: Engine) -> None:
    """Tests and in-memory scenarios: the schema straight from the tables. Files and servers are
    migrated with Alembic (`shouhou db upgrade`)."""
    metadata.create_all(engine)


def drop_schema(engine: Engine) -> None:
    metadata.drop_all(engine)


def migrate(url: str) -> None:
    """Bring the database to the newest Alembic revision."""
    here = Path(__file__).resolve().parent.parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(here))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolates %
    command.upgrade(cfg, "head")
