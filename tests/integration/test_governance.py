"""Merchant governance on a real database (SQLite, and PostgreSQL with SHOUHOU_TEST_DATABASE_URL):
the 30-day metrics in SQL checked against Python on the same rows (KS-GOV-2), evaluation on each
overdue record and by the worker on the virtual clock (KS-GOV-3), the effects of the measures — high
risk (KS-GOV-4), cart suspension, liquidated damages, point deduction — lifting, appeals and tenancy.

Past activity is seeded as rows (orders, tickets, overdue records, interventions, events) so that a
shop can have a hundred overdue records without a hundred tickets being played; the record that
crosses a threshold is then made by the engine itself, a shop that let a ticket run out."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from shouhou.adapters import tables as t
from shouhou.clock import VirtualClock
from shouhou.domain import governance as g
from shouhou.domain import ledger as L
from shouhou.domain.actors import Actor
from shouhou.errors import Refusal
from shouhou.services import commands as c
from shouhou.services.app import Shouhou
from shouhou.services.views import governance as gs

from ..conftest import PLATFORM, START

H, D = timedelta(hours=1), timedelta(days=1)
BUYER = Actor("buyer", "B1")
OWNER = Actor("staff", "U1", shop_id="S1", role="owner")
AGENT = Actor("staff", "U3", shop_id="S1", role="cs_agent")
OTHER = Actor("staff", "X1", shop_id="S2", role="owner")
STAFF_PLATFORM = Actor("platform", "cs", role="platform_cs")
DUE = START + 48 * H  # KS-RO-1: a refund-only application at START on a shipped order runs out then


# -- seeding -------------------------------------------------------------------------------------------

def _order_row(oid: str, shop: str, buyer: str, created: datetime) -> dict[str, Any]:
    return {"id": oid, "shop_id": shop, "buyer_id": buyer, "policy": "kuaishou", "policy_version": "2026.1",
            "amount_fen": 1000, "freight_fen": 0, "payment": "online", "kind": "normal", "marketing": False,
            "goods": "physical", "category": "general", "no_reason_return": True, "commission": {}, "promoters": {},
            "created_at": created, "status": "closed", "refunded_fen": 1000, "held_fen": 0,
            "applications_in_period": 1, "entry_openings": 0}


def _ticket_row(tid: str, oid: str, shop: str, buyer: str, type_: str, status: str, created: datetime,
                ended: datetime | None) -> dict[str, Any]:
    return {"id": tid, "order_id": oid, "shop_id": shop, "buyer_id": buyer, "type": type_, "reason": "other",
            "amount_fen": 1000, "policy": "kuaishou", "policy_version": "2026.1", "created_at": created,
            "over_period": False, "status": status, "refunded_fen": 1000 if status == "refunded" else 0,
            "evidence": [], "shipped_when_applied": True, "ended_at": ended}


def seed_history(engine: Engine, shop: str, *, applications: int, overdue: int, created: datetime,
                 overdue_at: datetime, prefix: str = "H") -> None:
    """`applications` past refund-only tickets of the shop created at `created`, the first `overdue` of
    them auto-approved at `overdue_at` and recorded overdue (KS-GOV-1)."""
    buyer = f"{prefix}B"
    with engine.begin() as conn:
        if conn.execute(select(t.buyers.c.id).where(t.buyers.c.id == buyer)).first() is None:
            conn.execute(insert(t.buyers), [{"id": buyer, "name": buyer}])
        ids = [f"{prefix}{shop}{i:05d}" for i in range(applications)]
        conn.execute(insert(t.orders), [_order_row(f"O{x}", shop, buyer, created) for x in ids])
        conn.execute(insert(t.tickets), [_ticket_row(f"T{x}", f"O{x}", shop, buyer, "refund_only", "refunded",
                                                     created, overdue_at) for x in ids])
        if overdue:
            conn.execute(insert(t.overdue_records), [
                {"shop_id": shop, "ticket_id": f"T{x}", "order_id": f"O{x}", "type": "refund_only_overdue",
                 "rule": "KS-GOV-1", "cause_rule": "KS-RO-1", "at": overdue_at} for x in ids[:overdue]])


def make_shop(app: Shouhou, shop: str = "S1", wallet: int = 0, deposit: int = 0) -> None:
    app.handle(c.CreateShop(shop, shop, "kuaishou", wallet_fen=wallet, deposit_fen=deposit,
                            return_address="杭州市西湖区 1 号"), PLATFORM, now=START - 10 * D)
    for member in (OWNER, AGENT, OTHER):
        if member.shop_id == shop:
            app.handle(c.AddStaff(member.id, shop, str(member.role)), PLATFORM, now=START - 10 * D)
    with app.uow(write=False) as uow:
        known = uow.buyers.exists(BUYER.id)
    if not known:
        app.handle(c.AddBuyer(BUYER.id), PLATFORM, now=START - 10 * D)


def late_ticket(app: Shouhou, order: str, shop: str = "S1") -> str:
    """A refund-only application at START on a shipped order: the shop lets it run out at DUE."""
    app.handle(c.ImportOrder(shop, BUYER.id, 10_000, id=order, created_at=START - 5 * D,
                             shipped_at=START - 4 * D), PLATFORM, now=START)
    return str(app.handle(c.Apply(order, "refund_only", "other"), BUYER, now=START))


def events(app: Shouhou, type_: str) -> list[dict[str, Any]]:
    with app.uow(write=False) as uow:
        return [e for e in uow.all_events() if e["type"] == type_]


def in_force(app: Shouhou, shop: str = "S1") -> list[str]:
    with app.uow(write=False) as uow:
        return gs.measures_in_force(uow, shop)


def shop_row(app: Shouhou, shop: str = "S1") -> Any:
    with app.uow(write=False) as uow:
        return uow.shops.get(shop)


@pytest.fixture
def ks(app: Shouhou) -> Iterator[Shouhou]:
    make_shop(app, "S1", wallet=50_000, deposit=100_000)
    make_shop(app, "S2")
    yield app


# -- metrics: SQL against Python on the same rows ------------------------------------------------------

def _random_world(engine: Engine, rnd: random.Random, at: datetime) -> dict[str, list[dict[str, Any]]]:
    shops = [f"R{i}" for i in range(6)]
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with engine.begin() as conn:
        conn.execute(insert(t.shops), [{"id": s, "name": s, "policy": "kuaishou", "status": "normal", "wallet_fen": 0,
                                        "deposit_fen": 0, "wallet_opened_at": at - 400 * D, "created_at": at - 400 * D}
                                       for s in shops])
        conn.execute(insert(t.buyers), [{"id": "RB", "name": "RB"}])
        for i in range(400):
            shop = rnd.choice(shops[:-1])  # the last shop has no activity at all
            created = at - timedelta(seconds=rnd.randint(0, 40 * 86400))
            type_ = rnd.choice(("refund_only", "return_refund", "refund_only", "exchange"))
            status = rnd.choice(("refunded", "closed", "rejected", "cancelled", "pending_review", "completed"))
            ended = created + timedelta(seconds=rnd.randint(60, 12 * 86400)) if status not in ("pending_review",) \
                else None
            if ended is not None and ended > at + 5 * D:
                ended = at + 5 * D  # some end after `at`: outside the window
            tid, oid = f"RT{i:04d}", f"RO{i:04d}"
            rows["orders"].append(_order_row(oid, shop, "RB", created))
            rows["tickets"].append(_ticket_row(tid, oid, shop, "RB", type_, status, created, ended))
            if rnd.random() < 0.35:
                kind = {"refund_only": "refund_only_overdue", "return_refund": "return_refund_overdue"}.get(
                    type_, rnd.choice(("exchange_overdue", "reship_overdue")))
                rows["overdue_records"].append({
                    "shop_id": shop, "ticket_id": tid, "order_id": oid, "type": kind, "rule": "KS-GOV-1",
                    "cause_rule": None, "at": created + timedelta(hours=rnd.choice((24, 48)))})
            if rnd.random() < 0.1:  # KS-GOV-5: a delayed-shipment record, beside an overdue one or alone
                rows["overdue_records"].append({
                    "shop_id": shop, "ticket_id": tid, "order_id": oid, "type": "delayed_shipment", "rule": "KS-GOV-5",
                    "cause_rule": "KS-PI-4", "at": created + timedelta(hours=rnd.randint(30, 300))})
            if rnd.random() < 0.2:
                requested = created + timedelta(hours=rnd.randint(1, 200))
                ruled = requested + timedelta(hours=rnd.randint(1, 300)) if rnd.random() < 0.7 else None
                fault = rnd.choice(("shop", "buyer", "both", "platform", "creator")) if ruled else None
                effective = rnd.choice((fault, fault, "buyer")) if fault else None
                rows["interventions"].append({
                    "id": f"RI{i:04d}", "ticket_id": tid, "order_id": oid, "shop_id": shop, "buyer_id": "RB",
                    "policy": "kuaishou", "policy_version": "2026.1", "requested_at": requested, "requested_by": "x",
                    "cause": "rejected", "previous_status": "rejected", "status": "ruled" if ruled else "coordinating",
                    "response_due_at": requested + 2 * D, "ruled_at": ruled, "fault": fault,
                    "effective_fault": effective})
            if rnd.random() < 0.1:
                rows["events"].append({"at": created, "actor": "staff:U", "type": "entry_opened", "shop_id": shop,
                                       "order_id": oid, "payload": {}, "recorded_at": created})
        for table in ("orders", "tickets", "overdue_records", "interventions", "events"):
            conn.execute(insert(getattr(t, table)), rows[table])
    rows["shops"] = [{"id": s} for s in shops]
    return rows


def _python_metrics(rows: dict[str, list[dict[str, Any]]], shop: str, at: datetime,
                    window: timedelta) -> dict[str, Any]:
    start = at - window

    def inside(x: datetime | None) -> bool:
        return x is not None and start < x <= at

    mine = [x for x in rows["tickets"] if x["shop_id"] == shop]
    od = [x for x in rows["overdue_records"] if x["shop_id"] == shop and inside(x["at"])]
    ivs = [x for x in rows["interventions"] if x["shop_id"] == shop]
    with_platform = {x["ticket_id"] for x in rows["interventions"]}
    against = [x for x in ivs if inside(x["ruled_at"]) and (x["effective_fault"] or x["fault"]) in ("shop", "both")]
    out: dict[str, Any] = {
        "applications": sum(1 for x in mine if inside(x["created_at"])),
        "refund_only_overdue": sum(1 for x in od if x["type"] == "refund_only_overdue"),
        "return_refund_overdue": sum(1 for x in od if x["type"] == "return_refund_overdue"),
        "exchange_overdue": sum(1 for x in od if x["type"] in ("exchange_overdue", "repair_overdue", "reship_overdue")),
        "delayed_shipments": sum(1 for x in od if x["type"] == "delayed_shipment"),
        "interventions": len({x["ticket_id"] for x in ivs if inside(x["requested_at"])}),
        "rulings": sum(1 for x in ivs if inside(x["ruled_at"])),
        "rulings_against": len(against),
        "over_period_openings": sum(1 for x in rows["events"] if x["shop_id"] == shop and inside(x["at"])),
    }
    records = [x["at"] for x in od] + [x["ruled_at"] for x in against]
    out["last_record_at"] = max(records) if records else None
    for kind in ("refund_only", "return_refund"):
        secs = [round((x["ended_at"] - x["created_at"]).total_seconds()) for x in mine
                if x["type"] == kind and x["status"] in ("refunded", "closed", "rejected") and inside(x["ended_at"])
                and x["id"] not in with_platform]
        out[f"{kind}_handled"] = len(secs)
        out[f"{kind}_median_s"] = g.percentile(secs, g.P50)
        out[f"{kind}_p95_s"] = g.percentile(secs, g.P95)
    return out


def _as_fields(m: g.Metrics) -> dict[str, Any]:
    return {k: getattr(m, k) for k in (
        "applications", "refund_only_overdue", "return_refund_overdue", "exchange_overdue", "delayed_shipments",
        "interventions", "rulings", "rulings_against",
        "over_period_openings", "last_record_at", "refund_only_handled", "refund_only_median_s", "refund_only_p95_s",
        "return_refund_handled", "return_refund_median_s", "return_refund_p95_s")}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_metrics_in_sql_equal_a_python_computation_on_the_same_rows(app: Shouhou, engine: Engine, seed: int) -> None:
    """KS-GOV-2: per shop and for all shops at once, every family over (at - 30 d, at]."""
    at = START + 20 * D
    rows = _random_world(engine, random.Random(seed), at)
    window = 30 * D
    with app.uow(write=False) as uow:
        everyone = uow.metrics_all(lambda name: app.policies.in_force(name, at).governance.window.delta, at)
        assert set(everyone) == {s["id"] for s in rows["shops"]}
        for shop in everyone:
            expected = _python_metrics(rows, shop, at, window)
            one = uow.metrics(shop, at, window)
            for got in (one, everyone[shop]):
                fields = _as_fields(got)
                for key, want in expected.items():
                    if isinstance(want, float):
                        assert fields[key] == pytest.approx(want, abs=1e-6), (shop, key)
                    else:
                        assert fields[key] == want, (shop, key)
    assert _as_fields(everyone["R5"])["applications"] == 0  # no activity: all zero, percentiles empty
    assert everyone["R5"].refund_only_median_s is None


# -- evaluation on each overdue record -----------------------------------------------------------------

def test_each_overdue_record_is_evaluated_at_once_at_its_own_time(ks: Shouhou) -> None:
    """KS-GOV-1 -> KS-GOV-3: the 5th record of 10 applications brings the warning, in the same
    transaction, at the record's time, with the metrics that triggered it."""
    seed_history(ks.engine, "S1", applications=9, overdue=4, created=START - 5 * D, overdue_at=START - 3 * D)
    tid = late_ticket(ks, "O1")
    ks.tick(DUE - timedelta(seconds=1))
    assert in_force(ks) == [] and events(ks, "measure_applied") == []
    ks.tick(DUE)
    [record] = [e for e in events(ks, "overdue_recorded") if e["ticket_id"] == tid]
    [applied] = events(ks, "measure_applied")
    assert (applied["at"], applied["rule"], applied["shop_id"], applied["payload"]["measure"]) == (
        record["at"], "KS-GOV-3", "S1", "warning")
    snap = applied["payload"]["snapshot"]
    assert (snap["metrics"]["overdue"], snap["metrics"]["applications"], snap["cause"]) == (5, 10, "overdue_recorded")
    assert snap["condition"] == {"overdue": "5", "overdue_rate": "0.05"}
    assert applied["payload"]["ends_at"] == (DUE + 7 * D).isoformat()
    assert in_force(ks) == ["warning"] and shop_row(ks).governance_due_at == DUE + D


