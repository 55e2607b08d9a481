"""Freight claims (运费申请, GEN-FREIGHT-1) on a real database (SQLite, and PostgreSQL with
SHOUHOU_TEST_DATABASE_URL): the worker approves an undecided claim once however often it sweeps, and
a shop that mass-overdue put under freight_by_platform (KS-GOV-3) sees the platform decide its
claims, as a scenario file (forty overdue applications are better generated than typed)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from shouhou.domain import ledger as L
from shouhou.domain.actors import Actor
from shouhou.entrypoints.scenario import run_file
from shouhou.errors import Refusal
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, START

H, D = timedelta(hours=1), timedelta(days=1)
BUYER = Actor("buyer", "B1")
OWNER = Actor("staff", "U1", shop_id="S1", role="owner")


def _returned_ticket(app: Shouhou) -> str:
    app.handle(c.CreateShop("S1", "S1", "kuaishou", wallet_fen=50_000, return_address="S1 仓库"), PLATFORM,
               now=START - 10 * D)
    app.handle(c.AddStaff(OWNER.id, "S1", "owner"), PLATFORM, now=START - 10 * D)
    app.handle(c.AddBuyer(BUYER.id), PLATFORM, now=START - 10 * D)
    app.handle(c.ImportOrder("S1", BUYER.id, 9_900, id="O1", created_at=START - 5 * D, shipped_at=START - 4 * D,
                             signed_at=START - 2 * D), PLATFORM, now=START)
    tid = str(app.handle(c.Apply("O1", "return_refund", "quality", evidence=("crack.jpg",)), BUYER, now=START))
    app.handle(c.Approve(tid), OWNER, now=START + H)
    app.handle(c.SubmitWaybill(tid, "SF", "SF1"), BUYER, now=START + 2 * H)
    return tid


def test_GEN_FREIGHT_1_the_worker_approves_an_undecided_claim_once_however_often_it_sweeps(app: Shouhou) -> None:
    tid = _returned_ticket(app)
    claimed_at = START + 3 * H
    app.handle(c.ClaimFreight(tid, 1_500), BUYER, now=claimed_at)
    due = claimed_at + 48 * H
    assert app.tick(due - timedelta(seconds=1)) == 0
    assert app.tick(due) == 1
    assert app.tick(due) == 0 and app.tick(due + D) == 0
    with app.uow(write=False) as uow:
        refunded = [e for e in uow.events_for(ticket_id=tid) if e["type"] == "freight_refunded"]
        assert [(e["at"], e["actor"], e["rule"], e["payload"]["decided_by"]) for e in refunded] == [
            (due, "system", "GEN-FREIGHT-1", "deadline")]
        payout = uow.payouts.get(f"{tid}:freight")
        assert payout is not None and payout.amount_fen == 1_500
        assert uow.balance(L.wallet("S1")) == 50_000 - 1_500
        assert uow.due_counts(due + D)["freight"] == 0
        claim = uow.freight.where()[0]
        assert (claim.status, claim.due_at, claim.decided_by) == ("approved", None, "system")
    try:
        app.handle(c.DecideFreight(tid, False, "太晚了"), OWNER, now=due + H)
        raise AssertionError("a decision after the automatic approval must be refused")
    except Refusal as e:
        assert (e.code, e.rules) == ("invalid_state", ["GEN-FREIGHT-1"])


def test_GEN_FREIGHT_1_a_second_claim_on_the_ticket_is_refused_and_changes_nothing(app: Shouhou) -> None:
    tid = _returned_ticket(app)
    app.handle(c.ClaimFreight(tid, 1_000), BUYER, now=START + 3 * H)
    try:
        app.handle(c.ClaimFreight(tid, 500, receipt=True), BUYER, now=START + 4 * H)
        raise AssertionError("one claim per ticket")
    except Refusal as e:
        assert (e.code, e.rules) == ("limit_reached", ["GEN-FREIGHT-1"])
    with app.uow(write=False) as uow:
        assert [x.amount_fen for x in uow.freight.where()] == [1_000]
        assert [e["type"] for e in uow.events_for(ticket_id=tid)].count("freight_claimed") == 1


N = 40  # the kuaishou pack's freight_by_platform: 40 overdue records making up at least 25 %


def _measure_scenario() -> str:
    orders = "\n".join(f'  - {{id: O{i}, shop: S1, buyer: B1, amount: "20.00"}}' for i in range(1, N + 1))
    applies = "\n".join(f"  - {{as: buyer:B1, do: apply, args: {{order: O{i}, type: refund_only, reason: other}}}}"
                        for i in range(1, N + 1))
    return f"""name: under freight_by_platform (KS-GOV-3) the platform decides freight claims
