"""`shouhou token create`: a bearer token for the HTTP API, issued through the engine (only its hash
is stored)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..domain.actors import PLATFORM_ROLES
from ..errors import Refusal
from ..services import commands as c
from .cli_common import CLI_ACTOR, DatabaseUrl, database_errors, fail, load_settings, refused, shouhou_at_head

token_app = typer.Typer(help="Bearer tokens for the HTTP API.", no_args_is_help=True)


@token_app.command("create")
def token_create(
    buyer: Annotated[str | None, typer.Option("--buyer", help="A token for this buyer.")] = None,
    staff: Annotated[str | None, typer.Option("--staff", help="A token for this shop staff member.")] = None,
    platform: Annotated[str | None, typer.Option(
        "--platform", help=f"A platform token with this role: {', '.join(PLATFORM_ROLES)} (integration: the "
                           "platform's systems, which report facts but may not rule, decide appeals or lift measures).",
    )] = None,
    platform_id: Annotated[str | None, typer.Option("--id", help="The platform staff member's id [default: the role].")] = None,
    label: Annotated[str | None, typer.Option(help="A note kept with the token.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a new bearer token (only its hash is stored)."""
    given = [(k, v) for k, v in (("buyer", buyer), ("staff", staff), ("platform", platform)) if v]
    if len(given) != 1:
        fail("请指定且只指定一个 give exactly one of --buyer ID, --staff ID, --platform ROLE", 2)
    kind, value = given[0]
    if platform_id and kind != "platform":
        fail("--id 只用于平台令牌 --id goes with --platform only", 2)
    if kind == "platform":
        cmd = c.IssueToken(kind="platform", actor_id=platform_id or value, role=value, label=label)
    else:
        cmd = c.IssueToken(kind=kind, actor_id=value, label=label)
    settings = load_settings(database_url)
    shouhou, engine = shouhou_at_head(settings)
    try:
        with database_errors(settings.database_url):
            token = shouhou.handle(cmd, CLI_ACTOR)
    except Refusal as e:
        refused(e, 1)
    finally:
        engine.dispose()
    typer.echo(token)
    typer.echo(f"(a {kind} token for {cmd.actor_id}; keep it: it is not shown again)", err=True)
