"""Use cases: one function per command, `handler(cmd, actor, uow, ctx)`. Each reads `now` once
(ctx.now), checks who may act, loads with locks, calls the domain, and leaves the commit to the bus."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..adapters import calendar
from ..adapters import tables as t
from ..adapters.blobs import BlobStore, MemoryBlobStore
from ..adapters.uow import SqlUnitOfWork
from ..clock import SHANGHAI
from ..domain import aftersales, disputes, entry, ledger
from ..domain.actors import PLATFORM_ROLES, SHOP_ROLES, Actor, require
from ..domain.events import Event
from ..domain.orders import GOODS, KINDS, PAYMENTS, Order, derive_imported
from ..domain.shops import SHOP_STATUSES, Buyer, Shop, Staff
from ..domain.tickets import TERMINAL, Ticket
from ..domain.workdays import IsWorkday
from ..errors import Reason, Refusal, not_found, refuse
from ..money import format_yuan
from ..policies import PolicyRegistry, PolicyVersion
from . import commands as c
from . import governance, money


@dataclass(frozen=True)
class Context:
    now: datetime
    policies: PolicyRegistry
    blobs: BlobStore = field(default_factory=MemoryBlobStore)
    is_workday: IsWorkday = calendar.is_workday


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(8)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- tenancy --------------------------------------------------------------------------------------

def can_see_order(actor: Actor, order: Order) -> bool:
    if actor.is_platform:
        return True
    if actor.is_staff:
        return actor.shop_id == order.shop_id
    return actor.is_buyer and actor.id == order.buyer_id


def can_see_ticket(actor: Actor, ticket: Ticket) -> bool:
    if actor.is_platform:
        return True
    if actor.is_staff:
        return actor.shop_id == ticket.shop_id
    return actor.is_buyer and actor.id == ticket.buyer_id


def load_order(uow: SqlUnitOfWork, actor: Actor, order_id: str, lock: bool = False) -> Order:
    order = uow.orders.get(order_id, lock=lock)
    if order is None or not can_see_order(actor, order):
        raise not_found("order", order_id)
    return order


def load_ticket(uow: SqlUnitOfWork, actor: Actor, ticket_id: str, lock: bool = False) -> Ticket:
    ticket = uow.tickets.get(ticket_id, lock=lock)
    if ticket is None or not can_see_ticket(actor, ticket):
        raise not_found("ticket", ticket_id)
    return ticket


def _platform(actor: Actor, zh: str, en: str) -> None:
    require(actor.is_platform, f"只有平台可以{zh}", f"only the platform may {en}")


def _pv(ctx: Context, name: str, version: str) -> PolicyVersion:
    return ctx.policies.resolve(name, version)


# -- shops, staff, buyers, tokens -----------------------------------------------------------------

def create_shop(cmd: c.CreateShop, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    _platform(actor, "创建店铺", "create shops")
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
    uow.shops.add(shop)
    money.opening_balances(uow, shop, ctx.now)
    uow.extra_events.append(Event("shop_created", ctx.now, actor.label, shop_id=cmd.id,
                                  payload={"policy": cmd.policy, "status": cmd.status}))
    return cmd.id


def set_shop_status(cmd: c.SetShopStatus, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    _platform(actor, "变更店铺状态", "change a shop's status")
    shop = uow.shops.get(cmd.shop_id, lock=True)
    if shop is None:
        raise not_found("shop", cmd.shop_id)
    if cmd.status not in SHOP_STATUSES:
        raise refuse("invalid_input", f"未知的店铺状态 {cmd.status}", f"status must be one of {list(SHOP_STATUSES)}")
    before = shop.status
    shop.status = cmd.status
    uow.extra_events.append(Event("shop_status_changed", ctx.now, actor.label, shop_id=shop.id,
                                  from_status=before, to_status=cmd.status, payload={"reason": cmd.reason}))


def add_staff(cmd: c.AddStaff, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    shop = uow.shops.get(cmd.shop_id)
    if shop is None or not actor.sees_shop(shop.id):
        raise not_found("shop", cmd.shop_id)
    require(actor.is_platform or actor.role in ("owner", "admin"), "只有主账号或管理员可以添加员工",
            "only the owner or an admin may add staff")
    if cmd.role not in SHOP_ROLES:
        raise refuse("invalid_input", f"未知的角色 {cmd.role}", f"role must be one of {list(SHOP_ROLES)}")
    if not cmd.id or uow.staff.exists(cmd.id):
        raise refuse("invalid_input", f"员工 ID {cmd.id!r} 为空或已存在", f"staff id {cmd.id!r} is empty or taken")
    uow.staff.add(Staff(id=cmd.id, shop_id=shop.id, role=cmd.role, name=cmd.name or cmd.id))
    return cmd.id


def add_buyer(cmd: c.AddBuyer, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    _platform(actor, "添加买家", "add buyers")
    if not cmd.id or uow.buyers.exists(cmd.id):
        raise refuse("invalid_input", f"买家 ID {cmd.id!r} 为空或已存在", f"buyer id {cmd.id!r} is empty or taken")
    uow.buyers.add(Buyer(id=cmd.id, name=cmd.name or cmd.id))
    return cmd.id


def issue_token(cmd: c.IssueToken, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    _platform(actor, "签发令牌", "issue tokens")
    role = cmd.role
    if cmd.kind == "buyer":
        if not uow.buyers.exists(cmd.actor_id):
            raise not_found("buyer", cmd.actor_id)
    elif cmd.kind == "staff":
        member = uow.staff.get(cmd.actor_id)
        if member is None:
            raise not_found("staff", cmd.actor_id)
        role = member.role
    elif cmd.kind == "platform":
        if role not in PLATFORM_ROLES:
            raise refuse("invalid_input", f"平台角色须为 {list(PLATFORM_ROLES)}", f"platform role must be one of {list(PLATFORM_ROLES)}")
    else:
        raise refuse("invalid_input", "令牌类型须为 buyer、staff 或 platform", "kind must be buyer, staff or platform")
    token = cmd.token or f"sh_{secrets.token_urlsafe(24)}"
    uow.add_token({"token_hash": hash_token(token), "kind": cmd.kind, "actor_id": cmd.actor_id, "role": role,
                   "label": cmd.label, "created_at": ctx.now})
    return token


def actor_for_token(uow: SqlUnitOfWork, token: str) -> Actor | None:
    row = uow.token(hash_token(token))
    if row is None:
        return None
    if row["kind"] == "staff":
        member = uow.staff.get(row["actor_id"])
        if member is None:
            return None
        return Actor("staff", member.id, shop_id=member.shop_id, role=member.role)
    return Actor(row["kind"], row["actor_id"], role=row["role"])


# -- orders ---------------------------------------------------------------------------------------

def import_order(cmd: c.ImportOrder, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    """A paid order arrives from the platform's order system, possibly with its history."""
    _platform(actor, "导入订单", "create or import orders")
    shop = uow.shops.get(cmd.shop_id)
    if shop is None:
        raise not_found("shop", cmd.shop_id)
    if shop.cart_suspended:  # KS-GOV-3: shopping-cart suspension
        raise governance.cart_refusal(uow, shop, ctx.policies.get(shop.policy).at(ctx.now))
    if not uow.buyers.exists(cmd.buyer_id):
        raise not_found("buyer", cmd.buyer_id)
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
    if problems:
        raise refuse("invalid_input", ";".join(p[0] for p in problems), "; ".join(p[1] for p in problems))
    order_id = cmd.id or new_id("O")
    if uow.orders.exists(order_id):
        raise refuse("invalid_state", f"订单 {order_id} 已存在", f"order {order_id} exists already")
    created = cmd.created_at or ctx.now
    pack = ctx.policies.get(shop.policy)
    pv = pack.at(created)
    order = Order(
        id=order_id, shop_id=shop.id, buyer_id=cmd.buyer_id, policy=shop.policy, policy_version=pv.version,
        amount_fen=cmd.amount_fen, freight_fen=cmd.freight_fen, payment=cmd.payment, kind=cmd.kind,
        marketing=cmd.marketing, goods=cmd.goods, category=cmd.category, no_reason_return=cmd.no_reason_return,
        commission=dict(cmd.commission), created_at=created, shipped_at=cmd.shipped_at, signed_at=cmd.signed_at,
        confirmed_at=cmd.confirmed_at,
    )
    derived = derive_imported(order, pv, ctx.now)
    payload: dict[str, Any] = {"amount": format_yuan(order.amount_fen), "status": order.status,
                               "policy": f"{order.policy}@{pv.version}"}
    for key, (when, rule) in derived.items():
        payload[key] = {"at": when.isoformat(), "rule": rule}
    order.record(Event("order_created", created if cmd.created_at else ctx.now, actor.label, shop_id=shop.id,
                       order_id=order.id, to_status=order.status, payload=payload))
    uow.orders.add(order)
    money.order_arrived(uow, order, ctx.now)
    return order.id


