"""The read side: views of orders, tickets and their timelines, scoped to what the actor may see.
Views are plain dicts with money as yuan strings and times in Asia/Shanghai with their offset."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select

from ..adapters import tables as t
from ..adapters.uow import SqlUnitOfWork
from ..clock import SHANGHAI
from ..domain import entry, ledger
from ..domain.actors import Actor
from ..domain.disputes import Appeal, EvidenceItem, Intervention
from ..domain.entry import ReopenRequest, SiteMessage
from ..domain.orders import Order
from ..domain.tickets import STATUS_ZH, STATUSES, TICKET_TYPES, Ticket
from ..errors import not_found, refuse
from ..money import format_yuan
from ..policies import PolicyPack, PolicyRegistry
from .handlers import exit_check, load_order, load_ticket, visible_shop

OVER_PERIOD_LABEL = "超期售后"


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(SHANGHAI).isoformat()


def _due(obj: Order | Ticket) -> dict[str, Any] | None:
    if obj.due_at is None:
        return None
    return {"at": iso(obj.due_at), "action": obj.due_action, "rule": obj.due_rule}


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id, "order": ticket.order_id, "shop": ticket.shop_id, "buyer": ticket.buyer_id,
        "type": ticket.type, "status": ticket.status, "status_zh": STATUS_ZH.get(ticket.status, ticket.status),
        "reason": ticket.reason, "amount": format_yuan(ticket.amount_fen),
        "refunded": format_yuan(ticket.refunded_fen), "over_period": ticket.over_period,
        "labels": [OVER_PERIOD_LABEL] if ticket.over_period else [],
        "evidence": list(ticket.evidence), "note": ticket.note, "return_address": ticket.return_address,
        "carrier": ticket.carrier, "waybill": ticket.waybill, "reject_reason": ticket.reject_reason,
        "policy": ticket.policy, "policy_version": ticket.policy_version,
        "created_at": iso(ticket.created_at), "updated_at": iso(ticket.updated_at), "ended_at": iso(ticket.ended_at),
        "due": _due(ticket),
    }


def order_view(order: Order, now: datetime) -> dict[str, Any]:
    return {
        "id": order.id, "shop": order.shop_id, "buyer": order.buyer_id, "status": order.status,
        "amount": format_yuan(order.amount_fen), "freight": format_yuan(order.freight_fen),
        "refunded": format_yuan(order.refunded_fen), "refundable": format_yuan(max(order.refundable_fen, 0)),
        "payment": order.payment, "kind": order.kind, "marketing": order.marketing, "goods": order.goods,
        "category": order.category, "no_reason_return": order.no_reason_return,
        "commission": dict(order.commission), "policy": order.policy, "policy_version": order.policy_version,
        "created_at": iso(order.created_at), "shipped_at": iso(order.shipped_at), "signed_at": iso(order.signed_at),
        "confirmed_at": iso(order.confirmed_at), "completed_at": iso(order.completed_at),
        "closed_at": iso(order.closed_at), "open_ticket": order.open_ticket_id,
        "applications_in_period": order.applications_in_period,
        "entry": {"state": "open" if order.entry_open(now) else "closed", "closes_at": iso(order.entry_closes_at)},
        "due": _due(order),
    }


def event_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "at": iso(row["at"]), "type": row["type"], "actor": row["actor"], "rule": row["rule"],
        "from": row["from_status"], "to": row["to_status"], "ticket": row["ticket_id"], "order": row["order_id"],
        "shop": row["shop_id"], "payload": row["payload"],
    }


def get_ticket(uow: SqlUnitOfWork, actor: Actor, ticket_id: str) -> dict[str, Any]:
    ticket = load_ticket(uow, actor, ticket_id)
    view = ticket_view(ticket)
    view["timeline"] = [event_view(e) for e in uow.events_for(ticket_id=ticket.id)]
    return view


def ticket_events(uow: SqlUnitOfWork, actor: Actor, ticket_id: str) -> list[dict[str, Any]]:
    ticket = load_ticket(uow, actor, ticket_id)
    return [event_view(e) for e in uow.events_for(ticket_id=ticket.id)]


def get_order(uow: SqlUnitOfWork, actor: Actor, order_id: str, now: datetime) -> dict[str, Any]:
    return order_view(load_order(uow, actor, order_id), now)


def order_events(uow: SqlUnitOfWork, actor: Actor, order_id: str) -> list[dict[str, Any]]:
    """The order's operation record: its own events and its tickets'."""
    order = load_order(uow, actor, order_id)
    return [event_view(e) for e in uow.events_for(order_id=order.id)]


def list_tickets(
    uow: SqlUnitOfWork, actor: Actor, *, statuses: list[str] | None = None, type_: str | None = None,
    over_period: bool | None = None, shop: str | None = None, order: str | None = None,
    due_before: datetime | None = None, limit: int = 50, offset: int = 0,
) -> dict[str, Any]:
    """The work queue: tickets the actor may see, soonest deadline first (no deadline last), then
    oldest first."""
    c = t.tickets.c
    conds: list[Any] = []
    if actor.is_staff:
        conds.append(c.shop_id == actor.shop_id)
    elif actor.is_buyer:
        conds.append(c.buyer_id == actor.id)
    for s in statuses or []:
        if s not in STATUSES:
            raise refuse("invalid_input", f"未知的状态 {s}", f"unknown status {s!r}; one of {list(STATUSES)}")
    if type_ is not None and type_ not in TICKET_TYPES:
        raise refuse("invalid_input", f"未知的售后类型 {type_}", f"unknown type {type_!r}")
    if statuses:
        conds.append(c.status.in_(statuses))
    if type_:
        conds.append(c.type == type_)
    if over_period is not None:
        conds.append(c.over_period.is_(over_period))
    if shop:
        conds.append(c.shop_id == shop)
    if order:
        conds.append(c.order_id == order)
    if due_before is not None:
        conds.append(and_(c.due_at.is_not(None), c.due_at <= due_before))
    total = uow.tickets.count(*conds)
    rows = uow.tickets.where(
        *conds, order_by=(c.due_at.is_(None), c.due_at, c.created_at, c.id), limit=limit, offset=offset)
    return {"items": [ticket_view(x) for x in rows], "total": total, "limit": limit, "offset": offset}


def get_shop(uow: SqlUnitOfWork, actor: Actor, shop_id: str) -> dict[str, Any]:
    shop = uow.shops.get(shop_id)
    if shop is None or not actor.sees_shop(shop_id):
        raise not_found("shop", shop_id)
    open_count = uow.tickets.count(t.tickets.c.shop_id == shop_id, t.tickets.c.due_at.is_not(None))
    overdue = uow.conn.execute(
        select(func.count()).select_from(t.overdue_records).where(t.overdue_records.c.shop_id == shop_id)
    ).scalar_one()
    return {
        "id": shop.id, "name": shop.name, "policy": shop.policy, "status": shop.status,
        "wallet": format_yuan(shop.wallet_fen), "deposit": format_yuan(shop.deposit_fen),
        "wallet_opened_at": iso(shop.wallet_opened_at), "return_address": shop.return_address,
        "waiting_tickets": open_count, "overdue_records": int(overdue),
    }


def policy_list(policies: PolicyRegistry) -> list[dict[str, Any]]:
    return [_pack_summary(policies.get(n)) for n in policies.names()]


def _pack_summary(pack: PolicyPack) -> dict[str, Any]:
    return {"name": pack.name, "title": pack.title,
            "versions": [{"version": v.version, "effective_from": iso(v.effective_from), "summary": v.summary}
                         for v in pack.versions]}


def policy_detail(policies: PolicyRegistry, name: str, version: str | None, now: datetime) -> dict[str, Any]:
    if name not in policies:
        raise not_found("policy", name)
    pack = policies.get(name)
    try:
        pv = pack.version(version) if version else pack.at(now)
    except KeyError:
        raise not_found("policy version", f"{name}@{version}") from None
    out = _pack_summary(pack)
    out["version"] = pv.version
    out["effective_from"] = iso(pv.effective_from)
    out["rules"] = [{"setting": s, "value": v, "rule": r, "source": src, "note": note}
                    for s, v, r, src, note in pv.rows()]
    return out


def entry_view(uow: SqlUnitOfWork, actor: Actor, order_id: str, policies: PolicyRegistry,
               now: datetime) -> dict[str, Any]:
    """The order's over-period entry: its state, and every condition of opening it with the rule, the
    figures and an explanation, so the workbench can show why before anyone clicks."""
    order = load_order(uow, actor, order_id)
    shop = uow.shops.get(order.shop_id)
    assert shop is not None
    pv = policies.get(order.policy).at(now)
    conds = entry.conditions(order, shop, pv, now)
    is_open = order.entry_open(now)
    roles = pv.entry.roles
    may_open = None
    if actor.is_staff:
        may_open = roles is None or actor.role in roles.value
    pending = uow.reopen_requests.where(t.reopen_requests.c.order_id == order.id,
                                        t.reopen_requests.c.status == "pending")
    return {
        "order": order.id, "state": "open" if is_open else "closed",
        "opened_at": iso(order.entry_opened_at) if is_open else None,
        "closes_at": iso(order.entry_closes_at) if is_open else None,
        "openings": order.entry_openings,
        "window": {"length": pv.entry.window.show(), "rule": pv.entry.window.rule},
        "eligible": not is_open and all(x.passed for x in conds),
        "conditions": [x.as_dict() for x in conds],
        "roles": {"allowed": roles.value if roles else None, "rule": roles.rule if roles else None,
                  "you_may_open": may_open},
        "pending_requests": [reopen_view(r) for r in pending],
        "policy": f"{order.policy}@{pv.version}",
    }


def reopen_view(req: ReopenRequest) -> dict[str, Any]:
    return {"id": req.id, "order": req.order_id, "shop": req.shop_id, "buyer": req.buyer_id,
            "created_at": iso(req.created_at), "note": req.note, "status": req.status,
            "answered_at": iso(req.answered_at), "answered_by": req.answered_by, "answer_reason": req.answer_reason}


def get_reopen_request(uow: SqlUnitOfWork, actor: Actor, request_id: str) -> dict[str, Any]:
    req = uow.reopen_requests.get(request_id)
    if req is None or not (actor.sees_shop(req.shop_id) or (actor.is_buyer and actor.id == req.buyer_id)):
        raise not_found("reopen request", request_id)
    return reopen_view(req)


def list_reopen_requests(uow: SqlUnitOfWork, actor: Actor, status: str | None, limit: int,
                         offset: int) -> dict[str, Any]:
    """Buyers' requests to open the entry again: the shop's queue, oldest first."""
    c = t.reopen_requests.c
    conds: list[Any] = []
    if actor.is_staff:
        conds.append(c.shop_id == actor.shop_id)
    elif actor.is_buyer:
        conds.append(c.buyer_id == actor.id)
    if status is not None:
        if status not in ("pending", "opened", "declined"):
            raise refuse("invalid_input", f"未知的状态 {status}", "status must be pending, opened or declined")
        conds.append(c.status == status)
    rows = uow.reopen_requests.where(*conds, order_by=(c.created_at, c.id), limit=limit, offset=offset)
    return {"items": [reopen_view(r) for r in rows], "total": uow.reopen_requests.count(*conds),
            "limit": limit, "offset": offset}


def message_view(m: SiteMessage) -> dict[str, Any]:
    return {"id": m.id, "order": m.order_id, "kind": m.kind, "title_zh": m.title_zh, "body_zh": m.body_zh,
            "title_en": m.title_en, "body_en": m.body_en, "created_at": iso(m.created_at), "read_at": iso(m.read_at)}


def list_messages(uow: SqlUnitOfWork, actor: Actor, limit: int, offset: int) -> dict[str, Any]:
    """站内信: a buyer's site messages, newest first."""
    if not actor.is_buyer:
        raise refuse("forbidden", "站内信仅对买家开放", "site messages are the buyer's")
    c = t.site_messages.c
    rows = uow.messages.where(c.buyer_id == actor.id, order_by=(c.created_at.desc(), c.id), limit=limit,
                              offset=offset)
    return {"items": [message_view(m) for m in rows], "total": uow.messages.count(c.buyer_id == actor.id),
            "limit": limit, "offset": offset}


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
    return exit_check(uow, shop, policies.get(shop.policy).at(now), now)


