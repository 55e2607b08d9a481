"""A scenario step's checks (`expect:`): what a ticket, order or shop looks like now, and whether an
event happened. Each key checked is one expectation; a mismatch is a failure naming both values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..clock import SHANGHAI
from ..domain import ledger
from ..errors import present
from ..money import MoneyFormatError, format_yuan, parse_yuan
from ..services.views import governance
from .scenario_file import Node, parse_time
from .scenario_state import Run

CHECK_KEYS = {
    "ticket": {"status", "type", "over_period", "refunded", "advanced", "due", "lines"},
    "complaint": {"status"},
    "order": {"status", "entry", "refunded", "settled"},
    "shop": {"wallet", "deposit", "debt", "refund_handling", "measures"},
    "buyer": {"standing", "member", "owes"},  # RULES §10; owes: a DY-FAST-1 advance recovered from the buyer
    "event": {"type", "ticket", "order", "shop", "rule", "shop_rule", "amount", "at"},
    "no_event": {"type", "ticket", "order", "shop", "rule", "shop_rule", "amount", "at"},
}


def verify(run: Run, check: Any, step: Node, where: str) -> None:
    """One check of a step's `expect:`; raises Unborn when it names a ticket whose apply was refused."""
    if not isinstance(check, Node):
        raise run.bad(step, "expect", "a check must be a mapping")
    subjects = [k for k in check if k in CHECK_KEYS]
    if len(subjects) != 1:
        raise run.bad(check, "expect", f"a check names exactly one subject of {sorted(CHECK_KEYS)}")
    subject = subjects[0]
    if subject in ("event", "no_event"):
        _check_event(run, check, subject, where)
        return
    for k in check:
        if k != subject and k not in CHECK_KEYS[subject]:
            raise run.bad(check, str(k), f"unknown key for a {subject} check; allowed: {sorted(CHECK_KEYS[subject])}")
    name = str(check[subject])
    found = _facts(run, subject, name, check)
    for key in check:
        if key == subject:
            continue
        run.outcome.expectations += 1
        want = check[key]
        have = found[key]
        if not _same(run, key, want, have, check):
            run.outcome.failures.append(
                f"{where}: {subject} {name}: expected {key} = {_show(want)}, found {_show(have)}")


def _facts(run: Run, subject: str, name: str, check: Node) -> dict[str, Any]:
    now = run.clock.now()
    with run.app.uow(write=False) as uow:
        if subject == "ticket":
            t = present(uow.tickets.get(run.ticket_id(check)), f"ticket {run.ticket_id(check)}")
            return {"status": t.status, "type": t.type, "over_period": t.over_period,
                    "refunded": format_yuan(t.refunded_fen), "advanced": format_yuan(t.advanced_fen), "due": t.due_at,
                    "lines": [c.as_json() for c in t.lines]}
        if subject == "complaint":
            x = present(uow.complaints.get(run.complaint_id(check)), f"complaint {name}")
            return {"status": x.status}
        if subject == "order":
            o = uow.orders.get(name)
            if o is None:
                raise run.bad(check, "order", f"no order {name} in this scenario")
            return {"status": o.status, "entry": "open" if o.entry_open(now) else "closed",
                    "refunded": format_yuan(o.refunded_fen), "settled": o.settled_at is not None}
        if subject == "buyer":
            b = uow.buyers.get(name)
            if b is None:
                raise run.bad(check, "buyer", f"no buyer {name} in this scenario")
            return {"standing": b.standing, "member": b.member,
                    "owes": format_yuan(-uow.balance(ledger.receivable(name)))}
        s = uow.shops.get(name)
        if s is None:
            raise run.bad(check, "shop", f"no shop {name} in this scenario")
        # balances are the sums of the shop's journal lines (debt shown as what is owed, >= 0)
        return {"wallet": format_yuan(uow.balance(ledger.wallet(name))),
                "deposit": format_yuan(uow.balance(ledger.deposit(name))),
                "debt": format_yuan(-uow.balance(ledger.debt(name))),
                # governance (KS-GOV-3, KS-GOV-4): measures in force in ladder order
                "refund_handling": s.refund_handling,
                "measures": governance.measures_in_force(uow, name)}


def _same(run: Run, key: str, want: Any, have: Any, node: Node) -> bool:
    if key in ("refunded", "advanced", "wallet", "deposit", "debt", "owes"):
        try:
            return parse_yuan(str(want)) == parse_yuan(str(have))
        except MoneyFormatError as e:
            raise run.bad(node, key, str(e)) from None
    if key in ("due", "at"):
        if want is None or have is None:
            return want is None and have is None
        w = parse_time(want, run.clock.now())
        if w is None:
            raise run.bad(node, key, f"not a time: {want!r}")
        return bool(w == have)
    if key == "lines":  # GEN-APPLY-7: {sku, qty} in any order
        if not isinstance(want, list) or not all(isinstance(x, dict) for x in want):
            raise run.bad(node, key, "lines is a list of {sku, qty}")
        wanted = sorted((str(x.get("sku")), x.get("qty")) for x in want)
        return wanted == sorted((str(x["sku"]), x["qty"]) for x in have)
    return bool(want == have)


def _check_event(run: Run, check: Node, subject: str, where: str) -> None:
    spec = check[subject]
    if not isinstance(spec, Node) or "type" not in spec:
        raise run.bad(check, subject, f"{subject} needs a mapping with at least type")
    run.keys(spec, CHECK_KEYS[subject], subject, check, subject)
    want: dict[str, Any] = {}
    for k, v in spec.items():
        if k == "ticket":
            want["ticket_id"] = run.ticket_id(spec)
        elif k == "order":
            want["order_id"] = str(v)
        elif k == "shop":
            want["shop_id"] = str(v)
        elif k == "at":
            w = parse_time(v, run.clock.now())
            if w is None:
                raise run.bad(spec, "at", f"not a time: {v!r}")
            want["at"] = w
        elif k == "amount":  # money in the event's payload, compared in fen ("3" is "3.00")
            want["amount"] = run.money(spec, "amount")
        else:
            want[k] = v
    now = run.clock.now()
    with run.app.uow(write=False) as uow:
        rows = [e for e in uow.all_events() if e["at"] <= now]
    for e in rows:  # GEN-AUTO-1: the shop's rule that decided is in the payload; so is an event's amount
        payload = e.get("payload") or {}
        e["shop_rule"] = payload.get("shop_rule")
        e["amount"] = _fen(payload.get("amount"))
    hit = any(all(e.get(k) == v for k, v in want.items()) for e in rows)
    run.outcome.expectations += 1
    if subject == "event" and not hit:
        similar = [run.event_line(e) for e in rows if e["type"] == spec["type"]]
        run.outcome.failures.append(
            f"{where}: expected an event {dict(spec)}; events of that type: {similar or 'none'}")
    if subject == "no_event" and hit:
        run.outcome.failures.append(f"{where}: expected no event {dict(spec)}, but one happened")


def _fen(v: Any) -> int | None:
    try:
        return None if v is None else parse_yuan(str(v))
    except MoneyFormatError:
        return None


def _show(v: Any) -> str:
    if isinstance(v, datetime):
        return v.astimezone(SHANGHAI).isoformat()
    return repr(v) if not isinstance(v, str) else v
