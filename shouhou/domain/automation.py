"""Shop automation rules (售后小助手, GEN-AUTO-1): rules a shop defines that act for it.

A rule approves refund-only or return applications (`approve`) or confirms receipt of a returned
parcel (`confirm_receipt`) when every condition of its `when` holds. A rule never rejects: KS-RR-4
(the pack's `rejection.reason_required`; GEN-RR-4 on Douyin) wants a person who talked to the buyer.
An automatic decision is the event the shop's own action is (`approved`, `return_confirmed`), taken
through the same domain functions, and carries `rule: GEN-AUTO-1`, the shop's rule id (`shop_rule`)
and the conditions it matched; it counts as the shop acting, so no overdue record (KS-GOV-1) follows.

"The waybill shows delivery" is approximated by the submission of the waybill itself: shouhou has
no carrier tracking yet, so a `confirm_receipt` rule acts when the buyer submits the waybill.

`buyer_standing` is the buyer's standing as the platform recorded it (RULES §10: `normal` unless the
platform says otherwise, `good` or `poor`). SKUs are not modelled on orders; `categories` (the
order's category) is the finest goods condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..errors import Reason, Refusal, refuse
from ..money import MoneyFormatError, format_yuan, parse_yuan
from ..policies import REASONS, PolicyVersion
from .actors import Actor
from .aftersales import confirm_return
from .orders import Order
from .review import approve
from .shops import STANDINGS as BUYER_STANDINGS
from .tickets import TICKET_TYPES, Ticket

RULE = "GEN-AUTO-1"
ACTIONS = ("approve", "confirm_receipt")
WHEN_KEYS = ("types", "reasons", "max_amount", "order_state", "categories", "buyer_standing")
ORDER_STATES = ("unshipped", "shipped", "signed")
STANDINGS = BUYER_STANDINGS  # what a condition may ask for: the buyer's standing (RULES §10)
APPROVABLE = ("refund_only", "return_refund")  # GEN-AUTO-1: refund-only or return applications
MAX_RULES = 50
MAX_ID = 64
DECISIONS = {"approve": "approved", "confirm_receipt": "return_confirmed"}


@dataclass(frozen=True)
class When:
    """All optional; every condition given must hold. None: no condition on that."""

    types: tuple[str, ...] | None = None
    reasons: tuple[str, ...] | None = None
    max_amount_fen: int | None = None
    order_state: str | None = None
    categories: tuple[str, ...] | None = None
    buyer_standing: str | None = None


@dataclass(frozen=True)
class ShopRule:
    id: str
    action: str
    when: When

    def stored(self) -> dict[str, Any]:
        """The rule as the shop wrote it (money in yuan text), for storage and for the read view."""
        w = self.when
        when: dict[str, Any] = {}
        for key in ("types", "reasons", "categories"):
            value = getattr(w, key)
            if value is not None:
                when[key] = list(value)
        if w.max_amount_fen is not None:
            when["max_amount"] = format_yuan(w.max_amount_fen)
        if w.order_state is not None:
            when["order_state"] = w.order_state
        if w.buyer_standing is not None:
            when["buyer_standing"] = w.buyer_standing
        return {"id": self.id, "action": self.action, "when": when}


@dataclass(frozen=True)
class Match:
    rule_id: str
    action: str
    matched: dict[str, Any]  # condition key -> {"condition": what the rule asks, "value": what held}


def _bad(where: str, zh: str, en: str) -> Refusal:
    return refuse("invalid_input", f"自动化规则 {where}:{zh}", f"automation rule {where}: {en}", RULE)


def _words(where: str, key: str, value: Any, allowed: Sequence[str] | None) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise _bad(where, f"{key} 须为非空列表", f"{key} must be a non-empty list")
    out = []
    for v in value:
        if not isinstance(v, str) or not v.strip() or len(v) > 64:
            raise _bad(where, f"{key} 的值须为不超过 64 字的文字", f"{key} holds text of at most 64 characters")
        if allowed is not None and v not in allowed:
            raise _bad(where, f"{key} 中有未知的值 {v}", f"unknown {key} value {v!r}; one of {list(allowed)}")
        out.append(v)
    return tuple(dict.fromkeys(out))


def _money(where: str, value: Any) -> int:
    try:
        fen = parse_yuan(value)
    except MoneyFormatError as e:
        raise _bad(where, "max_amount 须为以元为单位的金额,如 \"100.00\"",
                   f"max_amount must be an amount in yuan such as \"100.00\" ({e})") from None
    if fen <= 0:
        raise _bad(where, "max_amount 须大于 0", "max_amount must be > 0")
    return fen


def parse_rule(raw: Any, index: int, reject_rule: str | None = None) -> ShopRule:
    """One rule as the shop sends it, checked: unknown keys, actions and values are refused. A rule
    that would reject is refused naming GEN-AUTO-1 and `reject_rule`, the shop's pack's rule that a
    rejection needs a person (its `rejection.reason_required`: KS-RR-4 on Kuaishou)."""
    where = f"#{index + 1}"
    if not isinstance(raw, Mapping):
        raise _bad(where, "须为 {id, action, when}", "must be a mapping {id, action, when}")
    unknown = sorted(set(raw) - {"id", "action", "when"})
    if unknown:
        raise _bad(where, f"未知的字段 {'、'.join(map(str, unknown))}", f"unknown keys {unknown}")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip() or len(rule_id) > MAX_ID:
        raise _bad(where, f"id 须为 1–{MAX_ID} 字的文字", f"id must be text of 1 to {MAX_ID} characters")
    where = f"{rule_id}"
    action = raw.get("action")
    if action == "reject":
        zh, en = ("规则不能拒绝售后,拒绝须由与买家沟通过的人作出",
                  "a rule never rejects; a rejection needs a person who talked to the buyer")
        reasons = [Reason(RULE, f"自动化规则 {where}:{zh}", f"automation rule {where}: {en}")]
        raise Refusal("invalid_input", reasons + ([Reason(reject_rule, zh, en)] if reject_rule else []))
    if action not in ACTIONS:
        raise _bad(where, f"未知的动作 {action}", f"unknown action {action!r}; one of {list(ACTIONS)}")
    when_raw = raw.get("when") or {}
    if not isinstance(when_raw, Mapping):
        raise _bad(where, "when 须为条件的映射", "when must be a mapping of conditions")
    unknown = sorted(set(when_raw) - set(WHEN_KEYS))
    if unknown:
        raise _bad(where, f"未知的条件 {'、'.join(map(str, unknown))}",
                   f"unknown conditions {unknown}; known: {list(WHEN_KEYS)}")
    allowed_types = APPROVABLE if action == "approve" else TICKET_TYPES
    when = When(
        types=_words(where, "types", when_raw["types"], allowed_types) if "types" in when_raw else None,
        reasons=_words(where, "reasons", when_raw["reasons"], REASONS) if "reasons" in when_raw else None,
        max_amount_fen=_money(where, when_raw["max_amount"]) if "max_amount" in when_raw else None,
        categories=_words(where, "categories", when_raw["categories"], None) if "categories" in when_raw else None,
    )
    for key, allowed in (("order_state", ORDER_STATES), ("buyer_standing", STANDINGS)):
        if key in when_raw:
            if when_raw[key] not in allowed:
                raise _bad(where, f"{key} 须为 {'、'.join(allowed)}", f"{key} must be one of {list(allowed)}")
            when = replace(when, **{key: when_raw[key]})
    return ShopRule(rule_id, str(action), when)


def parse_rules(raw: Any, reject_rule: str | None = None) -> list[ShopRule]:
    """A shop's whole rule list, checked (it replaces the shop's rules); `reject_rule` as for
    `parse_rule`."""
    if not isinstance(raw, (list, tuple)):
        raise refuse("invalid_input", "rules 须为规则列表", "rules must be a list of rules", RULE)
    if len(raw) > MAX_RULES:
        raise refuse("invalid_input", f"自动化规则最多 {MAX_RULES} 条", f"at most {MAX_RULES} automation rules", RULE)
    rules = [parse_rule(r, i, reject_rule) for i, r in enumerate(raw)]
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise _bad(r.id, "id 重复", "the id is used twice")
        seen.add(r.id)
    return rules


def order_state(order: Order) -> str | None:
    """The order as a rule sees it: not shipped yet, on its way, or in the buyer's hands."""
    if order.status == "paid":
        return "unshipped"
    if order.status == "shipped":
        return "shipped"
    if order.status in ("signed", "confirmed", "completed"):
        return "signed"
    return None


