"""Playing a marketplace through the engine on the virtual clock.

The clock moves in steps (`run.step_minutes`). At each step's start the worker sweeps exactly as a
deployed one would at that instant (`Shouhou.tick`: every deadline due fires at its own due time,
payouts go out); then the step's actions run in one transaction (`Shouhou.together`), each at its
own drawn time and through the same command handlers as the API: the platform imports the orders,
shops ship, review and confirm returns, couriers sign, buyers confirm, apply and send parcels back.

People look before they act, as they would at their queue: a shop does not approve a ticket that is
no longer waiting for it, nor after its deadline fell due (the worker acted first); a buyer does not
apply when the engine's own application check (domain.application) says it would be refused, and
that refusal is counted. A command the engine refuses all the same rolls the step back; the step is
played again without it (and the refusal counted), so one refusal never undoes the others.

Each ticket is followed by what it is waiting for: the person whose move it is acts after their
drawn delay, counted from when the ticket started waiting for them; a person who is later than the
pack's deadline (or never acts) finds the worker has acted, and the flow carries on from the time
the deadline fired. That is how a pack's deadlines change what happens to the same marketplace.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..clock import VirtualClock
from ..domain.actors import Actor
from ..domain.application import application_problems
from ..errors import Refusal
from ..services import commands as c
from ..services.app import Shouhou
from .marketplace import Marketplace
from .plan import DAY_SECONDS, OrderPlan, Planner, at

PLATFORM = Actor("platform", "sim-ops", role="platform_operator")
CARRIER = Actor("platform", "sim-carrier", role="integration")  # the couriers' reports come through the platform
CS = Actor("platform", "sim-cs", role="platform_cs")
EVIDENCE = ("photo.jpg",)
CREATE, SHIP, SIGN, CONFIRM, APPLY, TICKET = range(6)


def staff(shop_id: str) -> Actor:
    return Actor("staff", f"{shop_id}-cs", shop_id=shop_id, role="cs_admin")


@dataclass(frozen=True, slots=True)
class Follow:
    """What the player remembers of a ticket: the status it last saw and since when (seconds from
    the start), the deadline it is waiting for, and the two moves that leave the status unchanged
    (the platform's response in an intervention, the courier's signing of a replacement)."""

    plan: OrderPlan
    ticket_id: str
    seen: str | None = None
    since: float = 0.0
    waiting: float | None = None
    responded: float | None = None
    signed: float | None = None


Item = tuple[float, int, int, Any]  # (seconds from start, sequence, kind, plan or Follow)


class Player:
    """One run: one pack, one database. `setup()` then `play(on_step)`; `stats` counts what the
    people did and what the engine refused."""

    def __init__(self, app: Shouhou, market: Marketplace, pack: str) -> None:
        self.app, self.m, self.pack = app, market, pack
        self.start = market.run.start
        self.step = market.run.step_minutes * 60
        self.planner = Planner(market)
        self.queue: list[Item] = []
        self.seq = 0
        self.stats: Counter[str] = Counter()
        self.step_stats: Counter[str] = Counter()
        self.local: list[Item] | None = None  # the step being played: its own queue, and what falls after it
        self.later: list[Item] = []
        self.t1 = 0.0
        self._acts: dict[int, Callable[[float, Any], None]] = {
            CREATE: self._create, SHIP: self._ship, SIGN: self._sign, CONFIRM: self._confirm, APPLY: self._apply,
            TICKET: self._ticket}

    # -- the marketplace -----------------------------------------------------------------------
    def setup(self) -> None:
        """Shops (each with the pack under test and one customer-service admin) and buyers, created
        through the engine at the start."""
        now = self.start
        with self.app.together(now) as tx:
            for s in self.planner.shops:
                tx.do(c.CreateShop(id=s.id, name=f"{s.profile_name} shop {s.id}", policy=self.pack,
                                   wallet_fen=s.wallet_fen, deposit_fen=s.deposit_fen, wallet_opened_at=now,
                                   return_address=f"{s.id} 退货仓 returns desk"), PLATFORM, now)
                tx.do(c.AddStaff(id=f"{s.id}-cs", shop_id=s.id, role="cs_admin", name="客服管理员"), PLATFORM, now)
            for b in self.planner.buyers:
                tx.do(c.AddBuyer(id=b.id, standing=b.standing, member=b.member), PLATFORM, now)

    # -- the clock -----------------------------------------------------------------------------
    @property
    def steps_per_day(self) -> int:
        return DAY_SECONDS // self.step

    def play(self, on_step: Callable[[int, int], None] | None = None) -> None:
        days, per_day = self.m.run.days, self.steps_per_day
        total = days * per_day
        for day in range(days):
            for plan in self.planner.day(day):
                self._push(plan.created, CREATE, plan)
            for k in range(per_day):
                t0 = float((day * per_day + k) * self.step)
                now = at(self.start, t0)
                if isinstance(self.app.clock, VirtualClock):
                    self.app.clock.set(now)  # what the engine records as the time it wrote (recorded_at)
                self.app.tick(now=now, batch=self.m.run.tick_batch)
                self._play_step(t0, t0 + self.step)
                if on_step is not None:
                    on_step(day * per_day + k + 1, total)
        if isinstance(self.app.clock, VirtualClock):
            self.app.clock.set(self.end)
        self.app.tick(now=self.end, batch=self.m.run.tick_batch)  # what falls due at the last instant

    @property
    def end(self) -> datetime:
        return at(self.start, float(self.m.run.days * DAY_SECONDS))

    def _play_step(self, t0: float, t1: float) -> None:
        """Everything due in [t0, t1) in one transaction; a refused command is dropped and the step
        played again without it."""
        initial: list[Item] = []
        while self.queue and self.queue[0][0] < t1:
            initial.append(heapq.heappop(self.queue))
        if not initial:
            return
        first_seq, skip = self.seq, set[int]()
        while True:
            self.seq = first_seq
            self.local, self.later, self.t1 = list(initial), [], t1
            self.step_stats = Counter()
            heapq.heapify(self.local)
            current = -1
            try:
                with self.app.together(at(self.start, t1)) as tx:
                    self.tx = tx
                    self._prefetch()
                    while self.local:
                        item = heapq.heappop(self.local)
                        current = item[1]
                        if current in skip:
                            self._after_refusal(item)
                            continue
                        self.step_stats["actions"] += 1
                        self._acts[item[2]](item[0], item[3])
            except Refusal as e:
                if current < 0 or current in skip:
                    raise
                skip.add(current)
                self.stats[f"refused:{e.code}:{','.join(e.rules) or '-'}"] += 1
                continue
            break
        self.stats.update(self.step_stats)
        later, self.local, self.later = self.later, None, []
        for item in later:
            heapq.heappush(self.queue, item)

    def _prefetch(self) -> None:
        """The step's orders, tickets and new orders' buyers in a few statements instead of one each
        (the handlers then find them in the unit of work)."""
        assert self.local is not None
        uow = self.tx.uow
        uow.orders.get_many({x[3].plan.id if x[2] == TICKET else x[3].id for x in self.local})
        uow.tickets.get_many([x[3].ticket_id for x in self.local if x[2] == TICKET])
        uow.buyers.get_many({x[3].buyer.id for x in self.local if x[2] == CREATE})

    def _push(self, t: float, kind: int, ref: Any) -> None:
        self.seq += 1
        item = (t, self.seq, kind, ref)
        if self.local is None:
            heapq.heappush(self.queue, item)
        elif t < self.t1:
            heapq.heappush(self.local, item)
        else:
            self.later.append(item)

    def _wake_after(self, due: float, t: float) -> float:
        """When to look again at something whose deadline is `due`: the first step start at or after
        it (the worker has swept it then), never before the next step when it is past already."""
        w = math.ceil(due / self.step) * self.step
        return w if w > t else self.t1

    def _at(self, t: float) -> datetime:
        return at(self.start, t)

    def _secs(self, when: datetime) -> float:
        return (when - self.start).total_seconds()

    def _do(self, cmd: object, actor: Actor, t: float) -> Any:
        self.step_stats[type(cmd).__name__] += 1
        return self.tx.do(cmd, actor, self._at(t))

    # -- orders --------------------------------------------------------------------------------
    def _create(self, t: float, p: OrderPlan) -> None:
        shop = self.tx.uow.shops.get(p.shop.id)
        if shop is not None and shop.cart_suspended:  # KS-GOV-3: the shop takes no orders now
            self.step_stats["orders_lost_to_cart_suspension"] += 1
            return
        self._do(c.ImportOrder(id=p.id, shop_id=p.shop.id, buyer_id=p.buyer.id, amount_fen=p.amount_fen,
                               category=p.category, no_reason_return=p.no_reason_return,
                               commission=dict(self.m.orders.commission)), PLATFORM, t)
        self._push(t + p.ship, SHIP, p)
        if p.case is not None and p.case.after == "payment":
            self._push(t + p.case.apply, APPLY, p)

    def _order(self, p: OrderPlan) -> Any:
        return self.tx.uow.orders.get(p.id)

    def _ship(self, t: float, p: OrderPlan) -> None:
        order = self._order(p)
        if order is None or order.status != "paid":  # refunded before shipment: nothing to ship
            return
        self._do(c.ShipOrder(p.id, "sim-courier", f"W{p.index}"), staff(p.shop.id), t)
        self._push(t + p.transit, SIGN, p)

    def _sign(self, t: float, p: OrderPlan) -> None:
        order = self._order(p)
        if order is None or order.status != "shipped":
            return
        self._do(c.SignOrder(p.id), CARRIER, t)
        if p.confirms is not None:
            self._push(t + p.confirms, CONFIRM, p)
        if p.case is not None and p.case.after == "signing":
            self._push(t + p.case.apply, APPLY, p)

    def _confirm(self, t: float, p: OrderPlan) -> None:
        order = self._order(p)
        if order is None or order.status != "signed" or (order.due_at is not None and order.due_at <= self._at(t)):
            return  # confirmed by the system already (GEN-ORD-2), or closed
        self._do(c.ConfirmOrder(p.id), Actor("buyer", p.buyer.id), t)

    def _apply(self, t: float, p: OrderPlan) -> None:
        case = p.case
        assert case is not None
        order = self._order(p)
        if order is None:
            return
        when = self._at(t)
        pv = self.app.policies.in_force(order.policy, when)
        evidence = EVIDENCE if case.reason in pv.apply.evidence_required.value else ()
        problems, _ = application_problems(order, pv, when, case.type, case.reason, None, list(evidence), None)
        if problems:  # the engine's own check (GEN-APPLY-*): the buyer is told no
            code, reason = problems[0]
            self.step_stats[f"refused:{code}:{reason.rule or '-'}"] += 1
            return
        ticket_id = self._do(c.Apply(p.id, case.type, case.reason, evidence=evidence), Actor("buyer", p.buyer.id), t)
        self._push(t, TICKET, Follow(p, ticket_id))

    # -- tickets -------------------------------------------------------------------------------
    def _ticket(self, t: float, f: Follow) -> None:
        ticket = self.tx.uow.tickets.get(f.ticket_id)
        if ticket is None:
            return
        if ticket.status != f.seen:  # moved without us: by the deadline we waited for, or at once
            f = replace(f, seen=ticket.status, since=f.waiting if f.waiting is not None else t, waiting=None,
                        responded=None, signed=None)
        move = self._move(t, f, ticket)
        due = None if ticket.due_at is None else self._secs(ticket.due_at)
        if move is None:
            if due is not None:
                self._push(self._wake_after(due, t), TICKET, replace(f, waiting=due))
            return
        act, make, mark = move
        if act is not None and act <= t and (due is None or t < due):
            status = ticket.status
            make()
            self.step_stats[f"did:{status}"] += 1
            f = replace(f, seen=ticket.status, since=t, waiting=None,
                        responded=t if mark == "responded" else f.responded,
                        signed=t if mark == "signed" else f.signed)
            self._push(t, TICKET, f)
        elif act is not None and (due is None or act < due):
            self._push(act, TICKET, replace(f, waiting=None))
        elif due is not None:
            self._push(self._wake_after(due, t), TICKET, replace(f, waiting=due))
        # else: nobody will move it (a stalled case): the ticket is left as it is

    def _move(self, t: float, f: Follow, ticket: Any) -> tuple[float | None, Callable[[], Any], str | None] | None:
        """Whose move it is in the ticket's status, when they make it (None: never), the move, and
        what the player marks when the move leaves the status as it is (responded, signed)."""
        p, case, tid = f.plan, f.plan.case, f.ticket_id
        assert case is not None
        shop, buyer = staff(p.shop.id), Actor("buyer", p.buyer.id)
        s = ticket.status

        def after(delay: float | None, base: float | None = None) -> float | None:
            return None if delay is None else (f.since if base is None else base) + delay

        if s == "pending_review":
            if case.rejects:
                return after(case.review), lambda: self._do(c.Reject(tid, "不符合售后条件 not eligible"), shop, t), None
            return after(case.review), lambda: self._do(c.Approve(tid), shop, t), None
        if s == "rejected":
            window = self.app.policies.kept_by(ticket).rejection.intervention_window
            when = after(case.asks_intervention)
            if when is not None and window is not None and when - f.since >= window.delta.total_seconds():
                self.step_stats["intervention_too_late"] += 1  # DY-RR-3: the buyer let the 48 h pass
                return None
            return when, lambda: self._do(c.RequestIntervention(tid, "商家拒绝 the shop refused"), buyer, t), None
        if s == "in_intervention":
            if f.responded is None:
                return after(case.respond), lambda: self._do(c.RespondIntervention(tid), CS, t), "responded"
            remedy, fault = ("refund", "shop") if case.for_buyer else (None, "buyer")
            return after(case.rule, f.responded), lambda: self._do(
                c.Rule(tid, "buyer" if case.for_buyer else "merchant", remedy, fault=fault), CS, t), None
        if s == "awaiting_return":
            return after(case.ships_back), lambda: self._do(
                c.SubmitWaybill(tid, "sim-courier", f"R{p.index}"), buyer, t), None
        if s == "awaiting_receipt":
            wait = None if case.confirm_return is None else case.return_transit + case.confirm_return
            return after(wait), lambda: self._do(c.ConfirmReturn(tid), shop, t), None
        if s == "awaiting_replacement":
            return after(case.ship_replacement), lambda: self._do(
                c.ShipReplacement(tid, "sim-courier", f"X{p.index}"), shop, t), None
        if s == "replacement_shipped":
            if f.signed is None:
                return after(case.replacement_transit), lambda: self._do(c.SignReplacement(tid), CARRIER, t), "signed"
            return after(case.confirms_replacement, f.signed), lambda: self._do(
                c.ConfirmReplacement(tid), buyer, t), None
        return None  # refunded, completed, closed, cancelled: nothing more to do

    def _after_refusal(self, item: Item) -> None:
        """A refused move: the ticket is still followed, from the deadline it has (if any)."""
        if item[2] == TICKET:
            f: Follow = item[3]
            ticket = self.tx.uow.tickets.get(f.ticket_id)
            if ticket is not None and ticket.due_at is not None:
                due = self._secs(ticket.due_at)
                self._push(max(self._wake_after(due, item[0]), self.t1), TICKET, replace(f, waiting=due))
