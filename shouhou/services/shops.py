"""Shops, their staff, buyers and bearer tokens: who exists and who may act."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..adapters import tables as t
from ..adapters.uow import SqlUnitOfWork
from ..domain import roles
from ..domain.actors import PLATFORM_ROLES, SHOP_ROLES, Actor
from ..domain.events import Event
from ..domain.shops import SHOP_STATUSES, STANDINGS, Buyer, Shop, Staff
from ..errors import not_found, refuse
from . import commands as c
from .access import hash_token, platform_only, visible_shop
from .context import Context, new_id


def create_shop(cmd: c.CreateShop, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    """A shop arrives with its balances from before shouhou (money.open_accounts books them)."""
    platform_only(actor, "创建店铺", "create shops")
    problems = []
    if cmd.policy not in ctx.policies:
        problems.append((f"未知的规则包 {cmd.policy}", f"unknown policy pack {cmd.policy!r}; known {ctx.policies.names()}"))
    if cmd.status not in SHOP_STATUSES:
        problems.append((f"未知的店铺状态 {cmd.status}", f"status must be one of {list(SHOP_STATUSES)}"))
    if cmd.wallet_fen < 0 or cmd.deposit_fen < 0:
        problems.append(("余额不能为负", "wallet and deposit cannot be negative"))
    if not cmd.id:
        problems.append(("店铺 ID 不能为空", "shop id is required"))
    if problems:
        raise refuse("invalid_input", ";".join(p[0] for p in problems), "; ".join(p[1] for p in problems))
    if uow.shops.exists(cmd.id):
        raise refuse("invalid_state", f"店铺 {cmd.id} 已存在", f"shop {cmd.id} exists already")
    shop = Shop(
        id=cmd.id, name=cmd.name or cmd.id, policy=cmd.policy, status=cmd.status, wallet_fen=cmd.wallet_fen,
        deposit_fen=cmd.deposit_fen,
        wallet_opened_at=cmd.wallet_opened_at or ctx.now - timedelta(days=365),
        created_at=ctx.now, return_address=cmd.return_address,
    )
    shop.record(Event("shop_created", ctx.now, actor.label, shop_id=cmd.id,
                      payload={"policy": cmd.policy, "status": cmd.status}))
    uow.shops.add(shop)
    return cmd.id


def set_shop_status(cmd: c.SetShopStatus, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    platform_only(actor, "变更店铺状态", "change a shop's status")
    shop = uow.shops.get(cmd.shop_id, lock=True)
    if shop is None:
        raise not_found("shop", cmd.shop_id)
    if cmd.status not in SHOP_STATUSES:
        raise refuse("invalid_input", f"未知的店铺状态 {cmd.status}", f"status must be one of {list(SHOP_STATUSES)}")
    before = shop.status
    shop.status = cmd.status
    shop.record(Event("shop_status_changed", ctx.now, actor.label, shop_id=shop.id,
                      from_status=before, to_status=cmd.status, payload={"reason": cmd.reason}))


def add_staff(cmd: c.AddStaff, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    shop = visible_shop(uow, actor, cmd.shop_id)
    roles.require_act(actor, "add_staff")
    if cmd.role not in SHOP_ROLES:
        raise refuse("invalid_input", f"未知的角色 {cmd.role}", f"role must be one of {list(SHOP_ROLES)}")
    roles.require_grant(actor, cmd.role)
    if not cmd.id or uow.staff.exists(cmd.id):
        raise refuse("invalid_input", f"员工 ID {cmd.id!r} 为空或已存在", f"staff id {cmd.id!r} is empty or taken")
    uow.staff.add(Staff(id=cmd.id, shop_id=shop.id, role=cmd.role, name=cmd.name or cmd.id))
    return cmd.id


def add_buyer(cmd: c.AddBuyer, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    platform_only(actor, "添加买家", "add buyers")
    if not cmd.id or uow.buyers.exists(cmd.id):
        raise refuse("invalid_input", f"买家 ID {cmd.id!r} 为空或已存在", f"buyer id {cmd.id!r} is empty or taken")
    _known_standing(cmd.standing)
    uow.buyers.add(Buyer(id=cmd.id, name=cmd.name or cmd.id, standing=cmd.standing, member=cmd.member))
    return cmd.id


def set_buyer_standing(cmd: c.SetBuyerStanding, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    """Platform staff record a buyer's standing (RULES §10: good buyers take the fast lanes, poor ones
    never) and top membership (DY-FAST-1's higher cap). Tickets already past a fast lane keep it."""
    roles.require_act(actor, "set_buyer_standing")
    buyer = uow.buyers.get(cmd.buyer_id, lock=True)
    if buyer is None:
        raise not_found("buyer", cmd.buyer_id)
    if cmd.standing is None and cmd.member is None:
        raise refuse("invalid_input", "请指定信用等级或会员身份", "give a standing, a membership, or both")
    if cmd.standing is not None:
        _known_standing(cmd.standing)
    before = {"standing": buyer.standing, "member": buyer.member}
    buyer.standing = buyer.standing if cmd.standing is None else cmd.standing
    buyer.member = buyer.member if cmd.member is None else cmd.member
    after = {"standing": buyer.standing, "member": buyer.member}
    if after != before:
        buyer.record(Event("buyer_standing_set", ctx.now, actor.label,
                           payload={"buyer": buyer.id, "before": before, "after": after, "reason": cmd.reason}))


def _known_standing(standing: str) -> None:
    if standing not in STANDINGS:
        raise refuse("invalid_input", f"信用等级须为 {'、'.join(STANDINGS)}", f"standing must be one of {list(STANDINGS)}")


# A token's default lifetime by kind: the platform's tokens act on every shop and expire soonest. A
# token may be given its own lifetime or expiry instead; only the console and the demo data may make
# one that never expires.
DEFAULT_LIFETIME: dict[str, timedelta] = {
    "platform": timedelta(days=90), "staff": timedelta(days=365), "buyer": timedelta(days=365),
}
MAX_LIFETIME = timedelta(days=3650)


def issue_token(cmd: c.IssueToken, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> c.IssuedToken:
    """A bearer token for a buyer, a staff member (in their role) or platform staff; never for a role
    above the issuer's own (domain.roles). It stops working at its expiry or when revoked."""
    roles.require_act(actor, "issue_token")
    role = cmd.role
    if cmd.kind == "buyer":
        if not uow.buyers.exists(cmd.actor_id):
            raise not_found("buyer", cmd.actor_id)
    elif cmd.kind == "staff":
        member = uow.staff.get(cmd.actor_id)
        if member is None:
            raise not_found("staff", cmd.actor_id)
        role = member.role
        roles.require_grant(actor, member.role)
    elif cmd.kind == "platform":
        if role not in PLATFORM_ROLES:
            raise refuse("invalid_input", f"平台角色须为 {list(PLATFORM_ROLES)}",
                         f"platform role must be one of {list(PLATFORM_ROLES)}")
        roles.require_grant(actor, role)
    else:
        raise refuse("invalid_input", "令牌类型须为 buyer、staff 或 platform", "kind must be buyer, staff or platform")
    expires_at = _expiry(cmd, ctx.now)
    token = cmd.token or f"sh_{secrets.token_urlsafe(24)}"
    token_id = new_id("tok_")
    uow.add_token({"token_hash": hash_token(token), "id": token_id, "kind": cmd.kind, "actor_id": cmd.actor_id,
                   "role": role, "label": cmd.label, "created_at": ctx.now, "expires_at": expires_at})
    return c.IssuedToken(token=token, id=token_id, expires_at=expires_at)


def _expiry(cmd: c.IssueToken, now: datetime) -> datetime | None:
    given = sum((cmd.expires_at is not None, cmd.lifetime is not None, cmd.never_expires))
    if given > 1:
        raise refuse("invalid_input", "过期时间、有效期与永不过期只能指定一项",
                     "give at most one of expires_at, a lifetime and never expires")
    if cmd.never_expires:
        return None
    expires_at = cmd.expires_at or now + (cmd.lifetime or DEFAULT_LIFETIME[cmd.kind])
    if expires_at.tzinfo is None or not now < expires_at <= now + MAX_LIFETIME:
        raise refuse("invalid_input", f"过期时间须晚于现在且不超过 {MAX_LIFETIME.days} 天",
                     f"a token must expire after now and within {MAX_LIFETIME.days} days")
    return expires_at


def revoke_token(cmd: c.RevokeToken, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    """The token stops working at once (its next request answers 401). Revoking it again changes
    nothing: the first revocation's time stands and no second event is recorded."""
    roles.require_act(actor, "manage_tokens")
    row = uow.conn.execute(select(t.tokens).where(t.tokens.c.id == cmd.id).with_for_update()).first()
    if row is None:
        raise not_found("token", cmd.id)
    if row.revoked_at is None:
        uow.conn.execute(update(t.tokens).where(t.tokens.c.id == cmd.id).values(revoked_at=ctx.now))
        uow.store_events([Event("token_revoked", ctx.now, actor.label, payload={
            "token": cmd.id, "kind": row.kind, "actor": row.actor_id, "role": row.role})])
    return cmd.id
