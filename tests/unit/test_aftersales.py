"""Ticket rules (RULES §2–4), pure: orders and tickets are built in memory and handed to
shouhou.domain.aftersales with a policy version from the built-in packs. No database, no clock.

Given an order and a ticket in some state, when an actor (or the deadline) acts at a time, then the
ticket, the order and the events say what the rulebook says. Every refusal is checked for its code and
for naming the rule that failed; every rule a refusal names must exist in RULES.md or be a shared ID a
built-in pack declares (its [rule_ids]).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shouhou.clock import SHANGHAI
from shouhou.domain import aftersales
from shouhou.domain.actors import Actor
from shouhou.domain.events import Event
from shouhou.domain.orders import Order, derive_imported
from shouhou.domain.tickets import Ticket
from shouhou.errors import Refusal
from shouhou.policies import PolicyRegistry, PolicyVersion

from ..conftest import SHARED

RULE_IDS = frozenset(re.findall(r"\*\*([A-Z]+(?:-[A-Z]+)*-\d+)\*\*", (SHARED / "RULES.md").read_text("utf-8")))
REGISTRY = PolicyRegistry.default()
# What events and refusals may cite: RULES.md's rules and the shared IDs the built-in packs declare.
KNOWN_RULE_IDS = RULE_IDS | frozenset(rule for name in REGISTRY.names() for rule in REGISTRY.get(name).rule_ids)


def rules_of(pack: str) -> frozenset[str]:
    """The rule IDs pack `pack` may cite: RULES.md's rules of its platform (its rule_prefix) and its
    GEN- rules, and the shared IDs the pack declares."""
    p = REGISTRY.get(pack)
    assert p.rule_prefix is not None, f"built-in pack {pack} names no rule_prefix"
    own = {r for r in RULE_IDS if r.startswith((f"{p.rule_prefix}-", "GEN-"))}
    return frozenset(own | set(p.rule_ids))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday
H, D, M = timedelta(hours=1), timedelta(days=1), timedelta(minutes=1)

BUYER = Actor("buyer", "B1")
OTHER_BUYER = Actor("buyer", "B2")
STAFF = Actor("staff", "U1", shop_id="S1", role="cs_agent")
OTHER_SHOP_STAFF = Actor("staff", "X1", shop_id="S2", role="owner")
ADDRESS = "杭州市西湖区 1 号仓"
_UNSET: Any = object()


# -- builders -----------------------------------------------------------------------------------------

def policy(pack: str = "kuaishou", at: datetime = T0) -> PolicyVersion:
    return REGISTRY.get(pack).at(at)


def make_order(pack: str = "kuaishou", *, amount: int = 9900, shipped_at: datetime | None = _UNSET,
               signed_at: datetime | None = _UNSET, confirmed_at: datetime | None = None,
               no_reason_return: bool = True, now: datetime = T0) -> Order:
    """An order as imported at `now` (status, auto-confirmation and completion derived from its history).
    By default shipped 4 days and signed 2 days before `now`."""
    shipped_at = now - 4 * D if shipped_at is _UNSET else shipped_at
    signed_at = now - 2 * D if signed_at is _UNSET else signed_at
    known = [t for t in (shipped_at, signed_at, confirmed_at) if t is not None]
    pv = policy(pack, now)
    order = Order(
        id="O1", shop_id="S1", buyer_id="B1", policy=pack, policy_version=pv.version, amount_fen=amount,
        freight_fen=0, payment="online", kind="normal", marketing=False, goods="physical", category="apparel",
        no_reason_return=no_reason_return, commission={}, created_at=min([*known, now]) - H,
        shipped_at=shipped_at, signed_at=signed_at, confirmed_at=confirmed_at,
    )
    derive_imported(order, pv, now)
    order.drain_events()
    return order


def open_ticket(order: Order, at: datetime = T0, *, type_: str = "return_refund", reason: str = "quality",
                amount: int | None = None, evidence: tuple[str, ...] = ("crack.jpg",), tid: str = "T1",
                pv: PolicyVersion | None = None) -> Ticket:
    return aftersales.apply(tid, order, BUYER, pv or policy(order.policy, at), at, type_, reason, amount,
                            list(evidence), None)


def pv_of(ticket: Ticket) -> PolicyVersion:
    """Resolve as the service layer does: by the ticket's own version (RULES §11)."""
    return REGISTRY.resolve(ticket.policy, ticket.policy_version)


def approve(ticket: Ticket, order: Order, at: datetime) -> None:
    aftersales.approve(ticket, order, STAFF, pv_of(ticket), at, ADDRESS, None)


def reject(ticket: Ticket, order: Order, at: datetime, reason: str | None = "商品已使用") -> None:
    aftersales.reject(ticket, order, STAFF, pv_of(ticket), at, reason, [])


def submit_waybill(ticket: Ticket, order: Order, at: datetime) -> None:
    aftersales.submit_waybill(ticket, order, BUYER, pv_of(ticket), at, "SF", "SF100200300")


def cancel(ticket: Ticket, order: Order, at: datetime, actor: Actor = BUYER) -> None:
    aftersales.cancel(ticket, order, actor, pv_of(ticket), at)


