"""Re-opening the after-sales entry past the period (超售后期打开售后入口, RULES §7).

`conditions()` evaluates every condition of the order's pack and says, for each, the rule, whether
it passed, the figures compared and an explanation in Chinese and English: the workbench shows it
before anyone clicks, and `open_entry()` refuses with all the failing ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..errors import Reason, Refusal, refuse
from ..money import format_yuan
from ..policies import PolicyVersion, Span
from .actors import Actor, require
from .events import Event, Recorder
from .orders import Order
from .shops import Shop


@dataclass(frozen=True)
class Condition:
    name: str
    rule: str
    passed: bool
    figures: dict[str, Any]
    zh: str
    en: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rule": self.rule, "passed": self.passed, "figures": self.figures,
                "message_zh": self.zh, "message_en": self.en}


def _days(delta: timedelta) -> tuple[str, str]:
    """A duration as '121 天' / '121 days', with the hours, minutes and seconds that are not zero, so
    that '120 天 30 分钟' says why a 120-day limit was passed."""
    days, rest = delta.days, int((delta - timedelta(days=delta.days)).total_seconds())
    zh, en = [f"{days} 天"], [f"{days} days"]
    for size, z, e in ((3600, "小时", "h"), (60, "分钟", "min"), (1, "秒", "s")):
        n, rest = divmod(rest, size)
        if n:
            zh.append(f"{n} {z}")
            en.append(f"{n} {e}")
    return " ".join(zh), " ".join(en)


def _ts(at: datetime) -> str:
    return at.isoformat(timespec="minutes")


def conditions(order: Order, shop: Shop, pv: PolicyVersion, at: datetime) -> list[Condition]:
    """Every condition of the pack for opening this order's entry at `at`."""
    e = pv.entry
    out: list[Condition] = []

    def add(name: str, rule: str, passed: bool, figures: dict[str, Any], zh: str, en: str) -> None:
        out.append(Condition(name, rule, passed, figures, zh, en))

    completed_at = order.completed_at if order.status in ("completed", "closed") else None
    if completed_at is not None:
        add("past_period", e.past_period.rule, True, {"status": order.status, "completed_at": _ts(completed_at)},
            f"订单已于 {_ts(completed_at)} 完成,售后期已过",
            f"the order completed at {_ts(completed_at)}; its after-sales period is over")
    elif order.status == "closed":
        add("past_period", e.past_period.rule, False, {"status": order.status},
            "订单在完成前已全额退款关闭,没有可退金额", "the order closed fully refunded before it completed: "
            "nothing is left to refund")
    else:
        period_end = order.nominal_due(pv)
        figures: dict[str, Any] = {"status": order.status}
        if period_end and period_end[1] == "complete":
            figures["period_ends_at"] = _ts(period_end[0])
        add("past_period", e.past_period.rule, False, figures,
            f"订单状态为 {order.status},仍在售后期内,买家可直接申请售后",
            f"the order is {order.status} and still inside its after-sales period: the buyer can apply directly")

    def within(name: str, since: datetime, limit: Span, what: tuple[str, str, str]) -> None:
        """`since` no more than `limit` ago (KS-OP-1, DY-OP-5), with the days said."""
        elapsed = at - since
        zh_d, en_d = _days(elapsed)
        ok = elapsed <= limit.delta
        add(name, limit.rule, ok,
            {what[2]: _ts(since), "elapsed_days": round(elapsed / timedelta(days=1), 2),
             "limit_days": limit.delta / timedelta(days=1)},
            f"订单{what[0]}已 {zh_d},{'未超过' if ok else '超过'} {limit.show().replace(' d', ' 天')}",
            f"{what[1]} {en_d} ago, limit {limit.show().replace(' d', ' days')}")

    if e.completed_within is not None and completed_at is not None:
        within("completed_within", completed_at, e.completed_within, ("完成", "completed", "completed_at"))

    if e.created_after is not None:
        floor = e.created_after
        ok = floor.admits(order.created_at)
        add("created_after", floor.rule, ok, {"created_at": _ts(order.created_at), "not_before": _ts(floor.not_before)},
            f"订单创建于 {_ts(order.created_at)},须不早于 {_ts(floor.not_before)}",
            f"created {_ts(order.created_at)}; must be on or after {_ts(floor.not_before)}")

    if e.created_within is not None:
        within("created_within", order.created_at, e.created_within, ("创建", "created", "created_at"))

    largest_refundable = order.amount_fen - order.refunded_fen
    if e.funds_cover_refundable is not None:
        best = max(shop.wallet_fen, shop.deposit_fen)
        ok = best >= largest_refundable
        add("funds_cover_refundable", e.funds_cover_refundable.rule, ok,
            {"wallet": format_yuan(shop.wallet_fen), "deposit": format_yuan(shop.deposit_fen),
             "largest_refundable": format_yuan(largest_refundable)},
            f"钱包 {format_yuan(shop.wallet_fen)} 或保证金 {format_yuan(shop.deposit_fen)} "
            f"{'不低于' if ok else '均低于'}最大可退金额 {format_yuan(largest_refundable)}",
            (f"wallet {format_yuan(shop.wallet_fen)} or deposit {format_yuan(shop.deposit_fen)} covers"
             if ok else f"neither wallet {format_yuan(shop.wallet_fen)} nor deposit {format_yuan(shop.deposit_fen)} covers")
            + f" the largest refundable amount {format_yuan(largest_refundable)}")

    if e.shop_statuses is not None:
        ok = shop.status in e.shop_statuses.value
        add("shop_status", e.shop_statuses.rule, ok, {"status": shop.status, "allowed": e.shop_statuses.value},
            f"店铺状态为 {shop.status}," + ("正常经营" if ok else "非正常经营(停业整顿或关店)不可打开"),
            f"shop status is {shop.status}; " + ("in normal operation" if ok else "must be in normal operation"))

    for name, value, choice, zh_what in (("kind", order.kind, e.kinds, "订单类型"),
                                         ("payment", order.payment, e.payments, "支付方式"),
                                         ("goods", order.goods, e.goods, "商品类型")):
        if choice is None:
            continue
        ok = value in choice.value
        add(name, choice.rule, ok, {name: value, "allowed": choice.value},
            f"{zh_what}为 {value}," + ("可以打开" if ok else f"仅支持 {'、'.join(choice.value)}"),
            f"{name} is {value}; " + ("allowed" if ok else f"only {', '.join(choice.value)}"))

    if e.excluded_categories is not None:
        ok = order.category not in e.excluded_categories.value
        add("category", e.excluded_categories.rule, ok,
            {"category": order.category, "excluded": e.excluded_categories.value},
            f"类目 {order.category}" + ("可以打开" if ok else " 属于不支持的教育课程类目"),
            f"category {order.category} " + ("is allowed" if ok else "is an excluded education category"))

    if e.refundable_positive is not None:
        refundable = order.refundable_fen
        ok = refundable > 0
        add("refundable_positive", e.refundable_positive.rule, ok, {"refundable": format_yuan(max(refundable, 0))},
            f"可退金额 {format_yuan(max(refundable, 0))}" + ("" if ok else ",须大于 0"),
            f"refundable {format_yuan(max(refundable, 0))}" + ("" if ok else "; must be > 0"))

    if e.no_refund_in_progress is not None:
        fully = order.refunded_fen >= order.amount_fen
        in_progress = order.open_ticket_id is not None
        ok = not fully and not in_progress
        zh = "订单已全额退款" if fully else ("订单有退款进行中" if in_progress else "未全额退款,且无退款进行中")
        en = "the order is fully refunded" if fully else (
            "a refund is in progress" if in_progress else "not fully refunded and no refund in progress")
        add("no_refund_in_progress", e.no_refund_in_progress.rule, ok,
            {"refunded": format_yuan(order.refunded_fen), "amount": format_yuan(order.amount_fen),
             "open_ticket": order.open_ticket_id}, zh, en)
    return out


