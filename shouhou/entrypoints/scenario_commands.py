"""A scenario step's command (`do:` with `args:` and `as:`): the commands a scenario may give, how
each becomes an engine command, and what happens when the engine refuses it (an `expect_error:`
checks the refusal; an unexpected one is a failed expectation)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain.actors import SYSTEM, Actor
from ..domain.lines import Cover
from ..errors import Refusal
from ..services import commands as c
from .scenario_file import Node
from .scenario_state import Run, Unborn

COMMANDS: dict[str, tuple[set[str], set[str]]] = {
    # do: (required args, optional args)
    "ship_order": ({"order"}, {"carrier", "waybill"}),
    "sign_order": ({"order"}, set()),
    "confirm_order": ({"order"}, set()),
    "apply": ({"order", "type", "reason"}, {"amount", "evidence", "note", "lines"}),
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
    "rule": ({"ticket", "in_favour_of"}, {"remedy", "amount", "fault", "finding", "lines"}),
    "cannot_reship": ({"ticket"}, set()),
    "claim_compensation": ({"ticket"}, set()),
    "retrieve_goods": ({"ticket"}, set()),
    "sign_replacement": ({"ticket"}, set()),
    "refund_instead": ({"ticket"}, set()),
    "appeal": ({"ticket"}, {"reason"}),
    "decide_appeal": ({"appeal", "upheld"}, {"answer", "fault_after"}),
    "open_entry": ({"order"}, set()),
    "request_reopen": ({"order"}, {"note"}),
    "top_up": ({"shop", "account", "amount"}, set()),
    "withdraw_deposit": ({"shop", "amount"}, set()),
    "complain": ({"order", "reason"}, set()),
    "close_complaint": ({"complaint"}, {"answer"}),
    "set_automation": ({"shop", "rules"}, set()),
    "set_shop_status": ({"shop", "status"}, {"reason"}),
    "claim_freight": ({"ticket", "amount"}, {"receipt"}),  # GEN-FREIGHT-1
    "decide_freight": ({"ticket", "approve"}, {"reason"}),
}


def play_command(run: Run, step: Node, where: str, at: datetime) -> None:
    """Gives the step's command to the engine at `at` and records what the step expected of it."""
    do = step.get("do")
    if do not in COMMANDS:
        raise run.bad(step, "do", f"unknown command {do!r}; known: {sorted(COMMANDS)}")
    args = step.get("args") or Node()
    required, optional = COMMANDS[do]
    run.keys(args, required | optional, f"args of {do}", step, "args")
    for r in required - {"reason"}:
        if r not in args:
            raise run.bad(args, r, f"{do} needs {r}")
    actor = _actor(run, step)
    expect_error = step.get("expect_error")
    if expect_error is not None:
        run.keys(expect_error, {"code", "rule"}, "expect_error", step, "expect_error")
    build = _BUILDERS.get(do)
    if build is None:
        run.outcome.expectations += 1
        run.outcome.failures.append(f"{where}: command {do} is not available in this version of shouhou")
        return
    try:
        cmd = build(run, args, step)
    except Unborn as e:
        run.outcome.expectations += 1
        run.outcome.failures.append(f"{where}: ticket {e.name} does not exist: its apply was refused")
        return
    refusal: Refusal | None = None
    result = None
    try:
        result = run.app.handle(cmd, actor, now=at)
    except Refusal as e:
        refusal = e
    if expect_error is not None:
        run.outcome.expectations += 1
        if refusal is None:
            run.outcome.failures.append(f"{where}: expected {do} to be refused with {dict(expect_error)}, but it succeeded")
        else:
            problems = []
            if "code" in expect_error and expect_error["code"] != refusal.code:
                problems.append(f"code {refusal.code} (expected {expect_error['code']})")
            if "rule" in expect_error and expect_error["rule"] not in refusal.rules:
                problems.append(f"rules {refusal.rules} (expected {expect_error['rule']} among them)")
            if problems:
                run.outcome.failures.append(
                    f"{where}: {do} was refused with {', '.join(problems)}: {refusal.message_en}")
    elif refusal is not None:
        run.outcome.expectations += 1
        run.outcome.failures.append(
            f"{where}: {do} was refused: {refusal.code} {refusal.rules}: {refusal.message_en}")
    _name_what_it_made(run, step, do, result)