def fire_due(ticket: Ticket, order: Order) -> datetime:
    """The worker fires the ticket's pending action at its own due time; returns that time."""
    assert ticket.due_at is not None, f"ticket {ticket.id} has nothing due ({ticket.status})"
    at = ticket.due_at
    aftersales.fire(ticket, order, pv_of(ticket), at, ADDRESS)  # the shop's default return address
    return at


def events(*aggregates: Ticket | Order) -> list[Event]:
    return sorted((e for a in aggregates for e in a.pending_events), key=lambda e: e.seq)


def one(evs: list[Event], type_: str) -> Event:
    found = [e for e in evs if e.type == type_]
    assert len(found) == 1, f"expected one {type_} event, found {[e.type for e in evs]}"
    return found[0]


def state(*aggregates: Ticket | Order) -> list[dict[str, Any]]:
    return [copy.deepcopy(vars(a)) for a in aggregates]


@contextmanager
def refused(code: str, rule: str | None = None) -> Iterator[None]:
    """The block must raise a Refusal with `code` naming `rule`; every rule it names is in RULES.md."""
    with pytest.raises(Refusal) as info:
        yield
    r = info.value
    assert r.code == code, r.as_dict()
    if rule is not None:
        assert rule in r.rules, r.as_dict()
    assert set(r.rules) <= KNOWN_RULE_IDS, f"refusal names rules neither RULES.md nor a pack defines: {r.as_dict()}"


def test_the_rulebook_parses() -> None:
    """RULE_IDS (the rules RULES.md defines, in bold) is the whole rulebook: every rule ID mentioned
    anywhere in RULES.md is one of them, every section's family is there, and every rule a built-in pack
    cites is defined there for its platform (or shared), or declared by the pack."""
    assert {"KS-RR-1", "GEN-APPLY-5", "DY-APPLY-1", "DY-RR-3", "GEN-ORD-4"} <= RULE_IDS
    mentioned = set(re.findall(r"\b((?:GEN|KS|DY)-[A-Z]+-\d+)\b", (SHARED / "RULES.md").read_text("utf-8")))
    assert mentioned == RULE_IDS, f"mentioned but not defined: {sorted(mentioned - RULE_IDS)}"
    families = {rule.rsplit("-", 1)[0] for rule in RULE_IDS}
    assert families >= {
        "GEN-ORD",  # §1 order lifecycle
        "GEN-APPLY", "DY-APPLY",  # §2 opening a ticket
        "KS-RR", "DY-RR",  # §3 return & refund
        "KS-RO", "DY-RO",  # §4 refund only
        "GEN-EX",  # §5 exchange, repair, reship
        "KS-PI", "DY-PI", "GEN-FREIGHT",  # §6 platform intervention
        "KS-OP", "DY-OP",  # §7 re-opening the entry
        "KS-FEE",  # §8 money
        "KS-GOV", "KS-EXIT",  # §9 governance
        "KS-FAST", "DY-FAST",  # §10 fast lanes
    }, sorted(families)
    for name in REGISTRY.names():
        cited = {row[2] for v in REGISTRY.get(name).versions for row in v.rows()}
        assert cited <= rules_of(name), f"{name} cites rules it may not: {sorted(cited - rules_of(name))}"


# -- §2 opening a ticket --------------------------------------------------------------------------------

def test_GEN_APPLY_1_completed_order_refuses_without_entry() -> None:
    order = make_order(shipped_at=T0 - 30 * D, signed_at=T0 - 28 * D, confirmed_at=T0 - 20 * D)
    assert order.status == "completed"
    before = state(order)
    with refused("ineligible", "GEN-APPLY-1"):
        open_ticket(order)
    assert state(order) == before


def test_GEN_APPLY_1_open_over_period_entry_admits_an_over_period_ticket() -> None:
    order = make_order(shipped_at=T0 - 30 * D, signed_at=T0 - 28 * D, confirmed_at=T0 - 20 * D)
    order.entry_closes_at = T0 + 3 * D
    ticket = open_ticket(order)
    assert ticket.over_period is True
    assert all(e.payload.get("over_period") is True for e in ticket.pending_events)


def test_GEN_APPLY_1_entry_is_closed_from_its_closing_instant() -> None:
    order = make_order(shipped_at=T0 - 30 * D, signed_at=T0 - 28 * D, confirmed_at=T0 - 20 * D)
    order.entry_closes_at = T0 + 3 * D
    with refused("ineligible", "GEN-APPLY-1"):
        open_ticket(order, T0 + 3 * D)


def test_GEN_APPLY_1_ticket_inside_the_period_is_not_over_period() -> None:
    ticket = open_ticket(make_order())
    assert ticket.over_period is False
    assert ticket.status == "pending_review"


SIGNED_MID_AFTERNOON = datetime(2026, 3, 1, 15, 0, tzinfo=SHANGHAI)
NO_REASON_ENDS = datetime(2026, 3, 9, 0, 0, tzinfo=SHANGHAI)  # 00:00 of 03-02 + 168 h


