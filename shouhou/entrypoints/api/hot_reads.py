"""The two hot reads, GET /v1/tickets/{ticket_id} and GET /v1/tickets, without FastAPI's solving of
their parameters and dependencies on every request (issue 15: in the profile of a ticket GET, more
than a third of what the framework spends per request, more than its routing and its thread hop).

Each stays the APIRoute it was, found by the router as before (same precedence, same OpenAPI, the
same route template in the metrics and logs); only the route's ASGI app is wrapped. A request the
wrapper can answer exactly as the endpoint would is answered by calling the same dependencies
(`bearer`, then `current_actor`: the token cache, revocation, the rate limits) and the same view in a
read-only unit of work (`deps.read`) in a worker thread, as SafeJSONResponse, as the endpoint does.
Which requests: a ticket by its id with any query (the endpoint takes none); the queue with no
other query parameters than `limit` and `offset`, each at most once, written as plain decimals
within their bounds. Anything else (a filter, a value FastAPI would refuse or convert) goes to
FastAPI's own handler untouched, so validation and its 422s stay FastAPI's. Refusals raised here
(401, 404, 429) reach the app's exception handlers as the endpoint's do."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from ...services.views import tickets as tickets_views
from .deps import bearer, current_actor, read
from .responses import SafeJSONResponse

DECIMAL = re.compile(rb"0|[1-9][0-9]{0,9}")
QUEUE_BOUNDS = {b"limit": (1, 500), b"offset": (0, 1_000_000_000)}  # as routes/tickets.list_tickets declares


def queue_page(query: bytes) -> dict[str, int] | None:
    """limit and offset of a plain queue request (defaults 50 and 0), or None: FastAPI's to judge."""
    found = {"limit": 50, "offset": 0}
    seen: set[bytes] = set()
    for part in query.split(b"&") if query else ():
        name, eq, value = part.partition(b"=")
        bounds = QUEUE_BOUNDS.get(name)
        if bounds is None or not eq or name in seen or not DECIMAL.fullmatch(value):
            return None
        seen.add(name)
        number = int(value)
        if not bounds[0] <= number <= bounds[1]:
            return None
        found[name.decode()] = number
    return found


def _ticket(sh: Any, actor: Any, scope: Scope) -> SafeJSONResponse:
    return SafeJSONResponse(read(sh, tickets_views.get_ticket, actor, scope["path_params"]["ticket_id"]))


def _queue(sh: Any, actor: Any, page: dict[str, int]) -> SafeJSONResponse:
    return SafeJSONResponse(read(sh, tickets_views.list_tickets, actor, statuses=[], type_=None, over_period=None,
                                 shop=None, order=None, due_before=None, limit=page["limit"], offset=page["offset"]))


class HotRead:
    """The ASGI app of one hot route: the lane above when the request fits it, else `fallback`
    (FastAPI's handler of the route)."""

    def __init__(self, fallback: ASGIApp, queue: bool) -> None:
        self.fallback, self.queue = fallback, queue

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = queue_page(scope.get("query_string", b"")) if self.queue else None
        if self.queue and page is None:
            await self.fallback(scope, receive, send)
            return
        request = Request(scope, receive)
        actor = await current_actor(request, await bearer(request))
        sh = request.app.state.shouhou
        if page is None:
            response = await run_in_threadpool(_ticket, sh, actor, scope)
        else:
            response = await run_in_threadpool(_queue, sh, actor, page)
        await response(scope, receive, send)


HOT = {("/v1/tickets/{ticket_id}", "get_ticket"): False, ("/v1/tickets", "list_tickets"): True}


def install(app: FastAPI) -> None:
    """Wrap the two routes' apps (after every router is included)."""
    wrapped = 0
    for route in app.router.routes:
        if isinstance(route, APIRoute) and route.methods == {"GET"} and (route.path, route.name) in HOT:
            route.app = HotRead(route.app, queue=HOT[(route.path, route.name)])
            wrapped += 1
    if wrapped != len(HOT):
        raise RuntimeError(f"hot reads: found {wrapped} of the routes {sorted(HOT)}")
    declared = [getattr(r, "path", "") for r in app.router.routes]
    for route in [r for r in app.router.routes if isinstance(r, APIRoute) and isinstance(r.app, HotRead)]:
        move_forward(app.router.routes, route)
    _paths_in_declared_order(app, declared)


def _paths_in_declared_order(app: FastAPI, declared: list[str]) -> None:
    """The OpenAPI document lists its paths as the routes were declared, as before the move."""
    build, rank = app.openapi, {p: i for i, p in reversed(list(enumerate(declared)))}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema["paths"] = dict(sorted(schema.get("paths", {}).items(), key=lambda kv: rank.get(kv[0], len(rank))))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _sample(path: str) -> str:
    """A concrete path a route template matches: each parameter as one segment."""
    return re.sub(r"{[^}]*}", "x", path)


def _may_shadow(earlier: Any, hot: APIRoute) -> bool:
    """Whether `earlier`, tried before `hot`, could answer a GET that `hot` matches: a GET (or
    method-less) route whose pattern matches a path of `hot`'s, or whose paths `hot`'s matches. Unknown
    kinds of routes count as shadowing."""
    regex = getattr(earlier, "path_regex", None)
    if regex is None:
        return True
    methods = getattr(earlier, "methods", None)
    if methods is not None and "GET" not in methods:
        return False  # only a partial match (405) that a later full match overrides, wherever it stands
    return bool(regex.match(_sample(hot.path)) or hot.path_regex.match(_sample(getattr(earlier, "path", ""))))


def move_forward(routes: list[Any], hot: APIRoute) -> None:
    """Move a hot route up to just after the last earlier route that could shadow it: the router
    tries the routes in order, and the ticket GET stood 25th (a fifth of its routing time was the
    24 routes before it). What any request matches is unchanged."""
    at = routes.index(hot)
    keep = max((i for i in range(at) if _may_shadow(routes[i], hot)), default=-1)
    routes.insert(keep + 1, routes.pop(at))
