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


# What each side may do next in each status (RULES §3–§6): the pages offer these; the engine still
# decides each one (a refusal names its rule).
NEXT: dict[str, dict[str, tuple[str, ...]]] = {
    "shop": {
        "pending_review": ("approve", "reject"),
        "awaiting_return": ("refund_instead",),
        "awaiting_receipt": ("confirm_return", "refuse_return", "refund_instead"),
        "awaiting_replacement": ("ship_replacement", "refund_instead", "cannot_reship", "intervention"),
        "replacement_shipped": ("intervention",),
        "rejected": ("intervention",),
        "refunded": ("retrieve_goods",),
    },
    "buyer": {
        "pending_review": ("cancel",),
        "awaiting_return": ("waybill", "cancel"),
        "awaiting_receipt": (),
        "replacement_shipped": ("confirm_replacement", "intervention"),
        "awaiting_replacement": ("intervention",),
        "rejected": ("intervention",),
    },
}


def next_actions(side: str, ticket: Ticket) -> tuple[str, ...]:
    """The actions `side` ("shop" or "buyer") may try on the ticket now."""
    actions = NEXT.get(side, {}).get(ticket.status, ())
    if ticket.type not in ("exchange", "repair", "reship"):
        actions = tuple(a for a in actions if a not in ("refund_instead", "cannot_reship"))
    if ticket.type == "reship" and ticket.due_action not in ("reship_late", "priority_compensation"):
        actions = tuple(a for a in actions if a != "cannot_reship")
    return actions
