"""Webhook endpoints (Standard Webhooks) and the event feed. Endpoints: a shop's owner or admin for
the shop's events, the platform's operator platform-wide. The secret is shown on creation and
rotation only. The feed: events in commit order after an opaque cursor, scoped like everything."""

from collections.abc import Callable
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

from fastapi import APIRouter, Path, Query, Response

from ....services import webhooks as svc
from ..deps import ActorDep, ShouhouDep, read
from ..schemas.common import Offset, Text
from ..schemas.webhooks import (
    DeliveryOut,
    DeliveryPage,
    EndpointIn,
    EndpointOut,
    EndpointPage,
    EndpointPatch,
    EventTypeOut,
    EventTypePage,
    FeedPage,
    RedeliverIn,
)

router = APIRouter(tags=["webhooks"])
P = ParamSpec("P")
T = TypeVar("T")
Limit = Annotated[int, Query(ge=1, le=500)]


def write(sh: ShouhouDep, fn: Callable[Concatenate[Any, P], T], *args: P.args, **kw: P.kwargs) -> T:
    """fn(uow, *args) in a writing unit of work, committed."""
    with sh.uow() as uow:
        out = fn(uow, *args, **kw)
        uow.commit()
    return out


@router.post("/v1/webhook-endpoints", status_code=201, response_model=EndpointOut,
             summary="Register a webhook endpoint (answers its whsec_ secret, shown this once)")
def create(body: EndpointIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return write(sh, svc.create_endpoint, actor, sh.clock.now(), body.url, body.events, body.description, body.shop,
                 allow_private=sh.allow_private_webhooks)


@router.get("/v1/webhook-endpoints", response_model=EndpointPage, summary="Webhook endpoints the caller manages")
def list_(sh: ShouhouDep, actor: ActorDep, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    return read(sh, svc.list_endpoints, actor, limit, offset)


@router.get("/v1/webhook-endpoints/{endpoint_id}", response_model=EndpointOut, summary="One webhook endpoint")
def get(endpoint_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return read(sh, svc.get_endpoint, actor, endpoint_id)


@router.patch("/v1/webhook-endpoints/{endpoint_id}", response_model=EndpointOut,
              summary="Change an endpoint's url, event types, description; enable or disable it")
def update(endpoint_id: str, body: EndpointPatch, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return write(sh, svc.update_endpoint, actor, endpoint_id, sh.clock.now(), body.model_dump(exclude_unset=True),
                 allow_private=sh.allow_private_webhooks)


@router.delete("/v1/webhook-endpoints/{endpoint_id}", status_code=204, response_class=Response,
               summary="Delete an endpoint and what it has not been delivered yet")
def delete(endpoint_id: str, sh: ShouhouDep, actor: ActorDep) -> Response:
    write(sh, svc.delete_endpoint, actor, endpoint_id)
    return Response(status_code=204)


@router.post("/v1/webhook-endpoints/{endpoint_id}/test", status_code=202, summary="Send a test (ping) message")
def test(endpoint_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return write(sh, svc.ping, actor, endpoint_id, sh.clock.now())


@router.post("/v1/webhook-endpoints/{endpoint_id}/rotate-secret", response_model=EndpointOut,
             summary="A new secret; the old one keeps signing beside it for 24 hours")
def rotate(endpoint_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return write(sh, svc.rotate_secret, actor, endpoint_id, sh.clock.now())


@router.get("/v1/webhook-endpoints/{endpoint_id}/deliveries", response_model=DeliveryPage,
            summary="The endpoint's deliveries, newest first, each with its attempts")
def deliveries(endpoint_id: str, sh: ShouhouDep, actor: ActorDep, limit: Limit = 50,
               offset: Offset = 0) -> dict[str, Any]:
    return read(sh, svc.list_deliveries, actor, endpoint_id, limit, offset)


@router.post("/v1/webhook-endpoints/{endpoint_id}/redeliver", status_code=202,
             summary="Send again every message made for the endpoint since a time")
def redeliver_since(endpoint_id: str, body: RedeliverIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return write(sh, svc.redeliver_since, actor, endpoint_id, body.since, sh.clock.now())


@router.post("/v1/webhook-deliveries/{delivery_id}/redeliver", status_code=202, response_model=DeliveryOut,
             summary="Send one message again (same webhook-id)")
def redeliver(delivery_id: Annotated[int, Path(ge=1, le=2**62)], sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return write(sh, svc.redeliver, actor, delivery_id, sh.clock.now())


@router.get("/v1/events", response_model=FeedPage,
            summary="The event feed: events in commit order after a cursor (pass back `next`)")
def events(sh: ShouhouDep, actor: ActorDep, after: Annotated[str, Text(40)] | None = None,
           limit: Limit = 100) -> dict[str, Any]:
    return read(sh, svc.feed, actor, after, limit)


@router.get("/v1/event-types", response_model=EventTypePage, tags=["events"],
            summary="Every event type: what it means, the rules it cites, the JSON Schema of its message")
def event_types(actor: ActorDep) -> dict[str, Any]:
    return svc.event_types()


@router.get("/v1/event-types/{name}", response_model=EventTypeOut, tags=["events"],
            summary="One event type and the JSON Schema of its message")
def event_type(name: Annotated[str, Path(max_length=40)], actor: ActorDep) -> dict[str, Any]:
    return svc.event_type(name)
