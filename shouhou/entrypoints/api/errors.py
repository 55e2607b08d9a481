"""How the API answers when it says no: a Refusal's code maps to its HTTP status, invalid input is
`invalid_input` (422), and a NUL character in the address is refused before any route runs. Every
error body is `{code, message_zh, message_en, rules}` (ErrorOut)."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from ...errors import Refusal
from ...services.app import data_refusal
from .schemas.common import ErrorOut

STATUS = {"invalid_state": 409, "forbidden": 403, "ineligible": 422, "limit_reached": 422,
          "invalid_input": 422, "not_found": 404, "unauthenticated": 401}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422)
}


async def no_nul_in_the_address(request: Request,
                                call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """A NUL character in the path or query matches nothing and no database takes it: refused
    alike on SQLite and PostgreSQL before any route runs."""
    if "\x00" in request.url.path or "%00" in request.url.path or "%00" in request.url.query:
        e = data_refusal()
        return JSONResponse(e.as_dict(), status_code=STATUS[e.code])
    return await call_next(request)


async def refusal(_: Request, exc: Refusal) -> JSONResponse:
    return JSONResponse(exc.as_dict(), status_code=STATUS[exc.code])


async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg')}")
    body = {"code": "invalid_input", "message_zh": "请求内容有误:" + ";".join(parts),
            "message_en": "invalid request: " + "; ".join(parts), "rules": []}
    return JSONResponse(body, status_code=422)


def install(app: FastAPI) -> None:
    """The middleware and exception handlers above, on the app."""
    app.middleware("http")(no_nul_in_the_address)
    app.exception_handler(Refusal)(refusal)
    app.exception_handler(RequestValidationError)(invalid_request)
