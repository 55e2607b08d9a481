"""Shop automation rules (GEN-AUTO-1, 售后小助手): read them, and replace them (owner, admin, CS admin)."""

from typing import Any

from fastapi import APIRouter

from ....money import format_yuan
from ....services import commands as c
from ....services.views import automation as automation_views
from ..deps import ActorDep, ShouhouDep, read, run
from ..schemas.automation import AutomationIn, AutomationOut

router = APIRouter(tags=["automation"])


@router.get("/v1/shops/{shop_id}/automation", response_model=AutomationOut,
            summary="The shop's automation rules (GEN-AUTO-1)")
def get_automation(shop_id: str, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    return read(sh, automation_views.automation_rules, actor, shop_id)


@router.put("/v1/shops/{shop_id}/automation", response_model=AutomationOut,
            summary="Replace the shop's automation rules: approve, confirm receipt; a rule never rejects")
def put_automation(shop_id: str, body: AutomationIn, sh: ShouhouDep, actor: ActorDep) -> dict[str, Any]:
    rules = []
    for r in body.rules:
        when = r.when.model_dump(exclude_none=True)
        if r.when.max_amount is not None:
            when["max_amount"] = format_yuan(r.when.max_amount)
        rules.append({"id": r.id, "action": r.action, "when": when})
    run(sh, c.SetAutomation(shop_id, tuple(rules)), actor)
    return read(sh, automation_views.automation_rules, actor, shop_id)
