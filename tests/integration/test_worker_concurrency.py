"""The deadline worker under concurrency: every automatic action fires exactly once, whatever the number
of workers, a worker killed mid-batch, or a human command racing the sweep (RULES §3, KS-RR-1,
KS-GOV-1; docstring of shouhou.services.deadlines).

Each test seeds signed orders with one return & refund ticket each, pending review, so that the due
action is KS-RR-1's auto-approve: a fired ticket moves to awaiting_return and leaves one
`auto_approved` event, one `overdue_recorded` event and one overdue_records row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from shouhou.adapters import tables as t
from shouhou.adapters.db import make_engine
from shouhou.clock import VirtualClock
from shouhou.domain.actors import Actor
from shouhou.errors import Refusal
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, START, is_postgres, run_threads

REPO = Path(__file__).resolve().parents[2]
SHOP = "S1"
BUYER = Actor("buyer", "B1")
REVIEW = timedelta(hours=48)  # KS-RR-1

postgres_only = pytest.mark.skipif(
    not is_postgres(),
    reason="needs PostgreSQL (SHOUHOU_TEST_DATABASE_URL=postgresql+psycopg://...): concurrent sweepers share "
           "the work through FOR UPDATE SKIP LOCKED; SQLite serialises writers on one lock",
)


SHOPS = ("S1", "S2", "S3")
STAFF_OF = {shop: Actor("staff", f"U{i}", shop_id=shop, role="owner") for i, shop in enumerate(SHOPS, 1)}
SHOP_OF: dict[str, str] = {}  # ticket id -> its shop, as seeded


def seed(app: Shouhou, n: int, spacing: timedelta = timedelta(0)) -> list[tuple[str, datetime]]:
    """Three Kuaishou shops and `n` signed orders, each with a return & refund ticket pending review,
    dealt round the shops (so no shop lapses into KS-GOV-4's high risk, whose refunds would take
    tickets away from the worker); ticket i is applied at START + i * spacing. Returns (ticket id,
    due time) in due order."""
    for shop in SHOPS:
        app.handle(c.CreateShop(shop, shop, "kuaishou", return_address="杭州市西湖区 1 号"), PLATFORM, now=START)
        app.handle(c.AddStaff(STAFF_OF[shop].id, shop, "owner"), PLATFORM, now=START)
    app.handle(c.AddBuyer(BUYER.id), PLATFORM, now=START)
    out = []
    for i in range(n):
        shop = SHOPS[i % len(SHOPS)]
        order_id = app.handle(c.ImportOrder(
            shop, BUYER.id, 10_000, id=f"O{i:04d}", created_at=START - timedelta(days=3),
            shipped_at=START - timedelta(days=2), signed_at=START - timedelta(days=1),
        ), PLATFORM, now=START)
        applied = START + i * spacing
        ticket_id = app.handle(c.Apply(order_id, "return_refund", "not_as_described"), BUYER, now=applied)
        SHOP_OF[ticket_id] = shop
        out.append((ticket_id, applied + REVIEW))
    return out


def new_app(url: str) -> Shouhou:
    """A worker of its own: its own engine and connection pool."""
    return Shouhou.with_fakes(make_engine(url), VirtualClock(START), PolicyRegistry.default())


def count_by_ticket(engine: Engine, event_type: str) -> Counter[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(t.events.c.ticket_id).where(t.events.c.type == event_type))
        return Counter(r[0] for r in rows)


def overdue_by_ticket(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(r[0] for r in conn.execute(select(t.overdue_records.c.ticket_id)))


def statuses(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(select(t.tickets.c.id, t.tickets.c.status))}


def assert_fired_exactly_once(engine: Engine, ids: list[str]) -> None:
    """Each ticket was auto-approved once: one event of each kind, one overdue row, awaiting_return
    with the next deadline (KS-RR-2) pending, and nothing else due."""
    want = Counter(ids)
    assert count_by_ticket(engine, "auto_approved") == want
    assert count_by_ticket(engine, "overdue_recorded") == want
    assert overdue_by_ticket(engine) == want
    assert count_by_ticket(engine, "approved") == Counter()
    assert set(statuses(engine).values()) == {"awaiting_return"}
    with engine.connect() as conn:
        due = conn.execute(select(t.tickets.c.due_action, func.count()).group_by(t.tickets.c.due_action)).all()
    assert [(a, n) for a, n in due] == [("auto_close", len(ids))]


@pytest.fixture
def workers(db_url: str) -> Iterator[Callable[[], Shouhou]]:
    """Builds workers with their own engines; disposes of them afterwards."""
    made: list[Shouhou] = []

    def make() -> Shouhou:
        made.append(new_app(db_url))
        return made[-1]

    yield make
    for w in made:
        w.engine.dispose()


# -- several sweepers at once ---------------------------------------------------------------------

@postgres_only
def test_concurrent_sweepers_fire_each_due_ticket_exactly_once(
    app: Shouhou, engine: Engine, workers: Callable[[], Shouhou],
) -> None:
    n, sweepers = 300, 4
    ids = [tid for tid, _ in seed(app, n)]
    now = START + REVIEW + timedelta(hours=1)
    fired: list[int] = []

    def sweep(worker: Shouhou) -> Callable[[], None]:
        return lambda: fired.append(worker.tick(now, batch=7))

    errors = run_threads([sweep(workers()) for _ in range(sweepers)])

    assert errors == []
    assert sum(fired) == n
    assert_fired_exactly_once(engine, ids)
    assert app.tick(now) == 0


# -- a worker killed mid-batch --------------------------------------------------------------------

WORKER = r"""
import sys
import dataclasses
from datetime import datetime

