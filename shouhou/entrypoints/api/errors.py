"""How the API answers when it says no. Every error body, whoever raises it, is the one envelope
`{code, message_zh, message_en, rules}` (ErrorOut): a Refusal's code maps to its HTTP status; invalid
input is `invalid_input` (422) with the Chinese message in Chinese (VALIDATION_ZH); Starlette's own
errors (unknown route, wrong method, a body that does not parse) and anything unexpected are put into
the envelope too, so no client ever sees another shape. A NUL character in the address is refused
before any route runs."""

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ...errors import Code, Refusal
from ...services.app import data_refusal
from ..logs import REQUEST_ID
from .responses import SafeJSONResponse
from .schemas.common import ErrorOut

STATUS: dict[Code, int] = {
    "invalid_state": 409, "forbidden": 403, "ineligible": 422, "limit_reached": 422, "invalid_input": 422,
    "not_found": 404, "unauthenticated": 401, "bad_request": 400, "method_not_allowed": 405,
    "payload_too_large": 413, "rate_limited": 429, "internal_error": 500,
    "conflict": 409}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 422, 429)
}
# Starlette's HTTP errors: status -> (code, Chinese, English)
HTTP: dict[int, tuple[Code, str, str]] = {
    400: ("bad_request", "请求无法解析(须为 UTF-8 编码的有效 JSON)", "the request body could not be parsed "
                                                                "(it must be valid JSON in UTF-8)"),
    401: ("unauthenticated", "需要登录令牌", "authentication required"),
    403: ("forbidden", "无权访问", "forbidden"),
    404: ("not_found", "请求的地址不存在", "no such path"),
    405: ("method_not_allowed", "该地址不支持此请求方法", "this method is not allowed on this path"),
    413: ("payload_too_large", "请求内容过大", "the request body is too large"),
    429: ("rate_limited", "请求过于频繁,请稍后再试", "too many requests; try again later"),
}
# pydantic's error types -> what message_zh says (message_en keeps pydantic's own English)
VALIDATION_ZH: dict[str, str] = {
    "missing": "缺少必填字段", "extra_forbidden": "不接受此字段", "json_invalid": "不是有效的 JSON",
    "json_type": "须为 JSON", "model_type": "须为对象", "model_attributes_type": "须为对象",
    "dict_type": "须为对象", "list_type": "须为列表",
    "string_type": "须为字符串", "string_too_short": "内容过短,至少 {min_length} 个字符",
    "string_too_long": "内容过长,最多 {max_length} 个字符", "string_pattern_mismatch": "格式不符",
    "string_unicode": "须为有效的 Unicode 文本",
    "too_short": "至少 {min_length} 项", "too_long": "最多 {max_length} 项",
    "int_type": "须为整数", "int_parsing": "须为整数", "int_from_float": "须为整数",
    "float_type": "须为数字", "float_parsing": "须为数字", "bool_type": "须为布尔值 true 或 false",
    "bool_parsing": "须为布尔值 true 或 false", "enum": "须为以下之一:{expected}",
    "literal_error": "须为以下之一:{expected}", "greater_than": "须大于 {gt}",
    "greater_than_equal": "须不小于 {ge}", "less_than": "须小于 {lt}", "less_than_equal": "须不大于 {le}",
    "datetime_type": "须为 ISO 8601 时间", "datetime_parsing": "须为 ISO 8601 时间,如 2026-03-02T09:00:00+08:00",
    "datetime_from_date_parsing": "须为 ISO 8601 时间,如 2026-03-02T09:00:00+08:00",
    "timezone_aware": "时间须带时区", "value_error": "取值无效",
    "yuan": "金额须为以元计、最多两位小数的字符串,如 \"99.00\"",
    "text_nul": "不能包含 NUL 字符", "text_surrogate": "不是有效的 Unicode 文本(含孤立代理项)",
}


@dataclass
class RateLimited(Refusal):
    """A refusal that says when to come back (Retry-After, in seconds)."""

    retry_after: int = 1


def _zh(err: Any) -> str:
    template = VALIDATION_ZH.get(err.get("type", ""), "取值无效")
    try:
        return template.format(**(err.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        return template.split("{")[0].removesuffix(":").removesuffix(",")


def _where(err: Any) -> str:
    return ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"


def envelope(code: Code, zh: str, en: str, status: int, headers: dict[str, str] | None = None,
             rules: list[str] | None = None) -> SafeJSONResponse:
    return SafeJSONResponse({"code": code, "message_zh": zh, "message_en": en, "rules": rules or []},
                            status_code=status, headers=headers)


def refusal_response(exc: Refusal) -> SafeJSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.code == "unauthenticated" else {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return SafeJSONResponse(exc.as_dict(), status_code=STATUS[exc.code], headers=headers or None)


class NoNulInTheAddress:
    """A NUL character in the path or query matches nothing and no database takes it: refused
    alike on SQLite and PostgreSQL before any route runs. Pure ASGI (a BaseHTTPMiddleware here cost
    every request a task and a stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope.get("root_path", "") + scope["path"]
            if "\x00" in path or "%00" in path or b"%00" in scope.get("query_string", b""):
                await refusal_response(data_refusal())(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def refusal(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refusal)
    return refusal_response(exc)


async def invalid_request(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    zh = ";".join(f"{_where(e)}:{_zh(e)}" for e in errors)
    en = "; ".join(f"{_where(e)}: {e.get('msg')}" for e in errors)
    return envelope("invalid_input", "请求内容有误:" + zh, "invalid request: " + en, 422)


def _allowed(request: Request) -> str:
    """Every method some route takes on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (404 no route, 405, 400 a body that does not parse) in the envelope."""
    assert isinstance(exc, StarletteHTTPException)
    code, zh, en = HTTP.get(exc.status_code) or (
        ("bad_request", "请求有误", "bad request") if exc.status_code < 500
        else ("internal_error", "服务器内部错误", "internal server error"))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request)
    return envelope(code, zh, en, exc.status_code, headers=headers)


async def unexpected(_: Request, exc: Exception) -> Response:
    """A bug: the envelope still, and nothing of the internals (the log has the traceback)."""
    request_id = REQUEST_ID.get()
    return envelope("internal_error", "服务器内部错误,请稍后再试", "internal server error; try again later", 500,
                    headers={"X-Request-ID": request_id} if request_id else None)


def install(app: FastAPI) -> None:
    """The middleware and exception handlers above, on the app."""
    app.add_middleware(NoNulInTheAddress)
    app.add_exception_handler(Refusal, refusal)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
