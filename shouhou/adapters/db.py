"""Engines for SQLite (default, WAL) and PostgreSQL, and schema set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from .tables import metadata


def make_engine(url: str, **kw: Any) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            poolclass=StaticPool if memory else None,
            connect_args={"check_same_thread": False, "timeout": 30},
            **kw,
        )
        _sqlite_transactions(engine, wal=not memory)
        return engine
    return create_engine(url, pool_pre_ping=True, **kw)


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
        write = conn.get_execution_options().get("shouhou_write", True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


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
