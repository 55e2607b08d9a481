"""Platform intervention (平台介入, RULES §6): a dispute opens on a refused parcel or at a party's
request, platform CS responds within working days, asks both sides for evidence, rules, and the shop
may appeal a ruling (KS-PI-3). Deadlines count on the official calendar (ctx.is_workday)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import BinaryIO

from ..adapters import tables as t
from ..adapters.blobs import HEAD, detect_type
from ..adapters.uow import SqlUnitOfWork
from ..clock import SHANGHAI
from ..domain import aftersales, appeals, disputes, remedies
from ..domain.actors import Actor
from ..domain.tickets import Ticket
from ..errors import not_found, present
from ..money import format_yuan
from ..policies import PolicyVersion
from . import commands as c
from .access import case_of, load_ticket_and_order, shop_of
from .context import Context, Fired, new_id


def _open_case(uow: SqlUnitOfWork, ctx: Context, ticket: Ticket, pv: PolicyVersion,
               opening: aftersales.CaseOpening) -> str:
    case = disputes.open_case(ticket, pv, ctx.now, opening, new_id("I"), ctx.is_workday)
    uow.interventions.add(case)
    return case.id


def refuse_return(cmd: c.RefuseReturn, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    """The shop refuses the returned parcel: a dispute for the platform."""
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    pv = ctx.policies.kept_by(ticket)
    opening = aftersales.refuse_return(ticket, order, actor, pv, ctx.now, cmd.reason, list(cmd.evidence))
    return _open_case(uow, ctx, ticket, pv, opening)


def request_intervention(cmd: c.RequestIntervention, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    """A party asks the platform to step in (after a rejection, on a stalled exchange)."""
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    pv = ctx.policies.kept_by(ticket)
    opening = aftersales.request_intervention(ticket, order, actor, pv, ctx.now, cmd.reason)
    return _open_case(uow, ctx, ticket, pv, opening)


def respond(cmd: c.RespondIntervention, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    ticket, _order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    disputes.respond(case_of(uow, ticket), ticket, actor, ctx.policies.kept_by(ticket), ctx.now)


def request_evidence(cmd: c.RequestEvidence, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    ticket, _order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    disputes.request_evidence(case_of(uow, ticket), ticket, actor, ctx.policies.kept_by(ticket), ctx.now)


def _opened(f: c.EvidenceFile) -> tuple[BinaryIO, int, str]:
    """The file as a stream at its start, its size, and its type as detected from its first bytes."""
    stream: BinaryIO = io.BytesIO(f.content) if isinstance(f.content, bytes) else f.content
    if f.size is not None:
        size = f.size
    else:
        size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    detected = detect_type(stream.read(HEAD))
    stream.seek(0)
    return stream, size, detected


def _submitted(uow: SqlUnitOfWork, case_id: str) -> dict[str, tuple[int, int]]:
    """Items and bytes each side has submitted on the case so far."""
    out = {"buyer": (0, 0), "shop": (0, 0)}
    for item in uow.evidence.where(t.evidence_items.c.intervention_id == case_id):
        count, size = out.get(item.side, (0, 0))
        out[item.side] = (count + 1, size + item.size)
    return out


def submit_evidence(cmd: c.SubmitEvidence, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> list[str]:
    """Evidence items checked against the pack's limits and types (detected from the bytes, which
    must be what the sender declared), then streamed into the blob store by SHA-256."""
    ticket, _order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    pv = ctx.policies.kept_by(ticket)
    case = case_of(uow, ticket)
    opened = [_opened(f) for f in cmd.items]
    side = disputes.evidence_side(
        case, ticket, actor, pv, ctx.now, [(f.name, detected, size) for f, (_, size, detected) in zip(
            cmd.items, opened, strict=True)],
        declared=[f.content_type for f in cmd.items], before=_submitted(uow, case.id))
    ids = []
    for f, (stream, _size, detected) in zip(cmd.items, opened, strict=True):
        stored = ctx.blobs.put_stream(stream)
        item = disputes.EvidenceItem(
            id=new_id("E"), intervention_id=case.id, ticket_id=ticket.id, side=side, submitted_by=actor.label,
            name=f.name, content_type=detected, size=stored.size, sha256=stored.sha256, blob_key=stored.key,
            submitted_at=ctx.now)
        uow.evidence.add(item)
        ids.append(item.id)
    return ids


def rule(cmd: c.Rule, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    """Platform CS rules, naming who was at fault (KS-PI-2), and with a finding against the shop,
    its remedy (KS-PI-4, -5, -6)."""
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    made = disputes.rule(case_of(uow, ticket), ticket, order, actor, ctx.policies.kept_by(ticket), ctx.now,
                         cmd.in_favour_of, cmd.remedy, cmd.amount_fen, cmd.fault,
                         shop_of(uow, ticket.shop_id).return_address, finding=cmd.finding, lines=cmd.lines)
    if made is not None:
        uow.remedies.add(made)


def _remedy_of(uow: SqlUnitOfWork, ticket: Ticket) -> remedies.Remedy | None:
    return uow.remedies.get(ticket.intervention_id, lock=True) if ticket.intervention_id else None


def cannot_reship(cmd: c.CannotReship, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    """KS-PI-4: the shop cannot reship; the platform compensates the missing lines at once."""
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    remedies.cannot_reship(ticket, order, actor, ctx.policies.kept_by(ticket), ctx.now, _remedy_of(uow, ticket))


def claim_compensation(cmd: c.ClaimCompensation, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    """KS-PI-5: the buyer claims compensation after a wrong-item ruling (a delayed-shipment record)."""
    ticket, order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    fen = remedies.claim_compensation(_remedy_of(uow, ticket), ticket, order, actor, ctx.policies.kept_by(ticket),
                                      ctx.now)
    return format_yuan(fen)


def retrieve_goods(cmd: c.RetrieveGoods, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    """KS-PI-6: the shop has collected the goods; its retrieval task is done."""
    ticket, _order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    remedies.retrieve_goods(_remedy_of(uow, ticket), ticket, actor, ctx.policies.kept_by(ticket), ctx.now)


def _failed_appeals(uow: SqlUnitOfWork, shop_id: str, now: datetime) -> tuple[int, int]:
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


def file_ruling_appeal(cmd: c.FileAppeal, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    """The shop appeals a ruling against it within 48 h of the refund (KS-PI-3)."""
    ticket, _order = load_ticket_and_order(uow, actor, cmd.ticket_id)
    pv = ctx.policies.kept_by(ticket)
    case = case_of(uow, ticket)
    month, year = _failed_appeals(uow, case.shop_id, ctx.now)
    pending = uow.appeals.count(t.appeals.c.intervention_id == case.id, t.appeals.c.status == "pending") > 0
    appeal = appeals.file_appeal(case, ticket, actor, pv, ctx.now, cmd.reason, month, year, pending, new_id("A"),
                                  ctx.is_workday)
    uow.appeals.add(appeal)
    return appeal.id


def decide_ruling_appeal(cmd: c.DecideAppeal, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    """Platform staff uphold or reject an appeal against a ruling (KS-PI-3)."""
    appeal = uow.appeals.get(cmd.appeal_id, lock=True)
    if appeal is None or not actor.sees(appeal.shop_id):
        raise not_found("appeal", cmd.appeal_id)
    ticket = present(uow.tickets.get(appeal.ticket_id, lock=True), f"ticket {appeal.ticket_id}")
    case = present(uow.interventions.get(appeal.intervention_id, lock=True), f"intervention {appeal.intervention_id}")
    appeals.decide_appeal(appeal, case, ticket, actor, ctx.policies.kept_by(ticket), ctx.now, cmd.upheld,
                           cmd.answer, cmd.fault_after)
    return appeal.id


def fire_case_deadline(uow: SqlUnitOfWork, ctx: Context, case_id: str) -> Fired | None:
    """The worker: an intervention's deadline fell due (a missed response, evidence that never came)."""
    case = uow.interventions.get(case_id, lock=True)
    if case is None or case.due_at is None or case.due_at > ctx.now:
        return None
    ticket = present(uow.tickets.get(case.ticket_id, lock=True), f"ticket {case.ticket_id}")
    order = present(uow.orders.get(case.order_id, lock=True), f"order {case.order_id}")
    disputes.fire(case, ticket, order, ctx.policies.kept_by(ticket), case.due_at,
                  shop_of(uow, case.shop_id).return_address)
    return Fired.on(case, ticket, order)


def fire_appeal_deadline(uow: SqlUnitOfWork, ctx: Context, appeal_id: str) -> Fired | None:
    """The worker: an appeal went unanswered past its deadline (KS-PI-3)."""
    appeal = uow.appeals.get(appeal_id, lock=True)
    if appeal is None or appeal.due_at is None or appeal.due_at > ctx.now:
        return None
    ticket = present(uow.tickets.get(appeal.ticket_id, lock=True), f"ticket {appeal.ticket_id}")
    appeals.fire_appeal(appeal, ticket, appeal.due_at)
    return Fired.on(appeal)
