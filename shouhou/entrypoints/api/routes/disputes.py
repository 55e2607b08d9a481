"""Platform intervention (KS-PI-1..3, DY-PI-1): evidence in and out, the case, appeals against a
ruling and their decision, and the platform's console. The intervention's steps that act on the
ticket (respond, evidence-request, ruling) are ticket actions, in tickets.py."""

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ....errors import refuse
from ....services import commands as c
from ....services.views import disputes as disputes_views
from ..deps import ActorDep, NowDep, ShouhouDep, read, run
from ..schemas.common import Offset
from ..schemas.disputes import (
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    AppealPage,
    CaseOut,
    CasePage,
    EvidenceIn,
)

router = APIRouter(tags=["intervention"])


@router.post("/v1/tickets/{ticket_id}/intervention/evidence", status_code=201,
             response_model=CaseOut, summary="Submit evidence (buyer or shop), stored by SHA-256")
def submit_evidence(ticket_id: str, body: EvidenceIn, sh: ShouhouDep, actor: ActorDep,
                    now: NowDep) -> dict[str, Any]:
    files = []
    for item in body.items:
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise refuse("invalid_input", f"{item.name}:content_base64 不是有效的 base64",
                         f"{item.name}: content_base64 is not valid base64") from None
        files.append(c.EvidenceFile(item.name, item.content_type, content))
    run(sh, c.SubmitEvidence(ticket_id, tuple(files)), actor)
    return read(sh, disputes_views.get_case, actor, ticket_id, now)


@router.get("/v1/tickets/{ticket_id}/intervention", response_model=CaseOut,
            summary="The ticket's intervention: deadlines, evidence, ruling, appeals")
def get_case(ticket_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    return read(sh, disputes_views.get_case, actor, ticket_id, now)


@router.get("/v1/evidence/{evidence_id}/content", summary="Download a piece of evidence")
def evidence_content(evidence_id: str, sh: ShouhouDep, actor: ActorDep) -> Response:
    item = read(sh, disputes_views.evidence_content, actor, evidence_id)
    return Response(sh.blobs.get(item.blob_key), media_type=item.content_type,
                    headers={"X-Content-SHA256": item.sha256})


@router.post("/v1/tickets/{ticket_id}/appeals", status_code=201, response_model=AppealOut,
             summary="Appeal a ruling against the shop within 48 h of the refund (KS-PI-3)")
def file_appeal(ticket_id: str, body: AppealIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    appeal_id = run(sh, c.FileAppeal(ticket_id, body.reason), actor)
    return read(sh, disputes_views.get_appeal, actor, appeal_id)


@router.get("/v1/appeals", response_model=AppealPage,
            summary="Appeals by answer deadline (platform: all; shop: its own)")
def appeals(sh: ShouhouDep, actor: ActorDep, status: str | None = None,
            limit: Annotated[int, Query(ge=1, le=500)] = 50,
            offset: Offset = 0) -> dict[str, Any]:
    return read(sh, disputes_views.list_appeals, actor, status, limit, offset)


@router.post("/v1/appeals/{appeal_id}/decision", response_model=AppealOut,
             summary="Uphold or reject an appeal (platform, KS-PI-3)")
def decide_appeal(appeal_id: str, body: AppealDecisionIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.DecideAppeal(appeal_id, body.upheld, body.answer, body.fault_after), actor)
    return read(sh, disputes_views.get_appeal, actor, appeal_id)


@router.get("/v1/platform/interventions", response_model=CasePage,
            summary="The platform console: open cases by response deadline, SLA misses flagged (KS-PI-1)")
def platform_interventions(sh: ShouhouDep, actor: ActorDep, now: NowDep, status: str | None = None,
                           sla_missed: bool | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                           offset: Offset = 0) -> dict[str, Any]:
    return read(sh, disputes_views.platform_interventions, actor, now, status, sla_missed, limit, offset)
