"""The over-period entry (超售后期打开售后入口): its state and conditions, opening it (one order or
many), buyers' requests to reopen it and the shop's answer, and the buyer's site messages."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ....services import commands as c
from ....services.views import entry as entry_views
from ..deps import ActorDep, NowDep, ShouhouDep, read, run
from ..schemas.common import Offset, OneOf, Text
from ..schemas.entry import (
    BulkOpenIn,
    BulkOpenOut,
    DeclineIn,
    EntryOut,
    MessagePage,
    ReopenIn,
    ReopenOut,
    ReopenPage,
)

router = APIRouter(tags=["entry"])


@router.get("/v1/orders/{order_id}/entry", response_model=EntryOut,
            summary="The entry's state and every condition of opening it, with rule, figures and why")
def get_entry(order_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    return read(sh, entry_views.entry_view, actor, order_id, sh.policies, now)


@router.post("/v1/orders/{order_id}/entry/open", response_model=EntryOut,
             summary="Open the entry past the period (owner, admin, CS admin on Kuaishou: KS-OP-6)")
def open_entry(order_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    run(sh, c.OpenEntry(order_id), actor)
    return read(sh, entry_views.entry_view, actor, order_id, sh.policies, now)


@router.post("/v1/entries/open", response_model=BulkOpenOut,
             summary="Open the entry of many orders: each its own result")
def open_entries(body: BulkOpenIn, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    results = []
    for order_id, (_, refusal) in zip(body.orders, sh.handle_each([c.OpenEntry(o) for o in body.orders], actor),
                                       strict=True):
        if refusal is None:
            view = read(sh, entry_views.entry_view, actor, order_id, sh.policies, now)
            results.append({"order": order_id, "ok": True, "closes_at": view["closes_at"]})
        else:
            results.append({"order": order_id, "ok": False, "error": refusal.as_dict()})
    opened = sum(1 for r in results if r["ok"])
    return {"opened": opened, "refused": len(results) - opened, "results": results}


@router.post("/v1/orders/{order_id}/entry/requests", status_code=201, response_model=ReopenOut,
             summary="Ask the shop to open the entry again (buyer, DY-OP-6)")
def request_reopen(order_id: str, body: ReopenIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    req_id = run(sh, c.RequestReopen(order_id, body.note), actor)
    return read(sh, entry_views.get_reopen_request, actor, req_id)


@router.get("/v1/reopen-requests", response_model=ReopenPage,
            summary="Buyers' requests to open the entry: the shop's queue")
def reopen_requests(sh: ShouhouDep, actor: ActorDep,
                    status: Annotated[str, Text(16), OneOf(("pending", "opened", "declined"))] | None = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    offset: Offset = 0) -> dict[str, Any]:
    return read(sh, entry_views.list_reopen_requests, actor, status, limit, offset)


@router.post("/v1/reopen-requests/{request_id}/decline", response_model=ReopenOut,
             summary="Decline a buyer's request with a reason (shop)")
def decline(request_id: str, body: DeclineIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.DeclineReopen(request_id, body.reason), actor)
    return read(sh, entry_views.get_reopen_request, actor, request_id)


@router.get("/v1/messages", response_model=MessagePage, summary="The buyer's site messages (站内信)")
def messages(sh: ShouhouDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
             offset: Offset = 0) -> dict[str, Any]:
    return read(sh, entry_views.list_messages, actor, limit, offset)
