"""Money (RULES §8): journal entries posted in the same transaction as the state change that causes
them, and the payouts that leave after it.

Reactions (services.reactions runs them inside the unit of work's commit):
- `shop_created`    -> the shop's opening balances
- `order_created`   -> payment into the order's escrow (or, for an order that settled before shouhou
                       knew it, the promoters' and the platform's opening shares)
- `order_completed` -> settlement net of refunds (GEN-ORD-3); nothing for a fully refunded order,
                       which closed instead (GEN-ORD-4)
- `refunded`        -> refund funding: from escrow before settlement; after it from wallet -> deposit
                       -> advance compensation, owed as debt (DY-OP-9); commissions and TR back to the
                       shop where KS-FEE-1 / KS-OP-8 say so (never on Douyin, DY-OP-8); a payout to the
                       buyer's account, or, when the platform advanced it (DY-FAST-1), back to the
                       platform's advance with no second payout (services.fast_lanes paid it)
- `compensated`, `freight_refunded` -> the shop pays the buyer beyond a refund (KS-GOV-5, KS-PI-4,
                       GEN-FREIGHT-1): wallet -> deposit -> advance compensation owed as debt, and a
                       payout of its own (`payout` in the event names it)
Commands: top-up (debt first) and deposit withdrawal (KS-EXIT-1). The worker retries clawbacks
(`retry_clawback`) and sends due payouts through the payment channel after commit (`pay_out`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..adapters import tables
from ..adapters.payment import ChannelResult, PaymentChannel
from ..adapters.uow import SqlUnitOfWork
from ..domain import ledger as L
from ..domain import roles
from ..domain.actors import Actor
from ..domain.events import Event
from ..domain.orders import Order
from ..domain.shops import Shop
from ..domain.tickets import Ticket
from ..errors import BrokenInvariant, Reason, Refusal, describe, present, refuse
from ..money import format_yuan, parse_yuan
from ..policies import PolicyRegistry, PolicyVersion
from . import commands as c
from .access import shop_of, visible_shop
from .books import Books
from .context import Context, Fired, backoff, new_id
from .views.money import exit_check

log = logging.getLogger("shouhou.money")


# -- commands -------------------------------------------------------------------------------------

def top_up(cmd: c.TopUp, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> int:
    """The shop pays money in; an outstanding debt is recovered first. Returns what went to the debt."""
    shop = visible_shop(uow, actor, cmd.shop_id, lock=True)
    roles.require_act(actor, "top_up")
    if cmd.account not in ("wallet", "deposit"):
        raise refuse("invalid_input", "账户须为 wallet 或 deposit", "account must be wallet or deposit")
    if cmd.amount_fen <= 0:
        raise refuse("invalid_input", "充值金额须大于 0", "amount must be > 0")
    repaid = Books(uow).pay_shop(shop.id, cmd.amount_fen, cmd.account, ctx.now, L.topup(shop.id), "top_up")
    shop.record(Event("topped_up", ctx.now, actor.label, shop_id=shop.id,
                      payload={"account": cmd.account, "amount": format_yuan(cmd.amount_fen),
                               "debt_recovered": format_yuan(repaid)}))
    return repaid


def withdraw_deposit(cmd: c.WithdrawDeposit, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    """KS-EXIT-1: the deposit leaves only when the after-sales waiting period is over."""
    shop = visible_shop(uow, actor, cmd.shop_id, lock=True)
    roles.require_act(actor, "withdraw_deposit")
    pv = ctx.policies.in_force(shop.policy, ctx.now)
    check = exit_check(uow, shop, pv, ctx.now)
    if check["blocking"]:
        head = Reason(check["rule"], "售后等待期未满足,不能提取保证金", "the after-sales waiting period is not over")
        raise Refusal("ineligible", [head, *(Reason(b["rule"], b["message_zh"], b["message_en"])
                                             for b in check["blocking"][:20])])
    books = Books(uow)
    available = books.balance(L.deposit(shop.id))
    if cmd.amount_fen <= 0 or cmd.amount_fen > available:
        raise refuse("invalid_input", f"提取金额须大于 0 且不超过保证金余额 {format_yuan(available)}",
                     f"amount must be > 0 and at most the deposit {format_yuan(available)}")
    books.post(L.entry("deposit_withdrawal", ctx.now, [(L.deposit(shop.id), -cmd.amount_fen),
                                                       (L.topup(shop.id), cmd.amount_fen)],
                       shop_id=shop.id, rule=pv.governance.exit_waiting.rule))
    shop.record(Event("deposit_withdrawn", ctx.now, actor.label, shop_id=shop.id,
                      rule=pv.governance.exit_waiting.rule, payload={"amount": format_yuan(cmd.amount_fen)}))


# -- reactions ------------------------------------------------------------------------------------

def open_accounts(uow: SqlUnitOfWork, ctx: Context, e: Event) -> None:
    """A shop arrives with balances from before shouhou: one opening entry. (The shop row already
    carries them, so the entry goes straight to the journal rather than through Books.post.)"""
    shop = shop_of(uow, present(e.shop_id, "the shop of shop_created"))
    opening = L.entry("opening", ctx.now, [(L.OPENING, -(shop.wallet_fen + shop.deposit_fen)),
                                        (L.wallet(shop.id), shop.wallet_fen), (L.deposit(shop.id), shop.deposit_fen)],
                      shop_id=shop.id)
    if opening is not None:
        uow.journal.append(opening)


def take_payment(uow: SqlUnitOfWork, ctx: Context, e: Event) -> None:
    """A paid order: its money waits in escrow. An order imported as already completed settled before
    shouhou knew it: the shop's opening wallet has its share; the promoters and the platform get theirs
    as opening balances, so a later clawback has something to take back."""
    order = present(uow.orders.get(present(e.order_id, "the order of order_created")), f"order {e.order_id}")
    books = Books(uow)
    if order.status == "completed":
        order.settled_at = order.completed_at
        net = order.amount_fen - order.refunded_fen
        cut = L.split(net, order.commission)
        moves = [(promoter_account(order, r), v) for r, v in cut.promoters.items()] + [(L.FEE, cut.fee)]
        books.post(L.entry("opening", ctx.now, [(L.OPENING, -(cut.fee + sum(cut.promoters.values()))), *moves],
                           shop_id=order.shop_id, order_id=order.id, memo={"settled_before_import": True}))
        return
    books.post(L.entry("payment", order.created_at, [(L.CHANNEL, -order.amount_fen),
                                                     (L.escrow(order.id), order.amount_fen)],
                       shop_id=order.shop_id, order_id=order.id))


def promoter_account(order: Order, role: str) -> str:
    return L.promoter(role, order.promoters.get(role) or f"{order.shop_id}-{role}")


def settle(uow: SqlUnitOfWork, ctx: Context, e: Event) -> None:
    """GEN-ORD-3: the shop, the promoters and the platform are paid on the amount net of refunds."""
    if e.order_id is None:
        return
    at = e.at
    order = present(uow.orders.get(e.order_id, lock=True), f"order {e.order_id}")
    if order.settled_at is not None:
        return
    pv = ctx.policies.kept_by(order)
    books = Books(uow)
    net = books.balance(L.escrow(order.id))
    if net != order.amount_fen - order.refunded_fen:
        raise BrokenInvariant(f"escrow of {order.id} holds {net}, expected {order.amount_fen - order.refunded_fen}")
    order.settled_at = at
    if net == 0:
        return  # GEN-ORD-4: nothing to settle
    cut = L.split(net, order.commission)
    repay, shop_rest = L.recover_debt(order.shop_id, books.balance(L.debt(order.shop_id)), cut.shop)
    moves = [(L.escrow(order.id), -net), (L.wallet(order.shop_id), shop_rest), *repay, (L.FEE, cut.fee)]
    moves += [(promoter_account(order, r), v) for r, v in cut.promoters.items()]
    books.post(L.entry("settlement", at, moves, shop_id=order.shop_id, order_id=order.id,
                       rule=pv.money.settlement.rule))
    order.record(Event("settled", at, "system", shop_id=order.shop_id, order_id=order.id,
                       rule=pv.money.settlement.rule,
                       payload={"net": format_yuan(net), "shop": format_yuan(cut.shop), "fee": format_yuan(cut.fee),
                                "promoters": {r: format_yuan(v) for r, v in cut.promoters.items()},
                                "debt_recovered": format_yuan(cut.shop - shop_rest)}))


def fund_refund(uow: SqlUnitOfWork, ctx: Context, e: Event) -> None:
    """A ticket refunded: the money leaves escrow or the shop's accounts for the buyer's payout."""
    if e.ticket_id is None:
        return
    at, cause = e.at, e.rule
    ticket = present(uow.tickets.get(e.ticket_id, lock=True), f"ticket {e.ticket_id}")
    order = present(uow.orders.get(ticket.order_id, lock=True), f"order {ticket.order_id}")
    shop = present(uow.shops.get(ticket.shop_id, lock=True), f"shop {ticket.shop_id}")
    pv = ctx.policies.kept_by(ticket)
    amount = ticket.refunded_fen
    books = Books(uow)
    # DY-FAST-1: the platform paid the buyer already; the refund goes back to its advance, no payout
    advanced = ticket.advanced_fen > 0  # never less than the refund: a ruling refunds at most the ticket's amount
    to_buyer = (L.ADVANCE if advanced else L.payable(ticket.buyer_id), amount)
    common = {"shop_id": shop.id, "order_id": order.id, "ticket_id": ticket.id}
    if e.payload.get("funding") == "advance":
        # KS-PI-4 / KS-PI-6: the platform pays the buyer first (先行赔付 / 优先赔付); the shop's money covers
        # it at once below, from the same sources as any refund, the rest owed as debt
        books.post(L.entry("advance_compensation", at, [(L.ADVANCE, -amount), to_buyer], rule=cause,
                           memo={"recovered_from": "shop"}, **common))
        ticket.event("advance_compensation", at, "system", cause,
                     {"amount": format_yuan(amount), "reason": "the platform refunds first, recovered from the shop"})
        to_buyer = (L.ADVANCE, amount)
    if order.settled_at is None:
        # before settlement the refund comes out of the order's unsettled funds (GEN-ORD-3 settles the rest)
        rule = pv.money.settlement.rule
        books.post(L.entry("refund", at, [(L.escrow(order.id), -amount), to_buyer], rule=rule,
                           memo={"source": "escrow", "cause": cause}, **common))
        ticket.event("refund_funded", at, "system", rule, {"amount": format_yuan(amount),
                                                           "sources": {"escrow": format_yuan(amount)}})
    else:
        sources = books.waterfall(shop.id, amount, pv.money.waterfall.value)
        books.post(L.entry("refund", at, [*((acct, -v) for _, acct, v in sources), to_buyer],
                           rule=pv.money.waterfall.rule, memo={"sources": {s: v for s, _, v in sources}}, **common))
        ticket.event("refund_funded", at, "system", pv.money.waterfall.rule,
                     {"amount": format_yuan(amount), "sources": {s: format_yuan(v) for s, _, v in sources}})
        owe_the_advance(books, pv, shop, ticket, sources, at, common)
        commission_back(uow, books, pv, order, shop, ticket, amount, at)
    if advanced:
        lane = pv.fast_lanes.advance_rule if pv.fast_lanes is not None else None
        ticket.event("fast_refund_recovered", at, "system", lane,
                     {"amount": format_yuan(amount), "from": "order_funds" if order.settled_at is None else "shop"})
        return
    uow.payouts.add(L.Payout(id=ticket.id, ticket_id=ticket.id, order_id=order.id, shop_id=shop.id,
                             buyer_id=ticket.buyer_id, amount_fen=amount, created_at=at, due_at=at, rule=cause))


def owe_the_advance(books: Books, pv: PolicyVersion, shop: Shop, ticket: Ticket, sources: list[tuple[str, str, int]],
                    at: datetime, common: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """The part of a payment the wallet and deposit could not cover came from the platform's advance
    (DY-OP-9): the shop owes it as debt, and the ticket's timeline says so."""
    owed = sum(v for s, _, v in sources if s == "advance")
    if not owed:
        return
    books.post(L.entry("advance_compensation", at, [(L.debt(shop.id), -owed), (L.ADVANCE, owed)],
                       rule=pv.money.waterfall.rule, **common))
    ticket.event("advance_compensation", at, "system", pv.money.waterfall.rule,
                 {"amount": format_yuan(owed), "debt": format_yuan(shop.debt_fen), **(extra or {}),
                  "reason": "wallet and deposit short"})