def may_open(actor: Actor, order: Order, pv: PolicyVersion) -> None:
    """KS-OP-6: only some shop roles may open the entry."""
    roles = pv.entry.roles
    require(actor.is_staff and actor.shop_id == order.shop_id, "只有店铺员工可以打开售后入口",
            "only the shop's staff may open the after-sales entry")
    if roles is not None and actor.role not in roles.value:
        raise refuse("forbidden", f"角色 {actor.role} 不能打开超售后期入口,仅限 {'、'.join(roles.value)}",
                     f"role {actor.role} may not open the entry; only {', '.join(roles.value)}", roles.rule)


@dataclass(eq=False)
class SiteMessage:
    """站内信: stored for the buyer; a message to push is also the push's outbox row (DY-OP-10): the
    dispatcher pushes it after the commit, at least once, and records how it went."""

    id: str
    buyer_id: str
    order_id: str
    kind: str
    title_zh: str
    body_zh: str
    title_en: str
    body_en: str
    created_at: datetime
    read_at: datetime | None = None
    push_status: str | None = None  # pending | pushed | failed; None: not to be pushed
    push_attempts: int = 0
    push_next_at: datetime | None = None
    pushed_at: datetime | None = None
    push_error: str | None = None


def open_entry(order: Order, shop: Shop, actor: Actor, pv: PolicyVersion, at: datetime,
               message_id: str) -> SiteMessage | None:
    """The shop opens the entry for `pv.entry.window`; the buyer may then apply (over-period)."""
    may_open(actor, order, pv)
    if order.entry_closes_at is not None and order.entry_open(at):
        raise refuse("invalid_state", f"售后入口已开启,至 {_ts(order.entry_closes_at)} 关闭",
                     f"the entry is open already, until {_ts(order.entry_closes_at)}", pv.entry.window.rule)
    failed = [x for x in conditions(order, shop, pv, at) if not x.passed]
    if failed:
        raise Refusal("ineligible", [Reason(x.rule, x.zh, x.en) for x in failed])
    window = pv.entry.window
    order.entry_opened_at = at
    order.entry_closes_at = at + window.delta
    order.entry_rule = window.rule
    order.entry_openings += 1
    order.record(Event("entry_opened", at, actor.label, shop_id=order.shop_id, order_id=order.id, rule=window.rule,
                       payload={"closes_at": order.entry_closes_at.isoformat(), "window": window.show(),
                                "opening": order.entry_openings, "policy": f"{order.policy}@{pv.version}"}))
    if not pv.entry.notify_buyer.enabled:
        return None
    closes = _ts(order.entry_closes_at)
    msg = SiteMessage(
        id=message_id, buyer_id=order.buyer_id, order_id=order.id, kind="entry_opened",
        title_zh="商家已为您打开售后入口", title_en="The shop re-opened after-sales for your order",
        body_zh=f"订单 {order.id} 已超过售后期,商家为您打开了售后入口,请在 {closes} 前申请售后(超期售后)。",
        body_en=f"Order {order.id} is past its after-sales period; the shop opened the entry for you. "
                f"Apply before {closes} (over-period after-sales).",
        created_at=at, push_status="pending", push_next_at=at,
    )
    order.record(Event("buyer_notified", at, "system", shop_id=order.shop_id, order_id=order.id,
                       rule=pv.entry.notify_buyer.rule,
                       payload={"message": msg.id, "buyer": msg.buyer_id, "channels": ["site_message", "push"],
                                "title": msg.title_zh, "body": msg.body_zh}))
    return msg


