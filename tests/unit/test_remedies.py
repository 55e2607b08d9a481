"""Seed 004's rulings against the shop (KS-PI-4, -5, -6) and the delayed-shipment record (KS-GOV-5),
in the domain alone: each remedy at its boundaries, without a database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shouhou.domain import disputes, remedies, timeouts
from shouhou.domain.lines import Cover, OrderLine
from shouhou.domain.orders import Order
from shouhou.domain.tickets import Ticket
from shouhou.errors import Refusal
from shouhou.policies.values import Compensation

from .test_aftersales import BUYER, STAFF, policy
from .test_disputes import CS, H, at, case_for, rejected

WHEN = at("2026-03-02T09:00")


def ruled(finding: str, remedy: str | None = None, lines: tuple[Cover, ...] | None = None,
          pack: str = "kuaishou") -> tuple[Order, Ticket, remedies.Remedy | None]:
    order, ticket = rejected(pack, WHEN)
    case = case_for(order, ticket, WHEN + 2 * H)
    pv = policy(pack, WHEN)
    disputes.respond(case, ticket, CS, pv, WHEN + 3 * H)
    made = disputes.rule(case, ticket, order, CS, pv, WHEN + 4 * H, "buyer", remedy, None, None, "仓库",
                         finding=finding, lines=lines)
    return order, ticket, made


@pytest.mark.parametrize(("paid", "owed"), [(0, 300), (5_999, 300), (6_000, 300), (6_010, 301), (100_000, 5_000),
                                            (99_990, 5_000), (99_989, 4_999)])
def test_KS_GOV_5_compensation_is_5_percent_at_least_3_at_most_50(paid: int, owed: int) -> None:
    rate = policy().remedies.delayed_shipment  # type: ignore[union-attr]
    assert rate.of(paid) == owed


def test_a_compensation_setting_checks_its_numbers() -> None:
    with pytest.raises(ValueError, match="rate"):
        Compensation(rate="1.5", min="3.00", max="50.00", rule="KS-GOV-5")
    with pytest.raises(ValueError, match="min"):
        Compensation(rate="0.05", min="60.00", max="50.00", rule="KS-GOV-5")


def test_KS_PI_4_reship_is_due_24_h_after_the_ruling_then_late_then_compensated() -> None:
    order, ticket, made = ruled("missing_items")
    assert made is not None and made.finding == "missing_items" and made.rule == "KS-PI-4"
    assert (ticket.status, ticket.type, ticket.due_action) == ("awaiting_replacement", "reship", "reship_late")
    assert ticket.due_at == WHEN + 28 * H
    pv = policy()
    ticket.pending_events.clear()
    with pytest.raises(Refusal):
        timeouts.fire(ticket, order, pv, ticket.due_at - H, None)  # not yet due
    timeouts.fire(ticket, order, pv, ticket.due_at, None)
    kinds = [(e.type, e.rule) for e in ticket.pending_events]
    assert ("delayed_shipment", "KS-GOV-5") in kinds and ("compensated", "KS-GOV-5") in kinds
    assert (ticket.status, ticket.due_action, ticket.due_at) == ("awaiting_replacement", "priority_compensation",
                                                                  WHEN + 76 * H)
    timeouts.fire(ticket, order, pv, ticket.due_at, None)
    assert ticket.status == "refunded" and ticket.refunded_fen == order.amount_fen
    refunded = [e for e in ticket.pending_events if e.type == "refunded"]
    assert refunded[-1].payload["funding"] == "advance" and refunded[-1].rule == "KS-PI-4"


def test_KS_PI_4_priority_compensation_prices_accessories_and_gifts_at_their_listed_price() -> None:
    order, ticket = rejected("kuaishou", WHEN)
    order.lines = (OrderLine("A", "goods", 2, 3_000, 3_500), OrderLine("B", "cable", 1, 2_000, 3_000, "accessory"),
                   OrderLine("C", "film", 1, 0, 990, "gift"))
    order.amount_fen = 8_000
    ticket.lines = (Cover("A", 2), Cover("B", 1), Cover("C", 1))
    ticket.amount_fen = 8_000
    pv = policy()
    case = case_for(order, ticket, WHEN + 2 * H)
    disputes.respond(case, ticket, CS, pv, WHEN + 3 * H)
    disputes.rule(case, ticket, order, CS, pv, WHEN + 4 * H, "buyer", "refund", None, None, None,
                  finding="missing_items", lines=(Cover("A", 1), Cover("B", 1), Cover("C", 1)))
    assert ticket.status == "refunded" and ticket.refunded_fen == 5_000  # one A and the cable, as paid
    extra = [e for e in ticket.pending_events if e.type == "compensated"]
    assert [e.payload["amount"] for e in extra] == ["19.90"]  # the cable's ¥10 and the film's ¥9.90 above paid
    assert extra[0].payload["payout"] == f"{ticket.id}:priority"


def test_KS_PI_4_the_shop_says_it_cannot_reship_only_on_its_own_missing_items_ticket() -> None:
    order, ticket, made = ruled("missing_items")
    pv = policy()
    with pytest.raises(Refusal) as e:
        remedies.cannot_reship(ticket, order, BUYER, pv, WHEN + 5 * H, made)
    assert e.value.code == "forbidden"
    with pytest.raises(Refusal) as e:
        remedies.cannot_reship(ticket, order, STAFF, pv, WHEN + 5 * H, replace(made, finding="wrong_item"))  # type: ignore[type-var]
    assert e.value.code == "invalid_state"
    with pytest.raises(Refusal) as e:  # at the deadline the worker wins the race
        remedies.cannot_reship(ticket, order, STAFF, pv, ticket.due_at, made)  # type: ignore[arg-type]
    assert e.value.code == "invalid_state"
    remedies.cannot_reship(ticket, order, STAFF, pv, WHEN + 5 * H, made)
    assert ticket.status == "refunded"


def test_a_finding_is_for_the_buyer_against_the_shop_with_its_own_remedies() -> None:
    for finding, remedy, fault, in_favour in (("missing_items", "exchange", None, "buyer"),
                                              ("wrong_item", "refund", None, "buyer"),
                                              ("unjustified_rejection", "return_refund", None, "buyer"),
                                              ("wrong_item", None, "buyer", "buyer"),
                                              ("wrong_item", None, None, "merchant"),
                                              ("nonsense", None, None, "buyer")):
        order, ticket = rejected("kuaishou", WHEN)
        case = case_for(order, ticket, WHEN + 2 * H)
        pv = policy()
        disputes.respond(case, ticket, CS, pv, WHEN + 3 * H)
        with pytest.raises(Refusal) as e:
            disputes.rule(case, ticket, order, CS, pv, WHEN + 4 * H, in_favour, remedy, None, fault, None,
                          finding=finding)
        assert e.value.code == "invalid_input", (finding, remedy)
        assert case.status != "ruled" and ticket.status == "in_intervention"  # nothing changed


def test_douyin_has_no_findings() -> None:
    with pytest.raises(Refusal) as e:
        ruled("missing_items", pack="douyin")
    assert e.value.code == "ineligible"


def test_KS_PI_5_wrong_item_returns_with_the_freight_on_the_shop_and_one_compensation_claim() -> None:
    order, ticket, made = ruled("wrong_item")
    assert (ticket.status, ticket.type, ticket.due_action) == ("awaiting_return", "return_refund", "auto_close")
    assert ticket.return_address == "仓库"
    pv = policy()
    with pytest.raises(Refusal) as e:
        remedies.claim_compensation(made, ticket, order, STAFF, pv, WHEN + 5 * H)
    assert e.value.code == "forbidden"
    assert remedies.claim_compensation(made, ticket, order, BUYER, pv, WHEN + 5 * H) == 495  # 5 % of ¥99
    with pytest.raises(Refusal) as e:
        remedies.claim_compensation(made, ticket, order, BUYER, pv, WHEN + 6 * H)
    assert e.value.code == "invalid_state" and "KS-PI-5" in e.value.rules


def test_KS_PI_6_refunds_at_once_by_advance_and_opens_a_retrieval_without_a_buyer_deadline() -> None:
    order, ticket, made = ruled("unjustified_rejection")
    assert made is not None and made.retrieval == "open"
    assert ticket.status == "refunded" and ticket.due_at is None and ticket.type == "return_refund"
    refunded = [e for e in ticket.pending_events if e.type == "refunded"][-1]
    assert refunded.payload["funding"] == "advance" and refunded.rule == "KS-PI-6"
    pv = policy()
    remedies.retrieve_goods(made, ticket, STAFF, pv, WHEN + 30 * 24 * H)
    assert made.retrieval == "done" and made.retrieved_by == STAFF.label
    with pytest.raises(Refusal):
        remedies.retrieve_goods(made, ticket, STAFF, pv, WHEN + 31 * 24 * H)
