"""What an operator does to the worker's work: let a parked action be tried again now (after the
cause is fixed, e.g. the missing policy pack is loaded again) instead of waiting for its backoff."""

from __future__ import annotations

from ..adapters.uow import SqlUnitOfWork
from ..domain import roles
from ..domain.actors import Actor
from ..errors import not_found
from . import commands as c
from .context import Context


def retry_parked(cmd: c.RetryParked, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    roles.require_act(actor, "operate_workers")
    if not uow.retry_parked(cmd.kind, cmd.ident, ctx.now):
        raise not_found("parked action", f"{cmd.kind}/{cmd.ident}")
