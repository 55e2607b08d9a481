"""One refund per ticket, never two, whatever retries or races happen (RULES §8), and every refund
reaches its buyer (DY-OP-9); a failed clawback is retried daily until it succeeds (KS-FEE-1).

- the database itself refuses a second `refund` journal entry for a ticket
  (ux_journal_entries_refund_ticket), whether it comes by hand or from the reactor replayed;
- a worker that dies after the channel paid but before the payout was recorded: the next attempt
  asks the channel again with the same key (the payout id, = the ticket id) and records the first
  answer; the buyer is paid once;
- several workers paying out at once (PostgreSQL): each payout goes through the channel and the
  ledger exactly once;
- the buyer's account refuses the money, or the channel keeps failing: the platform's customer
  service advance-compensates (DY-OP-9);
- a clawback from a promoter who has spent the commission fails, is retried daily, and succeeds once
  the promoter has money again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from shouhou.adapters import tables as t
from shouhou.adapters.db import make_engine
from shouhou.adapters.notifier import MemoryNotifier
from shouhou.adapters.payment import ChannelResult, FakeChannel
from shouhou.clock import VirtualClock
from shouhou.domain import ledger as L
from shouhou.domain.actors import Actor
from shouhou.domain.events import Event
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services import money
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, START, is_postgres, run_threads

SHOP = "S1"
OWNER = Actor("staff", "U1", shop_id=SHOP, role="owner")
BUYER, FROZEN = "B1", "B9"
D, M = timedelta(days=1), timedelta(minutes=1)

postgres_only = pytest.mark.skipif(
    not is_postgres(),
    reason="needs PostgreSQL (SHOUHOU_TEST_DATABASE_URL=postgresql+psycopg://...): concurrent payout workers "
           "share the work through FOR UPDATE SKIP LOCKED; SQLite serialises writers on one lock",
)


# -- building blocks ------------------------------------------------------------------------------

def engine_app(engine: Engine, clock: VirtualClock, channel: Any) -> Shouhou:
    return Shouhou.with_fakes(engine, clock, PolicyRegistry.default(), MemoryNotifier(), channel=channel)


def open_shop(app: Shouhou, pack: str = "kuaishou", wallet: int = 100_000, deposit: int = 100_000) -> None:
    app.handle(c.CreateShop(SHOP, "Shop", pack, wallet_fen=wallet, deposit_fen=deposit, return_address="仓"),
               PLATFORM, now=START)
    app.handle(c.AddStaff(OWNER.id, SHOP, "owner"), PLATFORM, now=START)
    for buyer in (BUYER, FROZEN):
        app.handle(c.AddBuyer(buyer), PLATFORM, now=START)


def refunded(app: Shouhou, n: int, buyer: str = BUYER, at: datetime = START, first: int = 0) -> list[str]:
    """`n` paid orders refunded at once (refund only, approved): their payouts are due at `at`."""
    out = []
    for i in range(first, first + n):
        order_id = app.handle(c.ImportOrder(SHOP, buyer, 1_000 + i, id=f"O{i:04d}", created_at=at - D),
                              PLATFORM, now=at)
        ticket = app.handle(c.Apply(order_id, "refund_only", "quality", None, ("x.jpg",)), Actor("buyer", buyer), now=at)
        app.handle(c.Approve(ticket), OWNER, now=at)
        out.append(ticket)
    return out


def entries(engine: Engine, kind: str, ticket_id: str | None = None) -> list[dict[str, Any]]:
    je = t.journal_entries
    stmt = select(je).where(je.c.kind == kind).order_by(je.c.id)
    if ticket_id is not None:
        stmt = stmt.where(je.c.ticket_id == ticket_id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def lines(engine: Engine, entry_id: int) -> dict[str, int]:
    jl = t.journal_lines
    with engine.connect() as conn:
        return {r.account: r.amount for r in conn.execute(select(jl).where(jl.c.entry_id == entry_id))}


def payout(engine: Engine, ticket_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(t.payouts).where(t.payouts.c.id == ticket_id)).one()._mapping)


def balance(app: Shouhou, account: str) -> int:
    with app.uow(write=False) as uow:
        return uow.balance(account)


def events(app: Shouhou, ticket_id: str, type_: str) -> list[dict[str, Any]]:
    with app.uow(write=False) as uow:
        return [e for e in uow.events_for(ticket_id=ticket_id) if e["type"] == type_]


def amount_of(app: Shouhou, ticket_id: str) -> int:
    with app.uow(write=False) as uow:
        return uow.tickets.get(ticket_id).refunded_fen


# -- the database refuses a second refund ---------------------------------------------------------

def test_the_database_refuses_a_second_refund_entry_for_a_ticket(
        engine: Engine, clock: VirtualClock) -> None:
    app = engine_app(engine, clock, FakeChannel())
    open_shop(app)
    (ticket,) = refunded(app, 1)
    (first,) = entries(engine, "refund", ticket)
    amount = amount_of(app, ticket)
    assert lines(engine, first["id"]) == {L.escrow("O0000"): -amount, L.payable(BUYER): amount}

    with pytest.raises(IntegrityError):
        with app.uow() as uow:
            uow.journal.append(L.entry("refund", START, [(L.escrow("O0000"), -amount), (L.payable(BUYER), amount)],
                                       shop_id=SHOP, order_id="O0000", ticket_id=ticket))
            uow.commit()

    assert [e["id"] for e in entries(engine, "refund", ticket)] == [first["id"]]
    assert balance(app, L.payable(BUYER)) == amount
    assert balance(app, L.escrow("O0000")) == 0

    # the index is partial: other kinds of entry name the ticket too, and other tickets refund freely
    with app.uow() as uow:
        uow.journal.append(L.entry("adjustment", START, [(L.OPENING, -1), (L.CHANNEL, 1)], ticket_id=ticket))
        uow.journal.append(L.entry("adjustment", START, [(L.CHANNEL, -1), (L.OPENING, 1)], ticket_id=ticket))
        uow.journal.append(L.entry("refund", START, [(L.OPENING, -1), (L.CHANNEL, 1)], ticket_id="T-other"))
        uow.commit()
    assert len(entries(engine, "adjustment", ticket)) == 2


def test_the_reactor_replayed_cannot_refund_a_ticket_twice(engine: Engine, clock: VirtualClock) -> None:
    """A `refunded` event handled twice (a retried transaction, a second worker): the second funding
    rolls back whole, the wallet and the buyer's payable untouched."""
    app = engine_app(engine, clock, FakeChannel())
    open_shop(app)
    (ticket,) = refunded(app, 1)
    amount = amount_of(app, ticket)
    with pytest.raises(IntegrityError):
        with app.uow() as uow:
            money.fund_refund(uow, app.context(START), Event("refunded", START, "system", ticket_id=ticket))
            uow.commit()
    assert len(entries(engine, "refund", ticket)) == 1
    assert balance(app, L.payable(BUYER)) == amount
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.payouts)).scalar_one() == 1