@pytest.mark.parametrize("signed_at", [
    datetime(2026, 3, 1, 0, 5, tzinfo=SHANGHAI), SIGNED_MID_AFTERNOON, datetime(2026, 3, 1, 23, 55, tzinfo=SHANGHAI),
], ids=["just_after_midnight", "afternoon", "just_before_midnight"])
def test_GEN_APPLY_2_no_reason_window_is_168h_from_midnight_after_signing(signed_at: datetime) -> None:
    pv = policy()
    assert aftersales.no_reason_deadline(signed_at, pv) == NO_REASON_ENDS
    inside = make_order(signed_at=signed_at, shipped_at=signed_at - D, now=NO_REASON_ENDS - M)
    ticket = open_ticket(inside, NO_REASON_ENDS - M, reason="no_reason", evidence=())
    assert ticket.status == "pending_review"
    outside = make_order(signed_at=signed_at, shipped_at=signed_at - D, now=NO_REASON_ENDS)
    with refused("ineligible", "GEN-APPLY-2"):
        open_ticket(outside, NO_REASON_ENDS, reason="no_reason", evidence=())


def test_GEN_APPLY_2_midnight_is_counted_in_shanghai_whatever_the_zone_of_signed_at() -> None:
    signed_utc = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 2026-03-02 01:00 in Shanghai
    deadline = aftersales.no_reason_deadline(signed_utc, policy())
    assert deadline == datetime(2026, 3, 10, 0, 0, tzinfo=SHANGHAI)


def test_GEN_APPLY_2_goods_without_no_reason_return_refuse_a_no_reason_return() -> None:
    order = make_order(no_reason_return=False)
    with refused("ineligible", "GEN-APPLY-2"):
        open_ticket(order, reason="no_reason", evidence=())


def test_GEN_APPLY_2_window_binds_only_no_reason_returns() -> None:
    order = make_order(signed_at=SIGNED_MID_AFTERNOON, shipped_at=SIGNED_MID_AFTERNOON - D, now=NO_REASON_ENDS + D)
    ticket = open_ticket(order, NO_REASON_ENDS + D, reason="quality", evidence=("crack.jpg",))
    assert ticket.status == "pending_review"


@pytest.mark.parametrize("reason", ["logistics_damaged", "logistics_lost", "logistics_delayed", "quality"])
@pytest.mark.parametrize("pack", ["kuaishou", "douyin"])
def test_GEN_APPLY_3_quality_reason_needs_evidence(pack: str, reason: str) -> None:
    order = make_order(pack)
    with refused("invalid_input", "GEN-APPLY-3"):
        open_ticket(order, type_="refund_only", reason=reason, evidence=())
    ticket = open_ticket(order, type_="refund_only", reason=reason, evidence=("photo.jpg",))
    assert ticket.evidence == ["photo.jpg"]


@pytest.mark.parametrize("reason", ["not_as_described", "no_reason", "other"])
def test_GEN_APPLY_3_other_reasons_need_no_evidence(reason: str) -> None:
    ticket = open_ticket(make_order(), reason=reason, evidence=())
    assert ticket.status == "pending_review"


def test_GEN_APPLY_4_amount_above_refundable_refused() -> None:
    order = make_order(amount=9900)
    with refused("invalid_input", "GEN-APPLY-4"):
        open_ticket(order, amount=9901)
    with refused("invalid_input", "GEN-APPLY-4"):
        open_ticket(order, amount=0)
    ticket = open_ticket(order, amount=9900)
    assert ticket.amount_fen == 9900


def test_GEN_APPLY_4_refunded_amounts_are_no_longer_refundable() -> None:
    order = make_order(amount=9900)
    first = open_ticket(order, type_="refund_only", amount=3000)
    approve(first, order, T0 + H)
    assert order.refundable_fen == 6900
    with refused("invalid_input", "GEN-APPLY-4"):
        open_ticket(order, T0 + 2 * H, amount=6901, tid="T2")
    second = open_ticket(order, T0 + 2 * H, tid="T2")
    assert second.amount_fen == 6900  # the default amount is all that is refundable


def test_GEN_APPLY_4_application_holds_its_amount_while_open() -> None:
    order = make_order(amount=9900)
    ticket = open_ticket(order, amount=4000)
    assert order.refundable_fen == 5900
    cancel(ticket, order, T0 + H)
    assert order.refundable_fen == 9900


def _without_one_open_ticket(pv: PolicyVersion) -> PolicyVersion:
    flag = pv.apply.one_open_ticket.model_copy(update={"enabled": False})
    return pv.model_copy(update={"apply": pv.apply.model_copy(update={"one_open_ticket": flag})})


def test_GEN_APPLY_4_amounts_held_by_open_tickets_are_not_refundable() -> None:
    pv = _without_one_open_ticket(policy())
    order = make_order(amount=9900)
    open_ticket(order, amount=5000, pv=pv)
    with refused("invalid_input", "GEN-APPLY-4"):
        open_ticket(order, T0 + H, amount=6000, tid="T2", pv=pv)


def test_GEN_APPLY_4_fully_refunded_order_is_ineligible() -> None:
    order = make_order(amount=9900)
    approve(open_ticket(order, type_="refund_only"), order, T0 + H)
    assert order.refundable_fen == 0
    with refused("ineligible", "GEN-APPLY-4"):
        open_ticket(order, T0 + 2 * H, tid="T2")


