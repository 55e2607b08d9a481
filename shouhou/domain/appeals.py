"""Appeals of a ruling (KS-PI-3): the shop appeals within 48 h after the refund, at most 3 failed
appeals a month and 10 a year; the platform answers within 5 working days. An upheld appeal changes
the fault record, not the money."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import refuse
from ..policies import PolicyVersion
from .actors import Actor, require
from .disputes import AGAINST_SHOP, FAULTS, Intervention, _platform, _ts
from .tickets import Ticket
from .workdays import IsWorkday, working_days_deadline


@dataclass(eq=False)
class Appeal:
    id: str
    intervention_id: str
    ticket_id: str
    shop_id: str
    filed_at: datetime
    filed_by: str
    reason: str
    answer_due_at: datetime
    status: str = "pending"  # pending | upheld | rejected
    answered_at: datetime | None = None
    answered_by: str | None = None
    answer: str | None = None
    fault_before: str | None = None
    fault_after: str | None = None
    sla_missed_at: datetime | None = None
    due_at: datetime | None = None
    due_rule: str | None = None


def file_appeal(case: Intervention, ticket: Ticket, actor: Actor, pv: PolicyVersion, at: datetime, reason: str | None,
                failed_this_month: int, failed_this_year: int, pending: bool, ident: str,
                is_workday: IsWorkday) -> Appeal:
    """KS-PI-3: within 48 h after the refund; at most 3 failed appeals a month and 10 a year. The
    counts given include the shop's pending appeals (each may still fail)."""
    require(actor.is_staff and actor.shop_id == case.shop_id, "只有店铺员工可以申诉", "only the shop's staff may appeal")
    iv = pv.intervention
    if case.status != "ruled" or case.effective_fault not in AGAINST_SHOP:
        raise refuse("invalid_state", "只能对判定商家有责的结果申诉", "only a ruling against the shop can be appealed",
                     iv.appeal_window.rule)
    if ticket.status != "refunded" or ticket.ended_at is None:
        raise refuse("invalid_state", "退款完成后才能申诉", "an appeal comes after the refund", iv.appeal_window.rule)
    until = ticket.ended_at + iv.appeal_window.delta
    if at >= until:
        raise refuse("ineligible", f"申诉须在退款后 {iv.appeal_window.show()} 内,已于 {_ts(until)} 截止",
                     f"appeals are taken within {iv.appeal_window.show()} of the refund, until {_ts(until)}",
                     iv.appeal_window.rule)
    if pending:
        raise refuse("invalid_state", "该判定已有待处理的申诉", "an appeal of this ruling is pending", iv.appeal_window.rule)
    if failed_this_month >= iv.appeal_failed_per_month.value:
        raise refuse("limit_reached", f"本月申诉失败及待处理共 {failed_this_month} 次,失败上限 {iv.appeal_failed_per_month.value}",
                     f"{failed_this_month} appeals failed or pending this month; failures are limited to {iv.appeal_failed_per_month.value}",
                     iv.appeal_failed_per_month.rule)
    if failed_this_year >= iv.appeal_failed_per_year.value:
        raise refuse("limit_reached", f"今年申诉失败及待处理共 {failed_this_year} 次,失败上限 {iv.appeal_failed_per_year.value}",
                     f"{failed_this_year} appeals failed or pending this year; failures are limited to {iv.appeal_failed_per_year.value}",
                     iv.appeal_failed_per_year.rule)
    if not (reason and reason.strip()):
        raise refuse("invalid_input", "申诉须填写理由", "an appeal needs a reason")
    due = working_days_deadline(at, iv.appeal_answer.working_days, is_workday)
    appeal = Appeal(id=ident, intervention_id=case.id, ticket_id=ticket.id, shop_id=case.shop_id, filed_at=at,
                    filed_by=actor.label, reason=reason, answer_due_at=due, due_at=due, due_rule=iv.appeal_answer.rule,
                    fault_before=case.effective_fault)
    ticket.event("appeal_filed", at, actor.label, iv.appeal_window.rule,
                 {"appeal": appeal.id, "intervention": case.id, "answer_due_at": due.isoformat(), "reason": reason})
    return appeal


def decide_appeal(appeal: Appeal, case: Intervention, ticket: Ticket, actor: Actor, pv: PolicyVersion, at: datetime,
                  upheld: bool, answer: str | None, fault_after: str | None) -> None:
    """An upheld appeal changes the fault record, not the money (KS-PI-3)."""
    _platform(actor, "处理申诉", "decide appeals")
    if appeal.status != "pending":
        raise refuse("invalid_state", f"申诉已处理({appeal.status})", f"the appeal is {appeal.status} already")
    rule_id = pv.intervention.appeal_answer.rule
    if appeal.due_at is not None and appeal.due_at <= at:
        fire_appeal(appeal, ticket, appeal.due_at)  # answered late, before the worker recorded the miss
    appeal.answered_at, appeal.answered_by, appeal.answer = at, actor.label, answer
    appeal.due_at = appeal.due_rule = None
    if upheld:
        after = fault_after or "platform"
        if after not in FAULTS or after in AGAINST_SHOP:
            raise refuse("invalid_input", "申诉成立时责任方须改为非商家", "an upheld appeal moves the fault away from the shop")
        appeal.status, appeal.fault_after = "upheld", after
        case.effective_fault = after
        ticket.event("appeal_upheld", at, actor.label, rule_id,
                     {"appeal": appeal.id, "fault_before": appeal.fault_before, "fault_after": after, "answer": answer,
                      "money": "unchanged"})
    else:
        appeal.status, appeal.fault_after = "rejected", appeal.fault_before
        ticket.event("appeal_rejected", at, actor.label, rule_id, {"appeal": appeal.id, "answer": answer})


def fire_appeal(appeal: Appeal, ticket: Ticket, at: datetime) -> None:
    """The platform did not answer within 5 working days: a platform SLA miss is recorded."""
    if appeal.due_at is None or appeal.due_at > at:
        raise refuse("invalid_state", "没有到期的自动操作", "nothing is due on this appeal")
    appeal.sla_missed_at = at
    rule_id = appeal.due_rule
    appeal.due_at = appeal.due_rule = None
    ticket.event("appeal_sla_missed", at, "system", rule_id,
                 {"appeal": appeal.id, "answer_due_at": appeal.answer_due_at.isoformat()})
