"""SQLite's transactions begin on the driver's connection (adapters/db.py): a writing unit of work
takes the write lock at BEGIN IMMEDIATE, a reading one does not, and a refusal at BEGIN reaches the
services as SQLAlchemy's OperationalError (what they catch to answer 503 or retry), not as the
driver's own exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shouhou.adapters.db import make_engine


def test_begin_takes_the_write_lock_only_for_writers_and_a_refusal_is_sqlalchemys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    first, second = make_engine(url), make_engine(url)
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = first.connect().execution_options(shouhou_write=True)
    holder.begin()  # BEGIN IMMEDIATE: the write lock, held until the rollback below
    other = second.connect()
    other.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
    reader = other.execution_options(shouhou_write=False)
    with reader.begin():  # a plain BEGIN: reading beside the writer is allowed
        assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    with pytest.raises(OperationalError, match="locked"):
        other.execution_options(shouhou_write=True).begin()
    holder.rollback()
    holder.close()
    with other.execution_options(shouhou_write=True).begin():  # the lock is free again
        other.execute(text("INSERT INTO t VALUES (1)"))
    other.close()
    first.dispose()
    second.dispose()
