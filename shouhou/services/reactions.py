"""The reaction table: what happens, in the same transaction, when an event is recorded. The unit of
work runs it at commit (adapters.uow.SqlUnitOfWork.commit), on the events each flush stores, until
nothing new happens. This is the only place where one business area answers another's events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..adapters.uow import Reactor, SqlUnitOfWork
from ..domain.events import Event
from . import automation, fast_lanes, governance, money
from .context import Context

Reaction = Callable[[SqlUnitOfWork, Context, Event], None]
Batch = Callable[[SqlUnitOfWork, Context, Sequence[Event]], None]


@dataclass(frozen=True)
class Together:
    """A reaction that takes all of one flush's events of its types at once, after the per-event
    reactions; `first` runs before any reaction (to take row locks in a fixed order)."""

    handle: Batch
    first: Batch | None = None


# KS-GOV-3: overdue records (KS-GOV-1) and rulings are evaluated in the transaction that makes them,
# each at its own time (a sweep's batch may hold many of one shop's).
GOVERNANCE = Together(governance.evaluate_on_records, first=governance.lock_shops)

REACTIONS: dict[str, tuple[Reaction | Together, ...]] = {
    "shop_created": (money.open_accounts,),  # opening balances
    "order_created": (money.take_payment,),  # into escrow (GEN-ORD-3)
    "order_completed": (money.settle,),  # settlement net of refunds (GEN-ORD-3, GEN-ORD-4)
    # escrow, or wallet -> deposit -> advance (DY-OP-9); clawbacks; a DY-FAST-1 advance recovered
    "refunded": (money.fund_refund, fast_lanes.recover_rest),
    "fast_refund": (fast_lanes.advance,),  # DY-FAST-1: the platform pays the buyer first
    "auto_closed": (fast_lanes.recover_unrefunded,),  # a ruled return never sent back: the buyer repays
    # the shop pays the buyer beyond a refund (KS-GOV-5, KS-PI-4, GEN-FREIGHT-1)
    **{kind: (money.shop_pays_buyer,) for kind in money.SHOP_PAYS},
    # GEN-AUTO-1: the shop's rules approve a new application, confirm receipt of a returned parcel
    "applied": (automation.act_for_shop,),
    "waybill_submitted": (automation.act_for_shop,),
    "overdue_recorded": (GOVERNANCE,),
    "delayed_shipment": (GOVERNANCE,),  # KS-GOV-5: counted like an overdue record
    "ruled": (fast_lanes.recover_unrefunded, GOVERNANCE),  # DY-FAST-1: closed after an advance
    "appeal_upheld": (GOVERNANCE,),
}


def react(uow: SqlUnitOfWork, ctx: Context, events: Sequence[Event]) -> None:
    """Run the table on `events`, in their order."""
    together: dict[Together, list[Event]] = {}
    for e in events:
        for r in REACTIONS.get(e.type, ()):
            if isinstance(r, Together):
                together.setdefault(r, []).append(e)
    for r, batch in together.items():
        if r.first is not None:
            r.first(uow, ctx, batch)
    for e in events:
        for r in REACTIONS.get(e.type, ()):
            if not isinstance(r, Together):
                r(uow, ctx, e)
    for r, batch in together.items():
        r.handle(uow, ctx, batch)


def reactor(ctx: Context) -> Reactor:
    """The table bound to one command's or one sweep's context, for the unit of work."""
    def run(uow: SqlUnitOfWork, events: list[Event]) -> None:
        react(uow, ctx, events)
    return run
