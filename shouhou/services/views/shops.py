"""A shop's card and the policy packs in force."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ...adapters import remedies_table as rt
from ...adapters import tables as t
from ...adapters.uow import SqlUnitOfWork
from ...domain import roles
from ...domain.actors import Actor
from ...errors import not_found
from ...money import format_yuan
from ...policies import PolicyPack, PolicyRegistry
from ..access import visible_shop
from .common import iso


def get_shop(uow: SqlUnitOfWork, actor: Actor, shop_id: str) -> dict[str, Any]:
    shop = visible_shop(uow, actor, shop_id)
    open_count = uow.tickets.count(t.tickets.c.shop_id == shop_id, t.tickets.c.due_at.is_not(None))
    od = t.overdue_records.c
    records = {False: 0, True: 0}  # KS-GOV-1's overdue records; KS-GOV-5's delayed shipments
    for kind, n in uow.conn.execute(select(od.type, func.count()).where(od.shop_id == shop_id).group_by(od.type)):
        records[kind == "delayed_shipment"] += int(n)
    retrievals = uow.remedies.count(rt.remedies.c.shop_id == shop_id, rt.remedies.c.retrieval == "open")
    return {
        "id": shop.id, "name": shop.name, "policy": shop.policy, "status": shop.status,
        "wallet": format_yuan(shop.wallet_fen), "deposit": format_yuan(shop.deposit_fen),
        "wallet_opened_at": iso(shop.wallet_opened_at), "return_address": shop.return_address,
        "waiting_tickets": open_count, "overdue_records": records[False],
        "delayed_shipments": records[True],  # KS-GOV-5
        "open_retrievals": retrievals,  # KS-PI-6: goods the shop must still collect from buyers
    }


def get_buyer(uow: SqlUnitOfWork, actor: Actor, buyer_id: str) -> dict[str, Any]:
    """A buyer as platform staff see them: standing and membership (RULES §10)."""
    roles.require_act(actor, "set_buyer_standing")
    buyer = uow.buyers.get(buyer_id)
    if buyer is None:
        raise not_found("buyer", buyer_id)
    return {"id": buyer.id, "name": buyer.name, "standing": buyer.standing, "member": buyer.member}


def policy_list(policies: PolicyRegistry) -> list[dict[str, Any]]:
    return [_pack_summary(policies.get(n)) for n in policies.names()]


def _pack_summary(pack: PolicyPack) -> dict[str, Any]:
    return {"name": pack.name, "title": pack.title,
            "versions": [{"version": v.version, "effective_from": iso(v.effective_from), "summary": v.summary}
                         for v in pack.versions]}


def policy_detail(policies: PolicyRegistry, name: str, version: str | None, now: datetime) -> dict[str, Any]:
    if name not in policies:
        raise not_found("policy", name)
    pack = policies.get(name)
    try:
        pv = pack.version(version) if version else pack.at(now)
    except KeyError:
        raise not_found("policy version", f"{name}@{version}") from None
    out = _pack_summary(pack)
    out["version"] = pv.version
    out["effective_from"] = iso(pv.effective_from)
    out["rule_prefix"] = pack.rule_prefix
    out["rules"] = [{"setting": s, "value": v, "rule": r, "source": src, "note": note, "like": _like(pack, r)}
                    for s, v, r, src, note in pv.rows()]
    out["rule_ids"] = [{"rule": rule, "zh": d.zh, "en": d.en, "like": list(d.like), "source": d.source, "note": d.note}
                       for rule, d in pack.rule_ids.items()]
    return out


def _like(pack: PolicyPack, rule: str) -> list[str] | None:
    declared = pack.declared(rule)
    return list(declared.like) if declared else None
