"""Who may see what, in one place for the write side and the read side: loaders that answer 404 for
what the actor may not see (domain.actors.Actor.sees is the rule), one scoping helper for lists, and
bearer tokens."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    found = lookup_token(uow, hash_token(token))
    return None if found is None else found.admit(now or uow.clock.now())


@dataclass(frozen=True)
class KnownToken:
    """What a token stands for as read from its row (and, for staff, their staff row), at `read_at`."""

    id: str
    actor: Actor
    expires_at: datetime | None
    revoked: bool
    read_at: datetime

    def admit(self, now: datetime) -> Actor:
        """The actor, unless the token is revoked or has expired by `now` (unauthenticated)."""
        if self.revoked:
            raise refuse("unauthenticated", "令牌已撤销", "token revoked")
        if self.expires_at is not None and self.expires_at <= now:
            raise refuse("unauthenticated", "令牌已过期", "token expired")
        return self.actor


def lookup_token(uow: SqlUnitOfWork, token_hash: str) -> KnownToken | None:
    """The token's row read at the clock's now; None for a token nobody issued (or whose staff
    member is gone)."""
    row = uow.token(token_hash)
    if row is None:
        return None
    if row["kind"] == "staff":
        member = uow.staff.get(row["actor_id"])
        if member is None:
            return None
        actor = Actor("staff", member.id, shop_id=member.shop_id, role=member.role)
    else:
        actor = Actor(row["kind"], row["actor_id"], role=row["role"])
    return KnownToken(row["id"], actor, row["expires_at"], row["revoked_at"] is not None, uow.clock.now())


class TokenCache:
    """Tokens this process has read lately, so that a request needs no statement to know its caller.

    An entry is used for `ttl` of the engine's clock after its row was read, then read again. Expiry
    is checked against each request's own time (a cached token expires exactly when its row says).
    Revocation: the process that revokes a token forgets every entry at once (Shouhou.handle), so its
    next request is refused; another process (another `serve --workers` worker, the CLI, another
    host) keeps using its entry until it is `ttl` old: that is the bound on how long a token revoked
    elsewhere still works. Tokens nobody issued are never cached (a token issued a moment later
    works at once). At most `size` entries; the oldest read goes first. ttl 0: no cache."""

    def __init__(self, ttl: timedelta, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, KnownToken] = {}
        self._lock = threading.Lock()  # the route threads share it; a read takes no lock

    def get(self, token_hash: str, now: datetime) -> KnownToken | None:
        """The entry if it is fresh at `now` (read less than ttl ago, and not in the future of a
        clock that was set back)."""
        found = self._entries.get(token_hash)
        if found is None or not found.read_at <= now < found.read_at + self.ttl:
            return None
        return found

    def put(self, token_hash: str, known: KnownToken) -> None:
        if self.ttl <= timedelta(0):
            return
        with self._lock:
            self._entries.pop(token_hash, None)
            while len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[token_hash] = known

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