def test_GEN_APPLY_4_refundable_zero_is_ineligible_whatever_the_status() -> None:
    order = make_order(amount=9900)
    order.refunded_fen = 9900  # forced: the check must read the amount, not only the order's status
    assert order.status == "signed"
    with refused("ineligible", "GEN-APPLY-4"):
        open_ticket(order)


@pytest.mark.parametrize("pack", ["kuaishou", "douyin"])
def test_GEN_APPLY_5_one_open_ticket_per_order(pack: str) -> None:
    order = make_order(pack)
    first = open_ticket(order, amount=1000)
    before = state(order)
    with refused("limit_reached", "GEN-APPLY-5"):
        open_ticket(order, T0 + H, amount=1000, tid="T2")
    assert state(order) == before
    cancel(first, order, T0 + 2 * H)
    second = open_ticket(order, T0 + 3 * H, amount=1000, tid="T2")
    assert order.open_ticket_id == second.id


def test_DY_APPLY_1_sixth_application_in_period_is_limit_reached() -> None:
    order = make_order("douyin")
    at = T0
    for n in range(1, 6):
        ticket = open_ticket(order, at, type_="refund_only", reason="other", amount=500, tid=f"T{n}")
        cancel(ticket, order, at + M)
        at += 2 * M
    assert order.applications_in_period == 5
    with refused("limit_reached", "DY-APPLY-1"):
        open_ticket(order, at, type_="refund_only", reason="other", amount=500, tid="T6")


def test_DY_APPLY_1_kuaishou_has_no_application_limit() -> None:
    order = make_order("kuaishou")
    at = T0
    for n in range(1, 8):
        ticket = open_ticket(order, at, type_="refund_only", reason="other", amount=500, tid=f"T{n}")
        cancel(ticket, order, at + M)
        at += 2 * M
    assert order.applications_in_period == 7


def test_DY_APPLY_1_over_period_applications_not_counted() -> None:
    order = make_order("douyin", shipped_at=T0 - 30 * D, signed_at=T0 - 28 * D, confirmed_at=T0 - 20 * D)
    assert order.status == "completed"
    order.applications_in_period = 5
    order.entry_closes_at = T0 + 5 * D
    at = T0
    for n in range(1, 4):
        ticket = open_ticket(order, at, type_="refund_only", reason="other", amount=500, tid=f"T{n}")
        assert ticket.over_period
        cancel(ticket, order, at + M)
        at += 2 * M
    assert order.applications_in_period == 5


@pytest.mark.parametrize("shipped", [False, True], ids=["paid", "shipped_not_signed"])
def test_GEN_APPLY_6_return_needs_signed_goods(shipped: bool) -> None:
    order = make_order(shipped_at=T0 - D if shipped else None, signed_at=None)
    assert order.status == ("shipped" if shipped else "paid")
    with refused("ineligible", "GEN-APPLY-6"):
        open_ticket(order, type_="return_refund")
    ticket = open_ticket(order, type_="refund_only")
    assert ticket.type == "refund_only"


def test_only_the_buyer_of_the_order_may_apply() -> None:
    order = make_order()
    pv = policy()
    for actor in (OTHER_BUYER, STAFF):
        with refused("forbidden"):
            aftersales.apply("T1", order, actor, pv, T0, "return_refund", "quality", None, ["a.jpg"], None)


def test_ticket_keeps_the_policy_version_it_opened_under() -> None:
    ticket = open_ticket(make_order())
    assert (ticket.policy, ticket.policy_version) == ("kuaishou", policy().version)


# -- §3 return & refund ---------------------------------------------------------------------------------

def test_KS_RR_1_shop_silent_48h_auto_approves_and_records_overdue() -> None:
    order = make_order()
    ticket = open_ticket(order)
    assert (ticket.due_at, ticket.due_action, ticket.due_rule) == (T0 + 48 * H, "auto_approve", "KS-RR-1")
    with refused("invalid_state"):
        aftersales.fire(ticket, order, pv_of(ticket), T0 + 48 * H - M, None)
    assert fire_due(ticket, order) == T0 + 48 * H
    assert ticket.status == "awaiting_return"
    evs = events(ticket)
    auto = one(evs, "auto_approved")
    assert (auto.at, auto.actor, auto.rule) == (T0 + 48 * H, "system", "KS-RR-1")
    overdue = one(evs, "overdue_recorded")
    assert (overdue.actor, overdue.rule) == ("system", "KS-GOV-1")
    assert overdue.payload["overdue_type"] == "return_refund_overdue"
    assert (ticket.due_at, ticket.due_rule) == (T0 + 48 * H + 10 * D, "KS-RR-2")


def test_KS_RR_1_shop_approval_inside_48h_is_not_overdue() -> None:
    order = make_order()
    ticket = open_ticket(order)
    approve(ticket, order, T0 + 48 * H - M)
    assert ticket.status == "awaiting_return"
    assert ticket.return_address == ADDRESS
    assert "overdue_recorded" not in [e.type for e in ticket.pending_events]
    assert one(events(ticket), "approved").actor == "staff:U1"


