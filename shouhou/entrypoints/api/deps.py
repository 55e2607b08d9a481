"""What routes depend on: the app (`ShouhouDep`), the caller (`ActorDep`) and the clock's `now`
(`NowDep`), as `Annotated` dependencies, and the two ways a route reaches the services: `run` a command
as the caller, `read` in a read-only unit of work."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool

from ...adapters.uow import SqlUnitOfWork
from ...domain.actors import Actor
from ...errors import refuse
from ...services.access import hash_token
from ...services.app import Shouhou, data_refusal
from .ratelimit import Gate

P = ParamSpec("P")
T = TypeVar("T")


async def get_shouhou(request: Request) -> Shouhou:
    shouhou: Shouhou = request.app.state.shouhou
    return shouhou


ShouhouDep = Annotated[Shouhou, Depends(get_shouhou)]


# The OpenAPI security scheme every route that needs a token declares (the docs page's Authorize
# button). auto_error=False: a missing or non-bearer header reaches current_actor as None, which refuses
# it in the API's own envelope (401 unauthenticated) and counts it against the address.
bearer = HTTPBearer(scheme_name="bearer", auto_error=False,
                    description="A token from `shouhou token create` or POST /v1/tokens: "
                                "`Authorization: Bearer <token>`")


async def current_actor(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None) -> Actor:
    """Bearer token -> the actor: buyer, shop staff (with shop and role) or platform staff. Rate
    limited (ratelimit.Gate): per token, and per address for failed attempts. A token the engine's
    token cache knows costs no statement and no thread (async: no I/O); otherwise it is read in a
    worker thread. (It takes the app from the request, not as a dependency: FastAPI's solving each
    dependency of a request costs more than the cache lookup.)"""
    sh: Shouhou = request.app.state.shouhou
    gate: Gate = request.app.state.gate
    address = request.client.host if request.client else "unknown"
    gate.check_address(address)
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        gate.failed(address)
        raise refuse("unauthenticated", "缺少令牌:Authorization: Bearer <token>",
                     "missing bearer token: Authorization: Bearer <token>")
    now = sh.clock.now()
    known = sh.tokens.get(hash_token(token), now)
    actor = known.admit(now) if known is not None else await run_in_threadpool(sh.authenticate, token, now)
    if actor is None:
        gate.failed(address)
        raise refuse("unauthenticated", "令牌无效", "unknown token")
    gate.admit(token)
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


async def clock_now(sh: ShouhouDep) -> datetime:
    """The app clock's time, read once per request: every view of one answer sees the same moment."""
    return sh.clock.now()


NowDep = Annotated[datetime, Depends(clock_now)]


def run(sh: Shouhou, cmd: object, actor: Actor, show: Callable[[SqlUnitOfWork, Any], Any] | None = None) -> Any:
    """Handle one command as the caller; its result (often the new object's id), or with `show`
    what show(uow, result) reads in the command's own transaction (the answer's view)."""
    return sh.handle(cmd, actor, show=show)


def read(sh: Shouhou, fn: Callable[Concatenate[Any, P], T], *args: P.args, **kw: P.kwargs) -> T:
    """A query in a read-only unit of work: fn(uow, *args, **kw)."""
    try:
        with sh.uow(write=False) as uow:
            return fn(uow, *args, **kw)
    except DataError:  # e.g. a NUL character in an id of the path: nothing can match it
        raise data_refusal() from None
