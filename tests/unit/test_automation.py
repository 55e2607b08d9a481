"""Shop automation rules (GEN-AUTO-1), pure: saving checks the rules (both languages, the rule named),
`match` picks the shop's first rule whose every condition holds, at the boundaries of each condition,
and `act` decides through the shop's own approve and confirm_return, naming the rule."""

from __future__ import annotations

from typing import Any

import pytest

from shouhou.domain import automation as auto
from shouhou.domain.orders import Order
from shouhou.domain.tickets import Ticket
from shouhou.errors import Refusal

from .test_aftersales import ADDRESS, REGISTRY, T0, H, make_order, open_ticket, pv_of, submit_waybill


def rules(*raw: dict[str, Any]) -> list[auto.ShopRule]:
    return auto.parse_rules(list(raw))


def refusal_of(raw: Any) -> Refusal:
    with pytest.raises(Refusal) as e:
        auto.parse_rules(raw)
    assert e.value.code == "invalid_input"
    assert "GEN-AUTO-1" in e.value.rules
    assert e.value.message_zh and e.value.message_en
    return e.value


# -- saving ----------------------------------------------------------------------------------------

def test_a_rule_never_rejects_and_says_why_with_KS_RR_4() -> None:
    r = refusal_of([{"id": "R1", "action": "reject"}])
    assert r.rules == ["GEN-AUTO-1"]  # no pack given: the shared rule alone
    assert "never rejects" in r.message_en and "拒绝" in r.message_zh
    for pack, rule in (("kuaishou", "KS-RR-4"), ("douyin", "GEN-RR-4")):  # the shop's pack's rejection rule
        reject_rule = REGISTRY.get(pack).versions[0].rejection.reason_required.rule
        with pytest.raises(Refusal) as e:
            auto.parse_rules([{"id": "R1", "action": "reject"}], reject_rule)
        assert e.value.rules == ["GEN-AUTO-1", rule]


@pytest.mark.parametrize("raw, words", [
    ([{"id": "R1", "action": "refund"}], "unknown action"),
    ([{"id": "R1", "action": "approve", "extra": 1}], "unknown keys"),
    ([{"id": "R1", "action": "approve", "when": {"colour": ["red"]}}], "unknown conditions"),
    ([{"id": "R1", "action": "approve", "when": {"types": ["exchange"]}}], "unknown types value"),
    ([{"id": "R1", "action": "approve", "when": {"reasons": ["bored"]}}], "unknown reasons value"),
    ([{"id": "R1", "action": "approve", "when": {"types": []}}], "non-empty list"),
    ([{"id": "R1", "action": "approve", "when": {"order_state": "lost"}}], "order_state"),
    ([{"id": "R1", "action": "approve", "when": {"buyer_standing": "bad"}}], "buyer_standing"),
    ([{"id": "", "action": "approve"}], "id must be"),
    ([{"id": "R1", "action": "approve"}, {"id": "R1", "action": "confirm_receipt"}], "used twice"),
    ([{"id": f"R{i}", "action": "approve"} for i in range(auto.MAX_RULES + 1)], "at most"),
    ("R1", "must be a list"),
])
def test_saving_refuses_what_is_not_a_rule(raw: Any, words: str) -> None:
    assert words in refusal_of(raw).message_en


@pytest.mark.parametrize("money", ["ten", "1.001", 12.5, "-1.00", "0.00", None, True])
def test_saving_refuses_bad_money(money: Any) -> None:
    assert "max_amount" in refusal_of([{"id": "R1", "action": "approve", "when": {"max_amount": money}}]).message_en


def test_a_saved_rule_reads_back_as_written() -> None:
    raw = {"id": "R1", "action": "approve", "when": {"types": ["refund_only"], "reasons": ["other"],
                                                      "max_amount": "50", "order_state": "unshipped",
                                                      "categories": ["apparel"], "buyer_standing": "good"}}
    (rule,) = rules(raw)
    assert rule.when.max_amount_fen == 5000
    assert rule.stored() == {**raw, "when": {**raw["when"], "max_amount": "50.00"}}
    assert auto.parse_rules([rule.stored()]) == [rule]


def test_confirm_receipt_may_name_exchange_tickets() -> None:
    (rule,) = rules({"id": "R1", "action": "confirm_receipt", "when": {"types": ["exchange", "repair"]}})
    assert rule.when.types == ("exchange", "repair")


# -- matching --------------------------------------------------------------------------------------

def unshipped(amount: int = 5000) -> Order:
    return make_order(amount=amount, shipped_at=None, signed_at=None)


def refund_only(order: Order) -> Ticket:
    return open_ticket(order, T0 + H, type_="refund_only", reason="other", evidence=())


