"""Meta: is the service well, and who am I."""

from typing import Any

from fastapi import APIRouter

from ....services.views import operations as operations_views
from ..deps import ActorDep, NowDep, ShouhouDep, read
from ..schemas.operations import HealthOut
from ..schemas.shops import MeOut

router = APIRouter(tags=["meta"])


@router.get("/healthz", response_model=HealthOut,
            summary="The database answers; when the workers last swept; what is due now and what is parked")
def healthz(sh: ShouhouDep, now: NowDep) -> dict[str, Any]:
    return read(sh, operations_views.health, now)


@router.get("/v1/me", response_model=MeOut)
def me(actor: ActorDep) -> dict[str, Any]:
    return {"kind": actor.kind, "id": actor.id, "shop": actor.shop_id, "role": actor.role}
