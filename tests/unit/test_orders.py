"""Order lifecycle rules (RULES §1), pure: ship, sign, confirm, auto-confirm (GEN-ORD-2), completion
(GEN-ORD-1), waiting for an open ticket, closing when fully refunded (GEN-ORD-4). The order and ticket
builders are test_aftersales's (tests/unit has no shared builder module yet)."""

from __future__ import annotations

from datetime import datetime

import pytest

from shouhou.domain.orders import Order

from .test_aftersales import (
    RULE_IDS,
    T0,
    D,
    H,
    M,
    approve,
    cancel,
    events,
    fire_due,
    make_order,
    one,
    open_ticket,
    policy,
    refused,
    reject,
)


def fire(order: Order) -> datetime:
    """The worker fires the order's pending action at its own due time; returns that time."""
    assert order.due_at is not None, f"nothing due on order {order.id} ({order.status})"
    at = order.due_at
    order.fire(at, policy(order.policy, at))
    return at


def paid(pack: str = "kuaishou") -> Order:
    order = make_order(pack, shipped_at=None, signed_at=None)
    assert (order.status, order.due_at) == ("paid", None)
    return order


def shipped_and_signed(pack: str = "kuaishou", shipped: datetime = T0, signed: datetime = T0 + D) -> Order:
    order = paid(pack)
    order.ship(shipped, "staff:U1", "SF", "SF1")
    order.sign(signed, "system", policy(pack, signed))
    return order


# -- GEN-ORD-2 auto-confirmation ------------------------------------------------------------------------

@pytest.mark.parametrize("pack, days", [("kuaishou", 10), ("douyin", 15)])
def test_GEN_ORD_2_auto_confirm_at_shipment_plus_N_when_signed_earlier(pack: str, days: int) -> None:
    order = shipped_and_signed(pack, T0, T0 + 2 * D)
    assert (order.due_at, order.due_action, order.due_rule) == (T0 + days * D, "auto_confirm", "GEN-ORD-2")
    with refused("invalid_state"):
        order.fire(T0 + days * D - M, policy(pack))
    fire(order)
    assert (order.status, order.confirmed_at, order.confirmed_by) == ("confirmed", T0 + days * D, "system")
    confirmed = one(events(order), "order_confirmed")
    assert (confirmed.actor, confirmed.rule) == ("system", "GEN-ORD-2")


@pytest.mark.parametrize("pack, days", [("kuaishou", 10), ("douyin", 15)])
def test_GEN_ORD_2_auto_confirm_at_signing_when_signed_after_shipment_plus_N(pack: str, days: int) -> None:
    late = T0 + (days + 2) * D
    order = shipped_and_signed(pack, T0, late)
    assert (order.due_at, order.due_action) == (late, "auto_confirm")


def test_GEN_ORD_2_unsigned_order_is_not_auto_confirmed() -> None:
    order = paid()
    order.ship(T0, "staff:U1", None, None)
    assert (order.status, order.due_at) == ("shipped", None)


def test_GEN_ORD_2_buyer_confirmation_replaces_the_auto_confirmation() -> None:
    order = shipped_and_signed()
    order.confirm(T0 + 3 * D, "buyer:B1", policy())
    assert (order.status, order.confirmed_by) == ("confirmed", "buyer:B1")
    assert (order.due_at, order.due_action, order.due_rule) == (T0 + 10 * D, "complete", "GEN-ORD-1")


def test_GEN_ORD_2_auto_confirm_waits_for_an_open_ticket_and_resumes_at_its_end() -> None:
    order = shipped_and_signed("kuaishou", T0, T0 + D)
    ticket = open_ticket(order, T0 + 9 * D)
    fire(order)  # T0 + 10 d, the ticket is open
    assert (order.status, order.due_at) == ("signed", None)
    waiting = one(events(order), "order_waiting_for_ticket")
    assert (waiting.at, waiting.actor, waiting.rule) == (T0 + 10 * D, "system", "GEN-ORD-2")
    assert waiting.payload == {"action": "auto_confirm", "ticket": ticket.id}
    ended = T0 + 10 * D + 12 * H
    reject(ticket, order, ended)
    assert (order.due_at, order.due_action, order.due_rule) == (ended, "auto_confirm", "GEN-ORD-2")
    fire(order)
    assert (order.status, order.confirmed_at) == ("confirmed", ended)
    assert order.due_at == ended + 7 * D


def test_GEN_ORD_2_ticket_ending_before_the_auto_confirmation_changes_nothing() -> None:
    order = shipped_and_signed("douyin", T0, T0 + D)
    ticket = open_ticket(order, T0 + 2 * D)
    cancel(ticket, order, T0 + 3 * D)
    assert (order.due_at, order.due_action) == (T0 + 15 * D, "auto_confirm")