# -- a worker dies after the money left -------------------------------------------------------------

class ProcessDied(BaseException):
    """The worker process is gone (BaseException: nothing in shouhou may catch it)."""


class DiesAfterPaying:
    """The channel pays, then the process dies before it can record the answer: once."""

    def __init__(self, inner: FakeChannel) -> None:
        self.inner, self.died = inner, False

    def refund(self, key: str, buyer_id: str, amount_fen: int) -> ChannelResult:
        result = self.inner.refund(key, buyer_id, amount_fen)
        if not self.died:
            self.died = True
            raise ProcessDied(key)
        return result

    def status(self, key: str) -> ChannelResult | None:
        return self.inner.status(key)


def test_a_crash_between_the_channel_and_the_record_pays_the_buyer_once(
        engine: Engine, clock: VirtualClock) -> None:
    channel = FakeChannel()
    dying = DiesAfterPaying(channel)
    app = engine_app(engine, clock, dying)
    open_shop(app)
    (ticket,) = refunded(app, 1)
    amount = amount_of(app, ticket)
    retry = app.policies.get("kuaishou").at(START).money.payout_retry.delta

    with pytest.raises(ProcessDied):
        app.tick(START)
    # the money left, nothing was recorded: the payout is claimed (attempt 1) and waits for its retry
    assert channel.paid == {ticket: amount}
    p = payout(engine, ticket)
    assert (p["status"], p["attempts"], p["due_at"]) == ("pending", 1, START + retry)
    assert entries(engine, "payout", ticket) == []
    assert balance(app, L.payable(BUYER)) == amount

    # a restarted worker at the same instant leaves the claimed payout alone
    app.tick(START)
    assert channel.calls == 1

    # at the retry the channel's record of the key is asked first: it paid, so it is not asked for
    # the money again, and the payment is recorded
    app.tick(START + retry)
    assert (channel.calls, channel.status_calls) == (1, 1)
    assert channel.paid == {ticket: amount}
    p = payout(engine, ticket)
    assert (p["status"], p["attempts"], p["channel_ref"], p["due_at"]) == ("paid", 2, f"fake-{ticket}", None)
    (entry,) = entries(engine, "payout", ticket)
    assert lines(engine, entry["id"]) == {L.payable(BUYER): -amount, L.CHANNEL: amount}
    assert balance(app, L.payable(BUYER)) == 0
    assert len(events(app, ticket, "refund_paid")) == 1

    app.tick(START + 10 * retry)
    assert (channel.calls, channel.status_calls) == (1, 1)


