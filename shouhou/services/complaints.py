"""Complaints (投诉工单): the buyer files one about their order; platform staff close it. While one is
open the shop's exit check fails (KS-EXIT-1, services.views.money.exit_check)."""

from __future__ import annotations

from ..adapters.uow import SqlUnitOfWork
from ..domain import complaints
from ..domain.actors import Actor, require
from ..errors import present
from . import commands as c
from .access import load_complaint, load_order, platform_only
from .context import Context, new_id


def file_complaint(cmd: c.FileComplaint, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    require(actor.is_buyer, "只有买家可以投诉", "only buyers file complaints")
    order = load_order(uow, actor, cmd.order_id)
    rule = ctx.policies.in_force(order.policy, ctx.now).governance.exit_waiting.rule
    complaint = complaints.file_complaint(new_id("C"), order, actor, cmd.reason, ctx.now, rule)
    uow.complaints.add(complaint)
    return complaint.id


def close_complaint(cmd: c.CloseComplaint, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    platform_only(actor, "关闭投诉工单", "close a complaint")
    complaint = load_complaint(uow, actor, cmd.complaint_id, lock=True)
    order = present(uow.orders.get(complaint.order_id), f"order {complaint.order_id}")
    rule = ctx.policies.in_force(order.policy, ctx.now).governance.exit_waiting.rule
    complaint.close(actor, ctx.now, cmd.answer, rule)
    return complaint.id