def order_as_of(order: Order, at: datetime) -> Order:
    """The order as it stood at `at`: what happened to it later undone (for a preview of rules on
    past tickets)."""
    shipped = order.shipped_at if order.shipped_at is not None and order.shipped_at <= at else None
    signed = order.signed_at if order.signed_at is not None and order.signed_at <= at else None
    status = "signed" if signed else "shipped" if shipped else "paid"
    return replace(order, status=status, shipped_at=shipped, signed_at=signed, pending_events=[])


def _holds(rule: ShopRule, ticket: Ticket, order: Order, buyer_standing: str) -> dict[str, Any] | None:
    w = rule.when
    matched: dict[str, Any] = {}
    checks: list[tuple[str, Any, Any, bool]] = []
    if w.types is not None:
        checks.append(("types", list(w.types), ticket.type, ticket.type in w.types))
    if w.reasons is not None:
        checks.append(("reasons", list(w.reasons), ticket.reason, ticket.reason in w.reasons))
    if w.max_amount_fen is not None:
        checks.append(("max_amount", format_yuan(w.max_amount_fen), format_yuan(ticket.amount_fen),
                       ticket.amount_fen <= w.max_amount_fen))
    if w.order_state is not None:
        state = order_state(order)
        checks.append(("order_state", w.order_state, state, state == w.order_state))
    if w.categories is not None:
        checks.append(("categories", list(w.categories), order.category, order.category in w.categories))
    if w.buyer_standing is not None:
        checks.append(("buyer_standing", w.buyer_standing, buyer_standing, buyer_standing == w.buyer_standing))
    for key, condition, value, ok in checks:
        if not ok:
            return None
        matched[key] = {"condition": condition, "value": value}
    return matched