# -- GEN-ORD-1 completion -------------------------------------------------------------------------------

@pytest.mark.parametrize("pack", ["kuaishou", "douyin"])
def test_GEN_ORD_1_order_completes_at_confirmed_plus_7_days(pack: str) -> None:
    order = shipped_and_signed(pack)
    order.confirm(T0 + 2 * D, "buyer:B1", policy(pack))
    assert (order.due_at, order.due_action, order.due_rule) == (T0 + 9 * D, "complete", "GEN-ORD-1")
    with refused("invalid_state"):
        order.fire(T0 + 9 * D - M, policy(pack))
    fire(order)
    assert (order.status, order.completed_at, order.due_at) == ("completed", T0 + 9 * D, None)
    completed = one(events(order), "order_completed")
    assert (completed.actor, completed.rule) == ("system", "GEN-ORD-1")


def test_GEN_ORD_1_completion_waits_for_an_open_ticket_and_resumes_at_its_end() -> None:
    order = shipped_and_signed()
    order.confirm(T0 + 2 * D, "buyer:B1", policy())
    ticket = open_ticket(order, T0 + 8 * D)
    fire(order)  # T0 + 9 d, the ticket is open
    assert (order.status, order.due_at) == ("confirmed", None)
    assert one(events(order), "order_waiting_for_ticket").rule == "GEN-ORD-1"
    fire_due(ticket, order)  # T0 + 10 d: auto-approved, the ticket stays open
    assert (ticket.status, order.due_at) == ("awaiting_return", None)
    cancel(ticket, order, T0 + 12 * D)
    assert (order.due_at, order.due_action) == (T0 + 12 * D, "complete")
    fire(order)
    assert (order.status, order.completed_at) == ("completed", T0 + 12 * D)


def test_GEN_ORD_1_a_partial_refund_ending_the_ticket_resumes_completion() -> None:
    order = shipped_and_signed()
    order.confirm(T0 + 2 * D, "buyer:B1", policy())
    ticket = open_ticket(order, T0 + 8 * D, type_="refund_only", amount=1000)
    fire(order)
    approve(ticket, order, T0 + 9 * D + H)
    assert (order.status, order.refunded_fen) == ("confirmed", 1000)
    assert (order.due_at, order.due_action) == (T0 + 9 * D + H, "complete")


def test_GEN_ORD_1_completed_order_has_nothing_due() -> None:
    order = make_order(shipped_at=T0 - 30 * D, signed_at=T0 - 28 * D, confirmed_at=T0 - 20 * D)
    assert (order.status, order.completed_at, order.due_at) == ("completed", T0 - 13 * D, None)


# -- GEN-ORD-4 closing ----------------------------------------------------------------------------------

def test_GEN_ORD_4_fully_refunded_order_closes() -> None:
    order = make_order()
    assert order.due_action == "auto_confirm"
    ticket = open_ticket(order, type_="refund_only")
    approve(ticket, order, T0 + H)
    assert (order.status, order.refunded_fen, order.closed_at) == ("closed", 9900, T0 + H)
    assert order.due_at is None and order.due_action is None  # never completes
    closed = one(events(order), "order_closed")
    assert closed.rule == "GEN-ORD-4"


def test_GEN_ORD_4_two_partial_refunds_that_add_up_close_the_order() -> None:
    order = make_order()
    approve(open_ticket(order, type_="refund_only", amount=3000), order, T0 + H)
    assert (order.status, order.due_action) == ("signed", "auto_confirm")
    approve(open_ticket(order, T0 + 2 * H, type_="refund_only", tid="T2"), order, T0 + 3 * H)
    assert (order.status, order.refunded_fen, order.due_at, order.due_action) == ("closed", 9900, None, None)


def test_GEN_ORD_4_closed_order_neither_ships_nor_confirms() -> None:
    order = paid()
    approve(open_ticket(order, type_="refund_only", reason="other", evidence=()), order, T0 + H)
    assert order.status == "closed"
    with refused("invalid_state"):
        order.ship(T0 + 2 * H, "staff:U1", None, None)
    with refused("invalid_state"):
        order.confirm(T0 + 2 * H, "buyer:B1", policy())


def test_automatic_order_events_have_actor_system_and_a_rule() -> None:
    order = shipped_and_signed()
    ticket = open_ticket(order, T0 + 9 * D)
    fire(order)
    cancel(ticket, order, T0 + 10 * D + H)
    fire(order)
    fire(order)
    automatic = [e for e in events(order) if e.actor == "system" and e.type != "order_signed"]
    assert [e.type for e in automatic] == ["order_waiting_for_ticket", "order_confirmed", "order_completed"]
    assert all(e.rule in RULE_IDS for e in automatic)