# -- concurrent payout workers --------------------------------------------------------------------

class CountingChannel(FakeChannel):
    """A FakeChannel shared by every worker that counts the calls per key."""

    def __init__(self) -> None:
        super().__init__()
        self.per_key: Counter[str] = Counter()

    def refund(self, key: str, buyer_id: str, amount_fen: int) -> ChannelResult:
        with self._lock:
            self.per_key[key] += 1
        return super().refund(key, buyer_id, amount_fen)


@pytest.fixture
def workers(db_url: str) -> Iterator[Callable[[Any], Shouhou]]:
    """Workers with engines (connection pools) of their own; disposed of afterwards."""
    made: list[Shouhou] = []

    def make(channel: Any) -> Shouhou:
        made.append(Shouhou.with_fakes(make_engine(db_url), VirtualClock(START), PolicyRegistry.default(), MemoryNotifier(),
                            channel=channel))
        return made[-1]

    yield make
    for w in made:
        w.engine.dispose()


def due_payouts(engine: Engine, now: datetime) -> int:
    p = t.payouts.c
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.payouts)
                            .where(p.status == "pending", p.due_at <= now)).scalar_one()


@postgres_only
@pytest.mark.parametrize("how", ["pay_out", "tick"])
def test_concurrent_workers_pay_each_refund_exactly_once(
        engine: Engine, clock: VirtualClock, workers: Callable[[Any], Shouhou], how: str) -> None:
    n, n_workers = 60, 4
    app = engine_app(engine, clock, FakeChannel())
    open_shop(app)
    tickets = refunded(app, n)
    channel = CountingChannel()
    now = START + M

    def work(worker: Shouhou) -> Callable[[], None]:
        def run() -> None:
            for _ in range(10 * n):
                if how == "pay_out":
                    if not money.pay_out(worker.uow, channel, worker.policies, now, limit=3):
                        return
                else:
                    worker.tick(now, batch=3)
                    if not due_payouts(worker.engine, now):
                        return
            raise AssertionError("the workers made no progress")
        return run

    errors = run_threads([work(workers(channel)) for _ in range(n_workers)])

    assert errors == []
    assert channel.per_key == Counter(tickets)  # each key asked once
    amounts = {tk: amount_of(app, tk) for tk in tickets}
    assert channel.paid == amounts
    assert Counter(e["ticket_id"] for e in entries(engine, "payout")) == Counter(tickets)
    with engine.connect() as conn:
        statuses = Counter(r[0] for r in conn.execute(select(t.payouts.c.status)))
    assert statuses == Counter({"paid": n})
    assert balance(app, L.payable(BUYER)) == 0
    with app.uow(write=False) as uow:
        paid_events = Counter(e["ticket_id"] for e in uow.all_events() if e["type"] == "refund_paid")
    assert paid_events == Counter(tickets)


# -- the channel fails: the platform advance-compensates (DY-OP-9) --------------------------------

