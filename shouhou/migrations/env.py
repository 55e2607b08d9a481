"""Alembic environment for shouhou. `shouhou.adapters.db.migrate(url)` (and `shouhou db upgrade`)
run it with `script_location` = this folder and `sqlalchemy.url` set; no alembic.ini is needed.

Works with SQLite files and PostgreSQL URLs. On PostgreSQL the whole upgrade runs in one transaction
under an advisory lock, so several processes starting at once (`shouhou serve` on two hosts) migrate
one after the other instead of racing.
"""

from __future__ import annotations

import re
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from shouhou.adapters.tables import Covers, Instant, OrderLines, metadata

config = context.config
if config.config_file_name is not None:  # only when run with an alembic.ini of one's own
    fileConfig(config.config_file_name)

target_metadata = metadata

# Any fixed number: the key of the advisory lock that serialises migrations on PostgreSQL.
MIGRATION_LOCK = 0x5348_4F55  # "SHOU"


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set sqlalchemy.url (shouhou.adapters.db.migrate does)")
    return url


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate (`shouhou db revision`): a migration never imports application code, so the
    Instant and JSON-backed column types are written as what they are in the database."""
    if type_ == "type" and isinstance(obj, Instant):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, (OrderLines, Covers)):
        return "sa.JSON()"
    return False


def _default_text(value: str | None) -> str | None:
    """'{}'::json, ('0'), 0 -> {} and 0: a server default as written, without casts and quotes."""
    if value is None:
        return None
    text_ = value.strip()
    while text_.startswith("(") and text_.endswith(")"):
        text_ = text_[1:-1].strip()
    text_ = re.sub(r"::[\w ]+$", "", text_)
    return text_.strip("'")


def _compare_server_default(_ctx: Any, _inspected_column: Any, _metadata_column: Any, inspected: str | None,
                            _metadata_default: Any, rendered: str | None) -> bool:
    """True when the database's server default differs from tables.py's. Compared as text, because
    PostgreSQL cannot compare two JSON values with `=` (alembic's default check does that)."""
    return _default_text(inspected) != _default_text(rendered)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=_compare_server_default,
        render_item=_render_item,
        # SQLite cannot ALTER most things: later revisions use batch mode ("move and copy").
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    """`alembic upgrade --sql`: print the DDL instead of running it."""
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=_url().startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


def run_migrations_online() -> None:
    # A caller may hand us its own connection (tests): config.attributes["connection"].
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = create_engine(_url(), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
