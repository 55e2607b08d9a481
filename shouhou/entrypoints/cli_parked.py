"""`shouhou parked`: the automatic actions the worker parked after they raised, and retrying one
once its cause is fixed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..services import commands as c
from ..services.views import operations as operations_views
from .cli_common import (
    CLI_ACTOR,
    DatabaseUrl,
    console,
    migrated_engine,
)

parked_app = typer.Typer(help="Automatic actions parked after they raised (the worker retries them with backoff).",
                         no_args_is_help=True)


@parked_app.command("list")
def parked_list(
    limit: Annotated[int, typer.Option(help="How many to show.", min=1, max=10_000)] = 100,
    database_url: DatabaseUrl = None,
) -> None:
    """List the parked actions, oldest failure first, with their error and next try."""
    with migrated_engine(database_url) as shouhou, shouhou.uow(write=False) as uow:
        page = operations_views.list_parked(uow, CLI_ACTOR, limit, 0)
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
    kind: Annotated[str, typer.Argument(help="ticket, order, entry, clawback, intervention, appeal, governance or payout.")],
    ident: Annotated[str, typer.Argument(help="The id of the ticket, order, case … that was parked.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Let a parked action be tried on the next sweep instead of after its backoff."""
    with migrated_engine(database_url) as shouhou:
        shouhou.handle(c.RetryParked(kind, ident), CLI_ACTOR)
    typer.echo(f"{kind} {ident} will be tried on the next sweep")
