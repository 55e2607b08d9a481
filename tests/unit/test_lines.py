"""Order lines and partial after-sales (GEN-APPLY-7), pure: the lines' validation, what each line
can still refund, and applications and refunds over some lines and quantities."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shouhou.domain import aftersales
from shouhou.domain.lines import (
    Cover,
    OrderLine,
    cover_cap,
    cover_problems,
    default_line,
    line_problems,
    spread,
    whole_cover,
)
from shouhou.domain.orders import Order
from shouhou.domain.tickets import Ticket

from .test_aftersales import BUYER, T0, H, approve, make_order, policy, refused

CASE = OrderLine("CASE-1", "手机壳", 2, 4900, 5900)
CHARGER = OrderLine("CHARGER-1", "充电器", 1, 10000, 10000, "accessory")
GIFT = OrderLine("FILM-1", "贴膜", 1, 0, 1000, "gift")
LINES = (CASE, CHARGER, GIFT)  # 198.00 of goods; with 10.00 freight the order is 208.00


def lined_order() -> Order:
    order = make_order(amount=20800)
    order.freight_fen, order.lines = 1000, LINES
    return order


def apply(order: Order, cover: tuple[Cover, ...] | None, amount: int | None = None, tid: str = "T1") -> Ticket:
    return aftersales.apply(tid, order, BUYER, policy("kuaishou", T0), T0, "refund_only", "not_as_described",
                            amount, [], None, None, cover)


# -- the lines themselves -------------------------------------------------------------------------------

def test_valid_lines_have_no_problems() -> None:
    assert line_problems(LINES, 20800, 1000) == []


@pytest.mark.parametrize("lines, amount, freight", [
    ((CASE, CASE), 19600, 0),  # the same SKU twice
    ((replace(CASE, qty=0),), 0, 0),  # qty below 1
    ((replace(CASE, price_fen=-1, qty=1),), -1, 0),  # a negative price
    ((replace(CASE, listed_price_fen=-1),), 9800, 0),  # a negative listed price
    ((replace(CASE, kind="bundle"),), 9800, 0),  # an unknown kind
    ((CASE,), 9801, 0),  # prices x quantities + freight != amount
    ((CASE,), 9800, 1),
    ((), 9800, 0),  # no line at all
])
def test_invalid_lines_are_named(lines: tuple[OrderLine, ...], amount: int, freight: int) -> None:
    assert line_problems(lines, amount, freight)


def test_an_order_without_lines_is_one_line_of_qty_1_less_freight() -> None:
    line = default_line("O1", 9900, 1000)
    assert (line.sku, line.qty, line.price_fen, line.listed_price_fen, line.kind) == ("O1", 1, 8900, 8900, "goods")
    assert line_problems((line,), 9900, 1000) == []


def test_a_line_refunds_what_was_paid_less_refunded_and_held() -> None:
    line = replace(CASE, refunded_fen=4900, held_fen=1000)
    assert line.refundable_fen == 9800 - 4900 - 1000
    assert line.qty_left == 2 - (5900 // 4900)
    assert line.cap_fen(1) == 3900  # never more than the line can still refund
    assert replace(CASE, refunded_fen=9800).refundable_fen == 0


def test_a_gift_keeps_all_its_units_and_refunds_nothing() -> None:
    assert (GIFT.qty_left, GIFT.cap_fen(1)) == (1, 0)


@pytest.mark.parametrize("cover, ok", [
    ((Cover("CASE-1", 2),), True),
    ((Cover("CASE-1", 3),), False),  # more than is left
    ((Cover("CASE-1", 0),), False),
    ((Cover("NOPE", 1),), False),  # unknown SKU
    ((Cover("CASE-1", 1), Cover("CASE-1", 1)), False),  # the same SKU twice
    ((), False),
])
def test_cover_problems_at_the_boundaries(cover: tuple[Cover, ...], ok: bool) -> None:
    assert (cover_problems(LINES, cover) == []) is ok


def test_the_cap_is_the_lines_and_the_freight_only_with_everything_left() -> None:
    assert cover_cap(LINES, (Cover("CASE-1", 1),), 20800) == 4900
    assert cover_cap(LINES, whole_cover(LINES), 20800) == 20800


def test_spread_never_puts_more_on_a_line_than_its_cap() -> None:
    cover = (Cover("CASE-1", 1), Cover("CHARGER-1", 1))
    shares = spread(10000, LINES, cover)
    assert sum(shares.values()) == 10000
    assert shares["CASE-1"] <= 4900 and shares["CHARGER-1"] <= 10000
    assert spread(99999, LINES, cover) == {"CASE-1": 4900, "CHARGER-1": 10000}  # the rest is freight


# -- applying and refunding over lines ----------------------------------------------------------------

def test_GEN_APPLY_7_amount_defaults_to_what_the_lines_can_refund() -> None:
    order = lined_order()
    ticket = apply(order, (Cover("CASE-1", 1),))
    assert (ticket.amount_fen, ticket.lines) == (4900, (Cover("CASE-1", 1),))
    assert {line.sku: line.held_fen for line in order.lines} == {"CASE-1": 4900, "CHARGER-1": 0, "FILM-1": 0}


def test_GEN_APPLY_7_refund_lands_on_the_lines_and_frees_the_hold() -> None:
    order = lined_order()
    ticket = apply(order, (Cover("CASE-1", 1),))
    approve(ticket, order, T0 + H)
    case = order.lines[0]
    assert (case.refunded_fen, case.held_fen, case.qty_left, order.refunded_fen) == (4900, 0, 1, 4900)
    with refused("invalid_input", "GEN-APPLY-7"):
        apply(order, (Cover("CASE-1", 2),), tid="T2")


def test_GEN_APPLY_7_no_cover_takes_everything_left_with_the_freight_and_closes_the_order() -> None:
    order = lined_order()
    ticket = apply(order, None)
    assert ticket.amount_fen == 20800
    approve(ticket, order, T0 + H)
    assert order.status == "closed"
    assert all(line.refundable_fen == 0 for line in order.lines)


@pytest.mark.parametrize("cover, amount", [
    ((Cover("NOPE", 1),), None),  # an unknown SKU
    ((Cover("CASE-1", 3),), None),  # a qty beyond what is left
    ((Cover("CASE-1", 1),), 4901),  # an amount beyond what the line can refund
    ((Cover("FILM-1", 1),), None),  # a gift alone: nothing to refund
])
def test_GEN_APPLY_7_refusals(cover: tuple[Cover, ...], amount: int | None) -> None:
    order = lined_order()
    with refused("invalid_input", "GEN-APPLY-7"):
        apply(order, cover, amount)
    assert order.open_ticket_id is None and all(line.held_fen == 0 for line in order.lines)


def test_GEN_APPLY_7_the_exact_cap_is_allowed() -> None:
    order = lined_order()
    assert apply(order, (Cover("CASE-1", 1), Cover("FILM-1", 1)), 4900).amount_fen == 4900
