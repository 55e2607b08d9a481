"""Reading a scenario file (../shared/SCENARIOS.md): YAML with line numbers, times and offsets.
Anything wrong with the file raises ScenarioFileError naming the field and the line (exit code 2)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from ..clock import SHANGHAI


class ScenarioFileError(Exception):
    def __init__(self, path: str, field: str, line: int | None, message: str) -> None:
        self.path, self.field, self.line, self.message = path, field, line, message
        where = f"line {line}" if line else "file"
        super().__init__(f"{path}: {where}: {field}: {message}")


class Node(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Node:
    out = Node()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioFileError(str(path), "(file)", None, f"cannot read: {e.strerror}") from e
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ScenarioFileError(str(path), "(yaml)", mark.line + 1 if mark else None, str(e)) from e


_OFFSET = re.compile(r"^(?P<sign>[+-])(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_offset(text: str) -> timedelta | None:
    m = _OFFSET.match(text.strip())
    if not m or not any(m.group(k) for k in "dhms"):
        return None
    delta = timedelta(days=int(m.group("d") or 0), hours=int(m.group("h") or 0),
                      minutes=int(m.group("m") or 0), seconds=int(m.group("s") or 0))
    return -delta if m.group("sign") == "-" else delta


def parse_instant(value: Any) -> datetime | None:
    """An absolute time with its offset; YAML may already have made it a datetime."""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI) if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=SHANGHAI)
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return dt.astimezone(SHANGHAI) if dt.tzinfo else dt.replace(tzinfo=SHANGHAI)
    return None


def parse_time(value: Any, base: datetime) -> datetime | None:
    """An absolute time, or an offset such as "+1h", "-5d", "+2d23h59m" from `base`."""
    if isinstance(value, str):
        delta = parse_offset(value)
        if delta is not None:
            return base + delta
    return parse_instant(value)
