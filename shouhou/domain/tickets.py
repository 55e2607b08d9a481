"""After-sales tickets (售后单) and their state machine (RULES §3, §4).

A ticket in a waiting state carries exactly one pending automatic action (`due_at`, `due_action`,
`due_rule`); a ticket in any other state carries none. Every transition records an event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import refuse
from .events import Event, Recorder
from .lines import Cover

TICKET_TYPES = ("refund_only", "return_refund", "exchange", "repair", "reship")
WAITING = ("pending_review", "awaiting_return", "awaiting_receipt", "awaiting_replacement", "replacement_shipped")
OPEN = (*WAITING, "in_intervention")
TERMINAL = ("refunded", "completed", "rejected", "closed", "cancelled")
STATUSES = (*OPEN, *TERMINAL)

STATUS_ZH = {
    "pending_review": "待商家处理",
    "awaiting_return": "待买家退货",
    "awaiting_receipt": "待商家收货",
    "awaiting_replacement": "待商家发出换货",
    "replacement_shipped": "换货已发出",
    "in_intervention": "平台介入中",
    "refunded": "已退款",
    "completed": "已完成",
    "rejected": "已拒绝",
    "closed": "已关闭",
    "cancelled": "已撤销",
}


@dataclass(eq=False)
class Ticket(Recorder):
    id: str
    order_id: str
    shop_id: str
    buyer_id: str
    type: str
    reason: str
    amount_fen: int
    policy: str
    policy_version: str
    created_at: datetime
    over_period: bool = False
    status: str = "pending_review"
    refunded_fen: int = 0
    advanced_fen: int = 0  # DY-FAST-1: what the platform paid the buyer ahead of the shop's receipt
    evidence: list[str] = field(default_factory=list)
    lines: tuple[Cover, ...] = ()  # GEN-APPLY-7: the lines and quantities the ticket covers
    note: str | None = None
    shipped_when_applied: bool = False
    return_address: str | None = None
    carrier: str | None = None
    waybill: str | None = None
    reject_reason: str | None = None
    rejected_at: datetime | None = None
    ended_at: datetime | None = None
    updated_at: datetime | None = None
    intervention_id: str | None = None
    replacement_carrier: str | None = None
    replacement_waybill: str | None = None
    replacement_shipped_at: datetime | None = None
    replacement_signed_at: datetime | None = None
    due_at: datetime | None = None
    due_action: str | None = None
    due_rule: str | None = None
    pending_events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def is_due(self, at: datetime) -> bool:
        return self.due_at is not None and self.due_at <= at

    def event(self, type_: str, at: datetime, actor: str, rule: str | None = None,
              payload: dict[str, Any] | None = None, frm: str | None = None, to: str | None = None) -> None:
        body = dict(payload or {})
        if self.over_period:
            body.setdefault("over_period", True)
        self.record(Event(type_, at, actor, shop_id=self.shop_id, order_id=self.order_id,
                          ticket_id=self.id, from_status=frm, to_status=to, rule=rule, payload=body))

    def move(self, to: str, type_: str, at: datetime, actor: str, rule: str | None = None,
             payload: dict[str, Any] | None = None, due: tuple[datetime, str, str] | None = None) -> None:
        """Change status, replace the pending automatic action, and record the event."""
        if to in WAITING and due is None:
            raise AssertionError(f"waiting state {to} needs a deadline")
        if to not in WAITING and due is not None:
            raise AssertionError(f"state {to} takes no deadline")
        frm = None if self.status == "new" else self.status
        self.status = to
        self.updated_at = at
        if due is None:
            self.due_at = self.due_action = self.due_rule = None
        else:
            self.due_at, self.due_action, self.due_rule = due
        self.ended_at = at if to in TERMINAL else None
        body = dict(payload or {})
        if due is not None:
            body["due"] = {"at": due[0].isoformat(), "action": due[1], "rule": due[2]}
        self.event(type_, at, actor, rule, body, frm=frm, to=to)

    def expect(self, *statuses: str, doing: tuple[str, str]) -> None:
        """Refuse with invalid_state unless the ticket is in one of `statuses`.
        `doing` names the command in Chinese and English."""
        if self.status not in statuses:
            zh = STATUS_ZH.get(self.status, self.status)
            raise refuse(
                "invalid_state",
                f"售后单当前状态为「{zh}」({self.status}),不能{doing[0]}",
                f"ticket is {self.status}; cannot {doing[1]}",
            )
