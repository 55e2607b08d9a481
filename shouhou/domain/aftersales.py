"""What buyers, shops and the system do to tickets (RULES §2–4). Pure functions over a ticket and
its order: they check the rules, change state, and record events; the service layer loads and saves.

`refund()` is the one place in shouhou where a refund happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..clock import SHANGHAI
from ..errors import Code, Reason, Refusal, refuse
from ..money import format_yuan
from ..policies import REASONS, PolicyVersion, Span
from .actors import Actor, require
from .orders import Order
from .tickets import TICKET_TYPES, Ticket

_CODE_PRECEDENCE: tuple[Code, ...] = ("ineligible", "limit_reached", "invalid_input")


def _fmt(at: datetime) -> str:
    return at.isoformat(timespec="minutes")


def no_reason_deadline(signed_at: datetime, pv: PolicyVersion) -> datetime:
    """GEN-APPLY-2: 7 × 24 h counted from 00:00 of the day after signing (Asia/Shanghai)."""
    local_signed = signed_at.astimezone(SHANGHAI)
    day_after = (local_signed + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return day_after + pv.apply.no_reason_return.delta


def application_problems(
    order: Order, pv: PolicyVersion, at: datetime, type_: str, reason: str,
    amount_fen: int | None, evidence: list[str],
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
            assert order.completed_at is not None
            fail("ineligible", a.period.rule,
                 f"订单已于 {_fmt(order.completed_at)} 完成,售后期已过,且超售后期入口未开启",
                 f"the after-sales period ended when the order completed at {_fmt(order.completed_at)}, "
                 "and no over-period entry is open")
    elif order.due_action == "complete" and order.due_at is not None and order.due_at <= at \
            and order.open_ticket_id is None:
        # GEN-ORD-1 fell due and the worker has not swept yet: the period is over all the same.
        fail("ineligible", a.period.rule,
             f"售后期已于 {_fmt(order.due_at)} 结束({order.due_rule}),且超售后期入口未开启",
             f"the after-sales period ended at {_fmt(order.due_at)} ({order.due_rule}), "
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
                     f"七天无理由退货已于 {_fmt(deadline)} 截止",
                     f"the seven-day no-reason return ended at {_fmt(deadline)}")

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
    return problems, over_period


def _refusal(problems: list[tuple[str, Reason]]) -> Refusal:
    codes = {c for c, _ in problems}
    code = next(c for c in _CODE_PRECEDENCE if c in codes)
    return Refusal(code, [r for _, r in problems])


def apply(
    ticket_id: str, order: Order, actor: Actor, pv: PolicyVersion, at: datetime, type_: str,
    reason: str, amount_fen: int | None, evidence: list[str], note: str | None,
    refund_handling_off: str | None = None,
) -> Ticket:
    """The buyer opens a ticket (RULES §2). `refund_handling_off` names the rule (KS-GOV-4) when the
    shop is high-risk and has lost refund handling: the ticket is approved and refunded at once."""
    require(actor.is_buyer and actor.id == order.buyer_id, "只有下单的买家可以申请售后",
            "only the buyer of the order may apply")
    problems, over_period = application_problems(order, pv, at, type_, reason, amount_fen, evidence)
    if problems:
        raise _refusal(problems)
    amount = amount_fen if amount_fen is not None else order.refundable_fen
    shipped = order.shipped_at is not None
    ticket = Ticket(
        id=ticket_id, order_id=order.id, shop_id=order.shop_id, buyer_id=order.buyer_id, type=type_,
        reason=reason, amount_fen=amount, policy=order.policy, policy_version=pv.version,
        created_at=at, over_period=over_period, status="new", evidence=list(evidence), note=note,
        shipped_when_applied=shipped,
    )
    span = _review_span(ticket, pv)
    ticket.move("pending_review", "applied", at, actor.label, None,
                {"type": type_, "reason": reason, "amount": format_yuan(amount), "evidence": list(evidence),
                 "policy": f"{order.policy}@{pv.version}"},
                due=(at + span.delta, "auto_approve", span.rule))
    order.hold(ticket.id, amount, counted=not over_period)
    if refund_handling_off is not None:
        # KS-GOV-4: whatever the type, approved and refunded at once (no return, no replacement)
        ticket.move("refunded", "auto_approved", at, "system", refund_handling_off, {"refund_handling": "disabled"})
        refund(ticket, order, pv, at, "system", refund_handling_off)
        _end(ticket, order, pv, at)
    return ticket


def _review_span(ticket: Ticket, pv: PolicyVersion) -> Span:
    if ticket.type == "refund_only":
        ro = pv.refund_only
        return ro.review_after_shipment if ticket.shipped_when_applied else ro.review_before_shipment
    if ticket.type in ("exchange", "repair"):
        return pv.exchange.review
    if ticket.type == "reship":
        return pv.exchange.reship_review
    return pv.return_refund.review


def _ships_back(ticket: Ticket, pv: PolicyVersion) -> Span:
    return pv.return_refund.buyer_ships if ticket.type == "return_refund" else pv.exchange.buyer_ships


def _receipt(ticket: Ticket, pv: PolicyVersion) -> Span:
    return pv.return_refund.shop_confirms_receipt if ticket.type == "return_refund" else \
        pv.exchange.shop_confirms_receipt


def _not_due(ticket: Ticket, at: datetime) -> None:
    """A human command that arrives after the automatic action fell due loses the race."""
    if ticket.is_due(at):
        assert ticket.due_at is not None
        raise refuse("invalid_state",
                     f"自动操作已于 {_fmt(ticket.due_at)} 到期({ticket.due_rule}),以自动处理为准",
                     f"the automatic {ticket.due_action} fell due at {_fmt(ticket.due_at)}; it takes precedence",
                     ticket.due_rule)


def _staff(actor: Actor, ticket: Ticket, doing_zh: str, doing_en: str) -> None:
    require(actor.is_staff and actor.shop_id == ticket.shop_id, f"只有店铺员工可以{doing_zh}",
            f"only the shop's staff may {doing_en}")


def _buyer(actor: Actor, ticket: Ticket, doing_zh: str, doing_en: str) -> None:
    require(actor.is_buyer and actor.id == ticket.buyer_id, f"只有买家可以{doing_zh}",
            f"only the buyer may {doing_en}")


def refund(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, actor: str, rule: str | None) -> int:
    """The one place where a refund happens: the ticket's amount goes back to the buyer."""
    amount = ticket.amount_fen
    if ticket.refunded_fen:
        raise refuse("invalid_state", "该售后单已退款", "this ticket has been refunded already")
    order.release(ticket.id)
    ticket.refunded_fen = amount
    ticket.event("refunded", at, actor, rule, {"amount": format_yuan(amount)})
    order.record_refund(amount, at, actor, ticket.id, pv.apply.refundable.rule, pv.order.full_refund_closes.rule)
    return amount


