"""Merchant governance over HTTP (RULES §9): a shop's 30-day metrics, score and level with every input
(KS-GOV-2), its measures (KS-GOV-3, KS-GOV-4), lifting by platform staff, appeals by the shop, and the
all-shops report (platform; a shop sees only its own row). Routes only translate."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ....domain.governance import MEASURE_STATUSES
from ....errors import refuse
from ....services import commands as c
from ....services.views import governance as governance_views
from ..deps import ActorDep, NowDep, ShouhouDep, read, run
from ..responses import utf8
from ..schemas.common import FORMATS, Offset, OneOf, Text, When
from ..schemas.governance import (
    DecideIn,
    GovernanceOut,
    LiftIn,
    MeasureAppealIn,
    MeasureAppealOut,
    MeasureAppealPage,
    MeasureOut,
    MeasurePage,
    ReportOut,
)

router = APIRouter(tags=["governance"])


def _at(at: datetime | None, now: datetime) -> datetime:
    """The time a view asks for (?at=, zone required by When), or now."""
    return now if at is None else at


@router.get("/v1/shops/{shop_id}/governance", response_model=GovernanceOut,
            summary="The shop's 30-day metrics, score and level with every input, and measures in force")
def shop_governance(shop_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep,
                    at: When | None = None) -> dict[str, Any]:
    return read(sh, governance_views.shop_view, actor, sh.policies, shop_id, _at(at, now))


@router.post("/v1/shops/{shop_id}/governance/evaluate", response_model=GovernanceOut,
             summary="Evaluate the shop now (platform staff; the worker does it daily and on each overdue record)")
def evaluate(shop_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    run(sh, c.EvaluateShop(shop_id), actor)
    return read(sh, governance_views.shop_view, actor, sh.policies, shop_id, now)


@router.get("/v1/shops/{shop_id}/measures", response_model=MeasurePage,
            summary="Every measure applied to the shop, with the metrics snapshot that triggered it")
def shop_measures(shop_id: str, sh: ShouhouDep, actor: ActorDep,
                  status: Annotated[str, Text(16), OneOf(MEASURE_STATUSES)] | None = None) -> dict[str, Any]:
    return read(sh, governance_views.list_measures, actor, shop_id, status)


@router.get("/v1/measures/{measure_id}", response_model=MeasureOut)
def get_measure(measure_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return read(sh, governance_views.get_measure, actor, measure_id)


@router.post("/v1/measures/{measure_id}/lift", response_model=MeasureOut,
             summary="Lift a measure in force, with a reason (platform staff)")
def lift(measure_id: str, body: LiftIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.LiftMeasure(measure_id, body.reason), actor)
    return read(sh, governance_views.get_measure, actor, measure_id)


@router.post("/v1/measures/{measure_id}/appeals", status_code=201, response_model=MeasureAppealOut,
             summary="Appeal a measure in force (the shop's owner or admin; once per measure)")
def appeal(measure_id: str, body: MeasureAppealIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    appeal_id = run(sh, c.AppealMeasure(measure_id, body.reason), actor)
    return read(sh, governance_views.get_measure_appeal, actor, appeal_id)


@router.get("/v1/measure-appeals", response_model=MeasureAppealPage,
            summary="Appeals against measures: the platform's queue, or the shop's own")
def appeals(sh: ShouhouDep, actor: ActorDep, status: str | None = None) -> dict[str, Any]:
    return read(sh, governance_views.list_measure_appeals, actor, status)


@router.post("/v1/measure-appeals/{appeal_id}/decision", response_model=MeasureAppealOut,
             summary="Decide an appeal (platform staff): upheld voids the measure")
def decide(appeal_id: str, body: DecideIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.DecideMeasureAppeal(appeal_id, body.upheld, body.answer), actor)
    return read(sh, governance_views.get_measure_appeal, actor, appeal_id)


@router.get("/v1/governance/report", response_model=ReportOut,
            responses={200: {"content": {"text/csv": {}}}},
            summary="Every shop's governance figures (platform; a shop sees its own row), sortable; format=csv")
def report(sh: ShouhouDep, actor: ActorDep, now: NowDep, sort: Annotated[str, Text(64), OneOf(governance_views.REPORT_COLUMNS)] = "overdue",
           order: Annotated[str, Text(8), OneOf(("asc", "desc"))] = "desc",
           format: Annotated[str, Text(8), OneOf(FORMATS)] = "json",  # noqa: A002 - the API's word
           at: When | None = None, limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
           offset: Offset = 0) -> Any:
    if order not in ("asc", "desc"):
        raise refuse("invalid_input", "order 须为 asc 或 desc", "order must be asc or desc")
    if format not in ("json", "csv"):
        raise refuse("invalid_input", "format 须为 json 或 csv", "format must be json or csv")
    view = read(sh, governance_views.report, actor, sh.policies, _at(at, now), sort=sort, descending=order == "desc",
                limit=limit, offset=offset)
    if format == "csv":
        return Response(utf8(governance_views.report_csv(view)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="governance.csv"'})
    return view
