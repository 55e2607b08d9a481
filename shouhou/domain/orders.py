"""Order lifecycle (RULES §1): ship, sign, confirm, auto-confirm (GEN-ORD-2), completion (GEN-ORD-1),
closing when fully refunded (GEN-ORD-4).

An order carries at most one pending automatic action (`due_at`, `due_action`, `due_rule`). It is
derived from the order's state: signed -> auto_confirm, confirmed -> complete. While a ticket is open
the action waits: when it falls due with a ticket open it is suspended, and it resumes when the
ticket ends (at the later of its nominal time and that moment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import present, refuse
from ..policies import PolicyVersion
from .events import Event, Recorder
from .lines import Cover, OrderLine, spread, with_held, with_refund

ORDER_STATUSES = ("paid", "shipped", "signed", "confirmed", "completed", "closed")
PAYMENTS = ("online", "cod")
KINDS = ("normal", "cross_border", "presale_deposit")
GOODS = ("physical", "virtual", "coupon", "education")


@dataclass(eq=False)
class Order(Recorder):
    id: str
    shop_id: str
    buyer_id: str
    policy: str
    policy_version: str
    amount_fen: int
    freight_fen: int
    payment: str
    kind: str
    marketing: bool
    goods: str
    category: str
    no_reason_return: bool
    commission: dict[str, str]
    created_at: datetime
    promoters: dict[str, str] = field(default_factory=dict)  # role -> promoter id
    custom: bool = False  # made to order (定制): never in a fast lane (RULES §10)
    lines: tuple[OrderLine, ...] = ()  # GEN-APPLY-7, with what each line has refunded and holds
    status: str = "paid"
    settled_at: datetime | None = None
    shipped_at: datetime | None = None
    carrier: str | None = None
    waybill: str | None = None
    signed_at: datetime | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    completed_at: datetime | None = None
    closed_at: datetime | None = None
    refunded_fen: int = 0
    held_fen: int = 0
    open_ticket_id: str | None = None
    last_ticket_id: str | None = None
    applications_in_period: int = 0
    entry_opened_at: datetime | None = None
    entry_closes_at: datetime | None = None
    entry_rule: str | None = None
    entry_openings: int = 0
    due_at: datetime | None = None
    due_action: str | None = None
    due_rule: str | None = None
    pending_events: list[Event] = field(default_factory=list, repr=False, compare=False)

    # -- derived figures -------------------------------------------------------------------------
    @property
    def refundable_fen(self) -> int:
        """GEN-APPLY-4: paid - refunded - held by open tickets."""
        return self.amount_fen - self.refunded_fen - self.held_fen

    def entry_open(self, at: datetime) -> bool:
        return self.entry_closes_at is not None and at < self.entry_closes_at

    def _event(self, type_: str, at: datetime, actor: str, rule: str | None = None, **kw: Any) -> None:
        self.record(
            Event(type_, at, actor, shop_id=self.shop_id, order_id=self.id, rule=rule, **kw)
        )

    def _move(self, to: str, type_: str, at: datetime, actor: str, rule: str | None = None,
              payload: dict[str, Any] | None = None) -> None:
        frm = self.status
        self.status = to
        self._event(type_, at, actor, rule, from_status=frm, to_status=to, payload=payload or {})

    # -- deadlines -------------------------------------------------------------------------------
    def nominal_due(self, pv: PolicyVersion) -> tuple[datetime, str, str] | None:
        if self.status == "signed":
            shipped = present(self.shipped_at, f"shipment of signed order {self.id}")
            signed = present(self.signed_at, f"signing of signed order {self.id}")
            span = pv.order.auto_confirm
            return max(shipped + span.delta, signed), "auto_confirm", span.rule
        if self.status == "confirmed":
            span = pv.order.completion
            return present(self.confirmed_at, f"confirmation of order {self.id}") + span.delta, "complete", span.rule
        return None

    def schedule(self, pv: PolicyVersion, not_before: datetime | None = None) -> None:
        nominal = self.nominal_due(pv)
        if nominal is None:
            self.due_at = self.due_action = self.due_rule = None
            return
        due, action, rule = nominal
        if not_before is not None and due < not_before:
            due = not_before
        self.due_at, self.due_action, self.due_rule = due, action, rule

    # -- commands --------------------------------------------------------------------------------
    def ship(self, at: datetime, actor: str, carrier: str | None, waybill: str | None) -> None:
        if self.status != "paid":
            raise refuse("invalid_state", f"订单状态为 {self.status},不能发货",
                         f"order is {self.status}; only a paid order can ship")
        self.shipped_at, self.carrier, self.waybill = at, carrier, waybill
        self._move("shipped", "order_shipped", at, actor, payload={"carrier": carrier, "waybill": waybill})

    def sign(self, at: datetime, actor: str, pv: PolicyVersion) -> None:
        if self.status != "shipped":
            raise refuse("invalid_state", f"订单状态为 {self.status},不能签收",
                         f"order is {self.status}; only a shipped order can be signed for")
        self.signed_at = at
        self._move("signed", "order_signed", at, actor)
        self.schedule(pv, not_before=at)

    def confirm(self, at: datetime, actor: str, pv: PolicyVersion, rule: str | None = None,
                type_: str = "order_confirmed") -> None:
        if self.status not in ("shipped", "signed"):
            raise refuse("invalid_state", f"订单状态为 {self.status},不能确认收货",
                         f"order is {self.status}; receipt can be confirmed only after shipment")
        if self.signed_at is None:
            self.signed_at = at
        self.confirmed_at, self.confirmed_by = at, actor
        self._move("confirmed", type_, at, actor, rule)
        self.schedule(pv, not_before=at)

    def fire(self, at: datetime, pv: PolicyVersion) -> None:
        """The worker: the pending automatic action has fallen due at `at`."""
        if self.due_at is None or self.due_at > at:
            raise refuse("invalid_state", "没有到期的自动操作", "nothing is due on this order")
        action, rule = self.due_action, self.due_rule
        if self.open_ticket_id is not None:
            # GEN-ORD-1 / GEN-ORD-2: wait for the open ticket to end.
            self.due_at = self.due_action = self.due_rule = None
            self._event("order_waiting_for_ticket", at, "system", rule,
                        payload={"action": action, "ticket": self.open_ticket_id})
            return
        if action == "auto_confirm":
            self.confirm(at, "system", pv, rule, type_="order_confirmed")
        elif action == "complete":
            self.completed_at = at
            self.due_at = self.due_action = self.due_rule = None
            self._move("completed", "order_completed", at, "system", rule)
        else:  # pragma: no cover - guarded by the schema
            raise ValueError(f"unknown order action {action}")

    # -- tickets ---------------------------------------------------------------------------------
    def _hold_lines(self, amount_fen: int, cover: tuple[Cover, ...]) -> None:
        free = with_held(self.lines, {})
        self.lines = with_held(free, spread(amount_fen, free, cover))

    def hold(self, ticket_id: str, amount_fen: int, counted: bool, cover: tuple[Cover, ...] = ()) -> None:
        self.open_ticket_id = ticket_id
        self.last_ticket_id = ticket_id
        self.held_fen = amount_fen
        self._hold_lines(amount_fen, cover)
        if counted:
            self.applications_in_period += 1

    def release(self, ticket_id: str) -> None:
        """The order's open ticket ended: its amount is no longer held."""
        if self.open_ticket_id == ticket_id:
            self.open_ticket_id = None
            self.held_fen = 0
            self.lines = with_held(self.lines, {})

    def resume(self, pv: PolicyVersion, at: datetime) -> None:
        """A deadline suspended while a ticket was open runs again (GEN-ORD-1, GEN-ORD-2), at the
        later of its nominal time and now."""
        if self.open_ticket_id is None and self.due_at is None and self.status in ("signed", "confirmed"):
            self.schedule(pv, not_before=at)

    def reopen_hold(self, ticket_id: str, amount_fen: int, cover: tuple[Cover, ...] = ()) -> None:
        """A rejected ticket comes back (intervention, DY-RR-1 re-processing) and holds again."""
        self.open_ticket_id = ticket_id
        self.held_fen = amount_fen
        self._hold_lines(amount_fen, cover)

    def record_refund(self, amount_fen: int, at: datetime, actor: str, ticket_id: str, refundable_rule: str,
                      closes_rule: str, cover: tuple[Cover, ...] = ()) -> None:
        """A refund of the order (GEN-APPLY-4 bounds it); fully refunded, the order closes (GEN-ORD-4)."""
        if amount_fen <= 0 or self.refunded_fen + amount_fen > self.amount_fen:
            raise refuse("invalid_input", "退款金额超过可退金额", "refund exceeds what was paid", refundable_rule)
        self.refunded_fen += amount_fen
        self.lines = with_refund(self.lines, spread(amount_fen, self.lines, cover))  # GEN-APPLY-7
        if self.refunded_fen == self.amount_fen and self.status != "closed":
            self.closed_at = at
            self.due_at = self.due_action = self.due_rule = None
            self._move("closed", "order_closed", at, "system", closes_rule,
                       payload={"reason": "fully refunded", "ticket": ticket_id})