def _end(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime) -> None:
    """A ticket reached a terminal state: the order's held amount is freed and a waiting order
    deadline resumes."""
    order.release(ticket.id)
    order.resume(pv, at)


def approve(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
            return_address: str | None, default_address: str | None) -> None:
    """The shop agrees. Refund only: refunded at once. Return & refund: the buyer gets the return
    address and KS-RR-2's clock starts. DY-RR-1: a Douyin shop may approve a ticket it rejected
    while the buyer has not re-applied."""
    _staff(actor, ticket, "同意售后", "approve a ticket")
    if ticket.status == "rejected":
        flag = pv.rejection.shop_may_reprocess
        if not flag.enabled:
            raise refuse("invalid_state", "已拒绝的售后单不能再处理", "a rejected ticket cannot be re-processed",
                         flag.rule)
        if order.last_ticket_id != ticket.id or order.open_ticket_id is not None:
            raise refuse("invalid_state", "买家已重新申请,不能再处理原售后单",
                         "the buyer has applied again; the rejected ticket can no longer be re-processed",
                         flag.rule)
        if order.refundable_fen < ticket.amount_fen:
            raise refuse("ineligible", "可退金额已不足", "the refundable amount no longer covers this ticket",
                         pv.apply.refundable.rule)
        order.reopen_hold(ticket.id, ticket.amount_fen)
        rule: str | None = flag.rule
    else:
        ticket.expect("pending_review", doing=("同意", "approve"))
        _not_due(ticket, at)
        rule = None
    _approve(ticket, order, pv, at, actor.label, "approved", rule, return_address or default_address,
             require_address=True)


