"""The one wiring point: clock, database, policy registry and notifier, and the command bus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ..adapters.notifier import LogNotifier, LogPusher, Notifier, Pusher
from ..adapters.payment import FakeChannel, PaymentChannel
from ..adapters.uow import SqlUnitOfWork
from ..clock import Clock
from ..domain.actors import Actor
from ..domain.events import Event
from ..errors import Refusal
from ..policies import PolicyRegistry
from . import deadlines, money
from .handlers import HANDLERS, Context


class Shouhou:
    """The engine: `handle(command, actor)` runs one use case in one transaction; `tick()` fires
    what is due. Notifications leave only after the commit."""

    def __init__(self, engine: Engine, clock: Clock, policies: PolicyRegistry,
                 notifier: Notifier | None = None, pusher: Pusher | None = None,
                 channel: PaymentChannel | None = None) -> None:
        self.engine, self.clock, self.policies = engine, clock, policies
        self.notifier = notifier or LogNotifier()
        self.pusher = pusher or LogPusher()
        self.channel = channel or FakeChannel()
        self._reactor = money.react(policies)

    def uow(self, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, write=write, reactor=self._reactor)

    def handle(self, cmd: object, actor: Actor, now: datetime | None = None) -> Any:
        handler: Callable[..., Any] = HANDLERS[type(cmd)]
        ctx = Context(now=now or self.clock.now(), policies=self.policies)
        with self.uow() as uow:
            result = handler(cmd, actor, uow, ctx)
            events = uow.commit()
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
        self._publish(money.pay_out(self.uow, self.channel, self.policies, now, batch))
        return fired

    def _publish(self, events: list[Event]) -> None:
        """After commit only: events to the notifier, and pushes for the buyer notices just stored."""
        if not events:
            return
        self.notifier.publish(events)
        for e in events:
            if e.type == "buyer_notified" and "push" in e.payload.get("channels", ()):
                self.pusher.push(str(e.payload["buyer"]), str(e.payload["title"]), str(e.payload["body"]),
                                 {"order": e.order_id, "message": e.payload.get("message")})
