"""Statements run straight on the driver (rows.Query, rows.UpdateMany). A flush's changed rows go
out through rows.UpdateMany: one executemany on the driver's cursor per set of changed columns, each
value through its column type (an instant stored as UTC and read back the same; JSON and booleans as
the dialect wants them). A refusal by the database, from either, is raised as SQLAlchemy's own error,
which the services catch, and nothing of a refused batch is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from shouhou.adapters import tables as t
from shouhou.adapters.rows import by_column, update_many
from shouhou.adapters.uow import SqlUnitOfWork
from shouhou.clock import VirtualClock
from shouhou.domain.shops import Shop

from ..conftest import START


def _shops(engine: Engine, clock: VirtualClock, n: int) -> None:
    with SqlUnitOfWork(engine, clock) as uow:
        for i in range(n):
            uow.shops.add(Shop(id=f"S{i}", name=f"店 {i}", policy="kuaishou", status="normal", wallet_fen=100,
                               deposit_fen=0, wallet_opened_at=START, created_at=START))
        uow.commit()


def test_many_rows_change_through_their_column_types(engine: Engine, clock: VirtualClock) -> None:
    _shops(engine, clock, 3)
    later = START + timedelta(days=1, minutes=7)
    with engine.begin() as conn:
        update_many(t.shops, ("name", "wallet_opened_at")).run(conn, [
            {"k_id": "S0", "v_name": "甲", "v_wallet_opened_at": later},
            {"k_id": "S2", "v_name": "丙", "v_wallet_opened_at": later + timedelta(hours=1)},
        ])
    with SqlUnitOfWork(engine, clock, write=False) as uow:
        got = {i: (s.name, s.wallet_opened_at) for i in ("S0", "S1", "S2") if (s := uow.shops.get(i))}
    assert got == {"S0": ("甲", later), "S1": ("店 1", START), "S2": ("丙", later + timedelta(hours=1))}
    with engine.connect() as conn:  # stored as the ORM-free path stores it: on SQLite, naive UTC text alike
        stored = dict(conn.exec_driver_sql("SELECT id, wallet_opened_at FROM shops").all())
    if engine.dialect.name == "sqlite":
        assert stored["S0"] == "2026-03-03 01:07:00.000000" and stored["S1"] == "2026-03-02 01:00:00.000000"


def test_a_refused_row_raises_sqlalchemys_error_and_the_transaction_writes_nothing(
    engine: Engine, clock: VirtualClock,
) -> None:
    _shops(engine, clock, 2)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        update_many(t.shops, ("name",)).run(conn, [{"k_id": "S0", "v_name": "甲"}, {"k_id": "S1", "v_name": None}])
    with engine.connect() as conn:
        assert conn.execute(select(t.shops.c.name).order_by(t.shops.c.id)).scalars().all() == ["店 0", "店 1"]


def test_a_query_the_driver_refuses_raises_sqlalchemys_error(engine: Engine) -> None:
    """rows.Query (the hot reads, the due scans) raises as conn.execute would: the services catch
    SQLAlchemy's DataError and OperationalError, never a driver's own exception."""
    with engine.connect() as conn, pytest.raises(DBAPIError):
        by_column(t.shops, "id").rows(conn, value=object())  # no driver can bind it
