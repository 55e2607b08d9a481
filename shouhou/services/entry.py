"""The after-sales entry past the period (超售后期打开售后入口, RULES §7): the shop opens it for an
order, the buyer asks for it, the shop declines with a reason, and the worker closes it."""

from __future__ import annotations

from ..adapters import tables as t
from ..adapters.uow import SqlUnitOfWork
from ..domain import entry
from ..domain.actors import Actor, require
from . import commands as c
from .access import load_order, load_reopen_request, shop_of
from .context import Context, Fired, new_id


def open_entry(cmd: c.OpenEntry, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    order = load_order(uow, actor, cmd.order_id, lock=True)
    shop = shop_of(uow, order.shop_id)
    pv = ctx.policies.in_force(order.policy, ctx.now)
    message = entry.open_entry(order, shop, actor, pv, ctx.now, new_id("M"))
    if message is not None:
        uow.messages.add(message)
    for req in uow.reopen_requests.where(t.reopen_requests.c.order_id == order.id,
                                         t.reopen_requests.c.status == "pending"):
        req.answer_by_opening(ctx.now, actor.label)
    return order.id


def request_reopen(cmd: c.RequestReopen, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    require(actor.is_buyer, "只有买家可以申请打开售后入口", "only buyers ask for the entry")
    order = load_order(uow, actor, cmd.order_id, lock=True)
    pv = ctx.policies.in_force(order.policy, ctx.now)
    pending = uow.reopen_requests.count(t.reopen_requests.c.order_id == order.id,
                                        t.reopen_requests.c.status == "pending") > 0
    req = entry.request_reopen(new_id("R"), order, actor, pv, ctx.now, pending, cmd.note)
    uow.reopen_requests.add(req)
    return req.id


def decline_reopen(cmd: c.DeclineReopen, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    req = load_reopen_request(uow, actor, cmd.request_id, lock=True)
    req.decline(ctx.now, actor, cmd.reason)
    return req.id


def close_entry_when_due(uow: SqlUnitOfWork, ctx: Context, order_id: str) -> Fired | None:
    """The worker: the entry's window has run out."""
    order = uow.orders.get(order_id, lock=True)
    if order is None or order.entry_closes_at is None or order.entry_closes_at > ctx.now:
        return None
    entry.close_entry(order, order.entry_closes_at)
    return Fired.on(order)