policy: kuaishou
start: 2026-03-02T09:00:00+08:00
shops:
  - {{id: S1, wallet: "500.00", deposit: "2000.00"}}
staff:
  - {{id: U1, shop: S1, role: owner}}
buyers: [B1]
orders:
  - {{id: R1, shop: S1, buyer: B1, amount: "99.00"}}
  - {{id: R2, shop: S1, buyer: B1, amount: "99.00"}}
  - {{id: R3, shop: S1, buyer: B1, amount: "99.00"}}
{orders}
steps:
  - {{as: buyer:B1, do: apply, args: {{order: R1, type: return_refund, reason: quality, evidence: [a.jpg]}}, id: T1}}
  - {{as: buyer:B1, do: apply, args: {{order: R2, type: exchange, reason: not_as_described}}, id: T2}}
  - {{as: buyer:B1, do: apply, args: {{order: R3, type: return_refund, reason: quality, evidence: [a.jpg]}}, id: T3}}
{applies}
  - {{at: "+1h", as: staff:U1, do: approve, args: {{ticket: T1}}}}
  - {{as: staff:U1, do: approve, args: {{ticket: T2}}}}
  - {{as: staff:U1, do: approve, args: {{ticket: T3}}}}
  - {{at: "+1h", as: buyer:B1, do: submit_waybill, args: {{ticket: T1}}}}
  - {{as: buyer:B1, do: submit_waybill, args: {{ticket: T2}}}}
  - {{as: buyer:B1, do: submit_waybill, args: {{ticket: T3}}}}
  - {{as: buyer:B1, do: claim_freight, args: {{ticket: T3, amount: "9.00"}}}}  # before the measure: the shop's
  - at: 2026-03-04T09:00:00+08:00  # 48 h: the forty refund-only applications run out (KS-RO-1)
    expect:
      - {{event: {{type: measure_applied, shop: S1, rule: KS-GOV-3}}}}
      - {{shop: S1, measures: [warning, forced_study, forced_exam, point_deduction, freight_by_platform]}}
  - {{at: "+1h", as: buyer:B1, do: claim_freight, args: {{ticket: T1, amount: "18.00"}}}}
  - as: staff:U1
    do: decide_freight
    args: {{ticket: T1, approve: false, reason: 不同意}}
    expect_error: {{code: forbidden, rule: KS-GOV-3}}
  - as: staff:U1  # the claim filed before the measure passed to the platform with it
    do: decide_freight
    args: {{ticket: T3, approve: true}}
    expect_error: {{code: forbidden, rule: KS-GOV-3}}
  - as: platform
    do: decide_freight
    args: {{ticket: T1, approve: true}}
    expect:
      - {{event: {{type: freight_refunded, ticket: T1, amount: "18.00", rule: GEN-FREIGHT-1}}}}
      - {{shop: S1, wallet: "482.00"}}
  - as: platform
    do: decide_freight
    args: {{ticket: T3, approve: false, reason: 运单与订单不符}}
    expect: {{event: {{type: freight_rejected, ticket: T3, amount: "9.00"}}}}
  - {{as: buyer:B1, do: claim_freight, args: {{ticket: T2, amount: "20.00"}}}}
  - at: 2026-03-06T09:59:59+08:00  # nobody decides T2's claim: still the platform's, still 48 h
    expect: {{no_event: {{type: freight_refunded, ticket: T2}}}}
  - at: 2026-03-06T10:00:00+08:00
    expect:
      - {{event: {{type: freight_refunded, ticket: T2, amount: "20.00", at: 2026-03-06T10:00:00+08:00}}}}
      - {{no_event: {{type: freight_refunded, ticket: T3}}}}
      - {{shop: S1, wallet: "462.00"}}
"""


def test_KS_GOV_3_under_freight_by_platform_staff_are_refused_and_the_platform_decides(
        tmp_path: Path, app: Shouhou) -> None:
    path = tmp_path / "freight_ks_platform_decides.yaml"
    path.write_text(_measure_scenario(), encoding="utf-8")
    outcome = run_file(path, engine=app.engine)
    assert outcome.passed, "\n".join(outcome.failures)
    assert outcome.expectations == 11
    claimed = {e["ticket"]: e["payload"]["decides"] for e in outcome.events if e["type"] == "freight_claimed"}
    assert claimed == {"T3": "shop", "T1": "platform", "T2": "platform"}
    decided = {e["ticket"]: (e["actor"], e["payload"]["decided_by"]) for e in outcome.events
               if e["type"] in ("freight_refunded", "freight_rejected")}
    assert decided == {"T1": ("platform:cs", "platform"), "T3": ("platform:cs", "platform"),
                       "T2": ("system", "deadline")}
