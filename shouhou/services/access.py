"""Who may see what, in one place for the write side and the read side: loaders that answer 404 for
what the actor may not see (domain.actors.Actor.sees is the rule), one scoping helper for lists, and
bearer tokens."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import false

from ..adapters.uow import SqlUnitOfWork
from ..domain.actors import Actor, require
from ..domain.complaints import Complaint
from ..domain.disputes import Intervention
from ..domain.entry import ReopenRequest
from ..domain.governance import MeasureInstance
from ..domain.orders import Order
from ..domain.shops import Buyer, Shop
from ..domain.tickets import Ticket
from ..errors import not_found, present, refuse


class Owned(Protocol):
    """Something of a shop (and, for orders, tickets and requests, of a buyer)."""

    @property
    def shop_id(self) -> str: ...


ShopThing = TypeVar("ShopThing", bound=Owned)


def _visible(found: ShopThing | None, actor: Actor, what: str, ident: str) -> ShopThing:
    """`found` if the actor may see it (Actor.sees: its shop, or its buyer where it has one); others'
    objects answer exactly as missing ones do: 404."""
    if found is None or not actor.sees(found.shop_id, getattr(found, "buyer_id", None)):
        raise not_found(what, ident)
    return found


def load_order(uow: SqlUnitOfWork, actor: Actor, order_id: str, lock: bool = False) -> Order:
    return _visible(uow.orders.get(order_id, lock=lock), actor, "order", order_id)


def load_ticket(uow: SqlUnitOfWork, actor: Actor, ticket_id: str, lock: bool = False) -> Ticket:
    return _visible(uow.tickets.get(ticket_id, lock=lock), actor, "ticket", ticket_id)


def load_ticket_and_order(uow: SqlUnitOfWork, actor: Actor, ticket_id: str) -> tuple[Ticket, Order]:
    """A ticket and its order, both locked, always in that order (so two commands cannot deadlock)."""
    ticket = load_ticket(uow, actor, ticket_id, lock=True)
    order = present(uow.orders.get(ticket.order_id, lock=True), f"order {ticket.order_id} of ticket {ticket.id}")
    return ticket, order


def visible_shop(uow: SqlUnitOfWork, actor: Actor, shop_id: str, lock: bool = False) -> Shop:
    shop = uow.shops.get(shop_id, lock=lock)
    if shop is None or not actor.sees(shop.id):
        raise not_found("shop", shop_id)
    return shop


def shop_of(uow: SqlUnitOfWork, shop_id: str) -> Shop:
    """The shop an order, ticket or measure belongs to (it exists: the row refers to it)."""
    return present(uow.shops.get(shop_id), f"shop {shop_id}")


def buyer_of(uow: SqlUnitOfWork, buyer_id: str) -> Buyer:
    """The buyer of an order or ticket (it exists: the row refers to it), with their standing."""
    return present(uow.buyers.get(buyer_id), f"buyer {buyer_id}")


def load_reopen_request(uow: SqlUnitOfWork, actor: Actor, request_id: str, lock: bool = False) -> ReopenRequest:
    return _visible(uow.reopen_requests.get(request_id, lock=lock), actor, "reopen request", request_id)


def load_complaint(uow: SqlUnitOfWork, actor: Actor, complaint_id: str, lock: bool = False) -> Complaint:
    return _visible(uow.complaints.get(complaint_id, lock=lock), actor, "complaint", complaint_id)


def load_measure(uow: SqlUnitOfWork, actor: Actor, measure_id: str, lock: bool = False) -> MeasureInstance:
    return _visible(uow.measures.get(measure_id, lock=lock), actor, "measure", measure_id)


def case_of(uow: SqlUnitOfWork, ticket: Ticket) -> Intervention:
    """The ticket's platform intervention, locked; refused when it has none."""
    case = uow.interventions.get(ticket.intervention_id, lock=True) if ticket.intervention_id else None
    if case is None:
        raise refuse("invalid_state", "该售后单没有平台介入", "this ticket has no platform intervention")
    return case


def scope(actor: Actor, shop_col: Any, buyer_col: Any | None = None) -> list[Any]:
    """The conditions that limit a list to what the actor may see: the same rule as Actor.sees, in
    SQL. Platform: everything; staff: their shop; a buyer: their own rows (none where the rows have
    no buyer)."""
    if actor.is_platform:
        return []
    if actor.is_staff:
        return [shop_col == actor.shop_id]
    if actor.is_buyer and buyer_col is not None:
        return [buyer_col == actor.id]
    return [false()]


def platform_only(actor: Actor, zh: str, en: str) -> None:
    require(actor.is_platform, f"只有平台可以{zh}", f"only the platform may {en}")


# -- bearer tokens ----------------------------------------------------------------------------------

def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for_token(uow: SqlUnitOfWork, token: str, now: datetime | None = None) -> Actor | None:
    """Bearer token -> the actor: a buyer, shop staff (with their shop and role) or platform staff.
    None for a token nobody issued; a revoked or expired one is refused (unauthenticated) with no
    more said than that. `now` is the engine clock's time unless given."""
    row = uow.token(hash_token(token))
    if row is None:
        return None
    if row["revoked_at"] is not None:
        raise refuse("unauthenticated", "令牌已撤销", "token revoked")
    expires_at = row["expires_at"]
    if expires_at is not None and expires_at <= (now or uow.clock.now()):
        raise refuse("unauthenticated", "令牌已过期", "token expired")
    if row["kind"] == "staff":
        member = uow.staff.get(row["actor_id"])
        if member is None:
            return None
        return Actor("staff", member.id, shop_id=member.shop_id, role=member.role)
    return Actor(row["kind"], row["actor_id"], role=row["role"])