def derive_imported(order: Order, pv: PolicyVersion, now: datetime) -> dict[str, Any]:
    """An order imported with its history: derive status, auto-confirmation and completion as they
    would have happened live (GEN-ORD-1, GEN-ORD-2). Returns what was derived."""
    times = [("created_at", order.created_at), ("shipped_at", order.shipped_at),
             ("signed_at", order.signed_at), ("confirmed_at", order.confirmed_at)]
    last = None
    for name, t in times:
        if t is None:
            continue
        if t > now:
            raise refuse("invalid_input", f"{name} 在未来", f"{name} is in the future")
        if last is not None and t < last[1]:
            raise refuse("invalid_input", f"{name} 早于 {last[0]}",
                         f"timestamps out of order: {name} is before {last[0]}")
        last = (name, t)
    if order.signed_at is not None and order.shipped_at is None:
        raise refuse("invalid_input", "未发货的订单不能已签收", "signed_at needs shipped_at")
    if order.confirmed_at is not None and order.shipped_at is None:
        raise refuse("invalid_input", "未发货的订单不能已确认收货", "confirmed_at needs shipped_at")
    derived: dict[str, Any] = {}
    if order.confirmed_at is not None:
        order.status = "confirmed"
        order.confirmed_by = order.confirmed_by or "buyer"
        if order.signed_at is None:
            order.signed_at = order.confirmed_at
    elif order.signed_at is not None:
        order.status = "signed"
    elif order.shipped_at is not None:
        order.status = "shipped"
    else:
        order.status = "paid"
    nominal = order.nominal_due(pv)
    if nominal and nominal[1] == "auto_confirm" and nominal[0] <= now:
        order.confirmed_at, order.confirmed_by, order.status = nominal[0], "system", "confirmed"
        derived["confirmed_at"] = (nominal[0], nominal[2])
        nominal = order.nominal_due(pv)
    if nominal and nominal[1] == "complete" and nominal[0] <= now:
        order.completed_at, order.status = nominal[0], "completed"
        derived["completed_at"] = (nominal[0], nominal[2])
    order.schedule(pv)
    return derived
