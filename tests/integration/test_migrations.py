"""Alembic owns the schema: migrating a fresh database to head must give exactly the tables of
shouhou/adapters/tables.py. A change to tables.py without a migration fails here.

Runs on a fresh SQLite file always, and on a fresh PostgreSQL database (`shouhou_migrate_test`,
created and dropped here) when SHOUHOU_TEST_DATABASE_URL names a PostgreSQL server."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, String, create_engine, inspect, make_url, text
from sqlalchemy.pool import NullPool

import shouhou
from shouhou.adapters.db import migrate
from shouhou.adapters.tables import metadata

from ..conftest import worker_name

MIGRATE_DB = worker_name("shouhou_migrate_test")  # each xdist worker its own


def _postgres_server_url() -> str | None:
    url = os.environ.get("SHOUHOU_TEST_DATABASE_URL") or ""
    return url if url.startswith("postgresql") else None


def _fresh_postgres() -> Iterator[str]:
    server = _postgres_server_url()
    if server is None:
        pytest.skip("SHOUHOU_TEST_DATABASE_URL does not name a PostgreSQL server")
    base = make_url(server)
    admin = create_engine(base.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{MIGRATE_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{MIGRATE_DB}"'))
    except Exception as e:  # noqa: BLE001 - any connection failure
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {base.render_as_string()} is unreachable under CI=true: {e}")
        pytest.skip(f"PostgreSQL is unreachable: {e}")
    try:
        yield base.set(database=MIGRATE_DB).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{MIGRATE_DB}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One fresh database per backend for this module (migrating is the slow part)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('migrate') / 'migrate.db'}"
    else:
        yield from _fresh_postgres()


@pytest.fixture(scope="module")
def migrated(fresh_url: str) -> Iterator[Engine]:
    migrate(fresh_url)
    engine = create_engine(fresh_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def _default_text(value: str | None) -> str | None:
    """'{}'::json, ('0'), 0 -> {} and 0."""
    if value is None:
        return None
    text_ = value.strip()
    while text_.startswith("(") and text_.endswith(")"):
        text_ = text_[1:-1].strip()
    return re.sub(r"::[\w ]+$", "", text_).strip("'")


def _different_default(_ctx: Any, _col: Any, _meta_col: Any, inspected: str | None, _meta: Any,
                       rendered: str | None) -> bool:
    # As text: PostgreSQL cannot compare JSON defaults with `=`, which alembic's own check does.
    return _default_text(inspected) != _default_text(rendered)


def _diff(engine: Engine, target: MetaData) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "compare_server_default": _different_default})
        return list(compare_metadata(ctx, target))


def test_migrations_build_exactly_the_schema_of_tables_py(migrated: Engine) -> None:
    assert _diff(migrated, metadata) == []


def _config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(shouhou.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def test_migrated_database_is_at_the_single_head(migrated: Engine, fresh_url: str) -> None:
    heads = ScriptDirectory.from_config(_config(fresh_url)).get_heads()
    assert len(heads) == 1, f"the migrations branch: heads {heads}; merge them (alembic merge)"
    with migrated.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == heads[0]


def _partial_indexes() -> dict[tuple[str, str], str]:
    """(table, index) -> its WHERE clause, for every partial index declared in tables.py."""
    out = {}
    for table in metadata.sorted_tables:
        for index in table.indexes:
            where = index.dialect_options["postgresql"].get("where")
            if where is None:
                where = index.dialect_options["sqlite"].get("where")
            if where is not None:
                out[(table.name, str(index.name))] = str(where)
    return out


def _sql(where: str) -> str:
    """A WHERE clause without the casts, parentheses and spaces PostgreSQL adds when it stores it."""
    return re.sub(r"::\w+|[()\s]", "", where).lower()


def test_partial_indexes_keep_their_where_clause(migrated: Engine) -> None:
    """The worker's sweeps read only rows with a pending action through partial indexes.
    compare_metadata does not look at an index's WHERE clause, so this checks it directly."""
    declared = _partial_indexes()
    assert ("tickets", "ix_tickets_due") in declared
    insp = inspect(migrated)
    for (table, name), where in declared.items():
        index = next(ix for ix in insp.get_indexes(table) if ix["name"] == name)
        found = [str(v) for k, v in index.get("dialect_options", {}).items() if k.endswith("_where")]
        assert found, f"{name} is not partial: it lost WHERE {where}"
        assert _sql(where) == _sql(found[0]), f"{name}: WHERE {found[0]}, declared {where}"


def test_upgrading_again_changes_nothing(migrated: Engine, fresh_url: str) -> None:
    migrate(fresh_url)
    assert _diff(migrated, metadata) == []


def test_a_schema_change_without_a_migration_is_caught(migrated: Engine) -> None:
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["tickets"].append_column(Column("new_column", String(10)))
    assert any(d[0] == "add_column" for d in _diff(migrated, changed) if isinstance(d, tuple))


def test_downgrade_to_base_removes_every_table(migrated: Engine, fresh_url: str) -> None:
    command.downgrade(_config(fresh_url), "base")
    try:
        assert set(inspect(migrated).get_table_names()) <= {"alembic_version"}
    finally:
        migrate(fresh_url)  # back to head for the other tests of the module
    assert _diff(migrated, metadata) == []
