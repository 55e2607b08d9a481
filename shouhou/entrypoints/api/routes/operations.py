"""Operations: the automatic actions the worker parked after they raised (platform operators)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ....services import commands as c
from ....services.views import operations as operations_views
from ..deps import ActorDep, ShouhouDep, read, run
from ..schemas.common import Offset
from ..schemas.operations import ParkedPage

router = APIRouter(tags=["operations"])


@router.get("/v1/platform/parked", response_model=ParkedPage,
            summary="Automatic actions that raised and wait for their next try (platform operators)")
def parked(sh: ShouhouDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
           offset: Offset = 0) -> dict[str, Any]:
    return read(sh, operations_views.list_parked, actor, limit, offset)


@router.post("/v1/platform/parked/{kind}/{ident}/retry", status_code=204,
             summary="Try a parked action on the next sweep (after fixing its cause)")
def retry_parked(kind: str, ident: str, sh: ShouhouDep, actor: ActorDep) -> None:
    run(sh, c.RetryParked(kind, ident), actor)
