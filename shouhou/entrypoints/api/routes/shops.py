"""Shops, their staff and buyers (tokens: tokens.py). The routes keep the tags the API has always given
them (shops, buyers), so this router sets none of its own."""

from typing import Any

from fastapi import APIRouter

from ....services import commands as c
from ....services.views import shops as shops_views
from ..deps import ActorDep, ShouhouDep, read, run
from ..schemas.common import CreatedOut
from ..schemas.shops import (
    BuyerIn,
    BuyerOut,
    BuyerStandingIn,
    ShopIn,
    ShopOut,
    ShopStatusIn,
    StaffIn,
    StaffOut,
)

router = APIRouter()


@router.post("/v1/shops", tags=["shops"], status_code=201, response_model=ShopOut)
def create_shop(body: ShopIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.CreateShop(id=body.id, name=body.name, policy=body.policy, status=body.status,
                         wallet_fen=body.wallet, deposit_fen=body.deposit,
                         wallet_opened_at=body.wallet_opened_at, return_address=body.return_address), actor)
    return read(sh, shops_views.get_shop, actor, body.id)


@router.get("/v1/shops/{shop_id}", tags=["shops"], response_model=ShopOut)
def get_shop(shop_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return read(sh, shops_views.get_shop, actor, shop_id)


@router.post("/v1/shops/{shop_id}/status", tags=["shops"], response_model=ShopOut)
def shop_status(shop_id: str, body: ShopStatusIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.SetShopStatus(shop_id, body.status, body.reason), actor)
    return read(sh, shops_views.get_shop, actor, shop_id)


@router.post("/v1/shops/{shop_id}/staff", tags=["shops"], status_code=201, response_model=StaffOut)
def add_staff(shop_id: str, body: StaffIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, str]:
    run(sh, c.AddStaff(body.id, shop_id, body.role, body.name), actor)
    return {"id": body.id, "shop": shop_id, "role": body.role}


@router.post("/v1/buyers", tags=["buyers"], status_code=201, response_model=CreatedOut)
def add_buyer(body: BuyerIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, str]:
    run(sh, c.AddBuyer(body.id, body.name, body.standing, body.member), actor)
    return {"id": body.id}


@router.get("/v1/platform/buyers/{buyer_id}", tags=["buyers"], response_model=BuyerOut)
def get_buyer(buyer_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return read(sh, shops_views.get_buyer, actor, buyer_id)


@router.patch("/v1/platform/buyers/{buyer_id}", tags=["buyers"], response_model=BuyerOut)
def set_buyer_standing(buyer_id: str, body: BuyerStandingIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    """RULES §10: platform staff record a buyer's standing (good buyers take the fast lanes, poor ones
    never) and top membership (DY-FAST-1's higher cap)."""
    run(sh, c.SetBuyerStanding(buyer_id, body.standing, body.member, body.reason), actor)
    return read(sh, shops_views.get_buyer, actor, buyer_id)