def _approve(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, actor: str, type_: str,
             rule: str | None, address: str | None, require_address: bool) -> None:
    if ticket.type == "refund_only":
        ticket.move("refunded", type_, at, actor, rule)
        refund(ticket, order, pv, at, actor, rule)
        _end(ticket, order, pv, at)
        return
    if ticket.type == "reship":
        span = pv.exchange.reship_ship  # GEN-EX-3: the shop ships the missing goods again
        ticket.move("awaiting_replacement", type_, at, actor, rule, due=(at + span.delta, "auto_refund", span.rule))
        return
    if address is None and require_address:
        raise refuse("invalid_input", "请填写退货地址(店铺未设置默认退货地址)",
                     "return_address is required: the shop has no default return address")
    span = _ships_back(ticket, pv)
    ticket.return_address = address
    ticket.move("awaiting_return", type_, at, actor, rule, {"return_address": address},
                due=(at + span.delta, "auto_close", span.rule))


def reject(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
           reason: str | None, evidence: list[str]) -> None:
    """KS-RR-4: rejecting needs a reason; the buyer may then re-apply or ask for intervention."""
    _staff(actor, ticket, "拒绝售后", "reject a ticket")
    ticket.expect("pending_review", doing=("拒绝", "reject"))
    _not_due(ticket, at)
    flag = pv.rejection.reason_required
    if flag.enabled and not (reason and reason.strip()):
        raise refuse("invalid_input", "拒绝售后必须填写理由", "a rejection needs a reason", flag.rule)
    ticket.reject_reason = reason
    ticket.rejected_at = at
    payload: dict[str, object] = {"reason": reason, "evidence": list(evidence)}
    window = pv.rejection.intervention_window
    if window is not None:
        payload["intervention_until"] = (at + window.delta).isoformat()
    ticket.move("rejected", "rejected", at, actor.label, flag.rule, payload)
    _end(ticket, order, pv, at)


