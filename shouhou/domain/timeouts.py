"""On timeout (the last column of RULES §3's table, and §4–5): what the worker does to a ticket
whose deadline fell due. Auto-approval takes the same road as the shop's approval and is recorded
as overdue (KS-GOV-1)."""

from __future__ import annotations

from datetime import datetime

from ..errors import refuse
from ..policies import PolicyVersion
from . import remedies
from .orders import Order
from .refund import end, refund
from .review import approved
from .tickets import Ticket


def fire(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, default_address: str | None) -> None:
    """The worker: the ticket's pending automatic action has fallen due at `at` (its due time)."""
    if not ticket.is_due(at):
        raise refuse("invalid_state", "没有到期的自动操作", "nothing is due on this ticket")
    action, rule = ticket.due_action, ticket.due_rule
    if action == "auto_approve":
        approved(ticket, order, pv, at, "system", "auto_approved", rule, default_address, require_address=False)
        if pv.governance.overdue_record.enabled:
            kind = f"{ticket.type}_overdue"
            ticket.event("overdue_recorded", at, "system", pv.governance.overdue_record.rule,
                         {"overdue_type": kind, "cause": rule})
    elif action == "auto_close":
        ticket.move("closed", "auto_closed", at, "system", rule)
        end(ticket, order, pv, at)
    elif action == "auto_refund":
        ticket.move("refunded", "auto_refunded", at, "system", rule)
        refund(ticket, order, pv, at, "system", rule)
        end(ticket, order, pv, at)
    elif action == "reship_late":  # KS-PI-4: 24 h without a reship
        remedies.reship_late(ticket, order, pv, at)
    elif action == "priority_compensation":  # KS-PI-4: still not reshipped
        remedies.priority_compensation(ticket, order, pv, at, "system", "the shop did not reship in time")
    elif action == "auto_confirm_replacement":
        ticket.move("completed", "replacement_auto_confirmed", at, "system", rule)
        end(ticket, order, pv, at)
    else:  # pragma: no cover - the schema admits no other action
        raise ValueError(f"unknown ticket action {action}")
