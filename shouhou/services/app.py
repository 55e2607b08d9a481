"""The one wiring point: the engine with its clock, database, policy packs and adapters, the table of
commands and their handlers, and the worker's tick."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from ..adapters import calendar
from ..adapters.blobs import BlobStore, MemoryBlobStore
from ..adapters.notifier import MemoryNotifier, MemoryPusher, Notifier, Pusher
from ..adapters.payment import FakeChannel, PaymentChannel
from ..adapters.uow import SqlUnitOfWork
from ..adapters.webhook_sender import HttpSender, Sender
from ..clock import Clock
from ..domain.actors import Actor
from ..domain.events import Event
from ..domain.workdays import IsWorkday
from ..errors import Refusal, refuse
from ..policies import PolicyRegistry
from . import (
    automation,
    complaints,
    deadlines,
    disputes,
    entry,
    freight,
    governance,
    money,
    operations,
    orders,
    reactions,
    shops,
    tickets,
)
from . import commands as c
from .access import TokenCache, hash_token, lookup_token
from .context import RETRYABLE, Context
from .dispatch import Dispatcher

Handler = Callable[[Any, Actor, SqlUnitOfWork, Context], Any]

HANDLERS: dict[type, Handler] = {
    # shops, staff, buyers, tokens
    c.CreateShop: shops.create_shop,
    c.SetShopStatus: shops.set_shop_status,
    c.AddStaff: shops.add_staff,
    c.AddBuyer: shops.add_buyer,
    c.SetBuyerStanding: shops.set_buyer_standing,
    c.IssueToken: shops.issue_token,
    c.RevokeToken: shops.revoke_token,
    # orders
    c.ImportOrder: orders.import_order,
    c.ShipOrder: orders.ship_order,
    c.SignOrder: orders.sign_order,
    c.ConfirmOrder: orders.confirm_order,
    # tickets (RULES §2–§5)
    c.Apply: tickets.apply,
    c.Cancel: tickets.cancel,
    c.Approve: tickets.approve,
    c.Reject: tickets.reject,
    c.SubmitWaybill: tickets.submit_waybill,
    c.ConfirmReturn: tickets.confirm_return,
    c.ShipReplacement: tickets.ship_replacement,
    c.SignReplacement: tickets.sign_replacement,
    c.ConfirmReplacement: tickets.confirm_replacement,
    c.RefundInstead: tickets.refund_instead,
    # the over-period entry (RULES §7)
    c.OpenEntry: entry.open_entry,
    c.RequestReopen: entry.request_reopen,
    c.DeclineReopen: entry.decline_reopen,
    # complaints (投诉工单, KS-EXIT-1)
    c.FileComplaint: complaints.file_complaint,
    c.CloseComplaint: complaints.close_complaint,
    # freight claims (运费申请, GEN-FREIGHT-1)
    c.ClaimFreight: freight.claim_freight,
    c.DecideFreight: freight.decide_freight,
    # money (RULES §8)
    c.TopUp: money.top_up,
    c.WithdrawDeposit: money.withdraw_deposit,
    # the shop's automation rules (GEN-AUTO-1)
    c.SetAutomation: automation.set_automation,
    # platform intervention (RULES §6)
    c.RefuseReturn: disputes.refuse_return,
    c.RequestIntervention: disputes.request_intervention,
    c.RespondIntervention: disputes.respond,
    c.RequestEvidence: disputes.request_evidence,
    c.SubmitEvidence: disputes.submit_evidence,
    c.Rule: disputes.rule,
    c.CannotReship: disputes.cannot_reship,  # KS-PI-4
    c.ClaimCompensation: disputes.claim_compensation,  # KS-PI-5
    c.RetrieveGoods: disputes.retrieve_goods,  # KS-PI-6
    c.FileAppeal: disputes.file_ruling_appeal,
    c.DecideAppeal: disputes.decide_ruling_appeal,
    # merchant governance (RULES §9)
    c.EvaluateShop: governance.evaluate_shop,
    c.LiftMeasure: governance.lift_measure,
    c.AppealMeasure: governance.appeal_measure,
    c.DecideMeasureAppeal: governance.decide_measure_appeal,
    # operations
    c.RetryParked: operations.retry_parked,
}

TOKEN_TTL = timedelta(seconds=5)  # how long a token read stays cached (SHOUHOU_TOKEN_CACHE_SECONDS)
log = logging.getLogger("shouhou.app")


def data_refusal() -> Refusal:
    """A value the database will not store (too long for its column, a NUL character): the
    transaction rolled back; the caller hears invalid_input, not a server error."""
    return refuse("invalid_input", "输入内容过长或含有不允许的字符", "a value is too long or holds a character "
                  "that cannot be stored (such as NUL)")


class Shouhou:
    """The engine: `handle(command, actor)` runs one use case in one transaction; `tick()` fires
    what is due. Notifications leave only after the commit.

    Every adapter is named: a process that forgets its payment channel or blob store fails at start
    instead of refunding through a fake. Tests, the demo and the scenario runner build the engine
    with in-memory stand-ins through `Shouhou.with_fakes`."""

    def __init__(self, engine: Engine, clock: Clock, policies: PolicyRegistry, *, notifier: Notifier,
                 pusher: Pusher, channel: PaymentChannel, blobs: BlobStore,
                 is_workday: IsWorkday = calendar.is_workday, token_ttl: timedelta = TOKEN_TTL) -> None:
        self.engine, self.clock, self.policies = engine, clock, policies
        self.notifier, self.pusher, self.channel, self.blobs = notifier, pusher, channel, blobs
        self.is_workday = is_workday
        self.allow_private_webhooks = False  # SHOUHOU_WEBHOOK_ALLOW_PRIVATE: endpoints on your own network
        self.tokens = TokenCache(token_ttl)  # see access.TokenCache for how long a revoked token lasts
        # Told every committed batch of events after the notifier (the operators' metrics count the
        # worker's actions and payouts from them): what an observer does never fails a command.
        self.observers: list[Callable[[list[Event]], None]] = []

    @classmethod
    def with_fakes(cls, engine: Engine, clock: Clock, policies: PolicyRegistry, notifier: Notifier | None = None,
                   pusher: Pusher | None = None, channel: PaymentChannel | None = None,
                   blobs: BlobStore | None = None, is_workday: IsWorkday | None = None) -> Shouhou:
        """For tests, the demo and scenarios: in-memory notifier, pusher and blob store and the fake
        payment channel, wherever no adapter is given."""
        return cls(engine, clock, policies, notifier=notifier or MemoryNotifier(), pusher=pusher or MemoryPusher(),
                   channel=channel or FakeChannel(), blobs=blobs or MemoryBlobStore(),
                   is_workday=is_workday or calendar.is_workday)

    def context(self, now: datetime | None = None) -> Context:
        return Context(now=now or self.clock.now(), policies=self.policies, blobs=self.blobs,
                       is_workday=self.is_workday)

    def dispatcher(self, sender: Sender | None = None, *, batch: int = 50, threads: int = 1) -> Dispatcher:
        """The outbox's dispatcher over this engine: webhooks through `sender` (HTTP by default) and
        DY-OP-10's pushes through this engine's pusher."""
        sender = sender or HttpSender(allow_private=self.allow_private_webhooks)
        return Dispatcher(self.uow, self.clock, sender, batch=batch, threads=threads,
                          pusher=self.pusher)

    def uow(self, write: bool = True, ctx: Context | None = None) -> SqlUnitOfWork:
        """A unit of work whose commit runs the reaction table at ctx.now (the clock's now unless given)."""
        return SqlUnitOfWork(self.engine, self.clock, write=write, reactor=reactions.reactor(ctx or self.context()))

    def handle(self, cmd: object, actor: Actor, now: datetime | None = None,
               show: Callable[[SqlUnitOfWork, Any], Any] | None = None) -> Any:
        """Run one command in one transaction. A transaction that loses a race the database detects
        (a PostgreSQL deadlock or serialization failure) is run again from the start; a unique key
        taken meanwhile is an invalid_state refusal. Nothing is written unless it all commits.
        Returns the handler's result; with `show`, show(uow, result) instead, read in the same
        transaction just before it commits: the caller's view of exactly what committed, with no
        second transaction."""
        handler = HANDLERS[type(cmd)]
        ctx = self.context(now)
        shown: list[Any] = []
        for attempt in range(3):
            try:
                with self.uow(ctx=ctx) as uow:
                    result = handler(cmd, actor, uow, ctx)
                    shown.clear()
                    then = None if show is None else (lambda u=uow, r=result: shown.append(show(u, r)))
                    events = uow.commit(then)
                break
            except OperationalError as e:
                if attempt == 2 or getattr(e.orig, "sqlstate", None) not in RETRYABLE:
                    raise
            except IntegrityError:
                raise refuse("invalid_state", "数据已被同时修改,请刷新后重试",
                             "the same record was changed at the same time; reload and try again") from None
            except DataError:
                raise data_refusal() from None
        if isinstance(cmd, c.RevokeToken):
            self.tokens.clear()  # this process refuses the token from its next request on
        self._publish(events)
        return shown[0] if show is not None else result

    def authenticate(self, token: str, now: datetime | None = None) -> Actor | None:
        """Bearer token -> the actor (None for a token nobody issued; revoked or expired ones are
        refused), from the token cache when it read the token less than its ttl ago, else from the
        database in a read-only transaction of its own."""
        now = now or self.clock.now()
        key = hash_token(token)
        known = self.tokens.get(key, now)
        if known is None:
            with self.uow(write=False) as uow:
                known = lookup_token(uow, key)
            if known is None:
                return None
            self.tokens.put(key, known)
        return known.admit(now)

    def handle_each(self, cmds: list[object], actor: Actor) -> list[tuple[Any, Refusal | None]]:
        """Bulk: each command in its own transaction; one refusal does not undo the others."""
        out: list[tuple[Any, Refusal | None]] = []
        now = self.clock.now()
        for cmd in cmds:
            try:
                out.append((self.handle(cmd, actor, now=now), None))
            except Refusal as e:
                out.append((None, e))
        return out

    @contextmanager
    def together(self, now: datetime) -> Iterator[Together]:
        """Several commands in one transaction, each at its own time (`Together.do`), the reactions
        at commit at `now`; for callers that play many at once (the simulator's steps, bulk loads).
        All or nothing: a refusal leaves the `with` and rolls every command back. Events are
        published after the commit, as `handle` does."""
        ctx = self.context(now)
        with self.uow(ctx=ctx) as uow:
            batch = Together(uow, ctx)
            yield batch
            events = uow.commit()
        self._publish(events)

    def tick(self, now: datetime | None = None, batch: int = 200, worker: str | None = None,
             stop: Callable[[], bool] | None = None) -> int:
        """Fire every automatic action due by `now` and send the refunds due, batch by batch, a batch
        of each in turn: a backlog of deadlines never starves the payouts behind it. Without `now`
        (a live worker) each round reads the clock again, so what falls due while a backlog is swept
        is taken in the same tick, without sleeping. `stop` is asked between rounds: a worker told to
        stop finishes the batch in progress and returns. `worker` names the process in the heartbeat
        table, written after every round (so /healthz sees a worker that is busy with a long backlog
        as alive). Returns how many actions fired."""
        live = now is None
        ctx = self.context(now)
        fired = 0
        for _ in range(1_000_000):  # until nothing is due (each payout claim moves its due time)
            def uow(ctx: Context = ctx) -> SqlUnitOfWork:
                return self.uow(ctx=ctx)
            n = deadlines.sweep_batch(uow, ctx, batch, self._publish)
            paid = money.pay_out(uow, self.channel, self.policies, ctx.now, batch)
            self._publish(paid)
            fired += n
            if worker is not None:
                self._beat(worker, ctx, live, n)
            if (n == 0 and not paid) or (stop is not None and stop()):
                break
            if live:
                ctx = self.context()
        return fired

    def _beat(self, worker: str, ctx: Context, live: bool, fired: int) -> None:
        """The heartbeat: on a live tick, the time now; on a tick at a given instant, that instant."""
        with self.uow(ctx=ctx) as uow:
            uow.beat(worker, self.clock.now() if live else ctx.now, fired, None)
            uow.commit()

    def _publish(self, events: list[Event]) -> None:
        """After commit only: events to the notifier. What was committed stands whatever it does: a
        notifier that fails is logged and never fails the command. (Webhooks and DY-OP-10's pushes
        leave through the outbox: see services/dispatch.)"""
        if not events:
            return
        for observe in self.observers:
            try:
                observe(events)
            except Exception:  # noqa: BLE001 - counting must never undo or hide a committed change
                log.exception("observer failed on %d events", len(events))
        try:
            self.notifier.publish(events)
        except Exception:  # noqa: BLE001 - an adapter's failure must not undo or hide a committed change
            log.exception("notifier failed on %d events", len(events))


class Together:
    """The open transaction of `Shouhou.together`: `do` runs one command in it, at `at`."""

    def __init__(self, uow: SqlUnitOfWork, ctx: Context) -> None:
        self.uow, self.ctx = uow, ctx

    def do(self, cmd: object, actor: Actor, at: datetime) -> Any:
        return HANDLERS[type(cmd)](cmd, actor, self.uow, replace(self.ctx, now=at))
