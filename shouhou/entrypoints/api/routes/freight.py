"""Freight claims (运费申请, GEN-FREIGHT-1): the ticket's buyer claims the return freight, the shop
decides (the platform, while the shop is under freight_by_platform: KS-GOV-3), or the claim is
approved automatically after the pack's 48 h; everyone reads what they may see."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ....domain.freight import DECIDERS, STATUSES
from ....services import commands as c
from ....services.views import freight as views
from ..deps import ActorDep, ShouhouDep, read, run
from ..schemas.common import Offset, OneOf, Text
from ..schemas.freight import FreightClaimIn, FreightClaimOut, FreightClaimPage, FreightDecisionIn

router = APIRouter(tags=["freight"])


@router.post("/v1/tickets/{ticket_id}/freight-claim", status_code=201, response_model=FreightClaimOut,
             summary="Claim a return's freight (the ticket's buyer; the shop's fault, up to the cap: GEN-FREIGHT-1)")
def claim_freight(ticket_id: str, body: FreightClaimIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.ClaimFreight(ticket_id, body.amount, body.receipt), actor)
    return read(sh, views.get_claim, actor, ticket_id)


@router.post("/v1/tickets/{ticket_id}/freight-claim/decide", response_model=FreightClaimOut,
             summary="Approve or reject a freight claim (the shop; the platform under freight_by_platform, KS-GOV-3)")
def decide_freight(ticket_id: str, body: FreightDecisionIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    run(sh, c.DecideFreight(ticket_id, body.approve, body.reason), actor)
    return read(sh, views.get_claim, actor, ticket_id)


@router.get("/v1/tickets/{ticket_id}/freight-claim", response_model=FreightClaimOut,
            summary="A ticket's freight claim")
def get_claim(ticket_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return read(sh, views.get_claim, actor, ticket_id)


@router.get("/v1/freight-claims", response_model=FreightClaimPage,
            summary="Freight claims: the buyer's own, the shop's, or all for the platform; newest first")
def list_claims(sh: ShouhouDep, actor: ActorDep,
                status: Annotated[str, Text(16), OneOf(STATUSES)] | None = None,
                decides: Annotated[str, Text(16), OneOf(DECIDERS)] | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                offset: Offset = 0) -> dict[str, Any]:
    return read(sh, views.list_claims, actor, status, decides, limit, offset)
