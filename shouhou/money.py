"""Money is integer fen inside, a decimal string in yuan ("99.00") at the edges."""

from __future__ import annotations

import re

_YUAN = re.compile(r"^(?P<sign>-)?(?P<int>[0-9]{1,13})(?:\.(?P<frac>[0-9]{1,2}))?$")


class MoneyFormatError(ValueError):
    pass


def parse_yuan(text: str | int | float | None) -> int:
    """'99.00' -> 9900. Refuses anything that is not a plain decimal with at most 2 places."""
    if text is None:
        raise MoneyFormatError("amount is missing")
    if isinstance(text, bool):
        raise MoneyFormatError(f"not an amount: {text!r}")
    if isinstance(text, int):
        text = str(text)
    if isinstance(text, float):
        raise MoneyFormatError("amounts are decimal strings such as \"99.00\", not floats")
    m = _YUAN.match(text.strip())
    if not m:
        raise MoneyFormatError(f"not an amount in yuan with at most 2 decimals: {text!r}")
    frac = (m.group("frac") or "").ljust(2, "0")
    fen = int(m.group("int")) * 100 + int(frac)
    return -fen if m.group("sign") else fen


def format_yuan(fen: int) -> str:
    """9900 -> '99.00'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"