def match(rules: Sequence[ShopRule], ticket: Ticket, order: Order, buyer_standing: str = "normal") -> Match | None:
    """The first of the shop's rules that acts on the ticket as it stands: a new application
    (`pending_review`: approve, refund-only and return applications only) or a returned parcel on
    its way (`awaiting_receipt`: confirm_receipt). None: no rule acts, a person decides."""
    if ticket.shop_id != order.shop_id or ticket.order_id != order.id:
        return None
    if ticket.status == "pending_review" and ticket.type in APPROVABLE:
        action = "approve"
    elif ticket.status == "awaiting_receipt":
        action = "confirm_receipt"
    else:
        return None
    for rule in rules:
        if rule.action != action:
            continue
        matched = _holds(rule, ticket, order, buyer_standing)
        if matched is not None:
            return Match(rule.id, action, matched)
    return None


def rule_actor(shop_id: str, rule_id: str) -> Actor:
    """The shop acting through its rule: shop staff for the domain's checks, with no role (it may
    do nothing else: domain.roles grants it no act)."""
    return Actor("staff", f"rule:{rule_id}", shop_id=shop_id, role=None)


def act(m: Match, ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, return_address: str | None) -> None:
    """The rule decides as the shop would, through the shop's own domain functions; the decision
    event then names GEN-AUTO-1, the shop's rule and what it matched."""
    before = len(ticket.pending_events)
    actor = rule_actor(ticket.shop_id, m.rule_id)
    if m.action == "approve":
        approve(ticket, order, actor, pv, at, None, return_address)
    else:
        confirm_return(ticket, order, actor, pv, at)
    decision = DECISIONS[m.action]
    for i in range(before, len(ticket.pending_events)):
        e = ticket.pending_events[i]
        if e.type == decision:
            ticket.pending_events[i] = replace(
                e, rule=RULE, payload={**e.payload, "shop_rule": m.rule_id, "matched": m.matched})
            break
