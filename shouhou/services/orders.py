"""Orders as the platform's order system reports them: import (with their history), shipping,
signing and the buyer's confirmation. Their money follows through the reaction table (money)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..adapters import tables as t
from ..adapters.uow import SqlUnitOfWork
from ..domain import governance
from ..domain.actors import Actor, require
from ..domain.events import Event
from ..domain.lines import OrderLine, default_line, line_problems
from ..domain.orders import GOODS, KINDS, PAYMENTS, Order, derive_imported
from ..errors import not_found, refuse
from ..money import format_yuan
from . import commands as c
from .access import load_order, platform_only
from .context import Context, Fired, new_id

COMMISSION_KEYS = ("creator", "group_leader", "affiliate", "tech_fee")


def import_order(cmd: c.ImportOrder, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    """A paid order arrives from the platform's order system, possibly with its history."""
    platform_only(actor, "导入订单", "create or import orders")
    existing = uow.orders.get(cmd.id) if cmd.id else None
    if existing is not None:  # re-sent (a retry after a timeout): the same order answers as the first time
        differ = import_differences(existing, cmd)
        if differ:
            raise refuse("invalid_state", f"订单 {existing.id} 已存在且内容不同:{', '.join(differ)}",
                         f"order {existing.id} exists already with other content: {', '.join(differ)}")
        return existing.id
    shop = uow.shops.get(cmd.shop_id)
    if shop is None:
        raise not_found("shop", cmd.shop_id)
    if shop.cart_suspended:  # KS-GOV-3: shopping-cart suspension
        m = t.measures.c
        suspensions = uow.measures.where(m.shop_id == shop.id, m.status == "active", m.measure == "cart_suspension",
                                         order_by=(m.ends_at.desc(),), limit=1)
        raise governance.cart_refusal(shop, ctx.policies.in_force(shop.policy, ctx.now),
                                      suspensions[0] if suspensions else None)
    if not uow.buyers.exists(cmd.buyer_id):
        raise not_found("buyer", cmd.buyer_id)
    problems = _order_problems(cmd)
    if problems:
        lines_rule = ctx.policies.in_force(shop.policy, ctx.now).apply.lines
        bad_lines = bool(cmd.lines) and bool(line_problems(cmd.lines, cmd.amount_fen, cmd.freight_fen))
        rule = lines_rule.rule if bad_lines and lines_rule is not None else None  # GEN-APPLY-7
        raise refuse("invalid_input", ";".join(p[0] for p in problems), "; ".join(p[1] for p in problems), rule)
    order_id = cmd.id or new_id("O")
    lines = cmd.lines or (default_line(order_id, cmd.amount_fen, cmd.freight_fen),)  # GEN-APPLY-7
    created = cmd.created_at or ctx.now
    pv = ctx.policies.in_force(shop.policy, created)
    order = Order(
        id=order_id, shop_id=shop.id, buyer_id=cmd.buyer_id, policy=shop.policy, policy_version=pv.version,
        amount_fen=cmd.amount_fen, freight_fen=cmd.freight_fen, payment=cmd.payment, kind=cmd.kind,
        marketing=cmd.marketing, goods=cmd.goods, category=cmd.category, no_reason_return=cmd.no_reason_return,
        custom=cmd.custom, commission=dict(cmd.commission), created_at=created, shipped_at=cmd.shipped_at, signed_at=cmd.signed_at,
        confirmed_at=cmd.confirmed_at, lines=lines,
    )
    derived = derive_imported(order, pv, ctx.now)
    payload: dict[str, Any] = {"amount": format_yuan(order.amount_fen), "status": order.status,
                               "policy": f"{order.policy}@{pv.version}", "custom": order.custom}
    for key, (when, rule) in derived.items():
        payload[key] = {"at": when.isoformat(), "rule": rule}
    order.record(Event("order_created", created if cmd.created_at else ctx.now, actor.label, shop_id=shop.id,
                       order_id=order.id, to_status=order.status, payload=payload))
    uow.orders.add(order)
    return order.id


