"""The one wiring point: clock, database, policy registry and notifier, and the command bus."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from ..adapters import calendar
from ..adapters.blobs import BlobStore, MemoryBlobStore
from ..adapters.notifier import LogNotifier, LogPusher, Notifier, Pusher
from ..adapters.payment import FakeChannel, PaymentChannel
from ..adapters.uow import SqlUnitOfWork
from ..clock import Clock
from ..domain.actors import Actor
from ..domain.events import Event
from ..domain.workdays import IsWorkday
from ..errors import Refusal, refuse
from ..policies import PolicyRegistry
from . import deadlines, money
from .handlers import HANDLERS, Context


def data_refusal() -> Refusal:
    """A value the database will not store (too long for its column, a NUL character): the
    transaction rolled back; the caller hears invalid_input, not a server error."""
    return refuse("invalid_input", "输入内容过长或含有不允许的字符", "a value is too long or holds a character "
                  "that cannot be stored (such as NUL)")


RETRYABLE = ("40001", "40P01")  # PostgreSQL: serialization failure, deadlock detected
log = logging.getLogger("shouhou.app")


class Shouhou:
    """The engine: `handle(command, actor)` runs one use case in one transaction; `tick()` fires
    what is due. Notifications leave only after the commit."""

    def __init__(self, engine: Engine, clock: Clock, policies: PolicyRegistry,
                 notifier: Notifier | None = None, pusher: Pusher | None = None,
                 channel: PaymentChannel | None = None, blobs: BlobStore | None = None,
                 is_workday: IsWorkday | None = None) -> None:
        self.engine, self.clock, self.policies = engine, clock, policies
        self.notifier = notifier or LogNotifier()
        self.pusher = pusher or LogPusher()
        self.channel = channel or FakeChannel()
        self.blobs = blobs or MemoryBlobStore()
        self.is_workday = is_workday or calendar.is_workday
        self._reactor = money.react(policies)

    def uow(self, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, write=write, reactor=self._reactor)

    def handle(self, cmd: object, actor: Actor, now: datetime | None = None) -> Any:
        """Run one command in one transaction. A transaction that loses a race the database detects
        (a PostgreSQL deadlock or serialization failure) is run again from the start; a unique key
        taken meanwhile is an invalid_state refusal. Nothing is written unless it all commits."""
        handler: Callable[..., Any] = HANDLERS[type(cmd)]
        ctx = Context(now=now or self.clock.now(), policies=self.policies, blobs=self.blobs,
                      is_workday=self.is_workday)
        for attempt in range(3):
            try:
                with self.uow() as uow:
                    result = handler(cmd, actor, uow, ctx)
                    events = uow.commit()
                break
            except OperationalError as e:
                if attempt == 2 or getattr(e.orig, "sqlstate", None) not in RETRYABLE:
                    raise
            except IntegrityError:
                raise refuse("invalid_state", "数据已被同时修改,请刷新后重试",
                             "the same record was changed at the same time; reload and try again") from None
            except DataError:
                raise data_refusal() from None
        self._publish(events)
        return result

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

    def tick(self, now: datetime | None = None, batch: int = 200) -> int:
        """Fire every automatic action due by `now`, then send due refunds through the channel."""
        now = now or self.clock.now()
        fired = deadlines.sweep(self.uow, self.policies, now, batch, self._publish)
        for _ in range(1000):  # batch by batch until no refund is due at `now` (each claim moves its due)
            events = money.pay_out(self.uow, self.channel, self.policies, now, batch)
            if not events:
                break
            self._publish(events)
        return fired

    def _publish(self, events: list[Event]) -> None:
        """After commit only: events to the notifier, and pushes for the buyer notices just stored.
        What was committed stands whatever an adapter does: a notifier or pusher that fails is logged
        (the site message is stored and readable through the API) and never fails the command."""
        if not events:
            return
        try:
            self.notifier.publish(events)
        except Exception:  # noqa: BLE001 - an adapter's failure must not undo or hide a committed change
            log.exception("notifier failed on %d events", len(events))
        for e in events:
            if e.type == "buyer_notified" and "push" in e.payload.get("channels", ()):
                try:
                    self.pusher.push(str(e.payload["buyer"]), str(e.payload["title"]), str(e.payload["body"]),
                                     {"order": e.order_id, "message": e.payload.get("message")})
                except Exception:  # noqa: BLE001
                    log.exception("push to buyer %s failed (order %s)", e.payload.get("buyer"), e.order_id)
