"""Money in the same transaction as the state change that causes it (RULES §8): the unit of work
hands this module the events it is about to commit, and it posts the journal entries they call for.

- `order_created`  (a paid order) -> payment into the order's escrow
- `order_completed`               -> settlement net of refunds (GEN-ORD-3); nothing for a fully
                                     refunded order, which closed instead (GEN-ORD-4)
- `refunded`                      -> refund funding: from escrow before settlement; after it from
                                     wallet -> deposit -> advance compensation, owed as debt (DY-OP-9);
                                     commissions and TR back to the shop where KS-FEE-1 / KS-OP-8 say
                                     so (never on Douyin, DY-OP-8); a payout to the buyer's account
- `overdue_recorded`, `ruled`,    -> the shop's governance evaluation (services.governance, KS-GOV-3):
  `appeal_upheld`                    measures, and liquidated damages debited through `Books`
The payout itself leaves through the payment channel after commit (`pay_out`).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from ..adapters import tables
from ..adapters.payment import ChannelResult, PaymentChannel
from ..adapters.uow import SqlUnitOfWork
from ..domain import ledger as L
from ..domain.events import Event
from ..domain.orders import Order
from ..domain.shops import Shop
from ..domain.tickets import Ticket
from ..money import format_yuan
from ..policies import PolicyRegistry, PolicyVersion
from . import governance

log = logging.getLogger("shouhou.money")


class Books:
    """Posting to the journal within one unit of work, keeping the shop's cached balances equal to
    the sums of their lines."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def balance(self, account: str) -> int:
        return self.uow.balance(account)

    def post(self, e: L.Entry | None) -> L.Entry | None:
        if e is None:
            return None
        self.uow.journal.append(e)
        for line in e.lines:
            kind, _, shop_id = line.account.partition(":")
            if kind in ("wallet", "deposit", "debt"):
                shop: Shop | None = self.uow.shops.get(shop_id)
                if shop is None:
                    continue
                if kind == "wallet":
                    shop.wallet_fen += line.amount
                elif kind == "deposit":
                    shop.deposit_fen += line.amount
                else:
                    shop.debt_fen -= line.amount
        return e

    def pay_shop(self, shop_id: str, amount: int, into: str, at: datetime, source: str, kind: str,
                 **kw: Any) -> int:
        """Money for a shop from `source`: its debt first, the rest `into` its wallet or deposit.
        Returns how much went to the debt."""
        repay_moves, rest = L.recover_debt(shop_id, self.balance(L.debt(shop_id)), amount)
        target = L.wallet(shop_id) if into == "wallet" else L.deposit(shop_id)
        self.post(L.entry(kind, at, [(source, -amount), *repay_moves, (target, rest)], shop_id=shop_id, **kw))
        return amount - rest


def opening_balances(uow: SqlUnitOfWork, shop: Shop, at: datetime) -> None:
    """A shop arrives with balances from before shouhou: one opening entry. (The shop row already
    carries them, so the entry goes straight to the journal rather than through Books.post.)"""
    e = L.entry("opening", at, [(L.OPENING, -(shop.wallet_fen + shop.deposit_fen)),
                                (L.wallet(shop.id), shop.wallet_fen), (L.deposit(shop.id), shop.deposit_fen)],
                shop_id=shop.id)
    if e is not None:
        uow.journal.append(e)


def order_arrived(uow: SqlUnitOfWork, order: Order, at: datetime) -> None:
    """A paid order: its money waits in escrow. An order imported as already completed settled before
    shouhou knew it: the shop's opening wallet has its share; the promoters and the platform get theirs
    as opening balances, so a later clawback has something to take back."""
    books = Books(uow)
    if order.status == "completed":
        order.settled_at = order.completed_at
        net = order.amount_fen - order.refunded_fen
        cut = L.split(net, order.commission)
        moves = [(promoter_account(order, r), v) for r, v in cut.promoters.items()] + [(L.FEE, cut.fee)]
        books.post(L.entry("opening", at, [(L.OPENING, -(cut.fee + sum(cut.promoters.values()))), *moves],
                           shop_id=order.shop_id, order_id=order.id, memo={"settled_before_import": True}))
        return
    books.post(L.entry("payment", order.created_at, [(L.CHANNEL, -order.amount_fen),
                                                     (L.escrow(order.id), order.amount_fen)],
                       shop_id=order.shop_id, order_id=order.id))


