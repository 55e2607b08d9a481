"""Fast lanes (RULES §10) in the domain, without a database: who takes KS-FAST-1, KS-FAST-2 and
DY-FAST-1, at which boundary, and what each leaves on the ticket."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shouhou.domain import aftersales, fast_lanes
from shouhou.domain.lines import Cover, OrderLine
from shouhou.domain.orders import Order
from shouhou.domain.shops import Buyer
from shouhou.domain.tickets import Ticket
from shouhou.errors import Refusal

from .test_aftersales import (
    ADDRESS,
    BUYER,
    STAFF,
    T0,
    D,
    H,
    approve,
    events,
    make_order,
    open_ticket,
    policy,
    pv_of,
)

GOOD = Buyer("B1", "B1", standing="good")


def unshipped(amount: int, pack: str = "kuaishou") -> Order:
    return make_order(pack, amount=amount, shipped_at=None, signed_at=None)


def refund_only(order: Order) -> Ticket:
    return open_ticket(order, T0, type_="refund_only", reason="other", evidence=())


def no_reason_return(order: Order, **kw: object) -> Ticket:
    return open_ticket(order, T0, type_="return_refund", reason="no_reason", evidence=(), **kw)  # type: ignore[arg-type]


def on_application(ticket: Ticket, order: Order, buyer: Buyer = GOOD, address: str | None = ADDRESS) -> str | None:
    return fast_lanes.on_application(ticket, order, buyer, pv_of(ticket), T0, address)


def shipped_back(order: Order, ticket: Ticket, buyer: Buyer = GOOD) -> str | None:
    """The shop approved, the buyer submitted the waybill: DY-FAST-1 may advance."""
    approve(ticket, order, T0 + H)
    aftersales.submit_waybill(ticket, order, BUYER, pv_of(ticket), T0 + 2 * H, "YT", "YT1")
    return fast_lanes.on_waybill(ticket, order, buyer, pv_of(ticket), T0 + 2 * H)


# -- KS-FAST-1 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("amount, fast", [(30000, True), (30001, False)])
def test_ks_fast_1_refunds_an_unshipped_order_up_to_300_at_once(amount: int, fast: bool) -> None:
    order = unshipped(amount)
    ticket = refund_only(order)
    assert on_application(ticket, order) == ("KS-FAST-1" if fast else None)
    if fast:
        assert (ticket.status, ticket.refunded_fen, ticket.due_at) == ("refunded", amount, None)
        kinds = [(e.type, e.rule) for e in events(ticket) if e.type in ("fast_refund", "refunded")]
        assert kinds == [("fast_refund", "KS-FAST-1"), ("refunded", "KS-FAST-1")]
        assert (order.status, order.refunded_fen, order.open_ticket_id) == ("closed", amount, None)
    else:
        assert (ticket.status, ticket.refunded_fen, ticket.due_rule) == ("pending_review", 0, "KS-RO-1")
        assert order.refunded_fen == 0


@pytest.mark.parametrize("standing", ["normal", "poor"])
def test_only_good_buyers_take_a_fast_lane(standing: str) -> None:
    order = unshipped(100)
    ticket = refund_only(order)
    assert on_application(ticket, order, Buyer("B1", "B1", standing=standing, member=True)) is None
    assert ticket.status == "pending_review"


def test_custom_virtual_and_shipped_orders_are_not_fast_refunded() -> None:
    for change in ({"custom": True}, {"goods": "virtual"}, {"goods": "coupon"}):
        order = unshipped(100)
        for k, v in change.items():
            setattr(order, k, v)
        ticket = refund_only(order)
        assert on_application(ticket, order) is None, change
        assert ticket.status == "pending_review"
    order = make_order(amount=100, signed_at=None)  # shipped, not signed
    ticket = refund_only(order)
    assert on_application(ticket, order) is None and ticket.status == "pending_review"


def test_another_buyers_standing_does_not_count() -> None:
    order = unshipped(100)
    ticket = refund_only(order)
    assert on_application(ticket, order, Buyer("B2", "B2", standing="good")) is None


def test_douyin_has_no_ks_fast_lane_and_a_pack_without_the_section_has_none() -> None:
    order = unshipped(100, "douyin")
    ticket = refund_only(order)
    assert on_application(ticket, order) is None and ticket.status == "pending_review"
    order = unshipped(100)
    ticket = refund_only(order)
    bare = policy().model_copy(update={"fast_lanes": None})
    assert fast_lanes.on_application(ticket, order, GOOD, bare, T0, ADDRESS) is None


# -- KS-FAST-2 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("amount, fast", [(100000, True), (100001, False)])
def test_ks_fast_2_approves_a_no_reason_return_at_once_with_the_address(amount: int, fast: bool) -> None:
    order = make_order(amount=amount)
    ticket = no_reason_return(order)
    assert on_application(ticket, order) == ("KS-FAST-2" if fast else None)
    if fast:
        assert (ticket.status, ticket.return_address) == ("awaiting_return", ADDRESS)
        assert (ticket.due_at, ticket.due_rule, ticket.due_action) == (T0 + 10 * D, "KS-RR-2", "auto_close")
        e = [e for e in events(ticket) if e.type == "fast_approved"]
        assert len(e) == 1 and e[0].rule == "KS-FAST-2" and e[0].to_status == "awaiting_return"
        assert not [e for e in events(ticket) if e.type in ("overdue_recorded", "refunded")]
    else:
        assert ticket.status == "pending_review" and ticket.due_rule == "KS-RR-1"


def test_ks_fast_2_wants_no_reason_a_return_address_and_no_custom_goods() -> None:
    order = make_order(amount=5000)
    quality = open_ticket(order, T0, type_="return_refund", reason="quality")
    assert on_application(quality, order) is None and quality.status == "pending_review"
    order = make_order(amount=5000)
    ticket = no_reason_return(order)
    assert on_application(ticket, order, address=None) is None and ticket.status == "pending_review"
    order = make_order(amount=5000)
    order.custom = True
    ticket = no_reason_return(order)
    assert on_application(ticket, order) is None and ticket.status == "pending_review"


# -- DY-FAST-1 -----------------------------------------------------------------------------------

@pytest.mark.parametrize("amount, member, fast", [
    (100000, False, True), (100001, False, False), (150000, True, True), (150001, True, False),
])
def test_dy_fast_1_advances_up_to_the_cap_or_the_members_cap(amount: int, member: bool, fast: bool) -> None:
    order = make_order("douyin", amount=amount)
    ticket = no_reason_return(order)
    buyer = Buyer("B1", "B1", standing="good", member=member)
    assert on_application(ticket, order, buyer) is None  # no KS lane on Douyin: the shop reviews
    assert shipped_back(order, ticket, buyer) == ("DY-FAST-1" if fast else None)
    assert ticket.status == "awaiting_receipt" and ticket.due_rule == "DY-RR-2"  # still the shop's
    assert ticket.refunded_fen == 0 and order.refunded_fen == 0
    assert ticket.advanced_fen == (amount if fast else 0)
    advanced = [e for e in events(ticket) if e.type == "fast_refund"]
    assert [(e.rule, e.payload["advanced"]) for e in advanced] == ([("DY-FAST-1", f"{amount // 100}.00")] if fast else [])


def test_dy_fast_1_advances_once_and_the_receipt_refunds_without_paying_again() -> None:
    order = make_order("douyin", amount=9900)
    ticket = no_reason_return(order)
    assert shipped_back(order, ticket) == "DY-FAST-1"
    assert fast_lanes.on_waybill(ticket, order, GOOD, pv_of(ticket), T0 + 3 * H) is None  # once
    with pytest.raises(Refusal) as refused:
        aftersales.cancel(ticket, order, BUYER, pv_of(ticket), T0 + 3 * H)
    assert refused.value.code == "invalid_state" and "DY-FAST-1" in refused.value.rules
    aftersales.confirm_return(ticket, order, STAFF, pv_of(ticket), T0 + D)
    assert (ticket.status, ticket.refunded_fen, ticket.advanced_fen) == ("refunded", 9900, 9900)
    assert (order.status, order.refunded_fen) == ("closed", 9900)


def test_dy_fast_1_is_never_partial() -> None:
    order = make_order("douyin", amount=9900)
    ticket = no_reason_return(order, amount=5000)  # part of the amount
    assert shipped_back(order, ticket) is None and ticket.advanced_fen == 0
    order = make_order("douyin", amount=12000)
    order.lines = (OrderLine("A", "A", 1, 10000, 10000), OrderLine("GIFT", "G", 1, 2000, 2000, "gift"))
    ticket = no_reason_return(order)
    assert fast_lanes.whole_order(ticket, order)
    part = replace(ticket, lines=(Cover("A", 1),), amount_fen=12000)
    assert not fast_lanes.whole_order(part, order)  # one line left out, even at the whole amount


@pytest.mark.parametrize("buyer", [Buyer("B1", "B1"), Buyer("B1", "B1", standing="poor", member=True)])
def test_dy_fast_1_not_for_normal_or_poor_buyers(buyer: Buyer) -> None:
    order = make_order("douyin", amount=9900)
    ticket = no_reason_return(order)
    assert shipped_back(order, ticket, buyer) is None and ticket.advanced_fen == 0


def test_kuaishou_never_advances() -> None:
    order = make_order(amount=9900)
    ticket = no_reason_return(order)
    on_application(ticket, order, GOOD, address=None)  # no lightning return without an address
    assert shipped_back(order, ticket) is None and ticket.advanced_fen == 0


def test_fast_lane_caps_are_public_pack_values_with_rules() -> None:
    """Each pack carries only its own platform's lanes: Kuaishou KS-FAST-1/2, Douyin DY-FAST-1."""
    caps = {"KS-FAST-1": 30000, "KS-FAST-2": 100000, "DY-FAST-1": 100000}
    for pack, on in (("kuaishou", ("KS-FAST-1", "KS-FAST-2")), ("douyin", ("DY-FAST-1",))):
        lanes = policy(pack).fast_lanes
        assert lanes is not None
        settings = [s for s in (lanes.unshipped_refund, lanes.lightning_return, lanes.advance_refund) if s is not None]
        assert [s.rule for s in settings if s.enabled] == list(on) == [s.rule for s in settings]
        assert all(s.source == "public" for s in settings)
        assert [s.cap_fen() for s in settings] == [caps[r] for r in on]
    advance = policy("douyin").fast_lanes.advance_refund  # type: ignore[union-attr]
    assert advance is not None and advance.cap_fen(member=True) == 150000


@pytest.mark.parametrize("fields", [
    {"max_order": "0.00"}, {"max_order": "abc"}, {"max_order": "300.001"},
    {"max_order": "300.00", "member_max_order": "299.99"},
])
def test_a_pack_with_a_bad_cap_does_not_load(fields: dict[str, str]) -> None:
    from pydantic import ValidationError

    from shouhou.policies import FastLane

    with pytest.raises(ValidationError):
        FastLane(enabled=True, rule="DY-FAST-1", **fields)  # type: ignore[arg-type]