def case_view(case: Intervention, now: datetime) -> dict[str, Any]:
    return {
        "id": case.id, "ticket": case.ticket_id, "order": case.order_id, "shop": case.shop_id, "buyer": case.buyer_id,
        "status": case.status, "cause": case.cause, "reason": case.reason, "requested_at": iso(case.requested_at),
        "requested_by": case.requested_by, "response_due_at": iso(case.response_due_at),
        "responded_at": iso(case.responded_at), "sla_missed": case.sla_missed_at is not None,
        "sla_missed_at": iso(case.sla_missed_at),
        "overdue_now": case.responded_at is None and case.is_open and now >= case.response_due_at,
        "evidence": {"requested_at": iso(case.evidence_requested_at),
                     "buyer_until": iso(case.buyer_evidence_due_at), "shop_until": iso(case.shop_evidence_due_at),
                     "buyer_items": case.buyer_evidence_count, "shop_items": case.shop_evidence_count},
        "ruling": None if case.ruled_at is None else {
            "at": iso(case.ruled_at), "by": case.ruled_by, "in_favour_of": case.in_favour_of, "remedy": case.remedy,
            "fault": case.fault, "effective_fault": case.effective_fault, "rule": case.ruling_rule},
        "due": None if case.due_at is None else {"at": iso(case.due_at), "action": case.due_action,
                                                  "rule": case.due_rule},
    }