SHOP_PAYS = ("compensated", "freight_refunded")


def shop_pays_buyer(uow: SqlUnitOfWork, ctx: Context, e: Event) -> None:
    """Money the shop owes the buyer beyond a refund (a delayed-shipment compensation, KS-GOV-5; a
    priority compensation at the listed price, KS-PI-4; a return's freight, GEN-FREIGHT-1). The
    platform pays the buyer at once and the shop bears it through the §8 waterfall, whether the
    order has settled or not: it is not the order's money. The event names its payout (one per
    cause, so a retry or a second event never pays twice) and carries the amount in yuan."""
    if e.ticket_id is None or e.shop_id is None:
        raise BrokenInvariant(f"{e.type} without a ticket and a shop")
    amount = parse_yuan(e.payload["amount"])
    payout_id = str(e.payload["payout"])
    if amount <= 0 or uow.payouts.get(payout_id) is not None:
        return
    ticket = present(uow.tickets.get(e.ticket_id, lock=True), f"ticket {e.ticket_id}")
    shop = present(uow.shops.get(e.shop_id, lock=True), f"shop {e.shop_id}")
    pv = ctx.policies.kept_by(ticket)
    books = Books(uow)
    common = {"shop_id": shop.id, "order_id": ticket.order_id, "ticket_id": ticket.id}
    sources = books.waterfall(shop.id, amount, pv.money.waterfall.value)
    books.post(L.entry(e.type, e.at, [*((acct, -v) for _, acct, v in sources), (L.payable(ticket.buyer_id), amount)],
                       rule=e.rule, memo={"sources": {s: v for s, _, v in sources}, "payout": payout_id}, **common))
    owe_the_advance(books, pv, shop, ticket, sources, e.at, common, {"for": e.type})
    uow.payouts.add(L.Payout(id=payout_id, ticket_id=ticket.id, order_id=ticket.order_id, shop_id=shop.id,
                             buyer_id=ticket.buyer_id, amount_fen=amount, created_at=e.at, due_at=e.at, rule=e.rule))


