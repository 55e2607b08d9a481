"""`shouhou token create | list | revoke`: bearer tokens for the HTTP API, through the engine (only
their hashes are stored; a list never shows a token).

Lifetimes: without --expires-in-days or --no-expiry a token gets its kind's default
(services.shops.DEFAULT_LIFETIME: 90 days for platform tokens, 365 for staff and buyers). Only this
console (and the demo data) can make a token that never expires; the HTTP API cannot."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..domain.actors import PLATFORM_ROLES
from ..services import commands as c
from ..services.shops import DEFAULT_LIFETIME, MAX_LIFETIME
from ..services.views import tokens as tokens_views
from .cli_common import (
    CLI_ACTOR,
    DatabaseUrl,
    console,
    fail,
    migrated_engine,
)

token_app = typer.Typer(help="Bearer tokens for the HTTP API: create, list, revoke.", no_args_is_help=True)

_DEFAULTS = ", ".join(f"{kind} {life.days}" for kind, life in DEFAULT_LIFETIME.items())


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
    expires_in_days: Annotated[int | None, typer.Option(
        "--expires-in-days", min=1, max=MAX_LIFETIME.days,
        help=f"Days until the token stops working [default: by kind, {_DEFAULTS}].")] = None,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="A token that never expires (revoke it when done).")]
    = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a new bearer token (only its hash is stored); its id and expiry go to stderr."""
    given = [(k, v) for k, v in (("buyer", buyer), ("staff", staff), ("platform", platform)) if v]
    if len(given) != 1:
        fail("请指定且只指定一个 give exactly one of --buyer ID, --staff ID, --platform ROLE", 2)
    kind, value = given[0]
    if platform_id and kind != "platform":
        fail("--id 只用于平台令牌 --id goes with --platform only", 2)
    if no_expiry and expires_in_days is not None:
        fail("--expires-in-days 与 --no-expiry 只能选一个 give --expires-in-days or --no-expiry, not both", 2)
    lifetime = None if expires_in_days is None else timedelta(days=expires_in_days)
    actor_id, role = (platform_id or value, value) if kind == "platform" else (value, None)
    cmd = c.IssueToken(kind=kind, actor_id=actor_id, role=role, label=label, lifetime=lifetime,
                       never_expires=no_expiry)
    with migrated_engine(database_url) as shouhou:
        issued: c.IssuedToken = shouhou.handle(cmd, CLI_ACTOR)
    typer.echo(issued.token)
    until = f"expires {issued.expires_at.isoformat()}" if issued.expires_at else "never expires"
    typer.echo(f"({issued.id}: a {kind} token for {cmd.actor_id}, {until}; keep it: it is not shown again)", err=True)


@token_app.command("list")
def token_list(
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind: buyer, staff or platform.")] = None,
    holder: Annotated[str | None, typer.Option("--actor", help="Only the tokens of this buyer, staff member or "
                                                               "platform staff id.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Expired and revoked tokens too [default: the working ones].")]
    = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first.")] = 200,
    database_url: DatabaseUrl = None,
) -> None:
    """The tokens that work now, newest first (never the token itself)."""
    with migrated_engine(database_url) as shouhou, shouhou.uow(write=False) as uow:
        page = tokens_views.list_tokens(uow, CLI_ACTOR, shouhou.clock.now(), kind=kind, holder=holder,
                                        active=None if every else True, limit=limit)
    table = Table("id", "kind", "actor", "role", "label", "created", "expires", "status",
                  title=f"{page['total']} {'token(s)' if every else 'working token(s)'}")
    for item in page["items"]:
        table.add_row(*(_cell(item[k]) for k in ("id", "kind", "actor", "role", "label", "created_at", "expires_at")),
                      _status(item))
    console().print(table)
    if page["total"] > len(page["items"]):
        typer.echo(f"({page['total'] - len(page['items'])} more: --limit)", err=True)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (tok_…), as `token list` shows it.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a token: its next request answers 401. Revoking it again changes nothing."""
    with migrated_engine(database_url) as shouhou:
        shouhou.handle(c.RevokeToken(token_id), CLI_ACTOR)
        with shouhou.uow(write=False) as uow:
            item = tokens_views.get_token(uow, CLI_ACTOR, token_id, shouhou.clock.now())
    typer.echo(f"{token_id}: revoked at {item['revoked_at']} (a {item['kind']} token for {item['actor']})")


def _cell(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _status(item: dict[str, Any]) -> str:
    if item["status"] == "revoked":
        return f"revoked {item['revoked_at']}"
    return str(item["status"])
