"""Who acts on a ticket (the "who acts" column of RULES §3) and until when: the shop's staff or the
buyer, and never once the automatic action has fallen due (the deadline wins the race)."""

from __future__ import annotations

from datetime import datetime

from ..clock import minutes
from ..errors import refuse
from .actors import Actor, require
from .tickets import Ticket


def staff_only(actor: Actor, ticket: Ticket, doing_zh: str, doing_en: str) -> None:
    require(actor.is_staff and actor.shop_id == ticket.shop_id, f"只有店铺员工可以{doing_zh}",
            f"only the shop's staff may {doing_en}")


def buyer_only(actor: Actor, ticket: Ticket, doing_zh: str, doing_en: str) -> None:
    require(actor.is_buyer and actor.id == ticket.buyer_id, f"只有买家可以{doing_zh}",
            f"only the buyer may {doing_en}")


def not_due(ticket: Ticket, at: datetime) -> None:
    """A human command that arrives after the automatic action fell due loses the race."""
    if ticket.due_at is not None and ticket.is_due(at):
        raise refuse("invalid_state",
                     f"自动操作已于 {minutes(ticket.due_at)} 到期({ticket.due_rule}),以自动处理为准",
                     f"the automatic {ticket.due_action} fell due at {minutes(ticket.due_at)}; it takes precedence",
                     ticket.due_rule)
