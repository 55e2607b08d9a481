"""Re-opening the after-sales entry past the period (RULES §7): every condition of both packs at both
sides of its boundary, pure domain, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from shouhou.clock import SHANGHAI
from shouhou.domain.actors import Actor
from shouhou.domain.entry import close_entry, conditions, open_entry, request_reopen
from shouhou.domain.orders import Order
from shouhou.domain.shops import Shop
from shouhou.errors import Refusal
from shouhou.policies import PolicyRegistry, PolicyVersion

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
OWNER = Actor("staff", "OWN", shop_id="S1", role="owner")


def pv(pack: str) -> PolicyVersion:
    return PolicyRegistry.default().get(pack).at(NOW)


def completed_order(pack: str, completed_ago: timedelta = timedelta(days=30), **kw: Any) -> Order:
    completed_at = NOW - completed_ago
    base = dict(
        id="O1", shop_id="S1", buyer_id="B1", policy=pack, policy_version="2026.1", amount_fen=19900,
        freight_fen=0, payment="online", kind="normal", marketing=False, goods="physical", category="apparel",
        no_reason_return=True, commission={}, created_at=completed_at - timedelta(days=12),
        shipped_at=completed_at - timedelta(days=11), signed_at=completed_at - timedelta(days=9),
        confirmed_at=completed_at - timedelta(days=7), completed_at=completed_at, status="completed",
    )
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def shop(**kw: Any) -> Shop:
    base = dict(id="S1", name="S1", policy="kuaishou", status="normal", wallet_fen=0, deposit_fen=100_000,
                wallet_opened_at=NOW - timedelta(days=365), created_at=NOW - timedelta(days=365))
    base.update(kw)
    return Shop(**base)  # type: ignore[arg-type]


def failing(order: Order, s: Shop, pack: str, at: datetime = NOW) -> set[str]:
    return {c.rule for c in conditions(order, s, pv(pack), at) if not c.passed}


def test_KS_a_completed_order_within_every_condition_is_eligible() -> None:
    assert failing(completed_order("kuaishou"), shop(), "kuaishou") == set()


@pytest.mark.parametrize(("ago", "ok"), [(timedelta(days=120), True), (timedelta(days=120, minutes=1), False)])
def test_KS_OP_1_completed_no_more_than_120_days_ago(ago: timedelta, ok: bool) -> None:
    assert ("KS-OP-1" not in failing(completed_order("kuaishou", ago), shop(), "kuaishou")) is ok


def test_KS_OP_1_refusal_says_the_figures() -> None:
    order = completed_order("kuaishou", timedelta(days=121))
    cond = next(c for c in conditions(order, shop(), pv("kuaishou"), NOW) if c.name == "completed_within")
    assert cond.zh == "订单完成已 121 天,超过 120 天"
    assert cond.en == "completed 121 days ago, limit 120 days"
    assert cond.figures["elapsed_days"] == 121 and cond.figures["limit_days"] == 120


def test_KS_OP_1_just_past_the_limit_the_refusal_says_by_how_much() -> None:
    order = completed_order("kuaishou", timedelta(days=120, minutes=30))
    cond = next(c for c in conditions(order, shop(), pv("kuaishou"), NOW) if c.name == "completed_within")
    assert not cond.passed
    assert cond.zh == "订单完成已 120 天 30 分钟,超过 120 天"
    assert cond.en == "completed 120 days 30 min ago, limit 120 days"


def test_an_order_closed_fully_refunded_before_completion_is_explained_as_such() -> None:
    order = completed_order("kuaishou", status="closed", completed_at=None, refunded_fen=19900)
    cond = next(c for c in conditions(order, shop(), pv("kuaishou"), NOW) if c.name == "past_period")
    assert not cond.passed and "nothing is left to refund" in cond.en and "全额退款" in cond.zh


def test_KS_OP_1_an_order_still_in_its_period_is_not_eligible() -> None:
    order = completed_order("kuaishou", status="confirmed", completed_at=None)
    assert "KS-OP-1" in failing(order, shop(), "kuaishou")


@pytest.mark.parametrize(
    ("wallet", "deposit", "ok"),
    [(19900, 0, True), (0, 19900, True), (19899, 19899, False), (50_000, 0, True)],
)
def test_KS_OP_2_wallet_or_deposit_covers_the_largest_refundable(wallet: int, deposit: int, ok: bool) -> None:
    got = failing(completed_order("kuaishou"), shop(wallet_fen=wallet, deposit_fen=deposit), "kuaishou")
    assert ("KS-OP-2" not in got) is ok


def test_KS_OP_2_largest_refundable_is_net_of_refunds() -> None:
    order = completed_order("kuaishou", refunded_fen=10_000)
    assert "KS-OP-2" not in failing(order, shop(wallet_fen=9_900, deposit_fen=0), "kuaishou")
    assert "KS-OP-2" in failing(order, shop(wallet_fen=9_899, deposit_fen=0), "kuaishou")


@pytest.mark.parametrize(("status", "ok"), [("normal", True), ("suspended", False), ("closed", False)])
def test_KS_OP_3_shop_in_normal_operation(status: str, ok: bool) -> None:
    assert ("KS-OP-3" not in failing(completed_order("kuaishou"), shop(status=status), "kuaishou")) is ok


@pytest.mark.parametrize(("kind", "ok"), [("normal", True), ("cross_border", True), ("presale_deposit", False)])
def test_KS_OP_4_ordinary_and_cross_border_only(kind: str, ok: bool) -> None:
    assert ("KS-OP-4" not in failing(completed_order("kuaishou", kind=kind), shop(), "kuaishou")) is ok


def test_KS_OP_4_marketing_activity_orders_are_allowed() -> None:
    assert failing(completed_order("kuaishou", marketing=True), shop(), "kuaishou") == set()


@pytest.mark.parametrize(("refunded", "ok"), [(19899, True), (19900, False)])
def test_KS_OP_5_refundable_above_zero(refunded: int, ok: bool) -> None:
    order = completed_order("kuaishou", refunded_fen=refunded)
    assert ("KS-OP-5" not in failing(order, shop(), "kuaishou")) is ok


@pytest.mark.parametrize(("role", "ok"), [("owner", True), ("admin", True), ("cs_admin", True), ("cs_agent", False)])
def test_KS_OP_6_only_owner_admin_and_cs_admin_open(role: str, ok: bool) -> None:
    order = completed_order("kuaishou")
    actor = Actor("staff", "X", shop_id="S1", role=role)
    if ok:
        open_entry(order, shop(), actor, pv("kuaishou"), NOW, "M1")
        assert order.entry_open(NOW)
    else:
        with pytest.raises(Refusal) as e:
            open_entry(order, shop(), actor, pv("kuaishou"), NOW, "M1")
        assert e.value.code == "forbidden" and e.value.rules == ["KS-OP-6"]
        assert order.pending_events == []


@pytest.mark.parametrize(("pack", "rule", "days"), [("kuaishou", "KS-OP-7", 3), ("douyin", "DY-OP-6", 5)])
def test_window_then_the_entry_closes_and_may_open_again(pack: str, rule: str, days: int) -> None:
    order = completed_order(pack)
    open_entry(order, shop(), OWNER, pv(pack), NOW, "M1")
    closes = NOW + timedelta(days=days)
    assert order.entry_closes_at == closes
    assert order.entry_open(closes - timedelta(seconds=1)) and not order.entry_open(closes)
    with pytest.raises(Refusal) as e:
        open_entry(order, shop(), OWNER, pv(pack), NOW + timedelta(hours=1), "M2")
    assert e.value.code == "invalid_state"
    close_entry(order, closes)
    closed = [ev for ev in order.pending_events if ev.type == "entry_closed"]
    assert closed and closed[0].rule == rule and closed[0].at == closes and closed[0].actor == "system"
    open_entry(order, shop(), OWNER, pv(pack), closes + timedelta(minutes=1), "M3")
    assert order.entry_openings == 2


def test_entry_closes_no_earlier_than_its_time() -> None:
    order = completed_order("douyin")
    open_entry(order, shop(), OWNER, pv("douyin"), NOW, "M1")
    with pytest.raises(Refusal):
        close_entry(order, NOW + timedelta(days=5) - timedelta(seconds=1))


def test_ineligible_refusal_names_every_failing_rule() -> None:
    order = completed_order("kuaishou", timedelta(days=200), kind="presale_deposit")
    with pytest.raises(Refusal) as e:
        open_entry(order, shop(status="suspended", deposit_fen=0), OWNER, pv("kuaishou"), NOW, "M1")
    assert e.value.code == "ineligible"
    assert set(e.value.rules) == {"KS-OP-1", "KS-OP-2", "KS-OP-3", "KS-OP-4"}
    assert "超过 120 天" in e.value.message_zh and "limit 120 days" in e.value.message_en


def test_DY_a_completed_order_within_every_condition_is_eligible() -> None:
    assert failing(completed_order("douyin"), shop(policy="douyin", deposit_fen=0), "douyin") == set()


def test_DY_OP_1_only_orders_past_the_after_sales_period() -> None:
    order = completed_order("douyin", status="confirmed", completed_at=None)
    assert failing(order, shop(), "douyin") == {"DY-OP-1"}


@pytest.mark.parametrize(
    ("changes", "ok"),
    [({"refunded_fen": 19899}, True), ({"refunded_fen": 19900}, False), ({"open_ticket_id": "T9"}, False)],
)
def test_DY_OP_2_not_fully_refunded_and_no_refund_in_progress(changes: dict[str, Any], ok: bool) -> None:
    order = replace(completed_order("douyin"), **changes)
    assert ("DY-OP-2" not in failing(order, shop(), "douyin")) is ok


@pytest.mark.parametrize(("payment", "ok"), [("online", True), ("cod", False)])
def test_DY_OP_3_paid_online(payment: str, ok: bool) -> None:
    assert ("DY-OP-3" not in failing(completed_order("douyin", payment=payment), shop(), "douyin")) is ok


@pytest.mark.parametrize(
    ("goods", "category", "ok"),
    [("physical", "apparel", True), ("virtual", "apparel", False), ("coupon", "apparel", False),
     ("education", "apparel", False), ("physical", "学浪", False), ("physical", "清北网校", False),
     ("physical", "好好学习", False)],
)
def test_DY_OP_4_physical_goods_only(goods: str, category: str, ok: bool) -> None:
    order = completed_order("douyin", goods=goods, category=category)
    assert ("DY-OP-4" not in failing(order, shop(), "douyin")) is ok


@pytest.mark.parametrize(("age", "ok"), [(timedelta(days=150), True), (timedelta(days=150, minutes=1), False)])
def test_DY_OP_5_created_no_more_than_150_days_ago(age: timedelta, ok: bool) -> None:
    order = completed_order("douyin", timedelta(days=20), created_at=NOW - age)
    assert ("DY-OP-5" not in failing(order, shop(), "douyin")) is ok


@pytest.mark.parametrize(
    ("created", "ok"),
    [(datetime(2020, 6, 30, 23, 59, 59, tzinfo=SHANGHAI), False),
     (datetime(2020, 6, 30, 23, 59, 59, 500_000, tzinfo=SHANGHAI), False),  # the old encoding admitted this
     (datetime(2020, 7, 1, tzinfo=SHANGHAI), True)],
)
def test_DY_OP_5_created_after_2020_06_30(created: datetime, ok: bool) -> None:
    order = completed_order("douyin", created_at=created)
    cond = next(c for c in conditions(order, shop(), pv("douyin"), NOW) if c.name == "created_after")
    assert cond.passed is ok and cond.rule == "DY-OP-5"


def test_DY_OP_10_opening_records_the_operation_and_tells_the_buyer() -> None:
    order = completed_order("douyin")
    msg = open_entry(order, shop(), Actor("staff", "AG", shop_id="S1", role="cs_agent"), pv("douyin"), NOW, "M1")
    assert msg is not None and msg.buyer_id == "B1" and "超期售后" in msg.body_zh
    types = [(e.type, e.rule) for e in order.pending_events]
    assert types == [("entry_opened", "DY-OP-6"), ("buyer_notified", "DY-OP-10")]


def test_DY_any_staff_role_may_open() -> None:
    order = completed_order("douyin")
    open_entry(order, shop(), Actor("staff", "AG", shop_id="S1", role="cs_agent"), pv("douyin"), NOW, "M1")
    assert order.entry_open(NOW)


def test_other_shops_staff_may_not_open() -> None:
    with pytest.raises(Refusal) as e:
        open_entry(completed_order("douyin"), shop(), Actor("staff", "X", shop_id="S2", role="owner"),
                   pv("douyin"), NOW, "M1")
    assert e.value.code == "forbidden"


@pytest.mark.parametrize("pack", ["kuaishou", "douyin"])
def test_DY_OP_6_buyer_may_ask_again_once_at_a_time(pack: str) -> None:
    order = completed_order(pack)
    buyer = Actor("buyer", "B1")
    req = request_reopen("R1", order, buyer, pv(pack), NOW, pending=False, note="裂了")
    assert req.status == "pending" and req.pending_events[0].type == "reopen_requested"
    with pytest.raises(Refusal) as e:
        request_reopen("R2", order, buyer, pv(pack), NOW, pending=True, note=None)
    assert e.value.code == "limit_reached"
    open_entry(order, shop(), OWNER, pv(pack), NOW, "M1")
    with pytest.raises(Refusal) as e:
        request_reopen("R3", order, buyer, pv(pack), NOW, pending=False, note=None)
    assert e.value.code == "invalid_state"


def test_reopen_request_inside_the_period_is_refused() -> None:
    order = completed_order("douyin", status="signed", completed_at=None, confirmed_at=None)
    with pytest.raises(Refusal) as e:
        request_reopen("R1", order, Actor("buyer", "B1"), pv("douyin"), NOW, pending=False, note=None)
    assert e.value.code == "ineligible" and e.value.rules == ["DY-OP-1"]


def test_declining_a_request_needs_a_reason() -> None:
    order = completed_order("douyin")
    req = request_reopen("R1", order, Actor("buyer", "B1"), pv("douyin"), NOW, pending=False, note=None)
    with pytest.raises(Refusal) as e:
        req.decline(NOW, OWNER, " ")
    assert e.value.code == "invalid_input"
    req.decline(NOW, OWNER, "已超过质保")
    assert req.status == "declined"
    with pytest.raises(Refusal):
        req.decline(NOW, OWNER, "again")
