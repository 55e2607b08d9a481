"""The `shouhou` command line: serve the API, run the deadline worker, migrate the database, run
scenario files, show policy packs and issue tokens. Entry points hold no rules: every command here
goes through the engine (`Shouhou.handle`, `Shouhou.tick`) or the read side.

This module is the `shouhou` app itself: it wires the command groups together and holds `serve`
and `db`. The other commands live beside it, one module per group:

    cli_worker.py      shouhou worker
    cli_scenario.py    shouhou scenario run
    cli_policy.py      shouhou policy show|list|check
    cli_tokens.py      shouhou token create
    cli_governance.py  shouhou governance report
    cli_simulate.py    shouhou simulate (the what-if simulator, shouhou/simulation)
    cli_common.py      what they share: settings, the database, the engine, exit codes

Exit codes: 0 done; 1 a scenario expectation failed, a command was refused or the database is
unreachable; 2 bad input (an invalid scenario or policy file, a bad option, a database that needs
`shouhou db upgrade`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..adapters import db
from ..adapters.tables import metadata
from ..services.app import Shouhou
from . import serving
from .cli_common import (
    DatabaseUrl,
    current_revision,
    database_errors,
    fail,
    head_revision,
    load_settings,
    make_shouhou,
    registry,
    require_database_file,
    shown,
)
from .cli_common import alembic_config as _alembic_config  # `db revision` writes with it; tests swap it
from .cli_dispatch import dispatch_command
from .cli_governance import governance_app
from .cli_parked import parked_app
from .cli_policy import policy_app
from .cli_scenario import scenario_app
from .cli_simulate import simulate_command
from .cli_tokens import token_app
from .cli_worker import worker_command
from .demo import DemoRefused, load_demo
from .logs import json_logs

app = typer.Typer(
    name="shouhou",
    help="shouhou 售后: an after-sales engine for marketplaces (Kuaishou 快手小店, Douyin 抖店 policy packs).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help as plain text: Rich markup would read the `[default: …]` that help texts write as a tag
    # and drop it. Every command group below inherits this.
    rich_markup_mode=None,
)
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
# `shouhou --help` lists the commands (serve, worker) first, then the groups in this order.
app.add_typer(db_app, name="db")
app.add_typer(scenario_app, name="scenario")
app.add_typer(policy_app, name="policy")
app.add_typer(token_app, name="token")
app.add_typer(governance_app, name="governance")
app.add_typer(parked_app, name="parked")


def main() -> None:
    app()


# -- serve ----------------------------------------------------------------------------------------

@app.command()
def serve(
    demo: Annotated[bool, typer.Option("--demo", help="Fill demo shops, orders and tickets (once) and print tokens.")] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    worker: Annotated[bool, typer.Option("--worker/--no-worker",
                                         help="Run the deadline worker (and the webhook dispatcher) beside the "
                                              "server: one per serve, however many --workers.")] = True,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                         help="HTTP worker processes (uvicorn); more than one shares the port.")] = 1,
    database_url: DatabaseUrl = None,
) -> None:
    """Migrate the database, then serve the HTTP API (docs at /docs, metrics at /metrics) with the
    deadline worker. Logs are JSON lines on stderr."""
    settings = load_settings(database_url)
    policies = registry(settings)
    with database_errors(settings.database_url):
        db.migrate(settings.database_url)
    engine = db.make_engine(settings.database_url, pool_size=settings.db_pool_size)
    shouhou = make_shouhou(settings, engine, policies)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
    typer.echo(f"shouhou 售后: database {shown(settings.database_url)} at revision {head_revision(settings.database_url)}")
    if demo:
        with database_errors(settings.database_url):
            info = _load_demo(shouhou, settings.database_url)
        _print_demo(info, base)
    typer.echo(f"serving on {base} (API docs: {base}/docs) with {workers} worker process(es); "
               f"deadline worker {'on, every ' + str(settings.worker_interval) + ' s' if worker else 'off'}")
    try:
        with json_logs():
            serving.run(shouhou, settings, host=host, port=port, workers=workers, background=worker)
    finally:
        engine.dispose()


def _load_demo(shouhou: Shouhou, url: str) -> dict[str, Any]:
    try:
        return load_demo(shouhou)
    except DemoRefused as e:
        fail(f"演示数据只能载入空数据库或演示数据库 refusing --demo: {e}; the demo's public tokens (demo-platform is a "
             f"platform operator) would open {shown(url)} to anyone. Use an empty database, e.g. "
             "--database-url sqlite:///demo.db", 2)


def _print_demo(info: dict[str, Any], base: str) -> None:
    typer.echo("demo data: " + ("loaded" if info["created"] else "already there (kept as it is)"))
    typer.echo("demo tokens (Authorization: Bearer <token>):")
    for token, who in info["tokens"].items():
        typer.echo(f"  {token:<18} {who}")
    soon = [t for t in info["tickets"] if t["due"]][:6]
    if soon:
        typer.echo("tickets whose automatic action comes next (the worker fires them on time):")
        for t in soon:
            typer.echo(f"  {t['id']}  {t['shop']:<8} order {t['order']:<8} {t['status']:<16} "
                       f"{t['due_action']} at {t['due']} ({t['due_rule']})")
    typer.echo("try:")
    typer.echo(f"  curl -s -H 'Authorization: Bearer demo-ks-owner' '{base}/v1/tickets?status=pending_review'")


# -- worker (cli_worker.py) -----------------------------------------------------------------------

app.command("worker")(worker_command)
app.command("dispatch")(dispatch_command)
app.command("simulate")(simulate_command)


# -- db -------------------------------------------------------------------------------------------

@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Bring the database to the newest revision (creates it on a fresh database)."""
    settings = load_settings(database_url)
    url = settings.database_url
    with database_errors(url):
        db.migrate(url)
    typer.echo(f"{shown(url)}: at revision {head_revision(url)} (head)")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision changes, e.g. 'add payouts'.")],
) -> None:
    """Write a new migration for what changed in shouhou/adapters/tables.py (autogenerate).

    The schema is compared with a scratch SQLite database migrated to head; review the file before
    committing it (renames come out as drop + add)."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'scratch.db'}"
        cfg = _alembic_config(url)
        command.upgrade(cfg, "head")
        engine = db.make_engine(url)
        try:
            with engine.connect() as conn:
                changes = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        finally:
            engine.dispose()
        if not changes:
            typer.echo("no schema change since the last revision: nothing to write")
            return
        head = ScriptDirectory.from_config(cfg).get_current_head()
        rev_id = f"{int(head) + 1:04d}" if head and head.isdigit() else ("0001" if head is None else None)
        script = command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
    for written in script if isinstance(script, list) else [script]:
        if written is not None:
            typer.echo(f"wrote {written.path}: review it, then run `shouhou db upgrade`")


@db_app.command("current")
def db_current(
    database_url: DatabaseUrl = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 unless the database is at the newest revision.")] = False,
) -> None:
    """Print the database's revision and whether it is the newest (never creates a database)."""
    settings = load_settings(database_url)
    url = settings.database_url
    require_database_file(url)
    engine = db.make_engine(url)
    try:
        with database_errors(url):
            current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision(url)
    if current == head:
        typer.echo(f"{current} (head)")
        return
    typer.echo(f"{current or '(empty database)'} (head is {head}: run `shouhou db upgrade`)")
    if check:
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