from shouhou.adapters.db import make_engine
from shouhou.clock import VirtualClock
from shouhou.policies import PolicyRegistry
from shouhou.services import deadlines
from shouhou.services.app import Shouhou

url, now, batch, stop_after = sys.argv[1], datetime.fromisoformat(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fire_ticket = next(d.fire for d in deadlines.DEADLINES if d.kind == "ticket")
calls = 0


def fire_then_wait(uow, ctx, ticket_id):
    global calls
    touched = fire_ticket(uow, ctx, ticket_id)
    calls += 1
    if calls == stop_after:
        uow.flush()  # this batch's rows are written, not committed
        pid = uow.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() if uow.dialect == "postgresql" else 0
        print(f"started {pid}", flush=True)
        sys.stdin.read()  # wait here, inside the transaction, for SIGKILL
    return touched


deadlines.DEADLINES = tuple(dataclasses.replace(d, fire=fire_then_wait) if d.kind == "ticket" else d
                            for d in deadlines.DEADLINES)
app = Shouhou.with_fakes(make_engine(url), VirtualClock(now), PolicyRegistry.default())
print(f"finished {app.tick(now, batch=batch)}", flush=True)
"""


def wait_for_the_dead_transaction(engine: Engine) -> None:
    """PostgreSQL rolls back the killed worker's transaction when its backend sees the socket close;
    until then its row locks stand and SKIP LOCKED would pass over those rows. An EXCLUSIVE table lock
    conflicts with any row lock or write, so taking one waits for that rollback."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '60s'"))
        conn.execute(text(f"LOCK TABLE {', '.join(tb.name for tb in t.metadata.sorted_tables)} IN EXCLUSIVE MODE"))


@pytest.mark.parametrize(
    ("batch", "stop_after", "committed"),
    [
        pytest.param(200, 150, 0, id="killed-in-first-batch"),
        pytest.param(100, 150, 100, id="killed-in-second-batch"),
    ],
)
def test_worker_killed_mid_batch_loses_nothing_and_fires_nothing_twice(
    app: Shouhou, engine: Engine, db_url: str, batch: int, stop_after: int, committed: int,
) -> None:
    """A worker dies (SIGKILL) with a batch written but not committed: that batch rolls back whole,
    batches it committed stay, and the next sweep fires the rest, once."""
    n = 250
    ids = [tid for tid, _ in seed(app, n)]
    now = START + REVIEW + timedelta(hours=1)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, db_url, now.isoformat(), str(batch), str(stop_after)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the worker is inside its batch, or has died
        if not line.startswith("started"):
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"the worker did not reach the middle of a batch: {line!r}\n{err}")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    wait_for_the_dead_transaction(engine)

    after_kill = count_by_ticket(engine, "auto_approved")
    assert sum(after_kill.values()) == committed and set(after_kill.values()) <= {1}
    assert sum(overdue_by_ticket(engine).values()) == committed
    assert Counter(statuses(engine).values()) == Counter(
        {"awaiting_return": committed, "pending_review": n - committed} if committed
        else {"pending_review": n})

    assert app.tick(now) == n - committed
    assert_fired_exactly_once(engine, ids)


# -- a human command racing the automatic action --------------------------------------------------