def test_a_sweep_catching_up_on_many_records_applies_each_measure_at_the_record_that_reached_it(
        ks: Shouhou) -> None:
    """A worker that was down: twelve of the shop's requests ran out an hour apart and one batch fires
    them all. The warning starts at the 5th record and forced study at the 10th, as if the worker had
    run all along; the last record sets the score."""
    for i in range(12):
        ks.handle(c.ImportOrder("S1", BUYER.id, 10_000, id=f"OC{i}", created_at=START - 5 * D,
                                shipped_at=START - 4 * D), PLATFORM, now=START + i * H)
        ks.handle(c.Apply(f"OC{i}", "refund_only", "other"), BUYER, now=START + i * H)
    ks.tick(DUE + 12 * H, batch=500)
    records = events(ks, "overdue_recorded")
    assert [e["at"] for e in records] == [DUE + i * H for i in range(12)]
    applied = [(e["payload"]["measure"], e["at"], e["payload"]["snapshot"]["metrics"]["overdue"])
               for e in events(ks, "measure_applied")]
    assert applied == [("warning", DUE + 4 * H, 5), ("forced_study", DUE + 9 * H, 10)]
    shop = shop_row(ks)
    assert in_force(ks) == ["warning", "forced_study"] and shop.governance_evaluated_at == DUE + 11 * H


