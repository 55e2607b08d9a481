"""Freight claims (运费申请, GEN-FREIGHT-1), pure domain, no database: who may claim, the shop's fault
(reason or ruling), the caps with and without a receipt to the fen, the 48 h decision to the second,
who decides (the shop, or the platform under KS-GOV-3 freight_by_platform), and the events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shouhou.clock import SHANGHAI
from shouhou.domain import freight as f
from shouhou.domain.actors import SYSTEM, Actor
from shouhou.domain.tickets import Ticket
from shouhou.errors import Refusal
from shouhou.policies import FreightRules, PolicyPackError, PolicyRegistry, parse_pack

from .test_policy_packs import builtin

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
H = timedelta(hours=1)
BUYER = Actor("buyer", "B1")
OWNER = Actor("staff", "U1", shop_id="S1", role="owner")
AGENT = Actor("staff", "U2", shop_id="S1", role="cs_agent")
OTHER_SHOP = Actor("staff", "X1", shop_id="S2", role="owner")
CS = Actor("platform", "cs", role="platform_cs")
INTEGRATION = Actor("platform", "erp", role="integration")


def rules(pack: str = "kuaishou") -> FreightRules:
    found = PolicyRegistry.default().get(pack).at(NOW).freight
    assert found is not None
    return found


def ticket(type_: str = "return_refund", reason: str = "quality", status: str = "awaiting_receipt") -> Ticket:
    return Ticket(id="T1", order_id="O1", shop_id="S1", buyer_id="B1", type=type_, reason=reason, amount_fen=9900,
                  policy="kuaishou", policy_version="2026.1", created_at=NOW - 48 * H, status=status)


def claim(t: Ticket | None = None, amount: int = 1200, receipt: bool = False, *, returned: bool = True,
          fault: str | None = None, platform: bool = False, actor: Actor = BUYER, pack: str = "kuaishou",
          existing: f.FreightClaim | None = None) -> f.FreightClaim:
    return f.claim("F1", t or ticket(), actor, rules(pack), NOW, amount, receipt, returned, fault, existing, platform)


def refusal(fn: object, *args: object, **kw: object) -> Refusal:
    with pytest.raises(Refusal) as e:
        fn(*args, **kw)  # type: ignore[operator]
    return e.value


# -- the packs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("pack", ["kuaishou", "douyin"])
def test_GEN_FREIGHT_1_both_packs_cap_20_without_and_50_with_a_receipt_and_give_48h(pack: str) -> None:
    r = rules(pack)
    assert (r.cap_without_receipt.fen, r.cap_with_receipt.fen, r.decision.delta) == (2000, 5000, 48 * H)
    assert {r.cap_without_receipt.rule, r.cap_with_receipt.rule, r.decision.rule, r.shop_fault_reasons.rule} == {
        "GEN-FREIGHT-1"}
    assert r.cap_with_receipt.source == "default" and r.decision.source == "default"
    assert set(r.shop_fault_reasons.value) == {"quality", "not_as_described", "wrong_item", "logistics_damaged"}


def test_GEN_FREIGHT_1_a_pack_whose_receipt_cap_is_below_the_plain_one_is_refused() -> None:
    raw = builtin("kuaishou")
    raw["versions"][0]["freight"]["cap_with_receipt"] = {"amount": "10.00", "rule": "GEN-FREIGHT-1"}
    with pytest.raises(PolicyPackError, match="cap_with_receipt"):
        parse_pack(raw, "test")
    raw = builtin("kuaishou")
    raw["versions"][0]["freight"]["cap_without_receipt"] = {"amount": "0.00", "rule": "GEN-FREIGHT-1"}
    with pytest.raises(PolicyPackError, match="more than 0.00"):
        parse_pack(raw, "test")


def test_GEN_FREIGHT_1_a_pack_without_freight_rules_takes_no_claims() -> None:
    raw = builtin("douyin")
    del raw["versions"][0]["freight"]
    pv = parse_pack(raw, "test").versions[0]
    assert pv.freight is None
    e = refusal(f.claim, "F1", ticket(), BUYER, None, NOW, 1200, False, True, None, None, False)
    assert (e.code, e.rules) == ("ineligible", ["GEN-FREIGHT-1"])


# -- claiming ---------------------------------------------------------------------------------------

def test_GEN_FREIGHT_1_the_buyer_claims_and_the_claim_is_due_48h_later_on_the_tickets_timeline() -> None:
    t = ticket()
    x = claim(t, 1200)
    assert (x.status, x.amount_fen, x.decides, x.due_at, x.due_rule, x.payout_id) == (
        "pending", 1200, "shop", NOW + 48 * H, "GEN-FREIGHT-1", "T1:freight")
    [e] = t.drain_events()
    assert (e.type, e.rule, e.ticket_id, e.shop_id, e.actor) == ("freight_claimed", "GEN-FREIGHT-1", "T1", "S1",
                                                                  "buyer:B1")
    assert e.payload == {"claim": "F1", "amount": "12.00", "receipt": False, "cap": "20.00", "decides": "shop",
                         "due": {"at": (NOW + 48 * H).isoformat(), "action": "auto_approve", "rule": "GEN-FREIGHT-1"}}


@pytest.mark.parametrize(("receipt", "ok", "over"), [(False, 2000, 2001), (True, 5000, 5001)])
def test_GEN_FREIGHT_1_the_cap_holds_to_the_fen_with_and_without_a_receipt(receipt: bool, ok: int, over: int) -> None:
    assert claim(amount=ok, receipt=receipt).amount_fen == ok
    t = ticket()
    e = refusal(claim, t, over, receipt)
    assert (e.code, e.rules) == ("invalid_input", ["GEN-FREIGHT-1"])
    assert ("50.00" if receipt else "20.00") in e.message_en and t.drain_events() == []


@pytest.mark.parametrize("amount", [0, -100])
def test_GEN_FREIGHT_1_the_amount_must_be_more_than_zero(amount: int) -> None:
    assert refusal(claim, None, amount).code == "invalid_input"


@pytest.mark.parametrize("actor", [Actor("buyer", "B2"), OWNER, CS, SYSTEM])
def test_GEN_FREIGHT_1_only_the_tickets_buyer_claims(actor: Actor) -> None:
    e = refusal(claim, actor=actor)
    assert (e.code, e.rules) == ("forbidden", ["GEN-FREIGHT-1"])


@pytest.mark.parametrize("type_", ["refund_only", "reship"])
def test_GEN_FREIGHT_1_only_a_return_exchange_or_repair_sends_goods_back(type_: str) -> None:
    e = refusal(claim, ticket(type_=type_))
    assert (e.code, e.rules) == ("ineligible", ["GEN-FREIGHT-1"])


@pytest.mark.parametrize("type_", ["return_refund", "exchange", "repair"])
@pytest.mark.parametrize("reason", ["quality", "not_as_described", "wrong_item", "logistics_damaged"])
def test_GEN_FREIGHT_1_a_shop_fault_reason_on_a_goods_return_may_claim(type_: str, reason: str) -> None:
    assert claim(ticket(type_=type_, reason=reason)).status == "pending"


@pytest.mark.parametrize("reason", ["no_reason", "other", "logistics_lost", "logistics_delayed"])
def test_GEN_FREIGHT_1_a_reason_that_is_not_the_shops_fault_is_refused(reason: str) -> None:
    e = refusal(claim, ticket(reason=reason))
    assert (e.code, e.rules) == ("ineligible", ["GEN-FREIGHT-1"]) and reason in e.message_en


@pytest.mark.parametrize(("reason", "fault", "ok"), [
    ("no_reason", "shop", True), ("other", "both", True), ("quality", "buyer", False), ("quality", "platform", False),
])
def test_GEN_FREIGHT_1_a_ruling_decides_the_fault_over_the_reason(reason: str, fault: str, ok: bool) -> None:
    t = ticket(reason=reason, status="refunded")
    if ok:
        assert claim(t, fault=fault).status == "pending"
    else:
        assert refusal(claim, t, fault=fault).code == "ineligible"


@pytest.mark.parametrize("status", ["cancelled", "rejected", "closed", "in_intervention"])
def test_GEN_FREIGHT_1_not_on_a_ticket_that_ended_without_a_return_nor_during_a_ruling(status: str) -> None:
    e = refusal(claim, ticket(status=status))
    assert (e.code, e.rules) == ("invalid_state", ["GEN-FREIGHT-1"])


def test_GEN_FREIGHT_1_not_before_the_return_waybill() -> None:
    e = refusal(claim, ticket(status="awaiting_return"), returned=False)
    assert (e.code, e.rules) == ("invalid_state", ["GEN-FREIGHT-1"]) and "waybill" in e.message_en


def test_GEN_FREIGHT_1_one_claim_per_ticket_and_a_refusal_names_every_failed_condition() -> None:
    first = claim()
    e = refusal(claim, ticket(reason="no_reason"), 9999, existing=first)
    assert e.code == "limit_reached" and len(e.reasons) == 3  # the claim, the reason, the cap


# -- deciding ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("staff", [OWNER, AGENT])
def test_GEN_FREIGHT_1_the_shop_approves_and_freight_refunded_names_the_payout(staff: Actor) -> None:
    t = ticket()
    x = claim(t, 1200)
    t.drain_events()
    f.decide(x, t, staff, NOW + H, True, None, False)
    assert (x.status, x.decided_by, x.decided_at, x.due_at) == ("approved", staff.label, NOW + H, None)
    [e] = t.drain_events()
    assert (e.type, e.rule, e.at) == ("freight_refunded", "GEN-FREIGHT-1", NOW + H)
    assert e.payload == {"claim": "F1", "amount": "12.00", "payout": "T1:freight", "receipt": False,
                         "decided_by": "shop"}


def test_GEN_FREIGHT_1_rejecting_needs_a_reason_and_is_final() -> None:
    t = ticket()
    x = claim(t)
    for reason in (None, "  ", "x" * (f.MAX_REASON + 1)):
        assert refusal(f.decide, x, t, OWNER, NOW + H, False, reason, False).code == "invalid_input"
    assert x.status == "pending"
    f.decide(x, t, OWNER, NOW + H, False, " 运单显示未寄出 ", False)
    assert (x.status, x.reason, x.due_at) == ("rejected", "运单显示未寄出", None)
    assert [e.type for e in t.drain_events()] == ["freight_claimed", "freight_rejected"]
    e = refusal(f.decide, x, t, OWNER, NOW + 2 * H, True, None, False)
    assert (e.code, e.rules) == ("invalid_state", ["GEN-FREIGHT-1"])


@pytest.mark.parametrize("actor", [OTHER_SHOP, BUYER, INTEGRATION, CS])
def test_GEN_FREIGHT_1_without_the_measure_only_the_shops_staff_decide(actor: Actor) -> None:
    x = claim()
    e = refusal(f.decide, x, ticket(), actor, NOW + H, True, None, False)
    assert (e.code, e.rules) == ("forbidden", ["GEN-FREIGHT-1"]) and x.status == "pending"


def test_KS_GOV_3_under_freight_by_platform_staff_are_refused_and_the_platform_decides() -> None:
    t = ticket()
    x = claim(t, platform=True)
    assert x.decides == "platform" and t.drain_events()[0].payload["measure_rule"] == "KS-GOV-3"
    e = refusal(f.decide, x, t, OWNER, NOW + H, True, None, True)
    assert (e.code, e.rules) == ("forbidden", ["KS-GOV-3"])
    e = refusal(f.decide, x, t, OWNER, NOW + H, True, None, False)  # the measure ended: the platform keeps it
    assert (e.code, e.rules) == ("forbidden", ["KS-GOV-3"])
    f.decide(x, t, CS, NOW + H, True, None, False)
    [e2] = t.drain_events()
    assert (e2.type, e2.actor, e2.payload["decided_by"]) == ("freight_refunded", "platform:cs", "platform")


def test_KS_GOV_3_a_claim_waiting_when_the_measure_takes_effect_passes_to_the_platform() -> None:
    t = ticket()
    x = claim(t)
    assert x.decides == "shop"
    assert refusal(f.decide, x, t, OWNER, NOW + H, True, None, True).rules == ["KS-GOV-3"]
    f.decide(x, t, CS, NOW + H, False, "凭证不符", True)
    assert (x.status, x.decides, x.decided_by) == ("rejected", "platform", "platform:cs")


# -- the deadline -----------------------------------------------------------------------------------

@pytest.mark.parametrize("platform", [False, True])
def test_GEN_FREIGHT_1_nobody_decides_and_the_claim_is_approved_at_48h_exactly(platform: bool) -> None:
    t = ticket()
    x = claim(t, 2000, platform=platform)
    t.drain_events()
    assert not x.is_due(NOW + 48 * H - timedelta(seconds=1)) and x.is_due(NOW + 48 * H)
    f.fire(x, t)
    [e] = t.drain_events()
    assert (e.type, e.at, e.actor, e.rule) == ("freight_refunded", NOW + 48 * H, "system", "GEN-FREIGHT-1")
    assert e.payload["decided_by"] == "deadline" and e.payload["amount"] == "20.00"
    assert (x.status, x.decided_by, x.due_at) == ("approved", "system", None)
    assert refusal(f.fire, x, t).code == "invalid_state"


def test_GEN_FREIGHT_1_a_decision_one_second_before_the_deadline_counts_and_at_it_loses_the_race() -> None:
    t = ticket()
    x = claim(t)
    e = refusal(f.decide, x, t, OWNER, NOW + 48 * H, False, "太晚了", False)
    assert (e.code, e.rules) == ("invalid_state", ["GEN-FREIGHT-1"]) and x.status == "pending"
    f.decide(x, t, OWNER, NOW + 48 * H - timedelta(seconds=1), False, "凭证不符", False)
    assert x.status == "rejected" and not x.is_due(NOW + 100 * H)