def _returns_commission(pv: PolicyVersion, order: Order, shop: Shop, ticket: Ticket) -> str | None:
    """Which rule, if any, gives the shop back the commissions and TR of a refund after settlement.
    Both windows count to when the refund started, the buyer's application (KS-OP-8: "the refund
    starts within the return period"), not to when the money moves: a return that takes its ten
    days past the window keeps the terms it was applied for under."""
    m = pv.money
    if m.no_commission_return is not None and m.no_commission_return.enabled:
        return None  # DY-OP-8
    started = ticket.created_at
    if m.fee_sharing is not None and order.confirmed_at is not None:
        span = m.fee_sharing
        short = m.fee_sharing_short_categories.value if m.fee_sharing_short_categories else []
        if m.fee_sharing_short and (order.category in short or order.goods in short):
            span = m.fee_sharing_short  # fresh food, flowers (categories), virtual goods (the goods kind)
        if started - order.confirmed_at <= span.delta:
            return span.rule  # KS-FEE-1: still inside the shared window
    if m.commission_return is not None and ticket.over_period and order.completed_at is not None:
        cats = m.commission_return_categories.value if m.commission_return_categories else ["*"]
        if ("*" in cats or order.category in cats) and order.created_at >= shop.wallet_opened_at \
                and started - order.completed_at <= m.commission_return.delta:
            return m.commission_return.rule  # KS-OP-8
    return None


