"""Bearer tokens: issuing one (with its expiry), and the list operators revoke from. The token itself
is shown once, in the answer to its issue; lists never show it or its hash."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from .common import ACTOR_KINDS, ROLES, Body, Id, Line, OneOf, When, Word


class TokenIn(Body):
    """With neither expires_in_days nor expires_at the token gets its kind's default lifetime:
    90 days for platform tokens, 365 for staff and buyer tokens."""

    kind: Annotated[Word, OneOf(ACTOR_KINDS)] = Field(examples=["staff"])
    actor_id: Id = Field(examples=["U1"])
    role: Annotated[Word, OneOf(ROLES)] | None = Field(default=None, examples=["cs_agent"])
    label: Line | None = Field(default=None, examples=["订单中心集成"])
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, examples=[30])
    expires_at: When | None = Field(default=None, examples=["2030-06-30T23:59:59+08:00"])

    @model_validator(mode="after")
    def _one_expiry(self) -> TokenIn:
        if self.expires_in_days is not None and self.expires_at is not None:
            raise ValueError("give expires_in_days or expires_at, not both")
        return self


class TokenOut(BaseModel):
    token: str


class TokenItem(BaseModel):
    id: str = Field(examples=["tok_3f2a9c0d1e4b5a67"])
    kind: Annotated[str, OneOf(ACTOR_KINDS)]
    actor: str
    role: Annotated[str, OneOf(ROLES)] | None
    label: str | None
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    status: Annotated[str, OneOf(("active", "expired", "revoked"))] = Field(examples=["active"], description="active, expired or revoked")


class TokenPage(BaseModel):
    items: list[TokenItem]
    total: int
    limit: int
    offset: int
