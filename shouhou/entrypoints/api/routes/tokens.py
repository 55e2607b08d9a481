"""Bearer tokens: issue one (its expiry given or its kind's default), list them, revoke one. Listing
and revoking are domain.roles' `manage_tokens` act. The issue route keeps the tag, path, status and
operation name it had in routes/shops.py."""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ....services import commands as c
from ....services.views import tokens as tokens_views
from ..deps import ActorDep, NowDep, ShouhouDep, read, run
from ..schemas.common import Offset
from ..schemas.tokens import TokenIn, TokenItem, TokenOut, TokenPage

router = APIRouter()


@router.post("/v1/tokens", tags=["meta"], status_code=201, response_model=TokenOut)
def token(body: TokenIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, str]:
    lifetime = None if body.expires_in_days is None else timedelta(days=body.expires_in_days)
    issued: c.IssuedToken = run(sh, c.IssueToken(body.kind, body.actor_id, body.role, body.label,
                                                 expires_at=body.expires_at, lifetime=lifetime), actor)
    return {"token": issued.token}


@router.get("/v1/tokens", tags=["meta"], response_model=TokenPage,
            summary="Tokens, newest first: who holds each, its expiry and revocation (platform operator)")
def list_tokens(
    sh: ShouhouDep, actor: ActorDep, now: NowDep,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    actor_id: Annotated[str | None, Query(alias="actor", max_length=64)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    return read(sh, tokens_views.list_tokens, actor, now, kind=kind, holder=actor_id, active=active,
                limit=limit, offset=offset)


@router.post("/v1/tokens/{token_id}/revoke", tags=["meta"], response_model=TokenItem,
             summary="Revoke a token: its next request answers 401 (platform operator; again changes nothing)")
def revoke(token_id: str, sh: ShouhouDep, actor: ActorDep, now: NowDep) -> dict[str, Any]:
    run(sh, c.RevokeToken(token_id), actor)
    return read(sh, tokens_views.get_token, actor, token_id, now)