@pytest.mark.parametrize("pack", ["douyin", "kuaishou"])
def test_a_buyer_account_that_refuses_the_money_is_advance_compensated(
        engine: Engine, clock: VirtualClock, pack: str) -> None:
    channel = FakeChannel(fail_buyers={FROZEN})
    app = engine_app(engine, clock, channel)
    open_shop(app, pack)
    (ticket,) = refunded(app, 1, buyer=FROZEN)
    (good,) = refunded(app, 1, first=1)
    amount = amount_of(app, ticket)
    wallet_before = balance(app, L.wallet(SHOP))
    rule = app.policies.get(pack).at(START).money.payout_attempts.rule
    assert rule == {"douyin": "DY-OP-9", "kuaishou": "GEN-OP-9"}[pack]  # Kuaishou applies DY-OP-9 as GEN-OP-9

    app.tick(START)

    p = payout(engine, ticket)
    assert (p["status"], p["attempts"], p["due_at"]) == ("compensated", 1, None)
    assert p["last_error"] == "buyer account frozen (买家账户异常)"
    (event,) = events(app, ticket, "advance_compensation")
    assert event["rule"] == rule and event["actor"] == "system"
    assert event["payload"]["reason"] == "buyer account frozen (买家账户异常)"
    assert event["payload"]["by"] == "platform customer service"
    assert event["payload"]["amount"] == f"{amount // 100}.{amount % 100:02d}"
    # the money goes payable -> platform:advance -> out through platform CS, not the channel
    (advance,) = entries(engine, "advance_compensation", ticket)
    assert advance["rule"] == rule
    assert lines(engine, advance["id"]) == {L.payable(FROZEN): -amount, L.ADVANCE: amount}
    (paid,) = entries(engine, "payout", ticket)
    assert lines(engine, paid["id"]) == {L.ADVANCE: -amount, L.CHANNEL: amount}
    assert balance(app, L.payable(FROZEN)) == 0
    assert balance(app, L.ADVANCE) == 0
    assert ticket not in channel.paid
    assert balance(app, L.wallet(SHOP)) == wallet_before  # the shop paid once, at the refund
    # the other buyer is paid through the channel as usual
    assert payout(engine, good)["status"] == "paid" and good in channel.paid

    calls = channel.calls
    app.tick(START + 30 * D)
    assert channel.calls == calls


def test_transient_failures_are_retried_after_payout_retry_and_then_paid(
        engine: Engine, clock: VirtualClock) -> None:
    money_rules = PolicyRegistry.default().get("douyin").at(START).money
    retry, attempts = money_rules.payout_retry.delta, money_rules.payout_attempts.value
    channel = FakeChannel(transient=attempts - 1)
    app = engine_app(engine, clock, channel)
    open_shop(app, "douyin")
    (ticket,) = refunded(app, 1)
    amount = amount_of(app, ticket)

    now = START
    for attempt in range(1, attempts):
        app.tick(now)
        p = payout(engine, ticket)
        assert (p["status"], p["attempts"], p["due_at"], p["last_error"]) == \
            ("pending", attempt, now + retry, "channel timeout")
        app.tick(now + retry - M)  # not before the retry
        assert channel.calls == attempt
        now += retry
    failed = events(app, ticket, "refund_payout_failed")
    assert [e["payload"]["attempt"] for e in failed] == list(range(1, attempts))
    assert entries(engine, "payout", ticket) == []

    app.tick(now)
    p = payout(engine, ticket)
    assert (p["status"], p["attempts"]) == ("paid", attempts)
    assert channel.paid == {ticket: amount}
    assert len(entries(engine, "payout", ticket)) == 1
    assert events(app, ticket, "advance_compensation") == []
    assert balance(app, L.payable(BUYER)) == 0


def test_after_payout_attempts_failures_the_platform_advance_compensates(
        engine: Engine, clock: VirtualClock) -> None:
    money_rules = PolicyRegistry.default().get("douyin").at(START).money
    retry, attempts = money_rules.payout_retry.delta, money_rules.payout_attempts.value
    channel = FakeChannel(transient=100)
    app = engine_app(engine, clock, channel)
    open_shop(app, "douyin")
    (ticket,) = refunded(app, 1)
    amount = amount_of(app, ticket)

    for i in range(attempts):
        app.tick(START + i * retry)
    p = payout(engine, ticket)
    assert (p["status"], p["attempts"], p["last_error"]) == ("compensated", attempts, "channel timeout")
    (event,) = events(app, ticket, "advance_compensation")
    assert event["rule"] == money_rules.payout_attempts.rule == "DY-OP-9"
    assert (event["payload"]["reason"], event["payload"]["attempts"]) == ("channel timeout", attempts)
    assert channel.paid == {}
    assert channel.calls == attempts
    (advance,) = entries(engine, "advance_compensation", ticket)
    assert lines(engine, advance["id"]) == {L.payable(BUYER): -amount, L.ADVANCE: amount}
    assert len(entries(engine, "payout", ticket)) == 1
    assert balance(app, L.payable(BUYER)) == 0

    channel.transient = 0
    app.tick(START + 10 * retry)
    assert channel.calls == attempts and channel.paid == {}