def _name_what_it_made(run: Run, step: Node, do: str, result: Any) -> None:
    """`id:` on apply names the ticket (or marks the name unborn when refused); on appeal, the appeal;
    on complain, the complaint."""
    if "id" in step and do in ("appeal", "complain"):
        if result is not None:
            (run.appeals if do == "appeal" else run.complaints)[str(step["id"])] = result
        return
    if "id" in step:
        if do != "apply":
            raise run.bad(step, "id", "only apply (a ticket), appeal and complain name what they create")
        if result is not None:
            run.tickets[str(step["id"])] = result
            run.names[result] = str(step["id"])
        else:
            run.unborn.add(str(step["id"]))


def _actor(run: Run, step: Node) -> Actor:
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
            if ident not in run.staff:
                raise run.bad(step, "as", f"no staff member {ident} in this scenario")
            return run.staff[ident]
    raise run.bad(step, "as", f"actor must be buyer:ID, staff:ID, platform or system, not {who!r}")


# The first bytes of a file of each type, so that made-up evidence is detected as what it claims to be.
SIGNATURES = {"image/jpeg": b"\xff\xd8\xff\xe0", "image/png": b"\x89PNG\r\n\x1a\n", "image/gif": b"GIF89a",
              "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ", "application/pdf": b"%PDF-1.7\n",
              "video/mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "application/x-msdownload": b"MZ"}


def _made_up(name: str, ctype: str, size: int) -> bytes:
    start = SIGNATURES.get(ctype, b"")
    filler = name.encode() or b"x"
    return (start + filler * (size // len(filler) + 1))[:max(size, len(start))]


def evidence_files(run: Run, args: Node) -> tuple[c.EvidenceFile, ...]:
    """Evidence in a scenario: file names ("crack.jpg") or mappings {name, content_type?, size?}.
    The content is made up (its size as given, starting as a file of its type does, SIGNATURES), so
    limits, type detection and hashes work as they would live."""
    items = args.get("items")
    if not isinstance(items, list):
        raise run.bad(args, "items", "items must be a list of file names or {name, content_type, size}")
    out = []
    for item in items:
        if isinstance(item, dict):
            name = str(item.get("name", ""))
            ctype = str(item.get("content_type") or mimetypes.guess_type(name)[0] or "application/octet-stream")
            size = int(item.get("size", len(name.encode()) or 1))
            content = _made_up(name, ctype, size)
        else:
            name = str(item)
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            content = _made_up(name, ctype, len(name.encode()))
        out.append(c.EvidenceFile(name, ctype, content))
    return tuple(out)


def _refs(run: Run, args: Node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in args.items():
        if k == "ticket":
            out[k] = run.ticket_id(args)
        elif k == "evidence" or k == "items":
            out[k] = tuple(str(x) for x in (v or []))
        else:
            out[k] = v
    return out


def _amount(run: Run, args: Node) -> int | None:
    return None if args.get("amount") is None else run.money(args, "amount")


def _cover(run: Run, args: Node) -> tuple[Cover, ...] | None:
    """apply's and rule's `lines` (GEN-APPLY-7): a list of {sku, qty}; none given, every unit still left
    (apply) or all the ticket covers (rule)."""
    items = args.get("lines")
    if items is None:
        return None
    if not isinstance(items, list):
        raise run.bad(args, "lines", "lines must be a list of {sku, qty}")
    out = []
    for item in items:
        run.keys(item, {"sku", "qty"}, "a ticket line", args, "lines")
        qty = item.get("qty", 1)
        if "sku" not in item or not isinstance(qty, int) or isinstance(qty, bool):
            raise run.bad(item, "sku", "a ticket line is {sku, qty} with a whole qty")
        out.append(Cover(str(item["sku"]), qty))
    return tuple(out)


def _plain(v: Any) -> Any:
    """A scenario's value as plain lists and dicts (the domain checks what they hold)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return tuple(_plain(x) for x in v) if not isinstance(v, str) else v
    return v


def _flag(run: Run, args: Node, key: str, default: bool = False) -> bool:
    """A yes/no argument: YAML true or false, nothing else."""
    value = args.get(key, default)
    if not isinstance(value, bool):
        raise run.bad(args, key, f"{key} must be true or false")
    return value


def _s(v: Any) -> str | None:
    return None if v is None else str(v)


# do -> the engine command, from (the run, the step's args, the step)
_BUILDERS: dict[str, Callable[[Run, Node, Node], object]] = {
    "ship_order": lambda r, a, s: c.ShipOrder(str(a["order"]), a.get("carrier"), _s(a.get("waybill"))),
    "sign_order": lambda r, a, s: c.SignOrder(str(a["order"])),
    "confirm_order": lambda r, a, s: c.ConfirmOrder(str(a["order"])),
    "apply": lambda r, a, s: c.Apply(str(a["order"]), str(a.get("type")), str(a.get("reason")), _amount(r, a),
                                     tuple(str(x) for x in (a.get("evidence") or [])), a.get("note"),
                                     _cover(r, a)),
    "cancel": lambda r, a, s: c.Cancel(r.ticket_id(a)),
    "approve": lambda r, a, s: c.Approve(r.ticket_id(a), a.get("return_address")),
    "reject": lambda r, a, s: c.Reject(r.ticket_id(a), _s(a.get("reason")), _refs(r, a).get("evidence", ())),
    "submit_waybill": lambda r, a, s: c.SubmitWaybill(r.ticket_id(a), _s(a.get("carrier")), _s(a.get("waybill"))),
    "confirm_return": lambda r, a, s: c.ConfirmReturn(r.ticket_id(a)),
    "refuse_return": lambda r, a, s: c.RefuseReturn(r.ticket_id(a), _s(a.get("reason")),
                                                    _refs(r, a).get("evidence", ())),
    "request_intervention": lambda r, a, s: c.RequestIntervention(r.ticket_id(a), _s(a.get("reason"))),
    "open_entry": lambda r, a, s: c.OpenEntry(str(a["order"])),
    "top_up": lambda r, a, s: c.TopUp(str(a["shop"]), str(a["account"]), r.money(a, "amount")),
    "withdraw_deposit": lambda r, a, s: c.WithdrawDeposit(str(a["shop"]), r.money(a, "amount")),
    "request_reopen": lambda r, a, s: c.RequestReopen(str(a["order"]), _s(a.get("note"))),
    "ship_replacement": lambda r, a, s: c.ShipReplacement(r.ticket_id(a), _s(a.get("carrier")), _s(a.get("waybill"))),
    "sign_replacement": lambda r, a, s: c.SignReplacement(r.ticket_id(a)),
    "confirm_replacement": lambda r, a, s: c.ConfirmReplacement(r.ticket_id(a)),
    "refund_instead": lambda r, a, s: c.RefundInstead(r.ticket_id(a)),
    "respond_intervention": lambda r, a, s: c.RespondIntervention(r.ticket_id(a)),
    "request_evidence": lambda r, a, s: c.RequestEvidence(r.ticket_id(a)),
    "submit_evidence": lambda r, a, s: c.SubmitEvidence(r.ticket_id(a), evidence_files(r, a)),
    "rule": lambda r, a, s: c.Rule(r.ticket_id(a), str(a["in_favour_of"]), _s(a.get("remedy")), _amount(r, a),
                                   _s(a.get("fault")), _s(a.get("finding")), _cover(r, a)),
    "cannot_reship": lambda r, a, s: c.CannotReship(r.ticket_id(a)),  # KS-PI-4
    "claim_compensation": lambda r, a, s: c.ClaimCompensation(r.ticket_id(a)),  # KS-PI-5
    "retrieve_goods": lambda r, a, s: c.RetrieveGoods(r.ticket_id(a)),  # KS-PI-6
    "appeal": lambda r, a, s: c.FileAppeal(r.ticket_id(a), _s(a.get("reason"))),
    "decide_appeal": lambda r, a, s: c.DecideAppeal(r.appeal_id(a), bool(a["upheld"]), _s(a.get("answer")),
                                                    _s(a.get("fault_after"))),
    "set_automation": lambda r, a, s: c.SetAutomation(str(a["shop"]), _plain(a.get("rules"))),
    "complain": lambda r, a, s: c.FileComplaint(str(a["order"]), _s(a.get("reason"))),
    "close_complaint": lambda r, a, s: c.CloseComplaint(r.complaint_id(a), _s(a.get("answer"))),
    "set_shop_status": lambda r, a, s: c.SetShopStatus(str(a["shop"]), str(a["status"]), _s(a.get("reason"))),
    "claim_freight": lambda r, a, s: c.ClaimFreight(r.ticket_id(a), r.money(a, "amount"), _flag(r, a, "receipt")),
    "decide_freight": lambda r, a, s: c.DecideFreight(r.ticket_id(a), _flag(r, a, "approve"), _s(a.get("reason"))),
}
