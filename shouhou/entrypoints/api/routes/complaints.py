"""Complaints (投诉工单): the buyer files one on their order, everyone lists and reads those they may
see, and platform staff close them. An open complaint blocks the shop's exit (KS-EXIT-1)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ....services import commands as c
from ....services.views import complaints as views
from ..deps import ActorDep, ShouhouDep, read, run
from ..schemas.common import Offset, OneOf, Text
from ..schemas.complaints import CloseComplaintIn, ComplaintIn, ComplaintOut, ComplaintPage

router = APIRouter(tags=["complaints"])


@router.post("/v1/orders/{order_id}/complaints", status_code=201, response_model=ComplaintOut,
             summary="Complain about an order (its buyer; blocks the shop's exit while open: KS-EXIT-1)")
def file_complaint(order_id: str, body: ComplaintIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    complaint_id = run(sh, c.FileComplaint(order_id, body.reason), actor)
    return read(sh, views.get_complaint, actor, complaint_id)


@router.get("/v1/complaints", response_model=ComplaintPage,
            summary="Complaints: the buyer's own, the shop's, or all for the platform")
def complaints(sh: ShouhouDep, actor: ActorDep,
               status: Annotated[str, Text(16), OneOf(("open", "closed"))] | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Offset = 0) -> dict[str, Any]:
    return read(sh, views.list_complaints, actor, status, limit, offset)


@router.get("/v1/complaints/{complaint_id}", response_model=ComplaintOut, summary="One complaint")
def get_complaint(complaint_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return read(sh, views.get_complaint, actor, complaint_id)


@router.post("/v1/complaints/{complaint_id}/close", response_model=ComplaintOut,
             summary="Close a complaint, with an answer if any (platform)")
def close_complaint(complaint_id: str, body: CloseComplaintIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.CloseComplaint(complaint_id, body.answer), actor)
    return read(sh, views.get_complaint, actor, complaint_id)