def commission_back(uow: SqlUnitOfWork, books: Books, pv: PolicyVersion, order: Order, shop: Shop, ticket: Ticket,
                    amount: int, at: datetime) -> None:
    rule = _returns_commission(pv, order, shop, ticket)
    if rule is None:
        return
    parts = [(promoter_account(order, r), L.part(amount, L.rate(order.commission.get(r)))) for r in L.PROMOTER_ROLES]
    parts.append((L.FEE, L.part(amount, L.rate(order.commission.get("tech_fee")))))
    fully_refunded = order.refunded_fen >= order.amount_fen
    for account, share in parts:
        # Pro rata to the refund, but never more than this order paid the account, less what earlier
        # refunds of the order already asked back; the last refund of the order takes back the rest.
        left = uow.paid_by_order(order.id, account) - sum(
            x.amount_fen for x in uow.clawbacks.where(tables.clawbacks.c.order_id == order.id,
                                                      tables.clawbacks.c.account == account))
        value = left if fully_refunded else min(share, left)
        if value <= 0:
            continue
        claw = L.Clawback(id=new_id("C"), ticket_id=ticket.id, order_id=order.id, shop_id=shop.id,
                          account=account, amount_fen=value, rule=rule, created_at=at)
        uow.clawbacks.add(claw)
        try_clawback(uow, books, pv, claw, ticket, at)