def close_entry(order: Order, at: datetime) -> None:
    """The worker: the window ran out (KS-OP-7 / DY-OP-6)."""
    if order.entry_closes_at is None or order.entry_closes_at > at:
        raise refuse("invalid_state", "售后入口未到关闭时间", "the entry is not due to close")
    closes_at = order.entry_closes_at
    order.entry_closes_at = None
    order.record(Event("entry_closed", closes_at, "system", shop_id=order.shop_id, order_id=order.id,
                       rule=order.entry_rule, payload={"opened_at": order.entry_opened_at.isoformat()
                                                       if order.entry_opened_at else None}))


@dataclass(eq=False)
class ReopenRequest(Recorder):
    """A buyer asks the shop to open the entry again (DY-OP-6); the shop answers by opening it or by
    declining with a reason."""

    id: str
    order_id: str
    shop_id: str
    buyer_id: str
    created_at: datetime
    note: str | None = None
    status: str = "pending"  # pending | opened | declined
    answered_at: datetime | None = None
    answered_by: str | None = None
    answer_reason: str | None = None
    pending_events: list[Event] = field(default_factory=list, repr=False, compare=False)

    def _event(self, type_: str, at: datetime, actor: str, rule: str | None, payload: dict[str, Any]) -> None:
        self.record(Event(type_, at, actor, shop_id=self.shop_id, order_id=self.order_id, rule=rule,
                          payload={"request": self.id, **payload}))

    def answer_by_opening(self, at: datetime, actor: str) -> None:
        self.status, self.answered_at, self.answered_by = "opened", at, actor
        self._event("reopen_answered", at, actor, None, {"answer": "opened"})

    def decline(self, at: datetime, actor: Actor, reason: str | None) -> None:
        require(actor.is_staff and actor.shop_id == self.shop_id, "只有店铺员工可以处理买家的开启申请",
                "only the shop's staff may answer a re-open request")
        if self.status != "pending":
            raise refuse("invalid_state", f"该申请已处理({self.status})", f"the request is {self.status} already")
        if not (reason and reason.strip()):
            raise refuse("invalid_input", "拒绝买家的开启申请须填写理由", "declining needs a reason")
        self.status, self.answered_at, self.answered_by, self.answer_reason = "declined", at, actor.label, reason
        self._event("reopen_declined", at, actor.label, None, {"reason": reason})


def request_reopen(request_id: str, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                   pending: bool, note: str | None) -> ReopenRequest:
    require(actor.is_buyer and actor.id == order.buyer_id, "只有下单的买家可以申请打开售后入口",
            "only the buyer of the order may ask for the entry")
    flag = pv.entry.buyer_requests
    if not flag.enabled:
        raise refuse("ineligible", "该平台不支持买家申请打开售后入口", "this policy does not take buyer requests",
                     flag.rule)
    if order.status not in ("completed", "closed"):
        raise refuse("ineligible", "订单仍在售后期内,可直接申请售后",
                     "the order is still inside its after-sales period: apply directly", pv.entry.past_period.rule)
    if order.entry_open(at):
        raise refuse("invalid_state", "售后入口已开启,可直接申请售后", "the entry is open: apply directly",
                     pv.entry.window.rule)
    if pending:
        raise refuse("limit_reached", "已有待商家处理的开启申请", "a request is already waiting for the shop",
                     flag.rule)
    req = ReopenRequest(id=request_id, order_id=order.id, shop_id=order.shop_id, buyer_id=order.buyer_id,
                        created_at=at, note=note)
    req._event("reopen_requested", at, actor.label, flag.rule, {"note": note})
    return req