def test_exchange_and_reship_reviews_that_run_out_count_as_overdue(ks: Shouhou) -> None:
    """GEN-EX-1 (exchange, repair: 'overdue counted') and GEN-EX-3 (reship) count in `overdue`
    with KS-GOV-1's two types."""
    for oid, type_, reason in (("OX1", "exchange", "quality"), ("OX2", "reship", "logistics_lost"),
                               ("OX3", "refund_only", "other")):
        ks.handle(c.ImportOrder("S1", BUYER.id, 10_000, id=oid, created_at=START - 5 * D, shipped_at=START - 4 * D,
                                signed_at=START - 3 * D), PLATFORM, now=START)
        ks.handle(c.Apply(oid, type_, reason, evidence=("p.jpg",)), BUYER, now=START)
    ks.tick(START + 3 * D)
    kinds = sorted(e["payload"]["overdue_type"] for e in events(ks, "overdue_recorded"))
    assert kinds == ["exchange_overdue", "refund_only_overdue", "reship_overdue"]
    with ks.uow(write=False) as uow:
        m = uow.metrics("S1", START + 3 * D, 30 * D)
    assert (m.refund_only_overdue, m.return_refund_overdue, m.exchange_overdue, m.overdue) == (1, 0, 2, 3)
    assert m.as_dict()["exchange_overdue"] == 2 and m.value("overdue_rate") == 1