def test_KS_RR_2_buyer_silent_10_days_auto_closes() -> None:
    order = make_order()
    ticket = open_ticket(order)
    approve(ticket, order, T0 + H)
    assert (ticket.due_at, ticket.due_action, ticket.due_rule) == (T0 + H + 10 * D, "auto_close", "KS-RR-2")
    fire_due(ticket, order)
    assert ticket.status == "closed"
    assert ticket.refunded_fen == 0
    closed = one(events(ticket), "auto_closed")
    assert (closed.at, closed.actor, closed.rule) == (T0 + H + 10 * D, "system", "KS-RR-2")
    assert order.open_ticket_id is None and order.refundable_fen == order.amount_fen


def test_KS_RR_3_shop_silent_10_days_after_waybill_auto_refunds() -> None:
    order = make_order()
    ticket = open_ticket(order)
    approve(ticket, order, T0 + H)
    submit_waybill(ticket, order, T0 + D)
    assert (ticket.status, ticket.due_at, ticket.due_rule) == ("awaiting_receipt", T0 + 11 * D, "KS-RR-3")
    fire_due(ticket, order)
    assert ticket.status == "refunded" and ticket.refunded_fen == 9900
    refunded = one(events(ticket), "auto_refunded")
    assert (refunded.actor, refunded.rule) == ("system", "KS-RR-3")
    assert order.refunded_fen == 9900


def test_KS_RR_3_shop_confirms_receipt_and_refunds() -> None:
    order = make_order()
    ticket = open_ticket(order, amount=5000)
    approve(ticket, order, T0 + H)
    submit_waybill(ticket, order, T0 + D)
    aftersales.confirm_return(ticket, order, STAFF, pv_of(ticket), T0 + 2 * D)
    assert (ticket.status, ticket.refunded_fen, ticket.due_at) == ("refunded", 5000, None)
    assert order.refunded_fen == 5000 and order.status == "signed"


@pytest.mark.parametrize("pack, days, rule", [("kuaishou", 10, "KS-RR-2"), ("douyin", 7, "DY-RR-2")])
def test_DY_RR_2_buyer_ships_within_7_days_on_douyin(pack: str, days: int, rule: str) -> None:
    order = make_order(pack)
    ticket = open_ticket(order)
    approve(ticket, order, T0 + H)
    assert (ticket.due_at, ticket.due_action, ticket.due_rule) == (T0 + H + days * D, "auto_close", rule)
    fire_due(ticket, order)
    assert ticket.status == "closed"
    assert one(events(ticket), "auto_closed").rule == rule


@pytest.mark.parametrize("pack, days, rule", [("kuaishou", 10, "KS-RR-3"), ("douyin", 7, "DY-RR-2")])
def test_DY_RR_2_shop_confirms_receipt_within_7_days_on_douyin(pack: str, days: int, rule: str) -> None:
    order = make_order(pack)
    ticket = open_ticket(order)
    approve(ticket, order, T0 + H)
    submit_waybill(ticket, order, T0 + 2 * H)
    assert (ticket.due_at, ticket.due_action, ticket.due_rule) == (T0 + 2 * H + days * D, "auto_refund", rule)
    fire_due(ticket, order)
    assert ticket.status == "refunded"
    assert one(events(ticket), "auto_refunded").rule == rule


@pytest.mark.parametrize("reason", [None, "", "   "])
@pytest.mark.parametrize("pack", ["kuaishou", "douyin"])
def test_KS_RR_4_rejection_needs_reason(pack: str, reason: str | None) -> None:
    """Douyin applies the rule as GEN-RR-4, the shared ID its pack declares like KS-RR-4."""
    order = make_order(pack)
    ticket = open_ticket(order)
    before = state(ticket, order)
    with refused("invalid_input", {"kuaishou": "KS-RR-4", "douyin": "GEN-RR-4"}[pack]):
        reject(ticket, order, T0 + H, reason)
    assert state(ticket, order) == before


def test_KS_RR_4_rejection_with_reason_ends_the_ticket_and_frees_the_amount() -> None:
    order = make_order()
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H, "商品已使用,影响二次销售")
    assert (ticket.status, ticket.due_at, ticket.reject_reason) == ("rejected", None, "商品已使用,影响二次销售")
    rejected = one(events(ticket), "rejected")
    assert (rejected.actor, rejected.rule) == ("staff:U1", "KS-RR-4")
    assert order.open_ticket_id is None and order.refundable_fen == 9900


def test_KS_RR_4_after_rejection_buyer_may_apply_again() -> None:
    order = make_order()
    reject(open_ticket(order), order, T0 + H)
    again = open_ticket(order, T0 + 2 * H, tid="T2")
    assert again.status == "pending_review"


@pytest.mark.parametrize("actor", [BUYER, STAFF], ids=["buyer", "shop"])
def test_KS_RR_4_after_rejection_either_side_may_ask_for_intervention(actor: Actor) -> None:
    order = make_order()
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    aftersales.request_intervention(ticket, order, actor, pv_of(ticket), T0 + 5 * D, "不同意")
    assert (ticket.status, ticket.due_at, ticket.ended_at) == ("in_intervention", None, None)
    assert one(events(ticket), "intervention_requested").payload["by"] == ("buyer" if actor is BUYER else "shop")
    assert order.open_ticket_id == ticket.id and order.refundable_fen == 0