@pytest.mark.parametrize("amount, acts", [(5000, True), (5001, False)])
def test_max_amount_holds_up_to_and_including_the_amount(amount: int, acts: bool) -> None:
    order = unshipped(amount)
    m = auto.match(rules({"id": "R1", "action": "approve", "when": {"max_amount": "50.00"}}), refund_only(order), order)
    assert (m is not None) is acts
    if m is not None:
        assert m.matched == {"max_amount": {"condition": "50.00", "value": format(amount / 100, ".2f")}}


@pytest.mark.parametrize("state, shipped, signed", [("unshipped", None, None), ("shipped", T0 - 24 * H, None),
                                                     ("signed", T0 - 48 * H, T0 - 24 * H)])
def test_order_state_is_read_from_the_order(state: str, shipped: Any, signed: Any) -> None:
    order = make_order(shipped_at=shipped, signed_at=signed)
    assert auto.order_state(order) == state
    ticket = refund_only(order)
    for want in auto.ORDER_STATES:
        m = auto.match(rules({"id": "R1", "action": "approve", "when": {"order_state": want}}), ticket, order)
        assert (m is not None) is (want == state)


def test_every_condition_must_hold_and_the_first_matching_rule_wins() -> None:
    order = unshipped()
    ticket = refund_only(order)
    shop_rules = rules(
        {"id": "WRONG_REASON", "action": "approve", "when": {"types": ["refund_only"], "reasons": ["quality"]}},
        {"id": "RECEIPT", "action": "confirm_receipt"},
        {"id": "FIRST", "action": "approve", "when": {"types": ["refund_only"], "categories": ["apparel"]}},
        {"id": "SECOND", "action": "approve"},
    )
    m = auto.match(shop_rules, ticket, order)
    assert m is not None and (m.rule_id, m.action) == ("FIRST", "approve")
    assert set(m.matched) == {"types", "categories"}


def test_buyer_standing_matches_the_standing_the_platform_recorded() -> None:
    order = unshipped()
    ticket = refund_only(order)
    shop_rules = rules({"id": "GOOD", "action": "approve", "when": {"buyer_standing": "good"}})
    assert auto.match(shop_rules, ticket, order) is None  # a buyer is normal by default
    assert auto.match(shop_rules, ticket, order, buyer_standing="poor") is None
    assert auto.match(shop_rules, ticket, order, buyer_standing="good") is not None
    poor = rules({"id": "POOR", "action": "approve", "when": {"buyer_standing": "poor"}})
    assert auto.match(poor, ticket, order, buyer_standing="poor") is not None


def test_no_rule_approves_exchanges_or_acts_on_a_decided_ticket() -> None:
    order = make_order()
    approve_all = rules({"id": "ALL", "action": "approve"})
    exchange = open_ticket(order, T0 + H, type_="exchange")
    assert auto.match(approve_all, exchange, order) is None
    ticket = refund_only(unshipped())
    ticket.status = "rejected"
    assert auto.match(approve_all, ticket, order) is None


# -- acting ----------------------------------------------------------------------------------------

def test_an_approval_by_rule_is_the_shops_approved_event_naming_the_rule() -> None:
    order = unshipped()
    ticket = refund_only(order)
    m = auto.match(rules({"id": "SMALL", "action": "approve", "when": {"max_amount": "50.00"}}), ticket, order)
    assert m is not None
    auto.act(m, ticket, order, pv_of(ticket), T0 + H, None)
    assert ticket.status == "refunded" and ticket.refunded_fen == 5000
    (e,) = [e for e in ticket.pending_events if e.type == "approved"]
    assert e.rule == "GEN-AUTO-1" and e.payload["shop_rule"] == "SMALL"
    assert e.payload["matched"]["max_amount"]["value"] == "50.00"
    assert e.actor == "staff:rule:SMALL"
    assert not [e for e in ticket.pending_events if e.type in ("auto_approved", "overdue_recorded")]


def test_confirm_receipt_by_rule_refunds_the_return() -> None:
    order = make_order()
    ticket = open_ticket(order, T0 + H)
    m = auto.match(rules({"id": "EASY", "action": "approve"}), ticket, order)
    assert m is not None
    auto.act(m, ticket, order, pv_of(ticket), T0 + H, ADDRESS)
    assert ticket.status == "awaiting_return" and ticket.return_address == ADDRESS
    submit_waybill(ticket, order, T0 + 2 * H)
    m = auto.match(rules({"id": "RECEIPT", "action": "confirm_receipt"}), ticket, order)
    assert m is not None and m.action == "confirm_receipt"
    auto.act(m, ticket, order, pv_of(ticket), T0 + 2 * H, ADDRESS)
    assert ticket.status == "refunded"
    (e,) = [e for e in ticket.pending_events if e.type == "return_confirmed"]
    assert (e.rule, e.payload["shop_rule"]) == ("GEN-AUTO-1", "RECEIPT")


def test_the_rule_actor_may_do_nothing_else() -> None:
    from shouhou.domain import roles
    actor = auto.rule_actor("S1", "R1")
    assert not any(roles.may(actor, act) for act in roles.ACTS)
    assert roles.may_grant(actor, "cs_agent") is False
