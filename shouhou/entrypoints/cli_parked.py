"""`shouhou parked`: the automatic actions the worker parked after they raised, and retrying one
once its cause is fixed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..errors import Refusal
from ..services import commands as c
from ..services.views import operations as operations_views
from .cli_common import (
    CLI_ACTOR,
    DatabaseUrl,
    console,
    database_errors,
    load_settings,
    refused,
    shouhou_at_head,
)

parked_app = typer.Typer(help="Automatic actions parked after they raised (the worker retries them with backoff).",
                         no_args_is_help=True)


@parked_app.command("list")
def parked_list(
    limit: Annotated[int, typer.Option(help="How many to show.", min=1, max=10_000)] = 100,
    database_url: DatabaseUrl = None,
) -> None:
    """List the parked actions, oldest failure first, with their error and next try."""
    settings = load_settings(database_url)
    shouhou, engine = shouhou_at_head(settings)
    try:
        with database_errors(settings.database_url), shouhou.uow(write=False) as uow:
            page = operations_views.list_parked(uow, CLI_ACTOR, limit, 0)
    finally:
        engine.dispose()
    if not page["items"]:
        typer.echo("nothing parked")
        return
    table = Table("kind", "id", "attempts", "first failed", "next try", "error")
    for x in page["items"]:
        table.add_row(x["kind"], x["id"], str(x["attempts"]), x["first_failed_at"], x["next_try_at"], x["error"])
    console().print(table)
    typer.echo(f"{page['total']} parked")


@parked_app.command("retry")
def parked_retry(
    kind: Annotated[str, typer.Argument(help="ticket, order, entry, clawback, intervention, appeal or governance.")],
    ident: Annotated[str, typer.Argument(help="The id of the ticket, order, case … that was parked.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Let a parked action be tried on the next sweep instead of after its backoff."""
    settings = load_settings(database_url)
    shouhou, engine = shouhou_at_head(settings)
    try:
        with database_errors(settings.database_url):
            shouhou.handle(c.RetryParked(kind, ident), CLI_ACTOR)
    except Refusal as e:
        refused(e, 1)
    finally:
        engine.dispose()
    typer.echo(f"{kind} {ident} will be tried on the next sweep")