COMMISSION_KEYS = ("creator", "group_leader", "affiliate", "tech_fee")


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
    order.sign(ctx.now, actor.label, _pv(ctx, order.policy, order.policy_version))


def confirm_order(cmd: c.ConfirmOrder, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    order = load_order(uow, actor, cmd.order_id, lock=True)
    require(actor.is_buyer, "只有买家可以确认收货", "only the buyer may confirm receipt")
    if order.due_at is not None and order.due_at <= ctx.now:
        raise refuse("invalid_state", "系统已到期自动确认收货", "the automatic confirmation has fallen due",
                     order.due_rule)
    order.confirm(ctx.now, actor.label, _pv(ctx, order.policy, order.policy_version))


# -- tickets --------------------------------------------------------------------------------------

def apply(cmd: c.Apply, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    require(actor.is_buyer, "只有买家可以申请售后", "only buyers apply for after-sales")
    order = load_order(uow, actor, cmd.order_id, lock=True)
    pv = ctx.policies.get(order.policy).at(ctx.now)
    shop = uow.shops.get(order.shop_id)
    assert shop is not None
    ticket = aftersales.apply(new_id("T"), order, actor, pv, ctx.now, cmd.type, cmd.reason, cmd.amount_fen,
                              list(cmd.evidence), cmd.note, governance.refund_handling_off(shop, pv))
    uow.tickets.add(ticket)
    return ticket.id


# -- the over-period entry (RULES §7) --------------------------------------------------------------

def open_entry(cmd: c.OpenEntry, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    order = load_order(uow, actor, cmd.order_id, lock=True)
    shop = uow.shops.get(order.shop_id)
    assert shop is not None
    pv = ctx.policies.get(order.policy).at(ctx.now)
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
    pv = ctx.policies.get(order.policy).at(ctx.now)
    pending = uow.reopen_requests.count(t.reopen_requests.c.order_id == order.id,
                                        t.reopen_requests.c.status == "pending") > 0
    req = entry.request_reopen(new_id("R"), order, actor, pv, ctx.now, pending, cmd.note)
    uow.reopen_requests.add(req)
    return req.id


def decline_reopen(cmd: c.DeclineReopen, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    req = uow.reopen_requests.get(cmd.request_id, lock=True)
    if req is None or not (actor.sees_shop(req.shop_id) or (actor.is_buyer and actor.id == req.buyer_id)):
        raise not_found("reopen request", cmd.request_id)
    req.decline(ctx.now, actor, cmd.reason)
    return req.id


# -- money (RULES §8, KS-EXIT-1) -------------------------------------------------------------------

def visible_shop(uow: SqlUnitOfWork, actor: Actor, shop_id: str, lock: bool = False) -> Shop:
    """The shop, if the actor may see it (others' answer 404)."""
    shop = uow.shops.get(shop_id, lock=lock)
    if shop is None or not actor.sees_shop(shop_id):
        raise not_found("shop", shop_id)
    return shop


MONEY_ROLES = ("owner", "admin")


def top_up(cmd: c.TopUp, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> int:
    """The shop pays money in; an outstanding debt is recovered first. Returns what went to the debt."""
    shop = visible_shop(uow, actor, cmd.shop_id, lock=True)
    require(actor.is_platform or actor.role in MONEY_ROLES, "只有主账号或管理员可以充值",
            "only the owner or an admin may top up")
    if cmd.account not in ("wallet", "deposit"):
        raise refuse("invalid_input", "账户须为 wallet 或 deposit", "account must be wallet or deposit")
    if cmd.amount_fen <= 0:
        raise refuse("invalid_input", "充值金额须大于 0", "amount must be > 0")
    repaid = money.Books(uow).pay_shop(shop.id, cmd.amount_fen, cmd.account, ctx.now, ledger.topup(shop.id), "top_up")
    uow.extra_events.append(Event("topped_up", ctx.now, actor.label, shop_id=shop.id,
                                  payload={"account": cmd.account, "amount": format_yuan(cmd.amount_fen),
                                           "debt_recovered": format_yuan(repaid)}))
    return repaid


def withdraw_deposit(cmd: c.WithdrawDeposit, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    """KS-EXIT-1: the deposit leaves only when the after-sales waiting period is over."""
    shop = visible_shop(uow, actor, cmd.shop_id, lock=True)
    require(actor.is_platform or actor.role == "owner", "只有主账号可以提取保证金", "only the owner may withdraw the deposit")
    pv = ctx.policies.get(shop.policy).at(ctx.now)
    check = exit_check(uow, shop, pv, ctx.now)
    if check["blocking"]:
        head = Reason(check["rule"], "售后等待期未满足,不能提取保证金", "the after-sales waiting period is not over")
        raise Refusal("ineligible", [head, *(Reason(b["rule"], b["message_zh"], b["message_en"])
                                             for b in check["blocking"][:20])])
    books = money.Books(uow)
    available = books.balance(ledger.deposit(shop.id))
    if cmd.amount_fen <= 0 or cmd.amount_fen > available:
        raise refuse("invalid_input", f"提取金额须大于 0 且不超过保证金余额 {format_yuan(available)}",
                     f"amount must be > 0 and at most the deposit {format_yuan(available)}")
    books.post(ledger.entry("deposit_withdrawal", ctx.now, [(ledger.deposit(shop.id), -cmd.amount_fen),
                                                            (ledger.topup(shop.id), cmd.amount_fen)],
                            shop_id=shop.id, rule=pv.governance.exit_waiting.rule))
    uow.extra_events.append(Event("deposit_withdrawn", ctx.now, actor.label, shop_id=shop.id,
                                  rule=pv.governance.exit_waiting.rule, payload={"amount": format_yuan(cmd.amount_fen)}))


def exit_check(uow: SqlUnitOfWork, shop: Shop, pv: PolicyVersion, now: datetime) -> dict[str, Any]:
    """KS-EXIT-1: every order completed more than N days ago, and nothing open: no ticket, dispute,
    refund payout or clawback in flight. Lists every blocking order and ticket."""
    rule = pv.governance.exit_waiting.rule
    cutoff = now - pv.governance.exit_waiting.delta
    o, tk = t.orders.c, t.tickets.c
    blocking: list[dict[str, Any]] = []
    for order in uow.orders.where(o.shop_id == shop.id, o.status.not_in(("completed", "closed")), order_by=(o.id,)):
        blocking.append({"kind": "order", "id": order.id, "rule": rule, "status": order.status,
                         "message_zh": f"订单 {order.id} 尚未完成({order.status})",
                         "message_en": f"order {order.id} has not completed ({order.status})"})
    for order in uow.orders.where(o.shop_id == shop.id, o.status == "completed", o.completed_at > cutoff,
                                  order_by=(o.id,)):
        assert order.completed_at is not None
        free = order.completed_at + pv.governance.exit_waiting.delta
        blocking.append({"kind": "order", "id": order.id, "rule": rule, "status": order.status,
                         "free_at": free.isoformat(),
                         "message_zh": f"订单 {order.id} 完成未满 {pv.governance.exit_waiting.show().replace(' d', ' 天')},"
                                       f"{free.isoformat(timespec='minutes')} 后可退出",
                         "message_en": f"order {order.id} completed less than {pv.governance.exit_waiting.show()} ago; "
                                       f"free at {free.isoformat(timespec='minutes')}"})
    for ticket in uow.tickets.where(tk.shop_id == shop.id, tk.status.not_in(TERMINAL), order_by=(tk.id,)):
        blocking.append({"kind": "ticket", "id": ticket.id, "rule": rule, "status": ticket.status,
                         "message_zh": f"售后单 {ticket.id} 未完结({ticket.status})",
                         "message_en": f"ticket {ticket.id} is still open ({ticket.status})"})
    blocking += _live_after_sales(uow, shop, pv, now)
    for p in uow.payouts.where(t.payouts.c.shop_id == shop.id, t.payouts.c.status == "pending"):
        blocking.append({"kind": "payout", "id": p.id, "rule": rule, "status": p.status,
                         "message_zh": f"退款 {p.id} 尚未到账", "message_en": f"refund payout {p.id} is in flight"})
    for cb in uow.clawbacks.where(t.clawbacks.c.shop_id == shop.id, t.clawbacks.c.status == "pending"):
        blocking.append({"kind": "clawback", "id": cb.id, "rule": rule, "status": cb.status,
                         "message_zh": f"佣金追回 {cb.id} 未完成", "message_en": f"clawback {cb.id} is pending"})
    return {"shop": shop.id, "passed": not blocking, "rule": rule, "blocking": blocking,
            "waiting_days": pv.governance.exit_waiting.delta.days}


def _live_after_sales(uow: SqlUnitOfWork, shop: Shop, pv: PolicyVersion, now: datetime) -> list[dict[str, Any]]:
    """What can still turn into a ticket or a dispute although no ticket is open (KS-EXIT-1): a
    rejection the buyer may still take to the platform (DY-RR-3's window; where the pack sets none,
    the exit waiting period after the rejection), an over-period entry that is open, a buyer's
    request to open it that the shop has not answered."""
    out: list[dict[str, Any]] = []
    o, tk, rq = t.orders.c, t.tickets.c, t.reopen_requests.c
    rej = pv.rejection
    if rej.intervention_after_rejection.enabled:
        span = rej.intervention_window or pv.governance.exit_waiting
        for ticket in uow.tickets.where(tk.shop_id == shop.id, tk.status == "rejected", tk.rejected_at > now - span.delta,
                                        order_by=(tk.id,)):
            order = uow.orders.get(ticket.order_id)
            if order is None or order.last_ticket_id != ticket.id or order.open_ticket_id is not None:
                continue  # a newer ticket replaced it: that one is what counts
            until = (ticket.rejected_at or now) + span.delta
            out.append({"kind": "ticket", "id": ticket.id, "rule": span.rule, "status": ticket.status,
                        "free_at": until.isoformat(),
                        "message_zh": f"售后单 {ticket.id} 已拒绝,{until.isoformat(timespec='minutes')} 前仍可申请平台介入",
                        "message_en": f"ticket {ticket.id} was rejected; intervention may still be asked for until "
                                      f"{until.isoformat(timespec='minutes')}"})
    for order in uow.orders.where(o.shop_id == shop.id, o.entry_closes_at > now, order_by=(o.id,)):
        assert order.entry_closes_at is not None
        closes = order.entry_closes_at.isoformat(timespec="minutes")
        out.append({"kind": "entry", "id": order.id, "rule": pv.entry.window.rule, "status": "open",
                    "free_at": order.entry_closes_at.isoformat(),
                    "message_zh": f"订单 {order.id} 的售后入口开放中,{closes} 关闭",
                    "message_en": f"the after-sales entry of order {order.id} is open until {closes}"})
    requests_rule = pv.entry.buyer_requests.rule
    for req in uow.reopen_requests.where(rq.shop_id == shop.id, rq.status == "pending", order_by=(rq.created_at, rq.id)):
        out.append({"kind": "reopen_request", "id": req.id, "rule": requests_rule, "status": req.status,
                    "order": req.order_id,
                    "message_zh": f"买家请求重新打开订单 {req.order_id} 的售后入口,尚未答复",
                    "message_en": f"the buyer's request to open the entry of order {req.order_id} awaits an answer"})
    return out


def _ticket_command(op: Callable[..., Any]) -> Callable[[Any, Actor, SqlUnitOfWork, Context], Any]:
    """A command on one ticket: lock the ticket, then its order (always in that order), resolve the
    policy version the ticket keeps, run the domain operation."""
    def handler(cmd: Any, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> Any:
        ticket = load_ticket(uow, actor, cmd.ticket_id, lock=True)
        order = uow.orders.get(ticket.order_id, lock=True)
        assert order is not None
        pv = _pv(ctx, ticket.policy, ticket.policy_version)
        return op(cmd, ticket, order, actor, pv, ctx, uow)
    return handler


# -- platform intervention (RULES §6) -------------------------------------------------------------

def _open_case(ticket: Ticket, pv: PolicyVersion, ctx: Context, uow: SqlUnitOfWork,
               opening: aftersales.CaseOpening) -> str:
    case = disputes.open_case(ticket, pv, ctx.now, opening, new_id("I"), ctx.is_workday)
    uow.interventions.add(case)
    return case.id


def _case(uow: SqlUnitOfWork, ticket: Ticket) -> disputes.Intervention:
    case = uow.interventions.get(ticket.intervention_id, lock=True) if ticket.intervention_id else None
    if case is None:
        raise refuse("invalid_state", "该售后单没有平台介入", "this ticket has no platform intervention")
    return case  # type: ignore[no-any-return]


def _cancel(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, ctx: Context, uow: SqlUnitOfWork) -> None:
    in_intervention = ticket.status == "in_intervention"
    aftersales.cancel(ticket, order, actor, pv, ctx.now)
    if in_intervention:
        disputes.withdraw(_case(uow, ticket), ticket, pv, ctx.now)


def _refund_instead(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, ctx: Context,
                    uow: SqlUnitOfWork) -> None:
    """GEN-EX-2, also on a stalled exchange the platform has: the refund ends the case."""
    case = _case(uow, ticket) if ticket.status == "in_intervention" else None
    aftersales.refund_instead(ticket, order, actor, pv, ctx.now,
                              case.previous_status if case is not None and case.is_open else None)
    if case is not None:
        disputes.withdraw(case, ticket, pv, ctx.now, "the shop refunded instead", pv.exchange.refund_instead.rule)


def _submit_evidence(cmd: c.SubmitEvidence, ticket: Ticket, actor: Actor, pv: PolicyVersion, ctx: Context,
                     uow: SqlUnitOfWork) -> list[str]:
    """Evidence items checked against the pack's limits, stored through the blob store by SHA-256."""
    case = _case(uow, ticket)
    side = disputes.evidence_side(case, ticket, actor, pv, ctx.now,
                                  [(f.name, f.content_type, len(f.content)) for f in cmd.items])
    ids = []
    for f in cmd.items:
        key = ctx.blobs.put(f.content)
        item = disputes.EvidenceItem(
            id=new_id("E"), intervention_id=case.id, ticket_id=ticket.id, side=side, submitted_by=actor.label,
            name=f.name, content_type=f.content_type, size=len(f.content), sha256=hashlib.sha256(f.content).hexdigest(),
            blob_key=key, submitted_at=ctx.now)
        uow.evidence.add(item)
        ids.append(item.id)
    return ids


def _month_year_failures(uow: SqlUnitOfWork, shop_id: str, now: datetime) -> tuple[int, int]:
    """KS-PI-3's count: appeals rejected this calendar month / year (by the month of the rejection),
    plus the shop's appeals still pending, which may fail too: otherwise six appeals filed at once
    and all rejected would make six failures in a month whose limit is three."""
    local = now.astimezone(SHANGHAI)
    year_start = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    month_start = year_start.replace(month=local.month)
    a = t.appeals.c
    failed = uow.appeals.where(a.shop_id == shop_id, a.status == "rejected", a.answered_at >= year_start)
    pending = uow.appeals.count(a.shop_id == shop_id, a.status == "pending")
    month = sum(1 for x in failed if x.answered_at is not None and x.answered_at >= month_start)
    return month + pending, len(failed) + pending


def _file_appeal(cmd: c.FileAppeal, ticket: Ticket, actor: Actor, pv: PolicyVersion, ctx: Context,
                 uow: SqlUnitOfWork) -> str:
    case = _case(uow, ticket)
    month, year = _month_year_failures(uow, case.shop_id, ctx.now)
    pending = uow.appeals.count(t.appeals.c.intervention_id == case.id, t.appeals.c.status == "pending") > 0
    appeal = disputes.file_appeal(case, ticket, actor, pv, ctx.now, cmd.reason, month, year, pending, new_id("A"),
                                  ctx.is_workday)
    uow.appeals.add(appeal)
    return appeal.id


def _decide_appeal(cmd: c.DecideAppeal, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    appeal = uow.appeals.get(cmd.appeal_id, lock=True)
    if appeal is None or not actor.sees_shop(appeal.shop_id):
        raise not_found("appeal", cmd.appeal_id)
    ticket = uow.tickets.get(appeal.ticket_id, lock=True)
    case = uow.interventions.get(appeal.intervention_id, lock=True)
    assert ticket is not None and case is not None
    pv = _pv(ctx, ticket.policy, ticket.policy_version)
    disputes.decide_appeal(appeal, case, ticket, actor, pv, ctx.now, cmd.upheld, cmd.answer, cmd.fault_after)
    return appeal.id  # type: ignore[no-any-return]


def _default_address(uow: SqlUnitOfWork, shop_id: str) -> str | None:
    shop = uow.shops.get(shop_id)
    return shop.return_address if shop else None


HANDLERS: dict[type, Callable[..., Any]] = {
    c.CreateShop: create_shop,
    c.SetShopStatus: set_shop_status,
    c.AddStaff: add_staff,
    c.AddBuyer: add_buyer,
    c.IssueToken: issue_token,
    c.ImportOrder: import_order,
    c.ShipOrder: ship_order,
    c.SignOrder: sign_order,
    c.ConfirmOrder: confirm_order,
    c.Apply: apply,
    c.OpenEntry: open_entry,
    c.TopUp: top_up,
    c.WithdrawDeposit: withdraw_deposit,
    c.RequestReopen: request_reopen,
    c.DeclineReopen: decline_reopen,
    c.Cancel: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: _cancel(t, o, a, pv, ctx, uow)),
    c.Approve: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: aftersales.approve(
        t, o, a, pv, ctx.now, cmd.return_address, _default_address(uow, t.shop_id))),
    c.Reject: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: aftersales.reject(
        t, o, a, pv, ctx.now, cmd.reason, list(cmd.evidence))),
    c.SubmitWaybill: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: aftersales.submit_waybill(
        t, o, a, pv, ctx.now, cmd.carrier, cmd.waybill)),
    c.ConfirmReturn: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: aftersales.confirm_return(
        t, o, a, pv, ctx.now)),
    c.RefuseReturn: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: _open_case(
        t, pv, ctx, uow, aftersales.refuse_return(t, o, a, pv, ctx.now, cmd.reason, list(cmd.evidence)))),
    c.RequestIntervention: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: _open_case(
        t, pv, ctx, uow, aftersales.request_intervention(t, o, a, pv, ctx.now, cmd.reason))),
    c.ShipReplacement: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: aftersales.ship_replacement(
        t, o, a, pv, ctx.now, cmd.carrier, cmd.waybill)),
    c.SignReplacement: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: aftersales.sign_replacement(
        t, o, a, pv, ctx.now)),
    c.ConfirmReplacement: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: aftersales.confirm_replacement(
        t, o, a, pv, ctx.now)),
    c.RefundInstead: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: _refund_instead(t, o, a, pv, ctx, uow)),
    c.RespondIntervention: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: disputes.respond(
        _case(uow, t), t, a, pv, ctx.now)),
    c.RequestEvidence: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: disputes.request_evidence(
        _case(uow, t), t, a, pv, ctx.now)),
    c.SubmitEvidence: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: _submit_evidence(
        cmd, t, a, pv, ctx, uow)),
    c.Rule: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: disputes.rule(
        _case(uow, t), t, o, a, pv, ctx.now, cmd.in_favour_of, cmd.remedy, cmd.amount_fen, cmd.fault,
        _default_address(uow, t.shop_id))),
    c.FileAppeal: _ticket_command(lambda cmd, t, o, a, pv, ctx, uow: _file_appeal(cmd, t, a, pv, ctx, uow)),
    c.DecideAppeal: lambda cmd, a, uow, ctx: _decide_appeal(cmd, a, uow, ctx),
}
HANDLERS.update(governance.HANDLERS)  # merchant governance (RULES §9): lift, appeal, evaluate