def try_clawback(uow: SqlUnitOfWork, books: Books, pv: PolicyVersion, claw: L.Clawback, ticket: Ticket,
                 at: datetime) -> bool:
    """All or nothing: take the whole amount back from the account, or wait and try again."""
    claw.attempts += 1
    if books.balance(claw.account) < claw.amount_fen:
        claw.due_at = at + pv.money.clawback_retry.delta
        ticket.event("clawback_failed", at, "system", claw.rule,
                     {"account": claw.account, "amount": format_yuan(claw.amount_fen), "attempt": claw.attempts,
                      "retry_at": claw.due_at.isoformat()})
        return False
    books.pay_shop(claw.shop_id, claw.amount_fen, "wallet", at, claw.account, "clawback",
                   order_id=claw.order_id, ticket_id=claw.ticket_id, rule=claw.rule, memo={"from": claw.account})
    claw.status, claw.done_at, claw.due_at = "done", at, None
    ticket.event("clawback", at, "system", claw.rule,
                 {"account": claw.account, "amount": format_yuan(claw.amount_fen), "to": f"wallet:{claw.shop_id}"})
    return True


def retry_clawback(uow: SqlUnitOfWork, ctx: Context, clawback_id: str) -> Fired | None:
    """The worker: a failed clawback's retry has fallen due (KS-FEE-1: daily)."""
    claw = uow.clawbacks.get(clawback_id, lock=True)
    if claw is None or claw.due_at is None or claw.due_at > ctx.now:
        return None
    ticket = present(uow.tickets.get(claw.ticket_id), f"ticket {claw.ticket_id}")
    try_clawback(uow, Books(uow), ctx.policies.kept_by(ticket), claw, ticket, claw.due_at)
    return Fired.on(claw)


# -- payouts: after commit, through the payment channel ------------------------------------------

def pay_out(uow_factory: Callable[[], SqlUnitOfWork], channel: PaymentChannel, policies: PolicyRegistry,
            now: datetime, limit: int = 100) -> list[Event]:
    """Send due refunds to the buyers' accounts. Claim (attempt + next retry time) and commit, call the
    channel outside any transaction with the payout id as idempotency key, then record the result
    once. A payout claimed before may have left already (a worker killed after the call): the
    channel's own record is asked first (`status`), and so it is when an answer is lost to a timeout,
    so the buyer is paid once and the platform never advance-compensates a refund that went out."""
    published: list[Event] = []
    with uow_factory() as uow:
        claimed = []
        retried = uow.parked_due(now)
        for _, ident in uow.due_ids(tables.payouts, now, limit, kind="payout"):
            p = uow.payouts.get(ident, lock=True)
            if p is None or p.status != "pending" or p.due_at is None or p.due_at > now:
                continue
            try:
                ticket = present(uow.tickets.get(p.ticket_id), f"ticket {p.ticket_id}")
                pv = policies.kept_by(ticket)
            except Exception as exc:  # noqa: BLE001 - a bad row (its pack is gone): parked, the rest go out
                error = describe(exc)
                log.error("parked payout %s: %s", p.id, error)
                uow.park("payout", p.id, error, now, backoff)
                continue
            if ("payout", p.id) in retried:
                uow.unpark([("payout", p.id)])
            claimed.append((p.id, p.buyer_id, p.amount_fen, p.attempts > 0))
            p.attempts += 1
            p.due_at = now + pv.money.payout_retry.delta
        published += uow.commit()
    for pid, buyer_id, amount, tried_before in claimed:
        result = _ask_channel(channel, pid, buyer_id, amount, tried_before)
        with uow_factory() as uow:
            published += _record_payout(uow, policies, pid, result, now)
    return published


