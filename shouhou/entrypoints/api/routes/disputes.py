"""Platform intervention (KS-PI-1..3, DY-PI-1): evidence in and out, the case, appeals against a
ruling and their decision, and the platform's console. The intervention's steps that act on the
ticket (respond, evidence-request, ruling) are ticket actions, in tickets.py."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from ....errors import refuse
from ....services import commands as c
from ....services.views import disputes as disputes_views
from ..deps import ActorDep, NowDep, ShouhouDep, read, run
from ..schemas.common import Offset, Text
from ..schemas.disputes import (
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    AppealPage,
    CaseOut,
    CasePage,
)

router = APIRouter(tags=["intervention"])


_NAME = TypeAdapter(Annotated[str, Text(255, min_length=1)])
_TYPE = TypeAdapter(Annotated[str, Text(100)])


def evidence_file(upload: UploadFile) -> c.EvidenceFile:
    """One part of the upload as the command takes it: its name and declared type checked as Text,
    its content the spooled file itself (read in chunks by the blob store, never whole)."""
    declared = (upload.content_type or "application/octet-stream").split(";")[0].strip().lower()
    try:
        name, ctype = _NAME.validate_python(upload.filename or ""), _TYPE.validate_python(declared)
    except ValidationError:
        raise refuse("invalid_input", "文件名须为 1 到 255 个有效字符,类型最多 100 个字符",
                     "a file name is 1 to 255 valid characters and its type at most 100") from None
    return c.EvidenceFile(name, ctype, upload.file, upload.size)


@router.post("/v1/tickets/{ticket_id}/intervention/evidence", status_code=201, response_model=CaseOut,
             summary="Submit evidence (buyer or shop): multipart/form-data, one `files` part per file; its type "
                     "is detected from its bytes and must be the declared one and the pack's (KS-PI-2)")
def submit_evidence(ticket_id: str, files: Annotated[list[UploadFile], File(description="the evidence files")],
                    sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    run(sh, c.SubmitEvidence(ticket_id, tuple(evidence_file(f) for f in files)), actor)
    return read(sh, disputes_views.get_case, actor, ticket_id, now)


@router.get("/v1/tickets/{ticket_id}/intervention", response_model=CaseOut,
            summary="The ticket's intervention: deadlines, evidence, ruling, appeals")
def get_case(ticket_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    return read(sh, disputes_views.get_case, actor, ticket_id, now)


@router.get("/v1/evidence/{evidence_id}/content", summary="Download a piece of evidence (as an attachment)",
            responses={200: {"content": {"application/octet-stream": {}}}})
def evidence_content(evidence_id: str, sh: ShouhouDep, actor: ActorDep) -> Response:
    item = read(sh, disputes_views.evidence_content, actor, evidence_id)
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in item.name)
    disposition = f"attachment; filename=\"{fallback or 'evidence'}\"; filename*=UTF-8''{quote(item.name, safe='', errors='replace')}"
    return Response(sh.blobs.get(item.blob_key), media_type=item.content_type,
                    headers={"X-Content-SHA256": item.sha256, "X-Content-Type-Options": "nosniff",
                             "Content-Disposition": disposition})


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