def test_KS_RR_4_only_the_parties_may_ask_for_intervention() -> None:
    order = make_order()
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    for actor in (OTHER_BUYER, OTHER_SHOP_STAFF):
        with refused("forbidden"):
            aftersales.request_intervention(ticket, order, actor, pv_of(ticket), T0 + 2 * H, None)


def test_KS_RR_4_intervention_refused_once_the_buyer_applied_again() -> None:
    order = make_order()
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    open_ticket(order, T0 + 2 * H, tid="T2")
    with refused("invalid_state", "GEN-APPLY-5"):
        aftersales.request_intervention(ticket, order, BUYER, pv_of(ticket), T0 + 3 * H, None)


@pytest.mark.parametrize("type_, refunded", [("return_refund", 0), ("refund_only", 9900)])
def test_DY_RR_1_shop_may_reprocess_rejection_while_buyer_has_not_reapplied(type_: str, refunded: int) -> None:
    order = make_order("douyin")
    ticket = open_ticket(order, type_=type_)
    reject(ticket, order, T0 + H)
    approve(ticket, order, T0 + D)
    assert ticket.status == ("awaiting_return" if type_ == "return_refund" else "refunded")
    assert ticket.refunded_fen == refunded
    assert one(events(ticket), "approved").rule == "DY-RR-1"
    assert order.refundable_fen == 0  # held again (return) or refunded (refund only)


def test_DY_RR_1_reprocessed_return_has_the_buyer_ships_deadline() -> None:
    order = make_order("douyin")
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    approve(ticket, order, T0 + D)
    assert (ticket.due_at, ticket.due_rule) == (T0 + 8 * D, "DY-RR-2")
    assert order.open_ticket_id == ticket.id


def test_DY_RR_1_reprocessed_ticket_is_open_again() -> None:
    order = make_order("douyin")
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    approve(ticket, order, T0 + D)
    assert ticket.is_open and ticket.ended_at is None


def test_DY_RR_1_reprocess_refused_after_buyer_reapplied() -> None:
    order = make_order("douyin")
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    newer = open_ticket(order, T0 + 2 * H, tid="T2")
    with refused("invalid_state", "DY-RR-1"):
        approve(ticket, order, T0 + 3 * H)
    cancel(newer, order, T0 + 4 * H)
    before = state(ticket, order)
    with refused("invalid_state", "DY-RR-1"):
        approve(ticket, order, T0 + 5 * H)
    assert state(ticket, order) == before


def test_DY_RR_1_kuaishou_shop_cannot_reprocess_a_rejection() -> None:
    """DY-RR-1 is Douyin's: on Kuaishou the refusal names KS-RR-4, its rule for what follows a
    rejection (the buyer re-applies or asks for intervention)."""
    order = make_order("kuaishou")
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    with refused("invalid_state", "KS-RR-4"):
        approve(ticket, order, T0 + 2 * H)
    assert ticket.status == "rejected"


@pytest.mark.parametrize("after", [H, 47 * H + 59 * M], ids=["1h", "47h59m"])
def test_DY_RR_3_buyer_may_ask_for_intervention_within_48h_of_rejection(after: timedelta) -> None:
    order = make_order("douyin")
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    aftersales.request_intervention(ticket, order, BUYER, pv_of(ticket), T0 + H + after, "不同意")
    assert ticket.status == "in_intervention"


@pytest.mark.parametrize("after", [48 * H + M, 10 * D], ids=["48h01m", "10d"])
def test_DY_RR_3_buyer_intervention_refused_after_48h(after: timedelta) -> None:
    order = make_order("douyin")
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    with refused("ineligible", "DY-RR-3"):
        aftersales.request_intervention(ticket, order, BUYER, pv_of(ticket), T0 + H + after, None)
    assert ticket.status == "rejected"


def test_DY_RR_3_window_is_closed_at_exactly_48h() -> None:
    order = make_order("douyin")
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    with refused("ineligible", "DY-RR-3"):
        aftersales.request_intervention(ticket, order, BUYER, pv_of(ticket), T0 + 49 * H, None)


def test_DY_RR_3_after_the_window_the_buyer_may_still_apply_again() -> None:
    order = make_order("douyin")
    reject(open_ticket(order), order, T0 + H)
    again = open_ticket(order, T0 + 3 * D, tid="T2")
    assert again.status == "pending_review"


def test_KS_RR_4_kuaishou_has_no_intervention_window() -> None:
    assert policy("kuaishou").rejection.intervention_window is None
    order = make_order("kuaishou")
    ticket = open_ticket(order)
    reject(ticket, order, T0 + H)
    aftersales.request_intervention(ticket, order, BUYER, pv_of(ticket), T0 + H + 10 * D, None)
    assert ticket.status == "in_intervention"


def test_refuse_return_opens_a_dispute_in_intervention() -> None:
    order = make_order()
    ticket = open_ticket(order)
    approve(ticket, order, T0 + H)
    submit_waybill(ticket, order, T0 + D)
    aftersales.refuse_return(ticket, order, STAFF, pv_of(ticket), T0 + 2 * D, "退回商品与原商品不符", ["box.jpg"])
    assert (ticket.status, ticket.due_at, ticket.refunded_fen) == ("in_intervention", None, 0)
    evs = events(ticket)
    assert one(evs, "return_refused").to_status == "in_intervention"
    assert one(evs, "intervention_requested").payload["by"] == "shop"
    assert order.open_ticket_id == ticket.id and order.refundable_fen == 0