# -- payouts in doubt: the channel's own record decides ---------------------------------------------

def test_an_answer_lost_after_the_money_left_is_recorded_as_paid_not_compensated(
        engine: Engine, clock: VirtualClock) -> None:
    """The audit: after payout_attempts timeouts the platform advance-compensated, so a channel whose
    "timeout" had in fact paid paid twice. Every answer is lost here; the channel's record says paid."""
    money_rules = PolicyRegistry.default().get("douyin").at(START).money
    retry, attempts = money_rules.payout_retry.delta, money_rules.payout_attempts.value
    channel = FakeChannel(lost_answers=100)
    app = engine_app(engine, clock, channel)
    open_shop(app, "douyin")
    (ticket,) = refunded(app, 1)
    amount = amount_of(app, ticket)

    for i in range(attempts + 2):
        app.tick(START + i * retry)
    p = payout(engine, ticket)
    assert (p["status"], p["attempts"], p["channel_ref"]) == ("paid", 1, f"fake-{ticket}")
    assert channel.paid == {ticket: amount} and channel.calls == 1
    assert events(app, ticket, "advance_compensation") == [] and entries(engine, "advance_compensation", ticket) == []
    assert len(entries(engine, "payout", ticket)) == 1
    assert balance(app, L.payable(BUYER)) == 0


class Unreachable:
    """A channel that answers nothing (every call raises) until it is reachable again; meanwhile it
    has in fact paid the first key it was asked for."""

    def __init__(self, inner: FakeChannel) -> None:
        self.inner, self.down = inner, True

    def refund(self, key: str, buyer_id: str, amount_fen: int) -> ChannelResult:
        self.inner.refund(key, buyer_id, amount_fen)
        if self.down:
            raise TimeoutError("no answer")
        return self.inner.refund(key, buyer_id, amount_fen)

    def status(self, key: str) -> ChannelResult | None:
        if self.down:
            raise TimeoutError("no answer")
        return self.inner.status(key)


def test_an_outcome_the_channel_cannot_tell_is_never_advance_compensated(
        engine: Engine, clock: VirtualClock) -> None:
    money_rules = PolicyRegistry.default().get("douyin").at(START).money
    retry, attempts = money_rules.payout_retry.delta, money_rules.payout_attempts.value
    inner = FakeChannel()
    channel = Unreachable(inner)
    app = engine_app(engine, clock, channel)
    open_shop(app, "douyin")
    (ticket,) = refunded(app, 1)
    amount = amount_of(app, ticket)

    for i in range(attempts + 3):
        app.tick(START + i * retry)
    p = payout(engine, ticket)
    assert (p["status"], p["attempts"]) == ("pending", attempts + 3)
    assert events(app, ticket, "advance_compensation") == []
    assert all(e["payload"]["in_doubt"] for e in events(app, ticket, "refund_payout_failed"))

    channel.down = False  # the channel answers again: its record says the first call paid
    app.tick(START + (attempts + 3) * retry)
    assert payout(engine, ticket)["status"] == "paid"
    assert inner.paid == {ticket: amount}
    assert events(app, ticket, "advance_compensation") == []
    assert balance(app, L.payable(BUYER)) == 0


def test_the_fake_channel_remembers_its_keys_in_the_database(engine: Engine, clock: VirtualClock) -> None:
    """Two workers' channels (or one before and after a restart) share one memory, as a real
    channel's would be: a key that paid is never paid again."""
    first = FakeChannel(engine=engine, clock=clock)
    second = FakeChannel(engine=engine, clock=clock)
    assert second.status("P1") is None
    assert first.refund("P1", BUYER, 500) == ChannelResult(True, reference="fake-P1")
    assert second.status("P1") == ChannelResult(True, reference="fake-P1")
    assert second.refund("P1", BUYER, 500) == ChannelResult(True, reference="fake-P1")
    assert (first.paid, second.paid) == ({"P1": 500}, {})
    refused = FakeChannel(fail_buyers={BUYER}, engine=engine, clock=clock)
    assert refused.refund("P2", BUYER, 500).buyer_account
    assert first.refund("P2", BUYER, 500).ok  # a refusal may be followed by a payment; a payment stands
    assert refused.status("P2") == ChannelResult(True, reference="fake-P2")


# -- a failed clawback is retried daily (KS-FEE-1) -------------------------------------------------

