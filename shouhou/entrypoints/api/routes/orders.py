"""Orders: import, read, their events, and the actions on them (ship, sign, confirm)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ....adapters.uow import SqlUnitOfWork
from ....domain.actors import Actor
from ....domain.lines import OrderLine
from ....services import commands as c
from ....services.views import tickets as tickets_views
from ..actions import MakeCommand, action_route
from ..deps import ActorDep, NowDep, ShouhouDep, read, run
from ..schemas.common import EventPage, Offset, page
from ..schemas.orders import OrderIn, OrderOut, ShipIn

router = APIRouter(tags=["orders"])


@router.post("/v1/orders", status_code=201, response_model=OrderOut)
def create_order(body: OrderIn, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    """Import an order (platform). An upsert: the same order re-sent under its id (a retry) answers as
    the first time, 201 with the order as it stands; other content under an existing id is 409."""
    order_id = run(sh, c.ImportOrder(
        id=body.id, shop_id=body.shop, buyer_id=body.buyer, amount_fen=body.amount,
        freight_fen=body.freight, payment=body.payment, kind=body.kind, marketing=body.marketing,
        goods=body.goods, category=body.category, no_reason_return=body.no_reason_return, custom=body.custom,
        commission=dict(body.commission), created_at=body.created_at, shipped_at=body.shipped_at,
        signed_at=body.signed_at, confirmed_at=body.confirmed_at,
        lines=tuple(OrderLine(sku=x.sku, name=x.name, qty=x.qty, price_fen=x.price,
                              listed_price_fen=x.price if x.listed_price is None else x.listed_price, kind=x.kind)
                    for x in body.lines or ())), actor)
    return read(sh, tickets_views.get_order, actor, order_id, now)


@router.get("/v1/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    return read(sh, tickets_views.get_order, actor, order_id, now)


@router.get("/v1/orders/{order_id}/events", response_model=EventPage,
            summary="An order's events and its tickets', oldest first")
def order_events(order_id: str, sh: ShouhouDep, actor: ActorDep,
                 limit: Annotated[int, Query(ge=1, le=500)] = 500, offset: Offset = 0) -> dict[str, Any]:
    return page(read(sh, tickets_views.order_events, actor, order_id), limit, offset)


def order_view(uow: SqlUnitOfWork, actor: Actor, order_id: str, now: datetime) -> dict[str, Any]:
    return tickets_views.get_order(uow, actor, order_id, now)


def order_action(path: str, make: MakeCommand, body_model: type[BaseModel] | None, summary: str) -> None:
    action_route(router, f"/v1/orders/{{order_id}}/{path}", make, body_model, summary,
                 view=order_view, response_model=OrderOut, name=f"order_{path}")


order_action("ship", lambda i, b: c.ShipOrder(i, b.carrier, b.waybill), ShipIn, "Ship (shop staff)")
order_action("sign", lambda i, b: c.SignOrder(i), None, "Signed for (carrier callback, platform)")
order_action("confirm", lambda i, b: c.ConfirmOrder(i), None, "Confirm receipt (buyer)")