def test_staff_approval_racing_the_sweep_gives_each_ticket_exactly_one_outcome(
    app: Shouhou, engine: Engine, workers: Callable[[], Shouhou],
) -> None:
    """Staff approve each ticket one second before its review deadline while a worker sweeps at the
    deadline, the two released together. Either the staff approval lands (the sweep then finds nothing
    to do) or the auto-approval does (the staff are refused with invalid_state): never both, never
    neither. SQLite serialises the two transactions; PostgreSQL orders them by row locks."""
    n = 120
    tickets = seed(app, n, spacing=timedelta(minutes=1))
    approver, sweeper = workers(), workers()
    staff_results: dict[str, str] = {}
    fired: dict[str, int] = {}

    for ticket_id, due in tickets:
        def approve(ticket_id: str = ticket_id, due: datetime = due) -> None:
            try:
                approver.handle(c.Approve(ticket_id), STAFF_OF[SHOP_OF[ticket_id]], now=due - timedelta(seconds=1))
                staff_results[ticket_id] = "approved"
            except Refusal as r:
                staff_results[ticket_id] = r.code

        def sweep(ticket_id: str = ticket_id, due: datetime = due) -> None:
            fired[ticket_id] = sweeper.tick(due, batch=5)

        assert run_threads([approve, sweep]) == []

    auto = count_by_ticket(engine, "auto_approved")
    by_staff = count_by_ticket(engine, "approved")
    overdue = overdue_by_ticket(engine)
    for ticket_id, _ in tickets:
        staff_won = staff_results[ticket_id] == "approved"
        assert staff_results[ticket_id] in ("approved", "invalid_state"), ticket_id
        assert fired[ticket_id] == (0 if staff_won else 1), ticket_id
        assert (by_staff[ticket_id], auto[ticket_id], overdue[ticket_id]) == ((1, 0, 0) if staff_won else (0, 1, 1))
    assert set(statuses(engine).values()) == {"awaiting_return"}


def test_application_after_the_period_ended_is_refused_while_the_worker_lags(app: Shouhou, engine: Engine) -> None:
    """GEN-APPLY-1 / GEN-ORD-1: the after-sales period ends when completion falls due, whether or not the
    worker has swept yet; an application a minute later loses to the automatic action."""
    app.handle(c.CreateShop(SHOP, "Shop", "kuaishou", return_address="杭州市西湖区 1 号"), PLATFORM, now=START)
    app.handle(c.AddBuyer(BUYER.id), PLATFORM, now=START)
    app.handle(c.ImportOrder(SHOP, BUYER.id, 10_000, id="O1", created_at=START - timedelta(days=3),
                             shipped_at=START - timedelta(days=2), signed_at=START - timedelta(days=1)),
               PLATFORM, now=START)
    app.handle(c.ConfirmOrder("O1"), BUYER, now=START)
    completes = START + timedelta(days=7)  # GEN-ORD-1
    late = completes + timedelta(minutes=1)

    with pytest.raises(Refusal):
        app.handle(c.Apply("O1", "refund_only", "not_as_described"), BUYER, now=late)
    app.tick(late)
    with engine.connect() as conn:
        order = conn.execute(select(t.orders.c.status, t.orders.c.completed_at).where(t.orders.c.id == "O1")).one()
    assert tuple(order) == ("completed", completes)


# -- a live worker: no sleeping while anything is due, and a prompt stop --------------------------

def test_a_live_tick_takes_what_falls_due_while_it_sweeps_and_stops_within_a_batch(app: Shouhou, engine: Engine) -> None:
    """A worker with a backlog keeps sweeping, reading the clock again after each batch, so an action
    that falls due meanwhile fires in the same tick instead of waiting for the next interval; told to
    stop, it returns after the batch in progress (the rest waits, due, for the next start)."""
    due = seed(app, 12, spacing=timedelta(minutes=1))  # due one minute apart
    clock = app.clock
    assert isinstance(clock, VirtualClock)
    clock.set(due[3][1])  # four are due now; eight fall due during the sweep
    rounds: list[int] = []

    def time_passes() -> bool:  # asked after every batch: two minutes pass per batch of two
        rounds.append(1)
        clock.advance(timedelta(minutes=2))
        return False

    assert app.tick(batch=2, stop=time_passes) == 12  # one tick, no sleep: all twelve
    assert_fired_exactly_once(engine, [i for i, _ in due])
    assert len(rounds) == 6  # asked after each batch of two; the round that found nothing ended the tick


def test_a_worker_told_to_stop_finishes_only_the_batch_in_progress(app: Shouhou, engine: Engine) -> None:
    due = seed(app, 10)
    app.clock.set(due[-1][1])  # type: ignore[attr-defined]
    assert app.tick(batch=3, stop=lambda: True) == 3  # SIGTERM arrived during the first batch
    assert Counter(statuses(engine).values()) == {"awaiting_return": 3, "pending_review": 7}
    assert app.tick(batch=3) == 7  # the next start fires the rest, once each
    assert_fired_exactly_once(engine, [i for i, _ in due])
