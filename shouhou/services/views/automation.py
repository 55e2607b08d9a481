"""A shop's automation rules (GEN-AUTO-1) as it saved them: the shop's staff and the platform see them."""

from __future__ import annotations

from typing import Any

from ...adapters.uow import SqlUnitOfWork
from ...domain.actors import Actor
from ...domain.automation import RULE
from ..access import visible_shop
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
