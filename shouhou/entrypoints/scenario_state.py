"""What a scenario run knows while it plays: the engine on its virtual clock, the names the file gives
tickets, appeals and staff, and the outcome so far; and the helpers that read the file's fields,
raising ScenarioFileError that names the field and its line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ..adapters.notifier import MemoryNotifier
from ..adapters.payment import FakeChannel
from ..clock import SHANGHAI, VirtualClock
from ..domain.actors import Actor
from ..money import MoneyFormatError, parse_yuan
from ..policies import PolicyPackError, PolicyRegistry, load_pack
from ..services.app import Shouhou
from .scenario_file import Node, ScenarioFileError, parse_instant, parse_time


@dataclass
class Outcome:
    path: str
    name: str
    expectations: int = 0
    failures: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


class Unborn(Exception):
    """A step names a ticket whose apply was refused: the expectation fails, the run goes on."""

    def __init__(self, name: str) -> None:
        self.name = name


class Run:
    """One scenario file being played on its own engine. scenario_setup, scenario_commands and
    scenario_checks act on it; scenario.run_file makes one and drives it."""

    def __init__(self, path: Path, doc: Node, engine: Engine) -> None:
        self.path, self.doc = path, doc
        self.policies = PolicyRegistry.default()
        self.pack = self._policy()
        self.start = self.time(doc, "start", None)
        self.clock = VirtualClock(self.start)
        self.app = Shouhou.with_fakes(engine, self.clock, self.policies, MemoryNotifier(),
                                      channel=FakeChannel(fail_buyers=self._fail_buyers()))
        self.staff: dict[str, Actor] = {}
        self.tickets: dict[str, str] = {}  # scenario name -> engine id
        self.names: dict[str, str] = {}  # engine id -> scenario name
        self.unborn: set[str] = set()  # names whose apply was refused
        self.appeals: dict[str, str] = {}
        self.complaints: dict[str, str] = {}  # scenario name -> engine id (id: on complain)
        self.outcome = Outcome(str(path), str(doc.get("name", path.stem)))

    def _fail_buyers(self) -> set[str]:
        """`channel: {fail_buyers: [B1]}`: buyers whose accounts the payment channel refuses (DY-OP-9)."""
        channel = self.doc.get("channel")
        if channel is None:
            return set()
        self.keys(channel, {"fail_buyers"}, "channel", self.doc, "channel")
        buyers = channel.get("fail_buyers", [])
        if not isinstance(buyers, list) or not all(isinstance(b, str) for b in buyers):
            raise self.bad(channel, "fail_buyers", "fail_buyers must be a list of buyer ids")
        return set(buyers)

    # -- reading the file's fields -------------------------------------------------------------
    def bad(self, node: Node | None, key: str, message: str) -> ScenarioFileError:
        line = None
        if isinstance(node, Node):
            line = node.key_lines.get(key, node.line)
        return ScenarioFileError(str(self.path), key, line, message)

    def keys(self, node: Any, allowed: set[str], what: str, parent: Node | None = None, pkey: str = "") -> Node:
        if not isinstance(node, Node):
            raise self.bad(parent, pkey or what, f"{what} must be a mapping")
        for k in node:
            if k not in allowed:
                raise self.bad(node, str(k), f"unknown key in {what}; allowed: {sorted(allowed)}")
        return node

    def time(self, node: Node, key: str, base: datetime | None) -> datetime:
        value = node.get(key)
        parsed = parse_time(value, base) if base is not None else parse_instant(value)
        if parsed is None:
            hint = "an absolute time with offset, or an offset such as +1h, -5d" if base else \
                "an absolute time such as 2026-03-02T09:00:00+08:00"
            raise self.bad(node, key, f"not a time: {value!r} (expected {hint})")
        return parsed

    def opt_time(self, node: Node, key: str) -> datetime | None:
        if node.get(key) is None:
            return None
        return self.time(node, key, self.start)

    def money(self, node: Node, key: str, default: str | None = None) -> int:
        value = node.get(key, default)
        try:
            return parse_yuan(value if not isinstance(value, (int, float)) or isinstance(value, bool) else str(value))
        except MoneyFormatError as e:
            raise self.bad(node, key, str(e)) from None

    def list_of(self, key: str) -> list[Node]:
        items = self.doc.get(key) or []
        if not isinstance(items, list):
            raise self.bad(self.doc, key, f"{key} must be a list")
        return items

    def id_of(self, node: Node) -> str:
        if "id" not in node:
            raise self.bad(node, "id", "an id is required")
        return str(node["id"])

    def _policy(self) -> str:
        name = self.doc.get("policy")
        if not isinstance(name, str) or not name:
            raise self.bad(self.doc, "policy", "policy must be kuaishou, douyin or a path to a policy file")
        if name in self.policies:
            return name
        candidate = (self.path.parent / name).resolve()
        try:
            pack = load_pack(candidate)
        except PolicyPackError as e:
            raise self.bad(self.doc, "policy", str(e)) from None
        self.policies.add(pack)
        return pack.name

    # -- the names the file gives --------------------------------------------------------------
    def ticket_id(self, node: Node, key: str = "ticket") -> str:
        name = str(node.get(key))
        if name in self.unborn:
            raise Unborn(name)
        if name not in self.tickets:
            raise self.bad(node, key, f"no ticket named {name} yet (name tickets with id: on apply)")
        return self.tickets[name]

    def appeal_id(self, node: Node) -> str:
        name = str(node.get("appeal"))
        if name not in self.appeals:
            raise self.bad(node, "appeal", f"no appeal named {name} yet (name appeals with id: on appeal)")
        return self.appeals[name]

    def complaint_id(self, node: Node, key: str = "complaint") -> str:
        name = str(node.get(key))
        if name not in self.complaints:
            raise self.bad(node, key, f"no complaint named {name} yet (name complaints with id: on complain)")
        return self.complaints[name]

    # -- output --------------------------------------------------------------------------------
    def event_line(self, e: dict[str, Any]) -> dict[str, Any]:
        """An event as `shouhou scenario run --json` prints it, tickets by their scenario names."""
        line: dict[str, Any] = {"at": e["at"].astimezone(SHANGHAI).isoformat(), "type": e["type"]}
        if e["ticket_id"]:
            line["ticket"] = self.names.get(e["ticket_id"], e["ticket_id"])
        for key, col in (("order", "order_id"), ("shop", "shop_id")):
            if e[col]:
                line[key] = e[col]
        line["actor"] = e["actor"]
        for key, col in (("rule", "rule"), ("from", "from_status"), ("to", "to_status")):
            if e[col] is not None:
                line[key] = e[col]
        if e["payload"]:
            line["payload"] = e["payload"]
        return line
