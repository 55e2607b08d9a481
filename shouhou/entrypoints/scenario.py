"""The scenario runner (../shared/SCENARIOS.md): sets up shops, buyers and orders, then plays
commands and checks on a virtual clock against a real database (in-memory SQLite by default)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ..adapters.db import create_schema, make_engine
from ..adapters.notifier import MemoryNotifier
from ..clock import SHANGHAI, VirtualClock
from ..domain import ledger
from ..domain.actors import SYSTEM, Actor
from ..errors import Refusal
from ..money import MoneyFormatError, format_yuan, parse_yuan
from ..policies import PolicyPackError, PolicyRegistry, load_pack
from ..services import commands as c
from ..services.app import Shouhou
from ..services.views import governance
from .scenario_file import Node, ScenarioFileError, load_yaml, parse_instant, parse_time

PLATFORM = Actor("platform", "scenario", role="platform_operator")
# An order's commission when the file gives none (SCENARIOS.md: "every order field ... has the default shown").
DEFAULT_COMMISSION = {"creator": "0.10", "group_leader": "0.00", "affiliate": "0.00", "tech_fee": "0.05"}

TOP_KEYS = {"name", "policy", "start", "shops", "staff", "buyers", "orders", "steps", "description"}
SHOP_KEYS = {"id", "status", "wallet", "deposit", "wallet_opened_at", "name", "return_address"}
STAFF_KEYS = {"id", "shop", "role", "name"}
ORDER_KEYS = {"id", "shop", "buyer", "amount", "freight", "payment", "kind", "marketing", "goods", "category",
              "no_reason_return", "commission", "created_at", "shipped_at", "signed_at", "confirmed_at"}
STEP_KEYS = {"at", "as", "do", "args", "id", "expect", "expect_error", "note"}
CHECK_KEYS = {
    "ticket": {"status", "type", "over_period", "refunded", "due"},
    "order": {"status", "entry", "refunded", "settled"},
    "shop": {"wallet", "deposit", "debt", "refund_handling", "measures"},
    "event": {"type", "ticket", "order", "shop", "rule", "at"},
    "no_event": {"type", "ticket", "order", "shop", "rule", "at"},
}
# Checks in the contract whose subject arrives with a later part of shouhou (money, governance).
NOT_YET: set[tuple[str, str]] = set()

COMMANDS: dict[str, tuple[set[str], set[str]]] = {
    # do: (required args, optional args)
    "ship_order": ({"order"}, {"carrier", "waybill"}),
    "sign_order": ({"order"}, set()),
    "confirm_order": ({"order"}, set()),
    "apply": ({"order", "type", "reason"}, {"amount", "evidence", "note"}),
    "cancel": ({"ticket"}, set()),
    "approve": ({"ticket"}, {"return_address"}),
    "reject": ({"ticket"}, {"reason", "evidence"}),
    "submit_waybill": ({"ticket"}, {"carrier", "waybill"}),
    "confirm_return": ({"ticket"}, set()),
    "refuse_return": ({"ticket"}, {"reason", "evidence"}),
    "ship_replacement": ({"ticket"}, {"carrier", "waybill"}),
    "confirm_replacement": ({"ticket"}, set()),
    "request_intervention": ({"ticket"}, {"reason"}),
    "respond_intervention": ({"ticket"}, set()),
    "request_evidence": ({"ticket"}, set()),
    "submit_evidence": ({"ticket", "items"}, set()),
    "rule": ({"ticket", "in_favour_of"}, {"remedy", "amount", "fault"}),
    "sign_replacement": ({"ticket"}, set()),
    "refund_instead": ({"ticket"}, set()),
    "appeal": ({"ticket"}, {"reason"}),
    "decide_appeal": ({"appeal", "upheld"}, {"answer", "fault_after"}),
    "open_entry": ({"order"}, set()),
    "request_reopen": ({"order"}, {"note"}),
    "top_up": ({"shop", "account", "amount"}, set()),
    "set_shop_status": ({"shop", "status"}, {"reason"}),
}


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


class _Run:
    def __init__(self, path: Path, doc: Node, engine: Engine) -> None:
        self.path, self.doc = path, doc
        self.policies = PolicyRegistry.default()
        self.pack = self._policy()
        self.start = self._time(doc, "start", None)
        self.clock = VirtualClock(self.start)
        self.app = Shouhou.with_fakes(engine, self.clock, self.policies, MemoryNotifier())
        self.staff: dict[str, Actor] = {}
        self.tickets: dict[str, str] = {}  # scenario name -> engine id
        self.names: dict[str, str] = {}  # engine id -> scenario name
        self.unborn: set[str] = set()  # names whose apply was refused
        self.appeals: dict[str, str] = {}
        self.outcome = Outcome(str(path), str(doc.get("name", path.stem)))

    # -- file validation -----------------------------------------------------------------------
    def bad(self, node: Node | None, key: str, message: str) -> ScenarioFileError:
        line = None
        if isinstance(node, Node):
            line = node.key_lines.get(key, node.line)
        return ScenarioFileError(str(self.path), key, line, message)

    def _keys(self, node: Any, allowed: set[str], what: str, parent: Node | None = None, pkey: str = "") -> Node:
        if not isinstance(node, Node):
            raise self.bad(parent, pkey or what, f"{what} must be a mapping")
        for k in node:
            if k not in allowed:
                raise self.bad(node, str(k), f"unknown key in {what}; allowed: {sorted(allowed)}")
        return node

    def _time(self, node: Node, key: str, base: datetime | None) -> datetime:
        value = node.get(key)
        parsed = parse_time(value, base) if base is not None else parse_instant(value)
        if parsed is None:
            hint = "an absolute time with offset, or an offset such as +1h, -5d" if base else \
                "an absolute time such as 2026-03-02T09:00:00+08:00"
            raise self.bad(node, key, f"not a time: {value!r} (expected {hint})")
        return parsed

    def _opt_time(self, node: Node, key: str) -> datetime | None:
        if node.get(key) is None:
            return None
        return self._time(node, key, self.start)

    def _money(self, node: Node, key: str, default: str | None = None) -> int:
        value = node.get(key, default)
        try:
            return parse_yuan(value if not isinstance(value, (int, float)) or isinstance(value, bool) else str(value))
        except MoneyFormatError as e:
            raise self.bad(node, key, str(e)) from None

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

    # -- set-up --------------------------------------------------------------------------------
    def setup(self) -> None:
        self._keys(self.doc, TOP_KEYS, "the scenario")
        at = self.start
        for shop in self._list("shops"):
            self._keys(shop, SHOP_KEYS, "a shop")
            sid = self._id(shop)
            opened = self._opt_time(shop, "wallet_opened_at")
            self._do(c.CreateShop(
                id=sid, name=str(shop.get("name", sid)), policy=self.pack, status=str(shop.get("status", "normal")),
                wallet_fen=self._money(shop, "wallet", "0.00"), deposit_fen=self._money(shop, "deposit", "0.00"),
                wallet_opened_at=opened, return_address=shop.get("return_address"),
            ), PLATFORM, shop, "shops", at)
        for member in self._list("staff"):
            self._keys(member, STAFF_KEYS, "a staff member")
            mid = self._id(member)
            self._do(c.AddStaff(id=mid, shop_id=str(member.get("shop")), role=str(member.get("role", "cs_agent")),
                                name=str(member.get("name", mid))), PLATFORM, member, "staff", at)
            self.staff[mid] = Actor("staff", mid, shop_id=str(member.get("shop")), role=str(member.get("role", "cs_agent")))
        buyers = self.doc.get("buyers") or []
        if not isinstance(buyers, list):
            raise self.bad(self.doc, "buyers", "buyers must be a list of ids")
        for b in buyers:
            bid = b.get("id") if isinstance(b, dict) else b
            self._do(c.AddBuyer(id=str(bid)), PLATFORM, self.doc, "buyers", at)
        for o in self._list("orders"):
            self._keys(o, ORDER_KEYS, "an order")
            for req in ("id", "shop", "buyer", "amount"):
                if req not in o:
                    raise self.bad(o, req, f"an order needs {req}")
            commission = o["commission"] if "commission" in o else DEFAULT_COMMISSION  # SCENARIOS.md's default
            if commission is None:
                commission = {}
            if not isinstance(commission, dict):
                raise self.bad(o, "commission", "commission must be a mapping")
            self._do(c.ImportOrder(
                id=str(o["id"]), shop_id=str(o["shop"]), buyer_id=str(o["buyer"]), amount_fen=self._money(o, "amount"),
                freight_fen=self._money(o, "freight", "0.00"), payment=str(o.get("payment", "online")),
                kind=str(o.get("kind", "normal")), marketing=bool(o.get("marketing", False)),
                goods=str(o.get("goods", "physical")), category=str(o.get("category", "apparel")),
                no_reason_return=bool(o.get("no_reason_return", True)),
                commission={str(k): str(v) for k, v in commission.items()},
                created_at=self._opt_time(o, "created_at") or self.start - timedelta(days=5),
                shipped_at=self._opt_time(o, "shipped_at") if "shipped_at" in o else self.start - timedelta(days=4),
                signed_at=self._opt_time(o, "signed_at") if "signed_at" in o else self.start - timedelta(days=2),
                confirmed_at=self._opt_time(o, "confirmed_at"),
            ), PLATFORM, o, "orders", at)

    def _list(self, key: str) -> list[Node]:
        items = self.doc.get(key) or []
        if not isinstance(items, list):
            raise self.bad(self.doc, key, f"{key} must be a list")
        return items

    def _id(self, node: Node) -> str:
        if "id" not in node:
            raise self.bad(node, "id", "an id is required")
        return str(node["id"])

    def _do(self, cmd: object, actor: Actor, node: Node, key: str, at: datetime) -> Any:
        try:
            return self.app.handle(cmd, actor, now=at)
        except Refusal as e:
            raise self.bad(node, key, f"set-up refused: {e.code}: {e.message_en}") from None

    # -- steps ---------------------------------------------------------------------------------
    def play(self) -> None:
        steps = self._list("steps")
        at = self.start
        for n, step in enumerate(steps, 1):
            self._keys(step, STEP_KEYS, f"step {n}")
            if "at" in step:
                at = self._time(step, "at", at)
            if at < self.clock.now():
                raise self.bad(step, "at", f"step {n} goes back in time to {at.isoformat()}")
            self.app.tick(now=at, batch=1)
            self.clock.set(at)
            where = f"step {n} (line {step.line})"
            if "do" in step:
                self._command(step, where, at)
            elif "expect_error" in step:
                raise self.bad(step, "expect_error", "expect_error needs a command (do)")
            if "expect" in step:
                checks = step["expect"]
                for check in checks if isinstance(checks, list) else [checks]:
                    try:
                        self._check(check, step, where)
                    except _Unborn as e:
                        self.outcome.expectations += 1
                        self.outcome.failures.append(f"{where}: ticket {e.name} does not exist: its apply was refused")

    def _actor(self, step: Node) -> Actor:
        who = step.get("as")
        if who == "platform":
            return Actor("platform", "cs", role="platform_cs")
        if who == "system":
            return SYSTEM
        if isinstance(who, str) and ":" in who:
            kind, ident = who.split(":", 1)
            if kind == "buyer":
                return Actor("buyer", ident)
            if kind == "staff":
                if ident not in self.staff:
                    raise self.bad(step, "as", f"no staff member {ident} in this scenario")
                return self.staff[ident]
        raise self.bad(step, "as", f"actor must be buyer:ID, staff:ID, platform or system, not {who!r}")

    def _command(self, step: Node, where: str, at: datetime) -> None:
        do = step.get("do")
        if do not in COMMANDS:
            raise self.bad(step, "do", f"unknown command {do!r}; known: {sorted(COMMANDS)}")
        args = step.get("args") or Node()
        required, optional = COMMANDS[do]
        self._keys(args, required | optional, f"args of {do}", step, "args")
        for r in required - {"reason"}:
            if r not in args:
                raise self.bad(args, r, f"{do} needs {r}")
        actor = self._actor(step)
        expect_error = step.get("expect_error")
        if expect_error is not None:
            self._keys(expect_error, {"code", "rule"}, "expect_error", step, "expect_error")
        build = _BUILDERS.get(do)
        if build is None:
            self.outcome.expectations += 1
            self.outcome.failures.append(f"{where}: command {do} is not available in this version of shouhou")
            return
        try:
            cmd = build(self, args, step)
        except _Unborn as e:
            self.outcome.expectations += 1
            self.outcome.failures.append(f"{where}: ticket {e.name} does not exist: its apply was refused")
            return
        refusal: Refusal | None = None
        result = None
        try:
            result = self.app.handle(cmd, actor, now=at)
        except Refusal as e:
            refusal = e
        if expect_error is not None:
            self.outcome.expectations += 1
            if refusal is None:
                self.outcome.failures.append(f"{where}: expected {do} to be refused with {dict(expect_error)}, but it succeeded")
            else:
                problems = []
                if "code" in expect_error and expect_error["code"] != refusal.code:
                    problems.append(f"code {refusal.code} (expected {expect_error['code']})")
                if "rule" in expect_error and expect_error["rule"] not in refusal.rules:
                    problems.append(f"rules {refusal.rules} (expected {expect_error['rule']} among them)")
                if problems:
                    self.outcome.failures.append(
                        f"{where}: {do} was refused with {', '.join(problems)}: {refusal.message_en}")
        elif refusal is not None:
            self.outcome.expectations += 1
            self.outcome.failures.append(
                f"{where}: {do} was refused: {refusal.code} {refusal.rules}: {refusal.message_en}")
        if "id" in step and do == "appeal":
            if result is not None:
                self.appeals[str(step["id"])] = result
            return
        if "id" in step:
            if do != "apply":
                raise self.bad(step, "id", "only apply (a ticket) and appeal name what they create")
            if result is not None:
                self.tickets[str(step["id"])] = result
                self.names[result] = str(step["id"])
            else:
                self.unborn.add(str(step["id"]))

    def ticket_id(self, node: Node, key: str = "ticket") -> str:
        name = str(node.get(key))
        if name in self.unborn:
            raise _Unborn(name)
        if name not in self.tickets:
            raise self.bad(node, key, f"no ticket named {name} yet (name tickets with id: on apply)")
        return self.tickets[name]

    def appeal_id(self, node: Node) -> str:
        name = str(node.get("appeal"))
        if name not in self.appeals:
            raise self.bad(node, "appeal", f"no appeal named {name} yet (name appeals with id: on appeal)")
        return self.appeals[name]

    def evidence_files(self, args: Node) -> tuple[c.EvidenceFile, ...]:
        """Evidence in a scenario: file names ("crack.jpg") or mappings {name, content_type?, size?}.
        The content is made up (its size as given), so limits and hashes work as they would live."""
        items = args.get("items")
        if not isinstance(items, list):
            raise self.bad(args, "items", "items must be a list of file names or {name, content_type, size}")
        out = []
        for item in items:
            if isinstance(item, dict):
                name = str(item.get("name", ""))
                ctype = str(item.get("content_type") or mimetypes.guess_type(name)[0] or "application/octet-stream")
                size = int(item.get("size", len(name.encode()) or 1))
                content = (name.encode() * (size // max(len(name.encode()), 1) + 1))[:size]
            else:
                name = str(item)
                ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
                content = name.encode()
            out.append(c.EvidenceFile(name, ctype, content))
        return tuple(out)

    # -- checks --------------------------------------------------------------------------------
    def _check(self, check: Any, step: Node, where: str) -> None:
        if not isinstance(check, Node):
            raise self.bad(step, "expect", "a check must be a mapping")
        subjects = [k for k in check if k in CHECK_KEYS]
        if len(subjects) != 1:
            raise self.bad(check, "expect", f"a check names exactly one subject of {sorted(CHECK_KEYS)}")
        subject = subjects[0]
        if subject in ("event", "no_event"):
            self._check_event(check, subject, where)
            return
        for k in check:
            if k != subject and k not in CHECK_KEYS[subject]:
                raise self.bad(check, str(k), f"unknown key for a {subject} check; allowed: {sorted(CHECK_KEYS[subject])}")
        name = str(check[subject])
        found = self._facts(subject, name, check)
        for key in check:
            if key == subject:
                continue
            self.outcome.expectations += 1
            if (subject, key) in NOT_YET:
                self.outcome.failures.append(f"{where}: {subject} {name}: the check {key} is not available in this version")
                continue
            want = check[key]
            have = found[key]
            if not self._same(key, want, have, check):
                self.outcome.failures.append(
                    f"{where}: {subject} {name}: expected {key} = {_show(want)}, found {_show(have)}")

    def _facts(self, subject: str, name: str, check: Node) -> dict[str, Any]:
        now = self.clock.now()
        with self.app.uow(write=False) as uow:
            if subject == "ticket":
                t = uow.tickets.get(self.ticket_id(check))
                assert t is not None
                return {"status": t.status, "type": t.type, "over_period": t.over_period,
                        "refunded": format_yuan(t.refunded_fen), "due": t.due_at}
            if subject == "order":
                o = uow.orders.get(name)
                if o is None:
                    raise self.bad(check, "order", f"no order {name} in this scenario")
                return {"status": o.status, "entry": "open" if o.entry_open(now) else "closed",
                        "refunded": format_yuan(o.refunded_fen), "settled": o.settled_at is not None}
            s = uow.shops.get(name)
            if s is None:
                raise self.bad(check, "shop", f"no shop {name} in this scenario")
            # balances are the sums of the shop's journal lines (debt shown as what is owed, >= 0)
            return {"wallet": format_yuan(uow.balance(ledger.wallet(name))),
                    "deposit": format_yuan(uow.balance(ledger.deposit(name))),
                    "debt": format_yuan(-uow.balance(ledger.debt(name))),
                    # governance (KS-GOV-3, KS-GOV-4): measures in force in ladder order
                    "refund_handling": s.refund_handling,
                    "measures": governance.measures_in_force(uow, name)}

    def _same(self, key: str, want: Any, have: Any, node: Node) -> bool:
        if key in ("refunded", "wallet", "deposit", "debt"):
            try:
                return parse_yuan(str(want)) == parse_yuan(str(have))
            except MoneyFormatError as e:
                raise self.bad(node, key, str(e)) from None
        if key in ("due", "at"):
            if want is None or have is None:
                return want is None and have is None
            w = parse_time(want, self.clock.now())
            if w is None:
                raise self.bad(node, key, f"not a time: {want!r}")
            return bool(w == have)
        return bool(want == have)

    def _check_event(self, check: Node, subject: str, where: str) -> None:
        spec = check[subject]
        if not isinstance(spec, Node) or "type" not in spec:
            raise self.bad(check, subject, f"{subject} needs a mapping with at least type")
        self._keys(spec, CHECK_KEYS[subject], subject, check, subject)
        want: dict[str, Any] = {}
        for k, v in spec.items():
            if k == "ticket":
                want["ticket_id"] = self.ticket_id(spec)
            elif k == "order":
                want["order_id"] = str(v)
            elif k == "shop":
                want["shop_id"] = str(v)
            elif k == "at":
                w = parse_time(v, self.clock.now())
                if w is None:
                    raise self.bad(spec, "at", f"not a time: {v!r}")
                want["at"] = w
            else:
                want[k] = v
        now = self.clock.now()
        with self.app.uow(write=False) as uow:
            rows = [e for e in uow.all_events() if e["at"] <= now]
        hit = any(all(e.get(k) == v for k, v in want.items()) for e in rows)
        self.outcome.expectations += 1
        if subject == "event" and not hit:
            similar = [self._line(e) for e in rows if e["type"] == spec["type"]]
            self.outcome.failures.append(
                f"{where}: expected an event {dict(spec)}; events of that type: {similar or 'none'}")
        if subject == "no_event" and hit:
            self.outcome.failures.append(f"{where}: expected no event {dict(spec)}, but one happened")

    # -- output --------------------------------------------------------------------------------
    def _line(self, e: dict[str, Any]) -> dict[str, Any]:
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

    def finish(self) -> Outcome:
        with self.app.uow(write=False) as uow:
            self.outcome.events = [self._line(e) for e in uow.all_events()]
        return self.outcome


class _Unborn(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _show(v: Any) -> str:
    if isinstance(v, datetime):
        return v.astimezone(SHANGHAI).isoformat()
    return repr(v) if not isinstance(v, str) else v


def _refs(run: _Run, args: Node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in args.items():
        if k == "ticket":
            out[k] = run.ticket_id(args)
        elif k == "evidence" or k == "items":
            out[k] = tuple(str(x) for x in (v or []))
        else:
            out[k] = v
    return out


def _amount(run: _Run, args: Node) -> int | None:
    return None if args.get("amount") is None else run._money(args, "amount")


_BUILDERS: dict[str, Callable[[_Run, Node, Node], object]] = {
    "ship_order": lambda r, a, s: c.ShipOrder(str(a["order"]), a.get("carrier"), _s(a.get("waybill"))),
    "sign_order": lambda r, a, s: c.SignOrder(str(a["order"])),
    "confirm_order": lambda r, a, s: c.ConfirmOrder(str(a["order"])),
    "apply": lambda r, a, s: c.Apply(str(a["order"]), str(a.get("type")), str(a.get("reason")), _amount(r, a),
                                     tuple(str(x) for x in (a.get("evidence") or [])), a.get("note")),
    "cancel": lambda r, a, s: c.Cancel(r.ticket_id(a)),
    "approve": lambda r, a, s: c.Approve(r.ticket_id(a), a.get("return_address")),
    "reject": lambda r, a, s: c.Reject(r.ticket_id(a), _s(a.get("reason")), _refs(r, a).get("evidence", ())),
    "submit_waybill": lambda r, a, s: c.SubmitWaybill(r.ticket_id(a), _s(a.get("carrier")), _s(a.get("waybill"))),
    "confirm_return": lambda r, a, s: c.ConfirmReturn(r.ticket_id(a)),
    "refuse_return": lambda r, a, s: c.RefuseReturn(r.ticket_id(a), _s(a.get("reason")),
                                                    _refs(r, a).get("evidence", ())),
    "request_intervention": lambda r, a, s: c.RequestIntervention(r.ticket_id(a), _s(a.get("reason"))),
    "open_entry": lambda r, a, s: c.OpenEntry(str(a["order"])),
    "top_up": lambda r, a, s: c.TopUp(str(a["shop"]), str(a["account"]), r._money(a, "amount")),
    "request_reopen": lambda r, a, s: c.RequestReopen(str(a["order"]), _s(a.get("note"))),
    "ship_replacement": lambda r, a, s: c.ShipReplacement(r.ticket_id(a), _s(a.get("carrier")), _s(a.get("waybill"))),
    "sign_replacement": lambda r, a, s: c.SignReplacement(r.ticket_id(a)),
    "confirm_replacement": lambda r, a, s: c.ConfirmReplacement(r.ticket_id(a)),
    "refund_instead": lambda r, a, s: c.RefundInstead(r.ticket_id(a)),
    "respond_intervention": lambda r, a, s: c.RespondIntervention(r.ticket_id(a)),
    "request_evidence": lambda r, a, s: c.RequestEvidence(r.ticket_id(a)),
    "submit_evidence": lambda r, a, s: c.SubmitEvidence(r.ticket_id(a), r.evidence_files(a)),
    "rule": lambda r, a, s: c.Rule(r.ticket_id(a), str(a["in_favour_of"]), _s(a.get("remedy")), _amount(r, a),
                                   _s(a.get("fault"))),
    "appeal": lambda r, a, s: c.FileAppeal(r.ticket_id(a), _s(a.get("reason"))),
    "decide_appeal": lambda r, a, s: c.DecideAppeal(r.appeal_id(a), bool(a["upheld"]), _s(a.get("answer")),
                                                    _s(a.get("fault_after"))),
    "set_shop_status": lambda r, a, s: c.SetShopStatus(str(a["shop"]), str(a["status"]), _s(a.get("reason"))),
}


def _s(v: Any) -> str | None:
    return None if v is None else str(v)


def run_file(path: str | Path, engine_factory: Callable[[], Engine] | None = None,
             engine: Engine | None = None) -> Outcome:
    """Run one scenario file. Raises ScenarioFileError when the file itself is invalid.

    By default on a fresh in-memory SQLite database; `engine` runs it on a given database (with its
    schema in place and empty, as the test suite does on PostgreSQL), left open afterwards."""
    path = Path(path)
    doc = load_yaml(path)
    if not isinstance(doc, Node):
        raise ScenarioFileError(str(path), "(file)", None, "a scenario is a YAML mapping")
    for key in ("policy", "start"):
        if key not in doc:
            raise ScenarioFileError(str(path), key, doc.line, f"{key} is required")
    own = engine is None
    if engine is None:
        engine = engine_factory() if engine_factory else _memory_engine()
    try:
        run = _Run(path, doc, engine)
        run.setup()
        run.play()
        return run.finish()
    finally:
        if own:
            engine.dispose()


def _memory_engine() -> Engine:
    engine = make_engine("sqlite://")
    create_schema(engine)
    return engine