def promoter_account(order: Order, role: str) -> str:
    return L.promoter(role, order.promoters.get(role) or f"{order.shop_id}-{role}")


# -- reactions ------------------------------------------------------------------------------------

def react(policies: PolicyRegistry) -> Any:
    def reactor(uow: SqlUnitOfWork, events: list[Event]) -> None:
        governance.lock_shops(uow, events)
        triggered: dict[str, list[tuple[datetime, str]]] = {}
        for e in events:
            if e.type == "order_completed" and e.order_id:
                settle(uow, policies, e.order_id, e.at)
            elif e.type == "refunded" and e.ticket_id:
                fund_refund(uow, policies, e.ticket_id, e.at, e.rule)
            elif e.type in governance.TRIGGERS and e.shop_id:
                triggered.setdefault(e.shop_id, []).append((e.at, e.type))
        # KS-GOV-3: overdue records (KS-GOV-1) and rulings are evaluated in the transaction that makes
        # them, each at its own time (a sweep's batch may hold many of one shop's).
        for shop_id, records in triggered.items():
            governance.evaluate_records(uow, policies, shop_id, records)
    return reactor


def settle(uow: SqlUnitOfWork, policies: PolicyRegistry, order_id: str, at: datetime) -> None:
    """GEN-ORD-3: the shop, the promoters and the platform are paid on the amount net of refunds."""
    order = uow.orders.get(order_id, lock=True)
    assert order is not None
    if order.settled_at is not None:
        return
    pv = policies.resolve(order.policy, order.policy_version)
    books = Books(uow)
    net = books.balance(L.escrow(order.id))
    if net != order.amount_fen - order.refunded_fen:
        raise AssertionError(f"escrow of {order.id} holds {net}, expected {order.amount_fen - order.refunded_fen}")
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


