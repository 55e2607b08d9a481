"""One factory for the action routes: `POST .../{id}/<action>` runs one command on the object as the
caller and answers with the object's view. Orders and tickets both make theirs here."""

import inspect
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from ...adapters.uow import SqlUnitOfWork
from ...domain.actors import Actor
from ...services.app import Shouhou
from .deps import ActorDep, NowDep, ShouhouDep, run

MakeCommand = Callable[[str, Any], object]  # (the id in the path, the body or None) -> the command
View = Callable[[SqlUnitOfWork, Actor, str, datetime], dict[str, Any]]  # (unit of work, caller, id, now) -> answer

_KW = inspect.Parameter.KEYWORD_ONLY


class _ActionEndpoint:
    # No docstring on purpose: FastAPI publishes an endpoint's docstring as the operation's description.

    def __init__(self, id_name: str, make_command: MakeCommand, body_model: type[BaseModel] | None,
                 view: View) -> None:
        self.id_name, self.make_command, self.view = id_name, make_command, view
        # FastAPI reads the route's parameters from __signature__: the id in the path, the body when
        # the action takes one, then the app, the caller and the time as dependencies.
        params = [inspect.Parameter(id_name, _KW, annotation=str)]
        if body_model is not None:
            params.append(inspect.Parameter("body", _KW, annotation=body_model))
        params += [inspect.Parameter("sh", _KW, annotation=ShouhouDep),
                   inspect.Parameter("actor", _KW, annotation=ActorDep),
                   inspect.Parameter("now", _KW, annotation=NowDep)]
        self.__signature__ = inspect.Signature(params, return_annotation=dict[str, Any])

    def __call__(self, *, sh: Shouhou, actor: Actor, now: datetime, body: BaseModel | None = None,
                 **path: str) -> dict[str, Any]:
        object_id = path[self.id_name]
        # the answer is read in the command's transaction, as it commits: one transaction a request
        return run(sh, self.make_command(object_id, body), actor,  # type: ignore[no-any-return]
                   show=lambda uow, _: self.view(uow, actor, object_id, now))


def action_route(router: APIRouter, path: str, make_command: MakeCommand, body_model: type[BaseModel] | None,
                 summary: str, *, view: View, response_model: type[BaseModel], name: str) -> None:
    """Register `POST path`; `path` names one id (`/v1/orders/{order_id}/ship`), which goes to
    make_command with the body (None when body_model is None) and then to view."""
    (id_name,) = re.findall(r"{(\w+)}", path)
    router.post(path, response_model=response_model, summary=summary, name=name)(
        _ActionEndpoint(id_name, make_command, body_model, view))