HISTORY = {
    # completed 2 days ago, refund 9 days after confirmed receipt: inside KS-FEE-1's 15 days
    "KS-FEE-1": {"created_at": -12 * D, "shipped_at": -11 * D, "signed_at": -10 * D, "confirmed_at": -9 * D},
    # completed 23 days ago: an over-period refund returns commissions under KS-OP-8
    "KS-OP-8": {"created_at": -40 * D, "shipped_at": -39 * D, "signed_at": -37 * D, "confirmed_at": -30 * D},
}


@pytest.mark.parametrize("rule", list(HISTORY))
def test_a_failed_clawback_is_retried_daily_until_the_promoter_has_money(
        engine: Engine, clock: VirtualClock, rule: str) -> None:
    app = engine_app(engine, clock, FakeChannel())
    open_shop(app, "kuaishou")
    daily = app.policies.get("kuaishou").at(START).money.clawback_retry
    assert (daily.delta, daily.rule) == (D, "KS-FEE-1")
    app.handle(c.ImportOrder(SHOP, BUYER, 10_000, id="O1", commission={"creator": "0.1", "tech_fee": "0.05"},
                             **{k: START + v for k, v in HISTORY[rule].items()}), PLATFORM, now=START)
    creator = L.promoter("creator", f"{SHOP}-creator")
    assert balance(app, creator) == 1_000
    # the creator has taken out the commission
    with app.uow() as uow:
        uow.journal.append(L.entry("promoter_withdrawal", START, [(creator, -1_000), (L.CHANNEL, 1_000)]))
        uow.commit()

    app.handle(c.OpenEntry("O1"), OWNER, now=START)
    ticket = app.handle(c.Apply("O1", "refund_only", "quality", None, ("x.jpg",)), Actor("buyer", BUYER), now=START)
    app.handle(c.Approve(ticket), OWNER, now=START)

    # the TR came back to the shop at once; the creator's 10.00 could not
    assert balance(app, L.wallet(SHOP)) == 100_000 - 10_000 + 500
    with engine.connect() as conn:
        claws = {r.account: dict(r._mapping) for r in conn.execute(select(t.clawbacks))}
    assert {a: (cb["amount_fen"], cb["status"], cb["rule"]) for a, cb in claws.items()} == \
        {creator: (1_000, "pending", rule), L.FEE: (500, "done", rule)}
    assert claws[creator]["due_at"] == START + D
    (failed,) = events(app, ticket, "clawback_failed")
    assert failed["rule"] == rule and failed["payload"]["retry_at"] == (START + D).isoformat()

    def creator_claw() -> dict[str, Any]:
        with engine.connect() as conn:
            return dict(conn.execute(select(t.clawbacks).where(t.clawbacks.c.account == creator)).one()._mapping)

    app.tick(START + D - M)  # not before the day is over
    assert (creator_claw()["attempts"], creator_claw()["status"]) == (1, "pending")

    app.tick(START + D)  # retried, still nothing to take
    cb = creator_claw()
    assert (cb["attempts"], cb["status"], cb["due_at"]) == (2, "pending", START + 2 * D)
    assert len(events(app, ticket, "clawback_failed")) == 2
    assert balance(app, L.wallet(SHOP)) == 100_000 - 10_000 + 500

    # the creator earns again
    with app.uow() as uow:
        uow.journal.append(L.entry("opening", START + D, [(L.OPENING, -1_500), (creator, 1_500)]))
        uow.commit()

    app.tick(START + 2 * D)
    cb = creator_claw()
    assert (cb["attempts"], cb["status"], cb["due_at"], cb["done_at"]) == (3, "done", None, START + 2 * D)
    (back,) = [e for e in entries(engine, "clawback", ticket) if e["memo"].get("from") == creator]
    assert lines(engine, back["id"]) == {creator: -1_000, L.wallet(SHOP): 1_000}
    assert back["rule"] == rule
    assert balance(app, creator) == 500
    assert balance(app, L.wallet(SHOP)) == 100_000 - 10_000 + 500 + 1_000
    with app.uow(write=False) as uow:
        assert uow.shops.get(SHOP).wallet_fen == uow.balance(L.wallet(SHOP))
    assert [e["payload"]["account"] for e in events(app, ticket, "clawback")] == [L.FEE, creator]

    app.tick(START + 5 * D)  # nothing more
    assert creator_claw()["attempts"] == 3
    assert len(entries(engine, "clawback", ticket)) == 2
