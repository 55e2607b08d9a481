"""Policy packs: the list, and one pack's rules in one version (the one in force unless asked)."""

from typing import Any

from fastapi import APIRouter

from ....services.views import shops as shops_views
from ..deps import ActorDep, NowDep, ShouhouDep
from ..schemas.policies import PolicyDetailOut, PolicyOut

router = APIRouter(tags=["policies"])


@router.get("/v1/policies", response_model=list[PolicyOut])
def policies(sh: ShouhouDep, actor: ActorDep) -> list[dict[str, Any]]:
    return shops_views.policy_list(sh.policies)


@router.get("/v1/policies/{name}", response_model=PolicyDetailOut)
def policy(name: str, sh: ShouhouDep, actor: ActorDep, now: NowDep,
           version: str | None = None) -> dict[str, Any]:
    return shops_views.policy_detail(sh.policies, name, version, now)
