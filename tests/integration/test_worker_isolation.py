"""One bad row stops nothing (the audit: a ticket whose pack was dropped from SHOUHOU_POLICY_PATHS
crashed `shouhou worker` with a KeyError and kept every due ticket behind it from firing), and a
backlog of deadlines does not starve the refunds (the audit: 7,002 payouts due during a six-minute
backlog, none paid)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from shouhou.adapters import operations as ops
from shouhou.adapters import tables as t
from shouhou.adapters.payment import ChannelResult, FakeChannel
from shouhou.clock import VirtualClock
from shouhou.domain.actors import Actor
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, START

D, H, M = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


def world(app: Shouhou, pack: str, shop: str, n: int) -> list[str]:
    """A shop on `pack` with `n` refund-only applications waiting for its review (due in 48 h or so)."""
    app.handle(c.CreateShop(shop, shop, pack, wallet_fen=100_000, deposit_fen=100_000, return_address="仓"),
               PLATFORM, now=START)
    app.handle(c.AddBuyer(f"B-{shop}"), PLATFORM, now=START)
    tickets = []
    for i in range(n):
        order = app.handle(c.ImportOrder(shop, f"B-{shop}", 1_000, id=f"{shop}-{i}", created_at=START - D,
                                         shipped_at=START - D + H), PLATFORM, now=START)
        tickets.append(app.handle(c.Apply(order, "refund_only", "quality", None, ("x.jpg",)),
                                  Actor("buyer", f"B-{shop}"), now=START))
    return tickets


def statuses(engine: Engine, tickets: list[str]) -> list[str]:
    with engine.connect() as conn:
        rows = dict(conn.execute(select(t.tickets.c.id, t.tickets.c.status).where(t.tickets.c.id.in_(tickets))).all())
    return [rows[x] for x in tickets]


def parked(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(ops.parked_actions))]


def test_a_ticket_whose_pack_is_gone_is_parked_and_the_rest_fire(engine: Engine, clock: VirtualClock) -> None:
    full = Shouhou.with_fakes(engine, clock, PolicyRegistry.default())
    lost = world(full, "kuaishou", "KS", 2)
    fine = world(full, "douyin", "DY", 3)
    # the operator restarts the worker without the Kuaishou pack
    douyin_only = PolicyRegistry({"douyin": PolicyRegistry.default().get("douyin")})
    worker = Shouhou.with_fakes(engine, clock, douyin_only)
    later = START + 10 * D

    assert worker.tick(later, batch=50) >= 3  # no KeyError: the Douyin tickets fired
    assert set(statuses(engine, fine)) == {"refunded"}
    assert statuses(engine, lost) == ["pending_review", "pending_review"]
    rows = parked(engine)
    assert sorted((r["kind"], r["ident"]) for r in rows) == sorted(("ticket", x) for x in lost)
    assert all("kuaishou" in str(r["error"]) and r["attempts"] == 1 for r in rows)
    assert all(r["next_try_at"] == later + M for r in rows)  # backoff: a minute, then 2, 4 …

    assert worker.tick(later, batch=50) == 0  # parked: not tried again before their time
    assert [r["attempts"] for r in parked(engine)] == [1, 1]
    worker.tick(later + M, batch=50)
    assert [r["attempts"] for r in parked(engine)] == [2, 2]
    assert all(r["next_try_at"] == later + 3 * M for r in parked(engine))

    # the pack is back: at their next try they fire (at their own due time) and leave the parking
    assert full.tick(later + 3 * M, batch=50) >= 2
    assert set(statuses(engine, lost)) == {"refunded"}
    assert parked(engine) == []


def test_both_worker_paths_survive_the_bad_row(engine: Engine, clock: VirtualClock) -> None:
    """`worker --once`, `worker` and the worker inside `serve` all sweep through Shouhou.tick: a bad
    row is parked on each path alike and tick returns."""
    full = Shouhou.with_fakes(engine, clock, PolicyRegistry.default())
    world(full, "kuaishou", "KS", 1)
    worker = Shouhou.with_fakes(engine, clock, PolicyRegistry({}))
    assert worker.tick(START + 10 * D, worker="w1") == 0
    assert len(parked(engine)) == 1
    with engine.connect() as conn:
        (beat,) = conn.execute(select(ops.worker_heartbeats)).all()
    assert (beat.worker, beat.last_sweep_at, beat.last_fired) == ("w1", START + 10 * D, 0)


class WatchingChannel(FakeChannel):
    """Counts, at each refund it is asked for, how many deadlines are still due."""

    def __init__(self, engine: Engine, now: object) -> None:
        super().__init__()
        self.engine, self.now = engine, now
        self.still_due: list[int] = []

    def refund(self, key: str, buyer_id: str, amount_fen: int) -> ChannelResult:
        tk = t.tickets.c
        with self.engine.connect() as conn:
            self.still_due.append(conn.execute(select(func.count()).select_from(t.tickets)
                                               .where(tk.due_at <= self.now)).scalar_one())
        return super().refund(key, buyer_id, amount_fen)


def test_refunds_go_out_between_the_batches_of_a_backlog(engine: Engine, clock: VirtualClock) -> None:
    setup = Shouhou.with_fakes(engine, clock, PolicyRegistry.default())
    tickets = world(setup, "douyin", "DY", 12)
    now = START + 10 * D
    channel = WatchingChannel(engine, now)
    worker = Shouhou.with_fakes(engine, clock, PolicyRegistry.default(), channel=channel)

    worker.tick(now, batch=4)

    assert set(statuses(engine, tickets)) == {"refunded"}
    assert len(channel.paid) == 12
    assert channel.still_due[0] > 0  # the first refund left while deadlines were still due


def test_a_payout_whose_pack_is_gone_is_parked_and_the_other_refunds_go_out(
        engine: Engine, clock: VirtualClock) -> None:
    full = Shouhou.with_fakes(engine, clock, PolicyRegistry.default())
    lost, fine = world(full, "kuaishou", "KS", 1), world(full, "douyin", "DY", 2)
    full.tick(START + 10 * D, batch=50)  # everything approved and refunded; the payouts are claimed and paid
    with engine.connect() as conn:
        conn.execute(t.payouts.update().values(status="pending", due_at=START + 10 * D, attempts=0))
        conn.commit()
    channel = FakeChannel()
    worker = Shouhou.with_fakes(engine, clock, PolicyRegistry({"douyin": PolicyRegistry.default().get("douyin")}),
                                channel=channel)
    worker.tick(START + 10 * D, batch=50)
    assert sorted(channel.paid) == sorted(fine)  # the Douyin refunds went out
    assert [(r["kind"], r["ident"]) for r in parked(engine)] == [("payout", lost[0])]
    full.tick(START + 10 * D + M, batch=50)  # the pack is back: at its next try it goes out, unparked
    assert parked(engine) == []