def test_refuse_return_needs_a_reason() -> None:
    order = make_order()
    ticket = open_ticket(order)
    approve(ticket, order, T0 + H)
    submit_waybill(ticket, order, T0 + D)
    with refused("invalid_input"):
        aftersales.refuse_return(ticket, order, STAFF, pv_of(ticket), T0 + 2 * D, " ", [])
    assert ticket.status == "awaiting_receipt"


# -- §4 refund only -------------------------------------------------------------------------------------

@pytest.mark.parametrize("pack, shipped, hours, rule", [
    ("kuaishou", False, 24, "KS-RO-1"),
    ("kuaishou", True, 48, "KS-RO-1"),
    ("douyin", False, 48, "DY-RO-1"),
    ("douyin", True, 48, "DY-RO-1"),
], ids=["KS_before_shipment", "KS_after_shipment", "DY_before_shipment", "DY_after_shipment"])
def test_KS_RO_1_and_DY_RO_1_review_window_depends_on_shipment(pack: str, shipped: bool, hours: int,
                                                                rule: str) -> None:
    order = make_order(pack, shipped_at=T0 - D if shipped else None, signed_at=None)
    ticket = open_ticket(order, type_="refund_only", reason="other", evidence=())
    assert (ticket.due_at, ticket.due_action, ticket.due_rule) == (T0 + hours * H, "auto_approve", rule)


def test_KS_RO_1_shop_silent_24h_before_shipment_refunds_at_once_and_records_overdue() -> None:
    order = make_order(shipped_at=None, signed_at=None)
    ticket = open_ticket(order, type_="refund_only", reason="other", evidence=())
    fire_due(ticket, order)
    assert (ticket.status, ticket.refunded_fen, ticket.due_at) == ("refunded", 9900, None)
    evs = events(ticket)
    assert (one(evs, "auto_approved").rule, one(evs, "refunded").rule) == ("KS-RO-1", "KS-RO-1")
    assert one(evs, "overdue_recorded").payload["overdue_type"] == "refund_only_overdue"
    assert order.refunded_fen == 9900


def test_KS_RO_1_shop_approval_refunds_at_once() -> None:
    order = make_order()
    ticket = open_ticket(order, type_="refund_only", amount=2000)
    approve(ticket, order, T0 + H)
    assert (ticket.status, ticket.refunded_fen, ticket.due_at) == ("refunded", 2000, None)
    assert one(events(ticket), "refunded").actor == "staff:U1"
    assert order.refunded_fen == 2000 and order.open_ticket_id is None


# -- cancelling -----------------------------------------------------------------------------------------

def _in_review() -> tuple[Ticket, Order]:
    order = make_order()
    return open_ticket(order), order


def _awaiting_return() -> tuple[Ticket, Order]:
    ticket, order = _in_review()
    approve(ticket, order, T0 + H)
    return ticket, order


def _awaiting_receipt() -> tuple[Ticket, Order]:
    ticket, order = _awaiting_return()
    submit_waybill(ticket, order, T0 + 2 * H)
    return ticket, order


def _in_intervention() -> tuple[Ticket, Order]:
    ticket, order = _in_review()
    reject(ticket, order, T0 + H)
    aftersales.request_intervention(ticket, order, BUYER, pv_of(ticket), T0 + 2 * H, None)
    return ticket, order


def _refunded() -> tuple[Ticket, Order]:
    order = make_order()
    ticket = open_ticket(order, type_="refund_only", amount=1000)
    approve(ticket, order, T0 + H)
    return ticket, order


def _rejected() -> tuple[Ticket, Order]:
    ticket, order = _in_review()
    reject(ticket, order, T0 + H)
    return ticket, order


Setup = Callable[[], tuple[Ticket, Order]]


@pytest.mark.parametrize("setup", [_in_review, _awaiting_return, _awaiting_receipt, _in_intervention],
                         ids=lambda f: f.__name__.strip("_"))
def test_buyer_may_cancel_a_ticket_not_yet_refunded(setup: Setup) -> None:
    ticket, order = setup()
    cancel(ticket, order, T0 + 3 * H)
    assert (ticket.status, ticket.due_at, ticket.ended_at) == ("cancelled", None, T0 + 3 * H)
    assert one(events(ticket), "cancelled").actor == "buyer:B1"
    assert order.open_ticket_id is None and order.refundable_fen == 9900


@pytest.mark.parametrize("setup", [_refunded, _rejected], ids=lambda f: f.__name__.strip("_"))
def test_cancel_refused_once_refunded_or_ended(setup: Setup) -> None:
    ticket, order = setup()
    before = state(ticket, order)
    with refused("invalid_state"):
        cancel(ticket, order, T0 + 3 * H)
    assert state(ticket, order) == before


@pytest.mark.parametrize("actor", [STAFF, OTHER_BUYER], ids=["staff", "other_buyer"])
def test_only_the_buyer_may_cancel(actor: Actor) -> None:
    ticket, order = _in_review()
    with refused("forbidden"):
        cancel(ticket, order, T0 + H, actor)
    assert ticket.status == "pending_review"


