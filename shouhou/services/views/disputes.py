"""Platform intervention: a case with its deadlines, evidence, ruling and appeals; the console's
queue by response deadline (KS-PI-1); appeals against rulings (KS-PI-3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...adapters import tables as t
from ...adapters.uow import SqlUnitOfWork
from ...domain.actors import Actor
from ...domain.appeals import Appeal
from ...domain.disputes import EvidenceItem, Intervention
from ...domain.remedies import Remedy
from ...errors import not_found, present, refuse
from ..access import load_ticket, scope
from .common import iso


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
    case = present(uow.interventions.get(ticket.intervention_id), f"intervention {ticket.intervention_id}")
    view = case_view(case, now)
    view["evidence_items"] = [evidence_view(x) for x in uow.evidence.where(
        t.evidence_items.c.intervention_id == case.id, order_by=(t.evidence_items.c.submitted_at,))]
    view["appeals"] = [appeal_view(a) for a in uow.appeals.where(
        t.appeals.c.intervention_id == case.id, order_by=(t.appeals.c.filed_at,))]
    made = uow.remedies.get(case.id)
    view["remedy"] = None if made is None else remedy_view(made)
    return view


def remedy_view(r: Remedy) -> dict[str, Any]:
    """What a ruling with a finding ordered (KS-PI-4, -5, -6) and how far it got."""
    return {"finding": r.finding, "remedy": r.remedy, "rule": r.rule, "ruled_at": iso(r.ruled_at),
            "lines": [c.as_json() for c in r.lines], "compensation_claimed_at": iso(r.claimed_at),
            "retrieval": r.retrieval, "retrieved_at": iso(r.retrieved_at), "retrieved_by": r.retrieved_by}


def evidence_content(uow: SqlUnitOfWork, actor: Actor, item_id: str) -> EvidenceItem:
    item = uow.evidence.get(item_id)
    if item is None:
        raise not_found("evidence", item_id)
    load_ticket(uow, actor, item.ticket_id)  # the same visibility as its ticket
    return item


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
    if not (actor.is_platform or actor.is_staff):
        raise refuse("forbidden", "申诉仅对商家和平台开放", "appeals are the shop's and the platform's")
    conds: list[Any] = scope(actor, c.shop_id)
    if status is not None:
        conds.append(c.status == status)
    rows = uow.appeals.where(*conds, order_by=(c.answer_due_at, c.id), limit=limit, offset=offset)
    return {"items": [appeal_view(x) for x in rows], "total": uow.appeals.count(*conds), "limit": limit,
            "offset": offset}


def get_appeal(uow: SqlUnitOfWork, actor: Actor, appeal_id: str) -> dict[str, Any]:
    a = uow.appeals.get(appeal_id)
    if a is None or not actor.sees(a.shop_id):
        raise not_found("appeal", appeal_id)
    return appeal_view(a)