def test_daily_evaluation_by_the_worker_follows_the_virtual_clock(ks: Shouhou) -> None:
    """The worker evaluates a watched shop once a day at its due time: a measure can apply with no new
    record (old applications leave the window, the rate rises), measures end at their own end, and a
    shop with nothing left in the window goes to sleep with a clean score."""
    seed_history(ks.engine, "S1", applications=100, overdue=0, created=DUE - 29 * D - 12 * H,
                 overdue_at=DUE - 29 * D, prefix="OLD")
    seed_history(ks.engine, "S1", applications=4, overdue=4, created=START - 3 * D, overdue_at=START - H)
    late_ticket(ks, "O1")
    ks.tick(DUE)  # 5 records of 105 applications: under 5 %
    assert in_force(ks) == [] and shop_row(ks).governance_due_at == DUE + D
    ks.tick(DUE + D - timedelta(seconds=1))
    assert shop_row(ks).governance_evaluated_at == DUE
    ks.tick(DUE + D)  # the 100 old applications left the window: 5 of 5
    [applied] = events(ks, "measure_applied")
    assert (applied["at"], applied["payload"]["measure"], applied["payload"]["snapshot"]["cause"]) == (
        DUE + D, "warning", "daily_evaluation")
    assert applied["payload"]["snapshot"]["metrics"]["applications"] == 5
    ks.tick(DUE + 3 * D + H)
    assert shop_row(ks).governance_evaluated_at == DUE + 3 * D  # one evaluation a day, each at its time
    ks.tick(DUE + 8 * D + H)
    [ended] = events(ks, "measure_ended")
    assert (ended["at"], ended["payload"]["measure"], ended["payload"]["reason"]) == (DUE + 8 * D, "warning", "expired")
    assert in_force(ks) == [] and len(events(ks, "measure_applied")) == 1  # no new record: not again
    ks.tick(DUE + 40 * D)
    shop = shop_row(ks)
    assert shop.governance_due_at is None and shop.score == 100  # nothing left to watch