@pytest.mark.parametrize("actor", [BUYER, OTHER_SHOP_STAFF], ids=["buyer", "other_shop"])
def test_only_the_shop_may_approve_or_reject(actor: Actor) -> None:
    ticket, order = _in_review()
    with refused("forbidden"):
        aftersales.approve(ticket, order, actor, pv_of(ticket), T0 + H, ADDRESS, None)
    with refused("forbidden"):
        aftersales.reject(ticket, order, actor, pv_of(ticket), T0 + H, "no", [])
    assert ticket.status == "pending_review"


# -- a human command after the automatic action fell due --------------------------------------------------

HumanCommand = Callable[[Ticket, Order, datetime], None]
HUMAN_COMMANDS: dict[str, tuple[Setup, HumanCommand]] = {
    "approve": (_in_review, approve),
    "reject": (_in_review, reject),
    "cancel_in_review": (_in_review, cancel),
    "submit_waybill": (_awaiting_return, submit_waybill),
    "cancel_awaiting_return": (_awaiting_return, cancel),
    "confirm_return": (_awaiting_receipt,
                       lambda t, o, at: aftersales.confirm_return(t, o, STAFF, pv_of(t), at)),
    "refuse_return": (_awaiting_receipt,
                      lambda t, o, at: aftersales.refuse_return(t, o, STAFF, pv_of(t), at, "错发", [])),
    "cancel_awaiting_receipt": (_awaiting_receipt, cancel),
}


@pytest.mark.parametrize("name", sorted(HUMAN_COMMANDS))
def test_human_command_after_automatic_action_fell_due_is_refused(name: str) -> None:
    setup, command = HUMAN_COMMANDS[name]
    ticket, order = setup()
    assert ticket.due_at is not None and ticket.due_rule is not None
    before = state(ticket, order)
    with refused("invalid_state", ticket.due_rule):
        command(ticket, order, ticket.due_at)
    assert state(ticket, order) == before


@pytest.mark.parametrize("name", sorted(HUMAN_COMMANDS))
def test_human_command_a_minute_before_the_automatic_action_wins(name: str) -> None:
    setup, command = HUMAN_COMMANDS[name]
    ticket, order = setup()
    assert ticket.due_at is not None
    status = ticket.status
    command(ticket, order, ticket.due_at - M)
    assert ticket.status != status


# -- automatic events -------------------------------------------------------------------------------------

def test_every_automatic_event_has_actor_system_and_a_rule() -> None:
    seen: list[Event] = []
    # KS return: the shop is silent, the buyer ships, the shop is silent again; the order closes.
    order = make_order()
    ticket = open_ticket(order)
    approved_at = fire_due(ticket, order)
    submit_waybill(ticket, order, approved_at + D)
    fire_due(ticket, order)
    seen += events(ticket, order)
    # KS refund only before shipment, the shop is silent.
    order = make_order(shipped_at=None, signed_at=None)
    ticket = open_ticket(order, type_="refund_only", reason="other", evidence=(), amount=1000)
    fire_due(ticket, order)
    seen += events(ticket, order)
    # DY return: approved, the buyer never ships.
    order = make_order("douyin")
    ticket = open_ticket(order)
    approve(ticket, order, T0 + H)
    fire_due(ticket, order)
    seen += events(ticket, order)

    automatic = [e for e in seen if e.actor == "system"]
    assert {e.type for e in automatic} >= {"auto_approved", "overdue_recorded", "auto_refunded", "refunded",
                                           "auto_closed", "order_closed"}
    for e in automatic:
        assert e.rule in RULE_IDS, e
    for e in seen:
        if e.type in ("auto_approved", "auto_closed", "auto_refunded", "overdue_recorded"):
            assert e.actor == "system", e


@pytest.mark.parametrize("pack", ["kuaishou", "douyin"])
@pytest.mark.parametrize("type_", ["return_refund", "exchange", "repair"])
def test_an_auto_approval_without_a_return_address_refunds_at_once(pack: str, type_: str) -> None:
    """The review ran out (KS-RR-1, GEN-EX-1) and the shop has no return address: the buyer is not
    sent into the ten days of KS-RR-2 with nowhere to send the goods; the ticket is refunded at once,
    the goods stay (the lapse is the shop's), and the overdue record stands."""
    order = make_order(pack)
    ticket = open_ticket(order, type_=type_)
    at = ticket.due_at
    assert at is not None
    aftersales.fire(ticket, order, pv_of(ticket), at, None)
    assert (ticket.status, ticket.refunded_fen, ticket.return_address, ticket.due_at) == \
        ("refunded", order.amount_fen, None, None)
    evs = events(ticket)
    approved = one(evs, "auto_approved")
    assert approved.payload["without_return"] is True and approved.to_status == "refunded"
    assert one(evs, "overdue_recorded").payload["overdue_type"] == f"{type_}_overdue"
    with refused("invalid_input"):  # a person approving still needs an address
        other_order = make_order(pack)
        other = open_ticket(other_order, tid="T2")
        aftersales.approve(other, other_order, STAFF, pv_of(other), T0, None, None)