def evidence_view(item: EvidenceItem) -> dict[str, Any]:
    return {"id": item.id, "side": item.side, "submitted_by": item.submitted_by, "name": item.name,
            "content_type": item.content_type, "size": item.size, "sha256": item.sha256,
            "submitted_at": iso(item.submitted_at)}


def get_case(uow: SqlUnitOfWork, actor: Actor, ticket_id: str, now: datetime) -> dict[str, Any]:
    ticket = load_ticket(uow, actor, ticket_id)
    if ticket.intervention_id is None:
        raise not_found("intervention", ticket_id)
    case = uow.interventions.get(ticket.intervention_id)
    assert case is not None
    view = case_view(case, now)
    view["evidence_items"] = [evidence_view(x) for x in uow.evidence.where(
        t.evidence_items.c.intervention_id == case.id, order_by=(t.evidence_items.c.submitted_at,))]
    view["appeals"] = [appeal_view(a) for a in uow.appeals.where(
        t.appeals.c.intervention_id == case.id, order_by=(t.appeals.c.filed_at,))]
    return view


def evidence_content(uow: SqlUnitOfWork, actor: Actor, item_id: str) -> EvidenceItem:
    item = uow.evidence.get(item_id)
    if item is None:
        raise not_found("evidence", item_id)
    load_ticket(uow, actor, item.ticket_id)  # the same visibility as its ticket
    return item  # type: ignore[no-any-return]