def import_differences(order: Order, cmd: c.ImportOrder) -> list[str]:
    """The fields in which an import differs from the order imported under its id before. A time the
    import leaves out may have been filled in since (the order shipped after it arrived), and so may
    the creation time (then the first import's); every time it gives must be the one stored."""
    def rates(commission: dict[str, str]) -> dict[str, Decimal | str]:
        return {k: Decimal(str(v)) if _is_rate(v) else str(v) for k, v in commission.items()}

    def line_facts(lines: tuple[OrderLine, ...]) -> list[tuple[object, ...]]:
        return [(x.sku, x.name, x.qty, x.price_fen, x.listed_price_fen, x.kind) for x in lines]

    lines = cmd.lines or (default_line(order.id, cmd.amount_fen, cmd.freight_fen),)
    pairs: list[tuple[str, object, object]] = [
        ("shop", order.shop_id, cmd.shop_id), ("buyer", order.buyer_id, cmd.buyer_id),
        ("amount", order.amount_fen, cmd.amount_fen), ("freight", order.freight_fen, cmd.freight_fen),
        ("payment", order.payment, cmd.payment), ("kind", order.kind, cmd.kind),
        ("marketing", order.marketing, cmd.marketing), ("goods", order.goods, cmd.goods),
        ("category", order.category, cmd.category), ("no_reason_return", order.no_reason_return, cmd.no_reason_return),
        ("custom", order.custom, cmd.custom), ("commission", rates(order.commission), rates(cmd.commission)),
        ("lines", line_facts(order.lines), line_facts(lines))]
    pairs += [(name, getattr(order, name), given) for name, given in (
        ("created_at", cmd.created_at), ("shipped_at", cmd.shipped_at), ("signed_at", cmd.signed_at),
        ("confirmed_at", cmd.confirmed_at)) if given is not None]
    return [name for name, stored, given in pairs if stored != given]


def _order_problems(cmd: c.ImportOrder) -> list[tuple[str, str]]:
    problems = []
    if cmd.amount_fen <= 0:
        problems.append(("订单金额须大于 0", "amount must be > 0"))
    if not 0 <= cmd.freight_fen <= cmd.amount_fen:
        problems.append(("运费须在 0 与订单金额之间", "freight must be between 0 and the amount"))
    for name, value, allowed in (("payment", cmd.payment, PAYMENTS), ("kind", cmd.kind, KINDS),
                                 ("goods", cmd.goods, GOODS)):
        if value not in allowed:
            problems.append((f"{name} 须为 {list(allowed)}", f"{name} must be one of {list(allowed)}"))
    for key, rate in cmd.commission.items():
        if key not in COMMISSION_KEYS:
            problems.append((f"未知的佣金项 {key}", f"unknown commission {key!r}; one of {list(COMMISSION_KEYS)}"))
        elif not _is_rate(rate):
            problems.append((f"佣金比例 {key} 须为 0 到 1 之间的小数", f"commission {key} must be a decimal rate in [0, 1)"))
    if not problems and sum(Decimal(str(v)) for v in cmd.commission.values()) >= 1:
        problems.append(("佣金与技术服务费比例合计须小于 1", "commissions and the technical fee must add up to less than 1"))
    if cmd.lines and 0 <= cmd.freight_fen <= cmd.amount_fen:
        problems += line_problems(cmd.lines, cmd.amount_fen, cmd.freight_fen)  # GEN-APPLY-7
    return problems


def _is_rate(value: object) -> bool:
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        return False
    return rate.is_finite() and Decimal(0) <= rate < Decimal(1)


def ship_order(cmd: c.ShipOrder, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    order = load_order(uow, actor, cmd.order_id, lock=True)
    require(actor.is_staff or actor.is_platform, "只有店铺员工可以发货", "only the shop's staff may ship")
    order.ship(ctx.now, actor.label, cmd.carrier, cmd.waybill)


def sign_order(cmd: c.SignOrder, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    order = load_order(uow, actor, cmd.order_id, lock=True)
    require(actor.is_platform, "签收由物流回传(平台)记录", "signing is reported by the carrier through the platform")
    order.sign(ctx.now, actor.label, ctx.policies.kept_by(order))


def confirm_order(cmd: c.ConfirmOrder, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    order = load_order(uow, actor, cmd.order_id, lock=True)
    require(actor.is_buyer, "只有买家可以确认收货", "only the buyer may confirm receipt")
    if order.due_at is not None and order.due_at <= ctx.now:
        raise refuse("invalid_state", "系统已到期自动确认收货", "the automatic confirmation has fallen due",
                     order.due_rule)
    order.confirm(ctx.now, actor.label, ctx.policies.kept_by(order))


def fire_order_deadline(uow: SqlUnitOfWork, ctx: Context, order_id: str) -> Fired | None:
    """The worker: the order's automatic action (confirmation of receipt, completion) fell due."""
    order = uow.orders.get(order_id, lock=True)
    if order is None or order.due_at is None or order.due_at > ctx.now:
        return None  # fired meanwhile by another worker
    order.fire(order.due_at, ctx.policies.kept_by(order))
    return Fired.on(order)