def test_an_ended_measure_comes_back_on_a_new_record(ks: Shouhou) -> None:
    seed_history(ks.engine, "S1", applications=9, overdue=4, created=START - 5 * D, overdue_at=START - 3 * D)
    late_ticket(ks, "O1")
    ks.tick(DUE + 8 * D)
    assert in_force(ks) == [] and [e["payload"]["measure"] for e in events(ks, "measure_ended")] == ["warning"]
    ks.clock.set(DUE + 8 * D)  # type: ignore[attr-defined]
    ks.handle(c.ImportOrder("S1", BUYER.id, 10_000, id="O2", created_at=START, shipped_at=START + D), PLATFORM,
              now=DUE + 8 * D)
    ks.handle(c.Apply("O2", "refund_only", "other"), BUYER, now=DUE + 8 * D)
    ks.tick(DUE + 10 * D)
    assert in_force(ks) == ["warning"] and len(events(ks, "measure_applied")) == 2


# -- high risk (KS-GOV-4) -------------------------------------------------------------------------------

def high_risk(app: Shouhou, shop: str = "S1") -> str:
    """99 overdue records of 190 applications, then the engine's 100th: 100 of 191, over half."""
    seed_history(app.engine, shop, applications=190, overdue=99, created=START - 6 * D, overdue_at=START - 4 * D)
    tid = late_ticket(app, f"O-{shop}-late", shop)
    app.tick(DUE)
    return tid


def test_100_overdue_records_making_up_half_the_applications_disable_refund_handling(ks: Shouhou) -> None:
    high_risk(ks)
    assert in_force(ks) == ["warning", "forced_study", "forced_exam", "point_deduction", "freight_by_platform",
                            "cart_suspension", "liquidated_damages", "high_risk"]
    [off] = events(ks, "refund_handling_disabled")
    assert (off["at"], off["rule"], off["shop_id"]) == (DUE, "KS-GOV-4", "S1")
    hr = [e for e in events(ks, "measure_applied") if e["payload"]["measure"] == "high_risk"][0]
    assert hr["rule"] == "KS-GOV-4" and hr["payload"]["ends_at"] is None  # until platform staff lift it
    shop = shop_row(ks)
    assert (shop.refund_handling, shop.cart_suspended, shop.freight_claims_by_platform, shop.points) == (
        "disabled", True, True, 10)


@pytest.mark.parametrize("type_", ["refund_only", "return_refund", "exchange"])
def test_in_high_risk_every_new_application_is_approved_and_refunded_at_once(ks: Shouhou, type_: str) -> None:
    """KS-GOV-4: whatever the type, the ticket is refunded on arrival, the event cites KS-GOV-4, and the
    money follows: the order's escrow pays the buyer, a payout goes out."""
    ks.handle(c.ImportOrder("S1", BUYER.id, 8_800, id="O9", created_at=START - 5 * D, shipped_at=START - 4 * D,
                            signed_at=START - 3 * D), PLATFORM, now=START)  # before the cart was suspended
    high_risk(ks)
    now = DUE + H
    tid = ks.handle(c.Apply("O9", type_, "no_reason" if type_ != "refund_only" else "other"), BUYER, now=now)
    with ks.uow(write=False) as uow:
        ticket = uow.tickets.get(tid)
        assert ticket is not None
        assert (ticket.status, ticket.refunded_fen, ticket.due_at) == ("refunded", 8_800, None)
        timeline = [(e["type"], e["rule"]) for e in uow.events_for(ticket_id=tid)]
        assert timeline[:3] == [("applied", None), ("auto_approved", "KS-GOV-4"), ("refunded", "KS-GOV-4")]
        assert uow.balance(L.escrow("O9")) == 0 and uow.balance(L.payable(BUYER.id)) == 8_800
        assert uow.payouts.get(tid) is not None
        order = uow.orders.get("O9")
        assert order is not None and order.status == "closed"


