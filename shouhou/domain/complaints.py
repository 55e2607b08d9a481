"""Complaints (投诉工单): a buyer complains to the platform about an order of theirs, with a reason;
platform staff close the complaint, with an answer if they have one.

KS-EXIT-1 names complaints among what must not be open when a shop exits or takes its deposit out:
an open complaint blocks the exit check (services.views.money.exit_check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import refuse
from .actors import Actor, require
from .events import Event, Recorder
from .orders import Order

MAX_REASON = 2000
MAX_ANSWER = 2000
STATUSES = ("open", "closed")


@dataclass(eq=False)
class Complaint(Recorder):
    """One complaint: open until platform staff close it."""

    id: str
    order_id: str
    shop_id: str
    buyer_id: str
    reason: str
    created_at: datetime
    status: str = "open"  # open | closed
    closed_at: datetime | None = None
    closed_by: str | None = None
    answer: str | None = None
    pending_events: list[Event] = field(default_factory=list, repr=False, compare=False)

    def _event(self, type_: str, at: datetime, actor: str, from_status: str | None, rule: str | None,
               payload: dict[str, Any]) -> None:
        self.record(Event(type_, at, actor, shop_id=self.shop_id, order_id=self.order_id, from_status=from_status,
                          to_status=self.status, rule=rule, payload={"complaint": self.id, **payload}))

    def close(self, actor: Actor, at: datetime, answer: str | None, rule: str) -> None:
        """Platform staff close the complaint; it no longer holds up the shop's exit (KS-EXIT-1; `rule`
        is the pack's governance.exit_waiting.rule)."""
        require(actor.is_platform, "只有平台可以关闭投诉工单", "only the platform may close a complaint")
        if self.status != "open":
            raise refuse("invalid_state", f"投诉工单 {self.id} 已关闭", f"complaint {self.id} is closed already")
        answer = _text(answer, MAX_ANSWER, "答复", "the answer") if answer is not None and answer.strip() else None
        self.status, self.closed_at, self.closed_by, self.answer = "closed", at, actor.label, answer
        self._event("complaint_closed", at, actor.label, "open", rule, {"answer": answer})


def _text(value: str | None, limit: int, zh: str, en: str) -> str:
    text = (value or "").strip()
    if not text:
        raise refuse("invalid_input", f"投诉须填写{zh}", f"a complaint needs {en}")
    if len(text) > limit:
        raise refuse("invalid_input", f"{zh}不能超过 {limit} 个字符", f"{en} is at most {limit} characters")
    return text


def file_complaint(complaint_id: str, order: Order, actor: Actor, reason: str | None, at: datetime,
                   rule: str) -> Complaint:
    """The buyer of the order complains about it. While the complaint is open the shop may not exit
    or take its deposit out (KS-EXIT-1; `rule` is the pack's governance.exit_waiting.rule, the ID the
    order's pack cites for it)."""
    require(actor.is_buyer and actor.id == order.buyer_id, "只有下单的买家可以投诉该订单",
            "only the buyer of the order may complain about it")
    text = _text(reason, MAX_REASON, "投诉理由", "a reason")
    complaint = Complaint(id=complaint_id, order_id=order.id, shop_id=order.shop_id, buyer_id=order.buyer_id,
                          reason=text, created_at=at)
    complaint._event("complaint_opened", at, actor.label, None, rule, {"reason": text})
    return complaint
