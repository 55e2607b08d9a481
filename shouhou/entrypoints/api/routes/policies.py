"""Policy packs: the list, and one pack's rules in one version (the one in force unless asked)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ....services.views import shops as shops_views
from ..deps import ActorDep, NowDep, ShouhouDep
from ..schemas.common import Offset, page
from ..schemas.policies import PolicyDetailOut, PolicyPage

router = APIRouter(tags=["policies"])


@router.get("/v1/policies", response_model=PolicyPage, summary="The policy packs and their versions")
def policies(sh: ShouhouDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
             offset: Offset = 0) -> dict[str, Any]:
    return page(shops_views.policy_list(sh.policies), limit, offset)


@router.get("/v1/policies/{name}", response_model=PolicyDetailOut)
def policy(name: str, sh: ShouhouDep, actor: ActorDep, now: NowDep,
           version: str | None = None) -> dict[str, Any]:
    return shops_views.policy_detail(sh.policies, name, version, now)