@pytest.mark.parametrize("type_", ["refund_only", "return_refund", "exchange"])
def test_in_high_risk_the_applications_waiting_for_review_are_refunded_too(ks: Shouhou, type_: str) -> None:
    """KS-GOV-4: "every application is approved and refunded at once: those filed while the measure is
    in force, and those still waiting for the shop's review when it takes effect". The audit found the
    waiting ones could still be rejected by the shop."""
    ks.handle(c.ImportOrder("S1", BUYER.id, 7_700, id="O8", created_at=START - 5 * D, shipped_at=START - 4 * D,
                            signed_at=START - 3 * D), PLATFORM, now=START)
    waiting = ks.handle(c.Apply("O8", type_, "no_reason" if type_ != "refund_only" else "other"), BUYER,
                        now=DUE - H)  # its review runs for two more days when the shop turns high-risk
    high_risk(ks)
    with ks.uow(write=False) as uow:
        ticket = uow.tickets.get(waiting)
        assert ticket is not None
        assert (ticket.status, ticket.refunded_fen, ticket.due_at) == ("refunded", 7_700, None)
        timeline = [(e["type"], e["rule"], e["at"]) for e in uow.events_for(ticket_id=waiting)]
        assert ("auto_approved", "KS-GOV-4", DUE) in timeline and ("refunded", "KS-GOV-4", DUE) in timeline
        payout = uow.payouts.get(waiting)  # funded in the same transaction, paid by the same tick
        assert payout is not None and (payout.amount_fen, payout.status) == (7_700, "paid")
    with pytest.raises(Refusal):
        ks.handle(c.Reject(waiting, "不同意"), AGENT, now=DUE + H)


def test_cart_suspension_refuses_order_creation_naming_KS_GOV_3(ks: Shouhou) -> None:
    high_risk(ks)
    with pytest.raises(Refusal) as e:
        ks.handle(c.ImportOrder("S1", BUYER.id, 1000, id="NEW"), PLATFORM, now=DUE + H)
    assert (e.value.code, e.value.rules) == ("ineligible", ["KS-GOV-3"])
    assert "购物车" in e.value.message_zh and "cart is suspended until" in e.value.message_en
    assert (DUE + 7 * D).isoformat() in e.value.message_en
    ks.handle(c.ImportOrder("S2", BUYER.id, 1000, id="ELSEWHERE"), PLATFORM, now=DUE + H)  # other shops sell on
    ks.tick(DUE + 7 * D)  # the suspension ends after 7 days
    ks.handle(c.ImportOrder("S1", BUYER.id, 1000, id="NEW"), PLATFORM, now=DUE + 7 * D)


def test_liquidated_damages_are_a_balanced_debit_wallet_then_deposit_then_debt(ks: Shouhou) -> None:
    """500.00 in the wallet, 1000.00 in the deposit, 2000.00 of liquidated damages: the wallet and the
    deposit are emptied and 500.00 is owed; the platform's penalty income takes 2000.00."""
    high_risk(ks)
    with ks.uow(write=False) as uow:
        [entry] = uow.conn.execute(select(t.journal_entries).where(t.journal_entries.c.kind == "liquidated_damages")).all()
        lines = {r.account: r.amount for r in uow.conn.execute(
            select(t.journal_lines).where(t.journal_lines.c.entry_id == entry.id))}
        assert lines == {L.wallet("S1"): -50_000, L.deposit("S1"): -100_000, L.debt("S1"): -50_000,
                         g.PENALTY: 200_000}
        assert sum(lines.values()) == 0 and entry.rule == "KS-GOV-3" and entry.at == DUE
        shop = uow.shops.get("S1")
        assert shop is not None and (shop.wallet_fen, shop.deposit_fen, shop.debt_fen) == (0, 0, 50_000)
        assert (uow.balance(L.wallet("S1")), uow.balance(L.deposit("S1")), uow.balance(L.debt("S1"))) == (0, 0, -50_000)
        assert uow.conn.execute(select(func.sum(t.journal_lines.c.amount))).scalar() == 0
    ld = [e for e in events(ks, "measure_applied") if e["payload"]["measure"] == "liquidated_damages"][0]
    assert ld["payload"]["amount"] == "2000.00"
    assert ld["payload"]["charged"] == {"wallet": "500.00", "deposit": "1000.00", "debt": "500.00"}


