"""Shops, their staff, buyers and bearer tokens: who exists and who may act."""

from __future__ import annotations

import secrets
from datetime import timedelta

from ..adapters.uow import SqlUnitOfWork
from ..domain import roles
from ..domain.actors import PLATFORM_ROLES, SHOP_ROLES, Actor
from ..domain.events import Event
from ..domain.shops import SHOP_STATUSES, Buyer, Shop, Staff
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
    uow.buyers.add(Buyer(id=cmd.id, name=cmd.name or cmd.id))
    return cmd.id


def issue_token(cmd: c.IssueToken, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    """A bearer token for a buyer, a staff member (in their role) or platform staff; never for a role
    above the issuer's own (domain.roles)."""
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
    token = cmd.token or f"sh_{secrets.token_urlsafe(24)}"
    uow.add_token({"token_hash": hash_token(token), "id": new_id("tok_"), "kind": cmd.kind,
                   "actor_id": cmd.actor_id, "role": role, "label": cmd.label, "created_at": ctx.now})
    return token
