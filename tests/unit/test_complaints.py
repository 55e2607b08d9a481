"""Complaints (投诉工单): who may file and close one, the reason it needs, the events it records
(KS-EXIT-1), pure domain, no database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shouhou.clock import SHANGHAI
from shouhou.domain.actors import Actor
from shouhou.domain.complaints import MAX_REASON, file_complaint
from shouhou.domain.orders import Order
from shouhou.errors import Refusal
from shouhou.policies import PolicyRegistry

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
EXIT = PolicyRegistry.default().get("kuaishou").at(NOW).governance.exit_waiting.rule  # the services pass the pack's
BUYER = Actor("buyer", "B1")
CS = Actor("platform", "cs", role="platform_cs")


def order() -> Order:
    return Order(id="O1", shop_id="S1", buyer_id="B1", policy="kuaishou", policy_version="2026.1", amount_fen=9900,
                 freight_fen=0, payment="online", kind="normal", marketing=False, goods="physical",
                 category="apparel", no_reason_return=True, commission={}, created_at=NOW - timedelta(days=5),
                 status="paid")


def test_the_buyer_files_a_complaint_that_opens_with_an_event_citing_ks_exit_1() -> None:
    x = file_complaint("C1", order(), BUYER, "  客服态度差  ", NOW, EXIT)
    assert (x.status, x.shop_id, x.buyer_id, x.reason) == ("open", "S1", "B1", "客服态度差")
    [e] = x.drain_events()
    assert (e.type, e.rule, e.order_id, e.shop_id, e.to_status) == ("complaint_opened", "KS-EXIT-1", "O1", "S1", "open")
    assert e.payload["complaint"] == "C1"


@pytest.mark.parametrize("actor", [Actor("buyer", "B2"), Actor("staff", "OWN", shop_id="S1", role="owner"), CS])
def test_only_the_orders_buyer_may_complain(actor: Actor) -> None:
    with pytest.raises(Refusal) as e:
        file_complaint("C1", order(), actor, "why", NOW, EXIT)
    assert e.value.code == "forbidden" and "只有下单的买家" in e.value.message_zh


@pytest.mark.parametrize("reason", [None, "", "   ", "x" * (MAX_REASON + 1)])
def test_a_reason_is_required_and_bounded(reason: str | None) -> None:
    with pytest.raises(Refusal) as e:
        file_complaint("C1", order(), BUYER, reason, NOW, EXIT)
    assert e.value.code == "invalid_input"
    assert file_complaint("C1", order(), BUYER, "x" * MAX_REASON, NOW, EXIT).status == "open"


def test_platform_staff_close_it_once_with_an_optional_answer() -> None:
    x = file_complaint("C1", order(), BUYER, "rude", NOW, EXIT)
    x.drain_events()
    later = NOW + timedelta(hours=2)
    x.close(CS, later, "  已核实  ", EXIT)
    assert (x.status, x.closed_at, x.closed_by, x.answer) == ("closed", later, CS.label, "已核实")
    [e] = x.drain_events()
    assert (e.type, e.rule, e.from_status, e.to_status) == ("complaint_closed", "KS-EXIT-1", "open", "closed")
    with pytest.raises(Refusal) as again:
        x.close(CS, later, None, EXIT)
    assert again.value.code == "invalid_state"


@pytest.mark.parametrize("actor", [BUYER, Actor("staff", "OWN", shop_id="S1", role="owner")])
def test_only_the_platform_closes_a_complaint(actor: Actor) -> None:
    x = file_complaint("C1", order(), BUYER, "rude", NOW, EXIT)
    with pytest.raises(Refusal) as e:
        x.close(actor, NOW, None, EXIT)
    assert e.value.code == "forbidden"
    assert x.status == "open"


def test_a_blank_answer_is_no_answer() -> None:
    x = file_complaint("C1", order(), BUYER, "rude", NOW, EXIT)
    x.close(CS, NOW, "  ", EXIT)
    assert x.answer is None
