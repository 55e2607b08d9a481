"""A shop's money: balances (sums of journal lines), the statement and its CSV, and the exit check
(KS-EXIT-1) that deposit withdrawal obeys."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select

from ...adapters import complaints_table as ct
from ...adapters import tables as t
from ...adapters.uow import SqlUnitOfWork
from ...domain import ledger
from ...domain.actors import Actor
from ...domain.shops import Shop
from ...domain.tickets import TERMINAL
from ...errors import present, refuse
from ...money import format_yuan
from ...policies import PolicyRegistry, PolicyVersion
from ..access import visible_shop
from .common import iso


def shop_balances(uow: SqlUnitOfWork, actor: Actor, shop_id: str) -> dict[str, Any]:
    """The shop's money, each figure the sum of its journal lines."""
    shop = visible_shop(uow, actor, shop_id)
    return {
        "shop": shop.id,
        "wallet": format_yuan(uow.balance(ledger.wallet(shop.id))),
        "deposit": format_yuan(uow.balance(ledger.deposit(shop.id))),
        "debt": format_yuan(-uow.balance(ledger.debt(shop.id))),
        "pending_payouts": uow.payouts.count(t.payouts.c.shop_id == shop.id, t.payouts.c.status == "pending"),
        "pending_clawbacks": uow.clawbacks.count(t.clawbacks.c.shop_id == shop.id,
                                                 t.clawbacks.c.status == "pending"),
    }


STATEMENT_ACCOUNTS = ("wallet", "deposit", "debt")


def statement(uow: SqlUnitOfWork, actor: Actor, shop_id: str, *, account: str | None = None,
              kind: str | None = None, order: str | None = None, since: datetime | None = None,
              until: datetime | None = None, limit: int | None = 200, offset: int = 0) -> dict[str, Any]:
    """Journal lines on the shop's own accounts (wallet, deposit, debt), oldest first, with filters."""
    shop = visible_shop(uow, actor, shop_id)
    if account is not None and account not in STATEMENT_ACCOUNTS:
        raise refuse("invalid_input", f"账户须为 {'、'.join(STATEMENT_ACCOUNTS)}",
                     f"account must be one of {list(STATEMENT_ACCOUNTS)}")
    accounts = [f"{a}:{shop.id}" for a in ([account] if account else STATEMENT_ACCOUNTS)]
    je, jl = t.journal_entries.c, t.journal_lines.c
    conds: list[Any] = [jl.account.in_(accounts)]
    if kind:
        conds.append(je.kind == kind)
    if order:
        conds.append(je.order_id == order)
    if since is not None:
        conds.append(je.at >= since)
    if until is not None:
        conds.append(je.at < until)
    base = select(je.id, je.kind, je.at, je.order_id, je.ticket_id, je.rule, jl.account, jl.amount).select_from(
        t.journal_lines.join(t.journal_entries, jl.entry_id == je.id)).where(and_(*conds))
    total = uow.conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = uow.conn.execute(base.order_by(je.at, je.id, jl.id).limit(limit).offset(offset)).all()
    lines = [{"entry": r.id, "at": iso(r.at), "kind": r.kind, "account": r.account.split(":", 1)[0],
              "amount": format_yuan(-r.amount if r.account.startswith("debt:") else r.amount),
              "order": r.order_id, "ticket": r.ticket_id, "rule": r.rule} for r in rows]
    return {"shop": shop.id, "lines": lines, "total": int(total), "limit": limit, "offset": offset,
            "note": "debt lines are shown as the change in what the shop owes"}


def statement_csv(view: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["entry", "at", "kind", "account", "amount", "order", "ticket", "rule"])
    for x in view["lines"]:
        w.writerow([x["entry"], x["at"], x["kind"], x["account"], x["amount"], x["order"] or "", x["ticket"] or "",
                    x["rule"] or ""])
    return buf.getvalue()


def exit_check_view(uow: SqlUnitOfWork, actor: Actor, shop_id: str, policies: PolicyRegistry,
                    now: datetime) -> dict[str, Any]:
    shop = visible_shop(uow, actor, shop_id)
    return exit_check(uow, shop, policies.in_force(shop.policy, now), now)


def exit_check(uow: SqlUnitOfWork, shop: Shop, pv: PolicyVersion, now: datetime) -> dict[str, Any]:
    """KS-EXIT-1: every order completed more than N days ago, and nothing open: no ticket, dispute,
    complaint (投诉工单), refund payout or clawback in flight. Lists every blocking order and ticket."""
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
        free = present(order.completed_at, f"completion of order {order.id}") + pv.governance.exit_waiting.delta
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
    cc = ct.complaints.c
    for x in uow.complaints.where(cc.shop_id == shop.id, cc.status == "open", order_by=(cc.created_at, cc.id)):
        blocking.append({"kind": "complaint", "id": x.id, "rule": rule, "status": x.status, "order": x.order_id,
                         "message_zh": f"订单 {x.order_id} 的投诉工单 {x.id} 未关闭",
                         "message_en": f"complaint {x.id} on order {x.order_id} is still open"})
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
        closes_at = present(order.entry_closes_at, f"entry of order {order.id}")
        closes = closes_at.isoformat(timespec="minutes")
        out.append({"kind": "entry", "id": order.id, "rule": pv.entry.window.rule, "status": "open",
                    "free_at": closes_at.isoformat(),
                    "message_zh": f"订单 {order.id} 的售后入口开放中,{closes} 关闭",
                    "message_en": f"the after-sales entry of order {order.id} is open until {closes}"})
    requests_rule = pv.entry.buyer_requests.rule
    for req in uow.reopen_requests.where(rq.shop_id == shop.id, rq.status == "pending", order_by=(rq.created_at, rq.id)):
        out.append({"kind": "reopen_request", "id": req.id, "rule": requests_rule, "status": req.status,
                    "order": req.order_id,
                    "message_zh": f"买家请求重新打开订单 {req.order_id} 的售后入口,尚未答复",
                    "message_en": f"the buyer's request to open the entry of order {req.order_id} awaits an answer"})
    return out