def platform_interventions(uow: SqlUnitOfWork, actor: Actor, now: datetime, status: str | None,
                           sla_missed: bool | None, limit: int, offset: int) -> dict[str, Any]:
    """The platform console's queue: cases by response deadline, missed ones flagged (KS-PI-1)."""
    if not actor.is_platform:
        raise refuse("forbidden", "平台介入队列仅对平台客服开放", "the intervention queue is the platform's")
    c = t.interventions.c
    conds: list[Any] = []
    if status is not None:
        conds.append(c.status == status)
    else:
        conds.append(c.status.in_(("awaiting_response", "coordinating", "collecting_evidence")))
    if sla_missed is not None:
        conds.append(c.sla_missed_at.is_not(None) if sla_missed else c.sla_missed_at.is_(None))
    rows = uow.interventions.where(*conds, order_by=(c.response_due_at, c.requested_at, c.id), limit=limit,
                                   offset=offset)
    return {"items": [case_view(x, now) for x in rows], "total": uow.interventions.count(*conds),
            "limit": limit, "offset": offset}


def appeal_view(a: Appeal) -> dict[str, Any]:
    return {"id": a.id, "intervention": a.intervention_id, "ticket": a.ticket_id, "shop": a.shop_id,
            "filed_at": iso(a.filed_at), "filed_by": a.filed_by, "reason": a.reason, "status": a.status,
            "answer_due_at": iso(a.answer_due_at), "answered_at": iso(a.answered_at), "answer": a.answer,
            "fault_before": a.fault_before, "fault_after": a.fault_after,
            "sla_missed": a.sla_missed_at is not None}


def list_appeals(uow: SqlUnitOfWork, actor: Actor, status: str | None, limit: int, offset: int) -> dict[str, Any]:
    c = t.appeals.c
    conds: list[Any] = []
    if actor.is_staff:
        conds.append(c.shop_id == actor.shop_id)
    elif not actor.is_platform:
        raise refuse("forbidden", "申诉仅对商家和平台开放", "appeals are the shop's and the platform's")
    if status is not None:
        conds.append(c.status == status)
    rows = uow.appeals.where(*conds, order_by=(c.answer_due_at, c.id), limit=limit, offset=offset)
    return {"items": [appeal_view(x) for x in rows], "total": uow.appeals.count(*conds), "limit": limit,
            "offset": offset}


def get_appeal(uow: SqlUnitOfWork, actor: Actor, appeal_id: str) -> dict[str, Any]:
    a = uow.appeals.get(appeal_id)
    if a is None or not actor.sees_shop(a.shop_id):
        raise not_found("appeal", appeal_id)
    return appeal_view(a)
