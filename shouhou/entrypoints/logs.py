"""Logs as JSON lines, one object per record, for `shouhou serve` (uvicorn's own loggers included) and
the processes beside it: `{"time", "level", "logger", "message", "request_id", ...}`.

The request's id lives in a context variable (REQUEST_ID) that the API's telemetry middleware sets
for the length of each request; every record logged while it runs, in the event loop or in a worker
thread (anyio copies the context into it), carries it. Outside a request it is absent.

Secrets never reach a line: a bearer token, a webhook secret (whsec_…), an issued token (sh_…) and a
URL's password are masked in every message and argument (Redact), whoever logs them."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("shouhou_request_id", default=None)

SECRETS = re.compile(
    r"(?i)(?P<bearer>bearer\s+)\S+"  # Authorization: Bearer <token>
    r"|(?P<url>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?P<at>@)"  # scheme://user:password@host
    r"|\b(?P<kind>whsec_|sh_)[A-Za-z0-9_+/=-]+")  # webhook secrets, issued tokens
# the attributes every LogRecord has: anything else passed with `extra=` goes into the line
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id", "color_message"}  # uvicorn adds color_message: the same, in colour


def redact(text: str) -> str:
    """`text` with every secret it holds masked."""
    def mask(m: re.Match[str]) -> str:
        if m.group("bearer"):
            return m.group("bearer") + "***"
        if m.group("url"):
            return m.group("url") + "***" + m.group("at")
        return m.group("kind") + "***"
    return SECRETS.sub(mask, text)


class Redact(logging.Filter):
    """Masks secrets in the message (formatted with its arguments) and stamps the request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record whose arguments do not fit its format: shown as is
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record; `extra=` fields are kept; a traceback goes in `exc` (redacted)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class _Stderr:
    """Whatever sys.stderr is when a line is written (a test runner swaps it), not when configured."""

    def write(self, text: str) -> None:
        sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream or _Stderr())
        self.setFormatter(JsonFormatter())
        self.addFilter(Redact())


def handler(stream: Any = None) -> logging.Handler:
    return JsonHandler(stream)


@contextmanager
def json_logs(level: int = logging.INFO) -> Iterator[None]:
    """While it lasts, every logger of this process writes to stderr as JSON lines instead of the
    plain stream handlers configured before (others, such as a test runner's capture, stay); then
    logging is as it was."""
    root = logging.getLogger()
    before, old_level = list(root.handlers), root.level
    for old in before:
        if type(old) is logging.StreamHandler:
            root.removeHandler(old)
    mine = JsonHandler()
    root.addHandler(mine)
    root.setLevel(level)
    try:
        yield
    finally:
        root.removeHandler(mine)
        for old in before:
            if old not in root.handlers:
                root.addHandler(old)
        root.setLevel(old_level)


# uvicorn's log_config (each worker process applies it): its loggers through the same JSON lines.
UVICORN_LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "shouhou.entrypoints.logs.Redact"}},
    "formatters": {"json": {"()": "shouhou.entrypoints.logs.JsonFormatter"}},
    "handlers": {"json": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "json",
                          "filters": ["redact"]}},
    "root": {"handlers": ["json"], "level": "INFO"},
    "loggers": {"uvicorn": {"level": "INFO"}, "uvicorn.error": {"level": "INFO"},
                "uvicorn.access": {"level": "WARNING"}},
}
