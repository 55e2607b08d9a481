"""After-sales tickets: applying on an order, the work queue, one ticket and its events, and the
actions on a ticket, the platform's intervention steps among them."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from ....adapters.uow import SqlUnitOfWork
from ....domain.actors import Actor
from ....domain.lines import Cover
from ....domain.tickets import TICKET_TYPES
from ....services import commands as c
from ....services.views import tickets as tickets_views
from ..actions import MakeCommand, action_route
from ..deps import ActorDep, ShouhouDep, read, run
from ..responses import SafeJSONResponse
from ..schemas.common import EventPage, Offset, OneOf, Text, When, page
from ..schemas.disputes import RulingIn
from ..schemas.tickets import ApplyIn, ApproveIn, InterventionIn, ReasonIn, TicketOut, TicketPage, WaybillIn

router = APIRouter(tags=["tickets"])
# The two hot reads (one ticket, the queue) answer their view as it is (SafeJSONResponse): the view is
# exactly the response model (tests/e2e/test_hot_reads.py), so FastAPI's validating it again and
# serialising through pydantic, a third of the queue's time, is skipped; and they take the app from
# the request rather than as one more dependency for FastAPI to solve.


@router.post("/v1/orders/{order_id}/tickets", status_code=201, response_model=TicketOut,
             summary="Apply for after-sales (buyer)")
def apply(order_id: str, body: ApplyIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    cover = None if body.lines is None else tuple(Cover(x.sku, x.qty) for x in body.lines)
    return run(sh, c.Apply(order_id, body.type, body.reason, body.amount, tuple(body.evidence), body.note, cover),  # type: ignore[no-any-return]
               actor, show=lambda uow, ticket_id: tickets_views.get_ticket(uow, actor, ticket_id))


@router.get("/v1/tickets", response_model=TicketPage,
            summary="The work queue: tickets you may see, soonest deadline first")
def list_tickets(
    request: Request, actor: ActorDep,
    status: Annotated[list[str] | None, Query()] = None,
    type: Annotated[str, Text(32), OneOf(TICKET_TYPES)] | None = None,  # noqa: A002 - the API's word
    over_period: bool | None = None, shop: str | None = None, order: str | None = None,
    due_before: When | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Any:
    statuses = [x for part in (status or []) for x in part.split(",") if x]
    return SafeJSONResponse(read(request.app.state.shouhou, tickets_views.list_tickets, actor, statuses=statuses, type_=type,
                                 over_period=over_period, shop=shop, order=order, due_before=due_before,
                                 limit=limit, offset=offset))


@router.get("/v1/tickets/{ticket_id}", response_model=TicketOut,
            summary="A ticket with its timeline")
def get_ticket(ticket_id: str, request: Request, actor: ActorDep) -> Any:
    return SafeJSONResponse(read(request.app.state.shouhou, tickets_views.get_ticket, actor, ticket_id))


@router.get("/v1/tickets/{ticket_id}/events", response_model=EventPage,
            summary="A ticket's events, oldest first")
def ticket_events(ticket_id: str, sh: ShouhouDep, actor: ActorDep,
                  limit: Annotated[int, Query(ge=1, le=500)] = 500, offset: Offset = 0) -> dict[str, Any]:
    return page(read(sh, tickets_views.ticket_events, actor, ticket_id), limit, offset)


def ticket_view(uow: SqlUnitOfWork, actor: Actor, ticket_id: str, now: datetime) -> dict[str, Any]:
    return tickets_views.get_ticket(uow, actor, ticket_id)


def ticket_action(path: str, make: MakeCommand, body_model: type[BaseModel] | None, summary: str) -> None:
    action_route(router, f"/v1/tickets/{{ticket_id}}/{path}", make, body_model, summary,
                 view=ticket_view, response_model=TicketOut, name=f"ticket_{path.replace('-', '_')}")


ticket_action("cancel", lambda i, b: c.Cancel(i), None, "Cancel (buyer)")
ticket_action("approve", lambda i, b: c.Approve(i, b.return_address), ApproveIn, "Approve (shop)")
ticket_action("reject", lambda i, b: c.Reject(i, b.reason, tuple(b.evidence)), ReasonIn,
              "Reject with a reason (shop, KS-RR-4)")
ticket_action("waybill", lambda i, b: c.SubmitWaybill(i, b.carrier, b.waybill), WaybillIn,
              "Submit the return waybill (buyer)")
ticket_action("confirm-return", lambda i, b: c.ConfirmReturn(i), None, "Confirm the returned goods (shop)")
ticket_action("refuse-return", lambda i, b: c.RefuseReturn(i, b.reason, tuple(b.evidence)), ReasonIn,
              "Refuse the returned parcel: a dispute for the platform (shop)")
ticket_action("intervention", lambda i, b: c.RequestIntervention(i, b.reason), InterventionIn,
              "Ask for platform intervention after a rejection or on a stalled exchange (buyer or shop)")
ticket_action("ship-replacement", lambda i, b: c.ShipReplacement(i, b.carrier, b.waybill), WaybillIn,
              "Ship the replacement, repaired item or reshipped goods (shop, GEN-EX-1/3)")
ticket_action("sign-replacement", lambda i, b: c.SignReplacement(i), None,
              "The replacement was signed for (carrier callback, platform)")
ticket_action("confirm-replacement", lambda i, b: c.ConfirmReplacement(i), None,
              "Confirm the replacement arrived (buyer)")
ticket_action("refund-instead", lambda i, b: c.RefundInstead(i), None,
              "Refund instead of exchanging (shop, GEN-EX-2)")
ticket_action("intervention/respond", lambda i, b: c.RespondIntervention(i), None,
              "Platform CS takes the case (KS-PI-1)")
ticket_action("intervention/evidence-request", lambda i, b: c.RequestEvidence(i), None,
              "Platform CS asks both sides for evidence (KS-PI-2, DY-PI-1)")
ticket_action("intervention/ruling",
              lambda i, b: c.Rule(i, b.in_favour_of, b.remedy, b.amount, b.fault, b.finding, b.cover()), RulingIn,
              "Platform CS rules, naming who was at fault (KS-PI-2), with a finding's remedy (KS-PI-4, -5, -6)")
ticket_action("cannot-reship", lambda i, b: c.CannotReship(i), None,
              "The shop cannot reship the missing lines: the platform compensates them at once (shop, KS-PI-4)")
ticket_action("compensation-claim", lambda i, b: c.ClaimCompensation(i), None,
              "Claim compensation after a wrong-item ruling: a delayed-shipment record (buyer, KS-PI-5, KS-GOV-5)")
ticket_action("goods-retrieved", lambda i, b: c.RetrieveGoods(i), None,
              "The shop has collected the goods from the buyer (shop, KS-PI-6)")
