"""Opening a ticket (RULES §2, GEN-APPLY-*): every condition a new application must meet, checked
all at once so that a refusal names each rule that failed, and whether the ticket is over-period."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import SHANGHAI, minutes
from ..errors import Code, Reason, Refusal, present
from ..money import format_yuan
from ..policies import REASONS, PolicyVersion
from .lines import Cover, cover_cap, cover_problems, whole_cover
from .orders import Order
from .tickets import TICKET_TYPES

_CODE_PRECEDENCE: tuple[Code, ...] = ("ineligible", "limit_reached", "invalid_input")
LINES_RULE = "GEN-APPLY-7"  # when a pack predates `apply.lines`


def no_reason_deadline(signed_at: datetime, pv: PolicyVersion) -> datetime:
    """GEN-APPLY-2: 7 × 24 h counted from 00:00 of the day after signing (Asia/Shanghai)."""
    local_signed = signed_at.astimezone(SHANGHAI)
    day_after = (local_signed + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return day_after + pv.apply.no_reason_return.delta


def application_problems(
    order: Order, pv: PolicyVersion, at: datetime, type_: str, reason: str,
    amount_fen: int | None, evidence: list[str], cover: tuple[Cover, ...] | None = None,
) -> tuple[list[tuple[str, Reason]], bool]:
    """Every condition of RULES §2 that a new application fails, as (code, reason); and whether it
    would be an over-period ticket (超期售后)."""
    problems: list[tuple[str, Reason]] = []
    a = pv.apply

    def fail(code: str, rule: str | None, zh: str, en: str) -> None:
        problems.append((code, Reason(rule, zh, en)))

    if type_ not in TICKET_TYPES:
        fail("invalid_input", None, f"未知的售后类型 {type_}", f"unknown ticket type {type_!r}; one of {list(TICKET_TYPES)}")
    if reason not in REASONS:
        fail("invalid_input", None, f"未知的售后原因 {reason}", f"unknown reason {reason!r}; one of {list(REASONS)}")

    over_period = False
    if order.status == "completed":
        if order.entry_open(at):
            over_period = True
        else:
            completed = present(order.completed_at, f"completion of order {order.id}")
            fail("ineligible", a.period.rule,
                 f"订单已于 {minutes(completed)} 完成,售后期已过,且超售后期入口未开启",
                 f"the after-sales period ended when the order completed at {minutes(completed)}, "
                 "and no over-period entry is open")
    elif order.due_action == "complete" and order.due_at is not None and order.due_at <= at \
            and order.open_ticket_id is None:
        # GEN-ORD-1 fell due and the worker has not swept yet: the period is over all the same.
        fail("ineligible", a.period.rule,
             f"售后期已于 {minutes(order.due_at)} 结束({order.due_rule}),且超售后期入口未开启",
             f"the after-sales period ended at {minutes(order.due_at)} ({order.due_rule}), "
             "and no over-period entry is open")

    if a.one_open_ticket.enabled and order.open_ticket_id is not None:
        fail("limit_reached", a.one_open_ticket.rule,
             f"订单已有进行中的售后单 {order.open_ticket_id},同一时间只能有一个",
             f"the order already has an open ticket ({order.open_ticket_id}); one at a time")

    if a.max_in_period is not None and not over_period and order.status != "completed":
        if order.applications_in_period >= a.max_in_period.value:
            fail("limit_reached", a.max_in_period.rule,
                 f"售后期内已申请 {order.applications_in_period} 次,最多 {a.max_in_period.value} 次",
                 f"{order.applications_in_period} applications already inside the after-sales period; "
                 f"limit {a.max_in_period.value}")

    if a.type_fits_state.enabled and type_ in ("return_refund", "exchange", "repair") and order.signed_at is None:
        fail("ineligible", a.type_fits_state.rule, "商品签收后才能申请退货、换货或维修",
             f"{type_} needs the goods signed for; the order is {order.status}")
    if a.type_fits_state.enabled and type_ == "reship" and (
        order.shipped_at is None or reason not in ("logistics_lost", "logistics_damaged")
    ):
        fail("ineligible", a.type_fits_state.rule, "补发仅适用于已发货且物流丢失或损坏的订单",
             "reship is for shipped orders whose parcel was lost or damaged")

    if reason == "no_reason" and type_ in ("return_refund", "exchange"):
        if not order.no_reason_return:
            fail("ineligible", a.no_reason_return.rule, "该商品不支持七天无理由退货",
                 "these goods do not support the seven-day no-reason return")
        elif order.signed_at is not None:
            deadline = no_reason_deadline(order.signed_at, pv)
            if at >= deadline:
                fail("ineligible", a.no_reason_return.rule,
                     f"七天无理由退货已于 {minutes(deadline)} 截止",
                     f"the seven-day no-reason return ended at {minutes(deadline)}")

    if reason in a.evidence_required.value and not evidence:
        fail("invalid_input", a.evidence_required.rule, "物流或质量原因需要上传凭证(照片、聊天记录)",
             f"reason {reason} needs evidence (photos, chat record)")

    refundable = order.refundable_fen
    if a.one_open_ticket.enabled and order.open_ticket_id is not None:
        pass  # the open ticket holds the amount: GEN-APPLY-5 above says why
    elif order.status == "closed" or refundable <= 0:
        fail("ineligible", a.refundable.rule, f"可退金额为 {format_yuan(max(refundable, 0))},不能再申请",
             f"nothing is refundable (refundable {format_yuan(max(refundable, 0))})")
    elif amount_fen is not None and (amount_fen <= 0 or amount_fen > refundable):
        fail("invalid_input", a.refundable.rule,
             f"申请金额 {format_yuan(amount_fen)} 须大于 0 且不超过可退金额 {format_yuan(refundable)}",
             f"amount {format_yuan(amount_fen)} must be > 0 and at most the refundable {format_yuan(refundable)}")
    elif order.lines:
        problems += _line_problems(order, pv, amount_fen, cover)
    return problems, over_period


def covered(order: Order, cover: tuple[Cover, ...] | None) -> tuple[tuple[Cover, ...], int]:
    """GEN-APPLY-7: what a ticket covers (default: every unit still left) and what it can refund at
    most (what those lines can still refund, plus the freight when it covers all that is left)."""
    lines = order.lines
    chosen = whole_cover(lines) if cover is None else cover
    return chosen, cover_cap(lines, chosen, order.refundable_fen)


def _line_problems(order: Order, pv: PolicyVersion, amount_fen: int | None,
                   cover: tuple[Cover, ...] | None) -> list[tuple[str, Reason]]:
    rule = pv.apply.lines.rule if pv.apply.lines is not None else LINES_RULE
    if cover is not None:
        bad = cover_problems(order.lines, cover)
        if bad:
            return [("invalid_input", Reason(rule, zh, en)) for zh, en in bad]
    _, cap = covered(order, cover)
    if cap <= 0:
        return [("invalid_input", Reason(rule, "所选商品行已无可退金额", "the lines chosen have nothing left to refund"))]
    if amount_fen is not None and amount_fen > cap:
        return [("invalid_input", Reason(
            rule, f"申请金额 {format_yuan(amount_fen)} 超过所选商品行可退的 {format_yuan(cap)}",
            f"amount {format_yuan(amount_fen)} exceeds the {format_yuan(cap)} the lines chosen can still refund"))]
    return []


def refusal(problems: list[tuple[str, Reason]]) -> Refusal:
    """One refusal naming every problem; its code is the gravest: ineligible, then limit_reached, then
    invalid_input."""
    codes = {c for c, _ in problems}
    code = next(c for c in _CODE_PRECEDENCE if c in codes)
    return Refusal(code, [r for _, r in problems])