def _ask_channel(channel: PaymentChannel, key: str, buyer_id: str, amount: int, tried_before: bool) -> ChannelResult:
    """The channel's answer for one payout: its record of an earlier attempt when there was one, else
    a refund call; a call without an answer is checked against its record too."""
    try:
        if tried_before:
            known = channel.status(key)
            if known is not None and not known.in_doubt:
                return known  # it left (or was refused) already: never ask for the money again
        result = channel.refund(key, buyer_id, amount)
        if result.in_doubt:
            known = channel.status(key)
            if known is None:  # the channel never received it: a plain failure, safe to retry or compensate
                return ChannelResult(False, reason=result.reason)
            if not known.in_doubt:
                return known
        return result
    except Exception as exc:  # noqa: BLE001 - a channel that raises leaves the outcome unknown
        log.exception("payment channel raised for payout %s", key)
        return ChannelResult(False, reason=f"channel error: {type(exc).__name__}", in_doubt=True)


def _record_payout(uow: SqlUnitOfWork, policies: PolicyRegistry, pid: str, result: ChannelResult,
                   now: datetime) -> list[Event]:
    """Record one channel answer, once: paid; refused for the buyer's account or out of attempts ->
    DY-OP-9's advance compensation; otherwise a retry. An outcome still unknown is never compensated:
    it is retried (and asked about) until the channel answers."""
    p = uow.payouts.get(pid, lock=True)
    if p is None or p.status != "pending":
        return []
    ticket = present(uow.tickets.get(p.ticket_id), f"ticket {p.ticket_id}")
    pv = policies.kept_by(ticket)
    books = Books(uow)
    common = {"shop_id": p.shop_id, "order_id": p.order_id, "ticket_id": p.ticket_id}
    if result.ok:
        books.post(L.entry("payout", now, [(L.payable(p.buyer_id), -p.amount_fen), (L.CHANNEL, p.amount_fen)],
                           memo={"channel_ref": result.reference}, **common))
        p.status, p.settled_at, p.due_at, p.channel_ref = "paid", now, None, result.reference
        ticket.event("refund_paid", now, "system", pv.money.payout_attempts.rule,
                     {"amount": format_yuan(p.amount_fen), "channel_ref": result.reference, "payout": p.id})
        return uow.commit()
    p.last_error = result.reason
    limit_reached = p.attempts >= pv.money.payout_attempts.value
    if result.buyer_account or (limit_reached and not result.in_doubt):
        # DY-OP-9: report the reason; platform CS advance-compensates the buyer.
        rule = pv.money.payout_attempts.rule
        books.post(L.entry("advance_compensation", now,
                           [(L.payable(p.buyer_id), -p.amount_fen), (L.ADVANCE, p.amount_fen)],
                           rule=rule, memo={"reason": result.reason}, **common))
        books.post(L.entry("payout", now, [(L.ADVANCE, -p.amount_fen), (L.CHANNEL, p.amount_fen)],
                           rule=rule, memo={"route": "platform customer service"}, **common))
        p.status, p.settled_at, p.due_at = "compensated", now, None
        ticket.event("advance_compensation", now, "system", rule,
                     {"amount": format_yuan(p.amount_fen), "reason": result.reason,
                      "by": "platform customer service", "attempts": p.attempts})
    else:
        payload = {"reason": result.reason, "attempt": p.attempts,
                   "retry_at": p.due_at.isoformat() if p.due_at else None}
        if result.in_doubt:
            payload["in_doubt"] = True  # the channel could not say whether it paid: asked again at the retry
        ticket.event("refund_payout_failed", now, "system", pv.money.payout_retry.rule, payload)
    return uow.commit()
