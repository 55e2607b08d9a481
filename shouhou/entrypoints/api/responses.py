"""Where JSON leaves the API. Text that cannot be encoded as UTF-8 (a lone surrogate such as
"\\udc00", stored before the edge refused it) is shown escaped, as the six characters `\\udc00`,
instead of failing the whole answer with a 500: one place for every view, list and error."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


def _dumps(content: Any) -> str:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def printable(text: str) -> str:
    """`text` with every code point UTF-8 cannot carry (lone surrogates) as a visible `\\uXXXX`."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def escaped(value: Any) -> Any:
    """`value` (JSON-ready: dicts, lists, strings, numbers) with `printable` applied to every string,
    keys included."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {escaped(k): escaped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [escaped(v) for v in value]
    return value


def utf8(text: str) -> bytes:
    """Text as UTF-8 for a non-JSON answer (CSV): lone surrogates escaped as in JSON."""
    return text.encode("utf-8", "backslashreplace")


class SafeJSONResponse(JSONResponse):
    """The API's JSON: UTF-8, and never a 500 for text stored before the edge refused it."""

    def render(self, content: Any) -> bytes:
        try:
            return _dumps(content).encode("utf-8")
        except UnicodeEncodeError:
            return _dumps(escaped(content)).encode("utf-8")