def test_point_deduction_lowers_the_score_and_level_with_its_inputs_shown(ks: Shouhou) -> None:
    """30 records of 150 applications (20 %): warning, forced study, forced exam and 10 points off."""
    seed_history(ks.engine, "S1", applications=149, overdue=29, created=START - 5 * D, overdue_at=START - 3 * D)
    late_ticket(ks, "O1")
    ks.tick(DUE - H)
    with ks.uow(write=False) as uow:
        before = gs.shop_view(uow, OWNER, ks.policies, "S1", DUE - H)
    assert (before["score"]["value"], before["level"], before["points_deducted"]) == (81, "L3", 0)  # 100 - 19.33
    ks.tick(DUE)
    assert in_force(ks) == ["warning", "forced_study", "forced_exam", "point_deduction"]
    with ks.uow(write=False) as uow:
        view = gs.shop_view(uow, OWNER, ks.policies, "S1", DUE)
    assert (view["score"]["value"], view["level"], view["level_zh"], view["points_deducted"]) == (70, "L3", "中等", 10)
    assert view["score"]["inputs"][0] == {"metric": "overdue_rate", "metric_zh": "逾期率", "value": "0.2000",
                                          "weight": "-100", "contribution": "-20.0000"}
    assert view["score"]["points_contribution"] == "-10" and "points_deducted" in view["score"]["formula"]
    assert shop_row(ks).score == 70 and shop_row(ks).points == 10
    assert view["step"] == "point_deduction" and view["refund_handling"] == "enabled"


# -- lifting and appeals ----------------------------------------------------------------------------

def _measure_id(app: Shouhou, name: str, shop: str = "S1") -> str:
    with app.uow(write=False) as uow:
        return next(m.id for m in uow.measures.of_shop(shop) if m.measure == name and m.active)


def test_only_platform_staff_lift_a_measure_and_only_with_a_reason(ks: Shouhou) -> None:
    high_risk(ks)
    mid = _measure_id(ks, "high_risk")
    for who in (OWNER, OTHER, BUYER):
        with pytest.raises(Refusal) as e:
            ks.handle(c.LiftMeasure(mid, "done"), who, now=DUE + D)
        assert e.value.code in ("forbidden", "not_found")
    with pytest.raises(Refusal) as e:
        ks.handle(c.LiftMeasure(mid, ""), STAFF_PLATFORM, now=DUE + D)
    assert (e.value.code, e.value.rules) == ("invalid_input", ["KS-GOV-4"])
    ks.handle(c.LiftMeasure(mid, "整改完成 the shop cleared its queue"), STAFF_PLATFORM, now=DUE + D)
    [lifted] = events(ks, "measure_lifted")
    assert (lifted["at"], lifted["actor"], lifted["rule"], lifted["payload"]["reason"]) == (
        DUE + D, "platform:cs", "KS-GOV-4", "整改完成 the shop cleared its queue")
    [on] = events(ks, "refund_handling_enabled")
    assert on["rule"] == "KS-GOV-4" and shop_row(ks).refund_handling == "enabled"
    assert "high_risk" not in in_force(ks) and "cart_suspension" in in_force(ks)
    ks.tick(DUE + 2 * D)  # the daily evaluation does not bring it back: no new record since the lift
    assert "high_risk" not in in_force(ks)
    with pytest.raises(Refusal) as e:
        ks.handle(c.LiftMeasure(mid, "again"), STAFF_PLATFORM, now=DUE + 2 * D)
    assert e.value.code == "invalid_state"


def test_an_upheld_appeal_voids_the_measure_and_returns_the_liquidated_damages(ks: Shouhou) -> None:
    high_risk(ks)
    mid = _measure_id(ks, "liquidated_damages")
    with pytest.raises(Refusal) as e:
        ks.handle(c.AppealMeasure(mid, "reason"), AGENT, now=DUE + H)
    assert e.value.code == "forbidden"
    appeal = ks.handle(c.AppealMeasure(mid, "系统故障导致逾期 an outage caused the delays"), OWNER, now=DUE + H)
    with pytest.raises(Refusal) as e:
        ks.handle(c.DecideMeasureAppeal(appeal, True, "ok"), OWNER, now=DUE + 2 * H)
    assert e.value.code == "forbidden"
    with pytest.raises(Refusal) as e:
        ks.handle(c.DecideMeasureAppeal(appeal, True, "ok"), OTHER, now=DUE + 2 * H)
    assert e.value.code == "not_found"
    ks.handle(c.DecideMeasureAppeal(appeal, True, "属实 confirmed"), STAFF_PLATFORM, now=DUE + 2 * H)
    with ks.uow(write=False) as uow:
        inst = next(m for m in uow.measures.of_shop("S1") if m.id == mid)
        assert (inst.status, inst.ended_at, inst.end_reason) == ("voided", DUE + 2 * H, "appeal_upheld")
        # 2000.00 back: the 500.00 debt first, 1500.00 into the wallet
        assert (uow.balance(L.wallet("S1")), uow.balance(L.debt("S1")), uow.balance(g.PENALTY)) == (150_000, 0, 0)
        assert uow.conn.execute(select(func.sum(t.journal_lines.c.amount))).scalar() == 0
    decided = events(ks, "measure_appeal_decided")
    assert decided[0]["payload"]["upheld"] is True and decided[0]["rule"] == "KS-GOV-3"
    assert [e["type"] for e in events(ks, "liquidated_damages_refunded")] == ["liquidated_damages_refunded"]
    assert "liquidated_damages" not in in_force(ks)