def cancel(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    """The buyer withdraws a ticket that has not been refunded."""
    _buyer(actor, ticket, "撤销售后", "cancel the ticket")
    ticket.expect("pending_review", "awaiting_return", "awaiting_receipt", "awaiting_replacement",
                  "in_intervention", doing=("撤销", "cancel"))
    _not_due(ticket, at)
    ticket.move("cancelled", "cancelled", at, actor.label)
    _end(ticket, order, pv, at)


def submit_waybill(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                   carrier: str | None, waybill: str | None) -> None:
    """The buyer has shipped the goods back; the shop's receipt clock (KS-RR-3) starts."""
    _buyer(actor, ticket, "填写退货单号", "submit a return waybill")
    ticket.expect("awaiting_return", doing=("填写退货单号", "submit a waybill"))
    _not_due(ticket, at)
    span = _receipt(ticket, pv)
    ticket.carrier, ticket.waybill = carrier, waybill
    ticket.move("awaiting_receipt", "waybill_submitted", at, actor.label, None,
                {"carrier": carrier, "waybill": waybill}, due=(at + span.delta, "auto_refund", span.rule))


def confirm_return(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    """The shop received the returned goods: refund (return & refund), or the replacement or
    repaired item is now owed within 72 h (exchange, repair: GEN-EX-1)."""
    _staff(actor, ticket, "确认收货", "confirm the return")
    ticket.expect("awaiting_receipt", doing=("确认退货收货", "confirm the return"))
    _not_due(ticket, at)
    if ticket.type in ("exchange", "repair"):
        span = pv.exchange.ship_replacement
        ticket.move("awaiting_replacement", "return_confirmed", at, actor.label, None,
                    due=(at + span.delta, "auto_refund", span.rule))
        return
    ticket.move("refunded", "return_confirmed", at, actor.label)
    refund(ticket, order, pv, at, actor.label, None)
    _end(ticket, order, pv, at)


def ship_replacement(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                     carrier: str | None, waybill: str | None) -> None:
    """The shop sends the replacement, the repaired item or the reshipped goods (GEN-EX-1, GEN-EX-3)."""
    _staff(actor, ticket, "发出换货/补发", "ship the replacement")
    ticket.expect("awaiting_replacement", doing=("发出换货/补发", "ship the replacement"))
    _not_due(ticket, at)
    span = pv.exchange.replacement_confirm
    ticket.replacement_carrier, ticket.replacement_waybill, ticket.replacement_shipped_at = carrier, waybill, at
    ticket.move("replacement_shipped", "replacement_shipped", at, actor.label, None,
                {"carrier": carrier, "waybill": waybill},
                due=(at + span.delta, "auto_confirm_replacement", span.rule))


def sign_replacement(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    """The carrier reports the replacement signed for: the buyer's confirmation clock restarts from
    the signing (GEN-EX-1)."""
    require(actor.is_platform, "签收由物流回传(平台)记录", "signing is reported by the carrier through the platform")
    ticket.expect("replacement_shipped", doing=("签收换货", "sign for the replacement"))
    _not_due(ticket, at)
    span = pv.exchange.replacement_confirm
    ticket.replacement_signed_at = at
    ticket.move("replacement_shipped", "replacement_signed", at, actor.label, None,
                due=(at + span.delta, "auto_confirm_replacement", span.rule))


def confirm_replacement(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    _buyer(actor, ticket, "确认收到换货", "confirm the replacement")
    ticket.expect("replacement_shipped", doing=("确认收到换货", "confirm the replacement"))
    _not_due(ticket, at)
    ticket.move("completed", "replacement_confirmed", at, actor.label)
    _end(ticket, order, pv, at)


def refund_instead(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                   intervened_from: str | None = None) -> None:
    """GEN-EX-2: the shop may refund instead of exchanging, repairing or reshipping at any point
    before the replacement ships; also while the platform has a stalled exchange that had not shipped
    (`intervened_from`: the status the ticket went to the platform from)."""
    _staff(actor, ticket, "改为退款", "refund instead")
    flag = pv.exchange.refund_instead
    if ticket.type not in ("exchange", "repair", "reship"):
        raise refuse("invalid_state", "只有换货、维修、补发可以改为退款",
                     "only exchange, repair and reship tickets can turn into a refund", flag.rule)
    if not flag.enabled:
        raise refuse("ineligible", "该规则包不允许改为退款", "this policy does not allow refunding instead", flag.rule)
    before_shipping = ("pending_review", "awaiting_return", "awaiting_receipt", "awaiting_replacement")
    if ticket.status == "in_intervention" and intervened_from not in before_shipping:
        raise refuse("invalid_state", "换货商品已发出后不能改为退款", "the replacement has shipped: it cannot "
                     "turn into a refund", flag.rule)
    ticket.expect(*before_shipping, "in_intervention", doing=("改为退款", "refund instead"))
    _not_due(ticket, at)
    ticket.move("refunded", "refunded_instead", at, actor.label, flag.rule)
    refund(ticket, order, pv, at, actor.label, flag.rule)
    _end(ticket, order, pv, at)


@dataclass(frozen=True)
class CaseOpening:
    """What a request for intervention hands the platform: why, from which state, by whom."""

    cause: str  # rejected | return_refused | stalled_exchange
    previous_status: str
    by: str  # buyer | shop
    actor: str
    reason: str | None


def refuse_return(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                  reason: str | None, evidence: list[str]) -> CaseOpening:
    """The shop refuses the returned parcel (wrong item, damaged by the buyer): a dispute for the
    platform (RULES §3, §6). No shop or buyer deadline runs while the platform handles it."""
    _staff(actor, ticket, "拒绝退货", "refuse the return")
    ticket.expect("awaiting_receipt", doing=("拒绝退货", "refuse the return"))
    _not_due(ticket, at)
    if not (reason and reason.strip()):
        raise refuse("invalid_input", "拒绝退货必须填写理由", "refusing a return needs a reason")
    ticket.move("in_intervention", "return_refused", at, actor.label, None,
                {"reason": reason, "evidence": list(evidence)})
    ticket.event("intervention_requested", at, actor.label, None, {"reason": reason, "by": "shop"},
                 frm="in_intervention", to="in_intervention")
    return CaseOpening("return_refused", "awaiting_receipt", "shop", actor.label, reason)


def request_intervention(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                         reason: str | None) -> CaseOpening:
    """Either side may ask the platform to step in after a rejection (KS-RR-4; on Douyin the buyer
    has 48 h, DY-RR-3) or on a stalled exchange, repair or reship (RULES §6)."""
    is_buyer = actor.is_buyer and actor.id == ticket.buyer_id
    is_staff = actor.is_staff and actor.shop_id == ticket.shop_id
    require(is_buyer or is_staff, "只有买家或店铺员工可以申请平台介入",
            "only the buyer or the shop's staff may ask for intervention")
    ticket.expect("rejected", "awaiting_replacement", "replacement_shipped", doing=("申请平台介入", "request intervention"))
    by = "buyer" if is_buyer else "shop"
    previous = ticket.status
    if ticket.status != "rejected":
        stalled = pv.intervention.stalled_exchange
        if not stalled.enabled:
            raise refuse("ineligible", "该规则包不支持换货中申请平台介入",
                         "this policy takes no intervention on a stalled exchange", stalled.rule)
        _not_due(ticket, at)
        ticket.move("in_intervention", "intervention_requested", at, actor.label, stalled.rule,
                    {"reason": reason, "by": by, "cause": "stalled_exchange"})
        return CaseOpening("stalled_exchange", previous, by, actor.label, reason)
    allowed = pv.rejection.intervention_after_rejection
    if not allowed.enabled:
        raise refuse("ineligible", "该平台规则不支持拒绝后申请平台介入",
                     "this policy does not allow intervention after a rejection", allowed.rule)
    window = pv.rejection.intervention_window
    if is_buyer and window is not None and ticket.rejected_at is not None:
        until = ticket.rejected_at + window.delta
        if at >= until:
            raise refuse("ineligible", f"拒绝后 {window.show()} 内可申请平台介入,已于 {_fmt(until)} 截止",
                         f"intervention could be asked within {window.show()} of the rejection, until {_fmt(until)}",
                         window.rule)
    if order.last_ticket_id != ticket.id or order.open_ticket_id is not None:
        raise refuse("invalid_state", "买家已重新申请售后,原售后单不能再申请介入",
                     "a newer ticket exists on this order; the rejected one cannot go to intervention",
                     pv.apply.one_open_ticket.rule)
    order.reopen_hold(ticket.id, ticket.amount_fen)
    ticket.move("in_intervention", "intervention_requested", at, actor.label, allowed.rule,
                {"reason": reason, "by": by, "cause": "rejected"})
    return CaseOpening("rejected", previous, by, actor.label, reason)


def fire(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, default_address: str | None) -> None:
    """The worker: the ticket's pending automatic action has fallen due at `at` (its due time)."""
    if not ticket.is_due(at):
        raise refuse("invalid_state", "没有到期的自动操作", "nothing is due on this ticket")
    action, rule = ticket.due_action, ticket.due_rule
    if action == "auto_approve":
        _approve(ticket, order, pv, at, "system", "auto_approved", rule, default_address, require_address=False)
        if pv.governance.overdue_record.enabled:
            kind = f"{ticket.type}_overdue"
            ticket.event("overdue_recorded", at, "system", pv.governance.overdue_record.rule,
                         {"overdue_type": kind, "cause": rule})
    elif action == "auto_close":
        ticket.move("closed", "auto_closed", at, "system", rule)
        _end(ticket, order, pv, at)
    elif action == "auto_refund":
        ticket.move("refunded", "auto_refunded", at, "system", rule)
        refund(ticket, order, pv, at, "system", rule)
        _end(ticket, order, pv, at)
    elif action == "auto_confirm_replacement":
        ticket.move("completed", "replacement_auto_confirmed", at, "system", rule)
        _end(ticket, order, pv, at)
    else:  # pragma: no cover - the schema admits no other action
        raise ValueError(f"unknown ticket action {action}")
