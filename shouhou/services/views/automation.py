"""A shop's automation rules (GEN-AUTO-1) as it saved them: the shop's staff and the platform see them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ...adapters import tables as t
from ...adapters.uow import SqlUnitOfWork
from ...domain import automation
from ...domain.actors import Actor
from ...domain.automation import RULE
from ..access import buyer_of, visible_shop
from .common import iso


def automation_rules(uow: SqlUnitOfWork, actor: Actor, shop_id: str) -> dict[str, Any]:
    shop = visible_shop(uow, actor, shop_id)
    rows = uow.automation_rules(shop.id)
    return {
        "shop": shop.id,
        "rule": RULE,
        "rules": [{"id": r["id"], "action": r["action"], "when": r["conditions"]} for r in rows],
        "updated_at": iso(rows[0]["updated_at"]) if rows else None,
        "updated_by": rows[0]["updated_by"] if rows else None,
    }


def preview(uow: SqlUnitOfWork, actor: Actor, shop_id: str, raw_rules: list[dict[str, Any]], now: datetime,
            days: int = 30, reject_rule: str | None = None) -> dict[str, Any]:
    """What `raw_rules` would have done to the shop's tickets of the last `days` days: each ticket as
    it stood when its application came in (an approval rule) or when its return waybill was submitted
    (a receipt rule), the order as it was then. Nothing is saved; the rules are checked as on save."""
    shop = visible_shop(uow, actor, shop_id)
    rules = automation.parse_rules(raw_rules, reject_rule)
    since = now - timedelta(days=days)
    tc = t.tickets.c
    tickets = uow.tickets.where(tc.shop_id == shop.id, tc.created_at > since, order_by=(tc.created_at, tc.id))
    shipped_back = {e["ticket_id"]: e["at"] for e in uow.events_for(shop_id=shop.id)
                    if e["type"] == "waybill_submitted" and e["ticket_id"]}
    per_rule: dict[str, int] = {r.id: 0 for r in rules}
    acted: list[dict[str, Any]] = []
    for ticket in tickets:
        order = uow.orders.get(ticket.order_id)
        if order is None:
            continue
        standing = buyer_of(uow, ticket.buyer_id).standing
        moments = [("pending_review", ticket.created_at)]
        if ticket.id in shipped_back:
            moments.append(("awaiting_receipt", shipped_back[ticket.id]))
        for status, at in moments:
            then = replace(ticket, status=status, pending_events=[])
            m = automation.match(rules, then, automation.order_as_of(order, at), standing)
            if m is None:
                continue
            per_rule[m.rule_id] += 1
            acted.append({"ticket": ticket.id, "order": ticket.order_id, "at": iso(at), "action": m.action,
                          "shop_rule": m.rule_id, "matched": m.matched, "what_happened": ticket.status})
    return {"shop": shop.id, "rule": RULE, "days": days, "tickets": len(tickets), "per_rule": per_rule,
            "acted": acted}