def test_a_rejected_appeal_changes_nothing(ks: Shouhou) -> None:
    high_risk(ks)
    mid = _measure_id(ks, "cart_suspension")
    appeal = ks.handle(c.AppealMeasure(mid, "reason"), OWNER, now=DUE + H)
    ks.handle(c.DecideMeasureAppeal(appeal, False, "不属实"), STAFF_PLATFORM, now=DUE + 2 * H)
    assert "cart_suspension" in in_force(ks) and shop_row(ks).cart_suspended
    with pytest.raises(Refusal) as e:
        ks.handle(c.AppealMeasure(mid, "again"), OWNER, now=DUE + 3 * H)
    assert e.value.code == "limit_reached"


# -- tenancy -------------------------------------------------------------------------------------------

def test_a_shop_sees_only_its_own_metrics_and_the_platform_sees_all(ks: Shouhou) -> None:
    seed_history(ks.engine, "S1", applications=9, overdue=4, created=START - 5 * D, overdue_at=START - 3 * D)
    late_ticket(ks, "O1")
    ks.tick(DUE)
    with ks.uow(write=False) as uow:
        for who in (OTHER, BUYER):
            with pytest.raises(Refusal) as e:
                gs.shop_view(uow, who, ks.policies, "S1", DUE)
            assert e.value.code == "not_found"
            with pytest.raises(Refusal):
                gs.list_measures(uow, who, "S1")
        own = gs.report(uow, OWNER, ks.policies, DUE)
        assert [r["shop"] for r in own["rows"]] == ["S1"] and own["rows"][0]["measures"] == ["warning"]
        other = gs.report(uow, OTHER, ks.policies, DUE)
        assert [r["shop"] for r in other["rows"]] == ["S2"] and other["rows"][0]["overdue"] == 0
        everyone = gs.report(uow, PLATFORM, ks.policies, DUE, sort="overdue")
        assert [r["shop"] for r in everyone["rows"]] == ["S1", "S2"]
        with pytest.raises(Refusal) as e:
            gs.report(uow, BUYER, ks.policies, DUE)
        assert e.value.code == "forbidden"
        mid = _measure_id(ks, "warning")
        with pytest.raises(Refusal) as e:
            gs.get_measure(uow, OTHER, mid)
        assert e.value.code == "not_found"
    with pytest.raises(Refusal) as e:
        ks.handle(c.AppealMeasure(mid, "x"), OTHER, now=DUE)
    assert e.value.code == "not_found"


def test_the_report_sorts_by_any_column_and_writes_csv(ks: Shouhou, clock: VirtualClock) -> None:
    seed_history(ks.engine, "S1", applications=20, overdue=2, created=START - 5 * D, overdue_at=START - 3 * D)
    seed_history(ks.engine, "S2", applications=5, overdue=3, created=START - 5 * D, overdue_at=START - 3 * D)
    with ks.uow(write=False) as uow:
        by_count = gs.report(uow, PLATFORM, ks.policies, START, sort="overdue")
        by_rate = gs.report(uow, PLATFORM, ks.policies, START, sort="overdue_rate", descending=False)
        by_shop = gs.report(uow, PLATFORM, ks.policies, START, sort="shop", descending=False, limit=1)
        with pytest.raises(Refusal) as e:
            gs.report(uow, PLATFORM, ks.policies, START, sort="nonsense")
        assert e.value.code == "invalid_input"
    assert [r["shop"] for r in by_count["rows"]] == ["S2", "S1"]
    assert [r["shop"] for r in by_rate["rows"]] == ["S1", "S2"] and by_rate["rows"][1]["overdue_rate"] == 0.6
    assert [r["shop"] for r in by_shop["rows"]] == ["S1"] and by_shop["total"] == 2
    text = gs.report_csv(by_count)
    header, first = text.splitlines()[:2]
    assert header.split(",")[:5] == ["shop", "name", "policy", "level", "score"]
    assert first.startswith("S2,S2,kuaishou@2026.1,")
