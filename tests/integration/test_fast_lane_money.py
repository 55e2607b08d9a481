"""DY-FAST-1's money (RULES §10, §8) against a real database: whatever happens to a fast-refunded
ticket after the platform advanced it — the shop confirms, the auto-refund fires, the parcel is
refused and ruled either way, a ruling refunds less, a ruled return is never sent back, the order had
settled already — the buyer is paid once (one payout per ticket, one channel payment), every journal
entry balances, the platform's advance account comes back to zero but for what it wrote off, the
buyer owes exactly what was recovered from them, and an order's escrow is what it was paid less what
it refunded."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import Engine, func, select

from shouhou.adapters import tables as tb
from shouhou.adapters.notifier import MemoryNotifier
from shouhou.adapters.payment import FakeChannel
from shouhou.clock import VirtualClock
from shouhou.domain import ledger as L
from shouhou.domain.actors import Actor
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, START

SHOP = "S1"
STAFF = Actor("staff", "U1", shop_id=SHOP, role="owner")
CS = Actor("platform", "cs", role="platform_cs")
H, D = timedelta(hours=1), timedelta(days=1)


def _world(engine: Engine, clock: VirtualClock) -> tuple[Shouhou, FakeChannel]:
    channel = FakeChannel()
    app = Shouhou.with_fakes(engine, clock, PolicyRegistry.default(), MemoryNotifier(), channel=channel)
    app.handle(c.CreateShop(SHOP, SHOP, "douyin", wallet_fen=2_000, deposit_fen=5_000, return_address="广州仓"),
               PLATFORM, now=START)
    app.handle(c.AddStaff(STAFF.id, SHOP, "owner"), PLATFORM, now=START)
    app.handle(c.AddBuyer("B1", standing="good"), PLATFORM, now=START)
    app.handle(c.AddBuyer("NB"), PLATFORM, now=START)
    return app, channel


def _shipped_back(app: Shouhou, order: str, amount: int, now: timedelta = H, **history: object) -> str:
    """A paid, signed order of good buyer B1, a no-reason return approved and its waybill submitted."""
    at = START + now
    kw = {"created_at": at - 5 * D, "shipped_at": at - 4 * D, "signed_at": at - 2 * D, **history}
    app.handle(c.ImportOrder(SHOP, "B1", amount, id=order, **kw), PLATFORM, now=at)  # type: ignore[arg-type]
    buyer = Actor("buyer", "B1")
    if history.get("confirmed_at") is not None:
        app.handle(c.OpenEntry(order), STAFF, now=at)  # settled already: over-period (DY-OP-1)
    ticket = app.handle(c.Apply(order, "return_refund", "no_reason"), buyer, now=at)
    app.handle(c.Approve(ticket), STAFF, now=at)
    app.handle(c.SubmitWaybill(ticket, "YT", f"YT-{order}"), buyer, now=at)
    return str(ticket)


def _disputed(app: Shouhou, ticket: str, at: object, rule: c.Rule) -> None:
    app.handle(c.RefuseReturn(ticket, "退回的是空盒", ("box.jpg",)), STAFF, now=at)  # type: ignore[arg-type]
    app.handle(c.RespondIntervention(ticket), CS, now=at)  # type: ignore[arg-type]
    app.handle(rule, CS, now=at)  # type: ignore[arg-type]


def test_a_fast_refund_is_paid_once_and_the_books_close_whatever_follows(engine: Engine, clock: VirtualClock) -> None:
    app, channel = _world(engine, clock)
    at = START + H
    t = {name: _shipped_back(app, f"O-{name}", amount) for name, amount in (
        ("confirmed", 9_900), ("auto", 5_000), ("buyer_fault", 3_000), ("shop_fault", 4_000), ("less", 6_000),
        ("platform_fault", 2_500), ("never_sent", 1_500))}
    # the order settled before the return (confirmed at once, over-period entry): wallet -> deposit -> debt
    t["settled"] = _shipped_back(app, "O-settled", 8_000, signed_at=at - 7 * D - 2 * H,
                                 confirmed_at=at - 7 * D - 2 * H, shipped_at=at - 8 * D, created_at=at - 9 * D)
    app.tick(at)
    with app.uow(write=False) as uow:
        assert all(uow.tickets.get(x).advanced_fen > 0 for x in t.values()), "every ticket took DY-FAST-1"
        assert all(uow.tickets.get(x).status == "awaiting_receipt" for x in t.values())
    assert set(channel.paid) == set(t.values())  # every buyer paid now, by the platform

    later = at + D
    app.handle(c.ConfirmReturn(t["confirmed"]), STAFF, now=later)
    app.handle(c.ConfirmReturn(t["settled"]), STAFF, now=later)
    _disputed(app, t["buyer_fault"], later, c.Rule(t["buyer_fault"], "merchant", fault="buyer"))
    _disputed(app, t["shop_fault"], later, c.Rule(t["shop_fault"], "buyer", fault="shop"))
    _disputed(app, t["less"], later, c.Rule(t["less"], "buyer", amount_fen=4_500, fault="both"))
    _disputed(app, t["platform_fault"], later, c.Rule(t["platform_fault"], "merchant", fault="platform"))
    _disputed(app, t["never_sent"], later, c.Rule(t["never_sent"], "buyer", remedy="return_refund"))
    app.tick(later + 30 * D)  # DY-RR-2's auto-refund, DY-RR-2's auto-close, completions and settlements

    with app.uow(write=False) as uow:
        status = {k: (uow.tickets.get(x).status, uow.tickets.get(x).refunded_fen) for k, x in t.items()}
        advance = uow.balance(L.ADVANCE)
        owes = -uow.balance(L.receivable("B1"))
        debt = -uow.balance(L.debt(SHOP))
        wallet, deposit = uow.balance(L.wallet(SHOP)), uow.balance(L.deposit(SHOP))
        orders = {o.id: o for o in uow.orders.where()}
        escrow = {oid: uow.balance(L.escrow(oid)) for oid in orders}
        recovered = [e for e in uow.all_events() if e["type"] == "fast_refund_recovered"]
        written_off = [e for e in uow.all_events() if e["type"] == "fast_refund_written_off"]
    assert status == {
        "confirmed": ("refunded", 9_900), "auto": ("refunded", 5_000), "buyer_fault": ("closed", 0),
        "shop_fault": ("refunded", 4_000), "less": ("refunded", 4_500), "platform_fault": ("closed", 0),
        "never_sent": ("closed", 0), "settled": ("refunded", 8_000)}

    # the buyer was paid once per ticket: one payout each, for what the platform advanced, one channel call
    with engine.connect() as conn:
        po = tb.payouts.c
        payouts = [dict(r._mapping) for r in conn.execute(select(po.ticket_id, po.amount_fen, po.status))]
        sums = conn.execute(select(tb.journal_lines.c.entry_id, func.sum(tb.journal_lines.c.amount))
                            .group_by(tb.journal_lines.c.entry_id)).all()
        kinds: dict[str, int] = defaultdict(int)
        for (kind,) in conn.execute(select(tb.journal_entries.c.kind).where(tb.journal_entries.c.ticket_id.is_not(None))):
            kinds[kind] += 1
    assert sorted(p["ticket_id"] for p in payouts) == sorted(t.values())
    assert all(p["status"] == "paid" for p in payouts)
    assert {p["ticket_id"]: p["amount_fen"] for p in payouts}[t["confirmed"]] == 9_900
    assert channel.calls == len(t) and set(channel.paid) == set(t.values())
    assert sums and all(total == 0 for _, total in sums)  # every entry balanced
    assert kinds["fast_refund"] == len(t)  # one advance per ticket
    assert kinds["refund"] == 5  # one refund per refunded ticket, none for the closed ones

    # the platform got back all it advanced but what it wrote off (platform_fault); the buyer owes the
    # rest: the advance of a parcel ruled their fault, the 15.00 a ruling did not refund, the never-sent
    assert advance == -2_500 and [e["ticket_id"] for e in written_off] == [t["platform_fault"]]
    assert owes == 3_000 + 1_500 + 1_500
    sources = {(e["ticket_id"], e["payload"]["from"]) for e in recovered}
    assert {(t["buyer_fault"], "buyer"), (t["less"], "buyer"), (t["never_sent"], "buyer"),
            (t["confirmed"], "order_funds"), (t["shop_fault"], "order_funds"), (t["less"], "order_funds"),
            (t["settled"], "shop")} <= sources

    # the settled order's refund came from the shop: wallet 20.00, deposit 50.00, the last 10.00 as debt;
    # the orders that settled later paid the debt first
    assert deposit == 0 and debt == 0
    for oid, o in orders.items():
        assert escrow[oid] == (0 if o.settled_at is not None else o.amount_fen - o.refunded_fen), oid
    buyer_fault_order = orders["O-buyer_fault"]
    assert (buyer_fault_order.refunded_fen, buyer_fault_order.settled_at is not None) == (0, True)
    assert wallet > 0