def fund_refund(uow: SqlUnitOfWork, policies: PolicyRegistry, ticket_id: str, at: datetime,
                cause: str | None) -> None:
    ticket = uow.tickets.get(ticket_id, lock=True)
    assert ticket is not None
    order = uow.orders.get(ticket.order_id, lock=True)
    shop = uow.shops.get(ticket.shop_id, lock=True)
    assert order is not None and shop is not None
    pv = policies.resolve(ticket.policy, ticket.policy_version)
    amount = ticket.refunded_fen
    books = Books(uow)
    to_buyer = (L.payable(ticket.buyer_id), amount)
    common = {"shop_id": shop.id, "order_id": order.id, "ticket_id": ticket.id}
    if order.settled_at is None:
        # before settlement the refund comes out of the order's unsettled funds (GEN-ORD-3 settles the rest)
        rule = pv.money.settlement.rule
        books.post(L.entry("refund", at, [(L.escrow(order.id), -amount), to_buyer], rule=rule,
                           memo={"source": "escrow", "cause": cause}, **common))
        ticket.event("refund_funded", at, "system", rule, {"amount": format_yuan(amount),
                                                           "sources": {"escrow": format_yuan(amount)}})
    else:
        sources = L.waterfall(shop.id, amount, books.balance(L.wallet(shop.id)), books.balance(L.deposit(shop.id)),
                              tuple(pv.money.waterfall.value))
        books.post(L.entry("refund", at, [*((acct, -v) for _, acct, v in sources), to_buyer],
                           rule=pv.money.waterfall.rule, memo={"sources": {s: v for s, _, v in sources}}, **common))
        ticket.event("refund_funded", at, "system", pv.money.waterfall.rule,
                     {"amount": format_yuan(amount), "sources": {s: format_yuan(v) for s, _, v in sources}})
        advanced = sum(v for s, _, v in sources if s == "advance")
        if advanced:
            books.post(L.entry("advance_compensation", at, [(L.debt(shop.id), -advanced), (L.ADVANCE, advanced)],
                               rule=pv.money.waterfall.rule, **common))
            ticket.event("advance_compensation", at, "system", pv.money.waterfall.rule,
                         {"amount": format_yuan(advanced), "debt": format_yuan(shop.debt_fen),
                          "reason": "wallet and deposit short"})
        commission_back(uow, books, pv, order, shop, ticket, amount, at)
    uow.payouts.add(L.Payout(id=ticket.id, ticket_id=ticket.id, order_id=order.id, shop_id=shop.id,
                             buyer_id=ticket.buyer_id, amount_fen=amount, created_at=at, due_at=at, rule=cause))


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
        claw = L.Clawback(id=f"C{secrets.token_hex(8)}", ticket_id=ticket.id, order_id=order.id, shop_id=shop.id,
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


def retry_clawback(uow: SqlUnitOfWork, policies: PolicyRegistry, clawback_id: str, now: datetime) -> list[Any]:
    """The worker: a failed clawback's retry has fallen due (KS-FEE-1: daily)."""
    claw = uow.clawbacks.get(clawback_id, lock=True)
    if claw is None or claw.due_at is None or claw.due_at > now:
        return []
    ticket = uow.tickets.get(claw.ticket_id)
    assert ticket is not None
    pv = policies.resolve(ticket.policy, ticket.policy_version)
    try_clawback(uow, Books(uow), pv, claw, ticket, claw.due_at)
    return [claw]


# -- payouts: after commit, through the payment channel ------------------------------------------

def pay_out(uow_factory: Any, channel: PaymentChannel, policies: PolicyRegistry, now: datetime,
            limit: int = 100) -> list[Event]:
    """Send due refunds to the buyers' accounts. Claim (attempt + next retry time) and commit, call the
    channel outside any transaction with the payout id as idempotency key, then record the result
    once. A crash between the call and the record retries with the same key: the channel answers
    the first result again, so the buyer is never paid twice."""
    published: list[Event] = []
    with uow_factory() as uow:
        claimed = []
        for _, ident in uow.due_ids(tables.payouts, now, limit):
            p = uow.payouts.get(ident, lock=True)
            if p is None or p.status != "pending" or p.due_at is None or p.due_at > now:
                continue
            ticket = uow.tickets.get(p.ticket_id)
            assert ticket is not None
            pv = policies.resolve(ticket.policy, ticket.policy_version)
            p.attempts += 1
            p.due_at = now + pv.money.payout_retry.delta
            claimed.append((p.id, p.buyer_id, p.amount_fen))
        published += uow.commit()
    for pid, buyer_id, amount in claimed:
        try:
            result = channel.refund(pid, buyer_id, amount)
        except Exception as exc:  # noqa: BLE001 - a channel that raises is a failed attempt, retried later
            log.exception("payment channel raised for payout %s", pid)
            result = ChannelResult(False, reason=f"channel error: {type(exc).__name__}")
        with uow_factory() as uow:
            p = uow.payouts.get(pid, lock=True)
            if p is None or p.status != "pending":
                continue
            ticket = uow.tickets.get(p.ticket_id)
            assert ticket is not None
            pv = policies.resolve(ticket.policy, ticket.policy_version)
            books = Books(uow)
            common = {"shop_id": p.shop_id, "order_id": p.order_id, "ticket_id": p.ticket_id}
            if result.ok:
                books.post(L.entry("payout", now, [(L.payable(p.buyer_id), -p.amount_fen), (L.CHANNEL, p.amount_fen)],
                                   memo={"channel_ref": result.reference}, **common))
                p.status, p.settled_at, p.due_at, p.channel_ref = "paid", now, None, result.reference
                ticket.event("refund_paid", now, "system", pv.money.payout_attempts.rule,
                             {"amount": format_yuan(p.amount_fen), "channel_ref": result.reference})
            else:
                p.last_error = result.reason
                limit_reached = p.attempts >= pv.money.payout_attempts.value
                if result.buyer_account or limit_reached:
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
                    ticket.event("refund_payout_failed", now, "system", pv.money.payout_retry.rule,
                                 {"reason": result.reason, "attempt": p.attempts, "retry_at": p.due_at.isoformat()
                                  if p.due_at else None})
            published += uow.commit()
    return published
