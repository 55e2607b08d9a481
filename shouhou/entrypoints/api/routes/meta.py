"""Meta: is the API up, and who am I."""

from typing import Any

from fastapi import APIRouter

from ..deps import ActorDep
from ..schemas.shops import MeOut

router = APIRouter(tags=["meta"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/v1/me", response_model=MeOut)
def me(actor: ActorDep) -> dict[str, Any]:
    return {"kind": actor.kind, "id": actor.id, "shop": actor.shop_id, "role": actor.role}
