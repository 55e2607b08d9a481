"""Shop automation rules (售后小助手, GEN-AUTO-1): the shop saves its rules, and they act for it in the
transaction that records a new application (`applied`: approve) or a submitted return waybill
(`waybill_submitted`: confirm receipt; the submission stands for "the waybill shows delivery" until
shouhou tracks parcels). The decision goes through the shop's own domain functions, so it is the
shop acting: no overdue record follows (KS-GOV-1)."""

from __future__ import annotations

import logging

from ..adapters.uow import SqlUnitOfWork
from ..domain import automation, roles
from ..domain.actors import Actor
from ..domain.events import Event
from ..errors import Refusal, present
from . import commands as c
from .access import buyer_of, shop_of, visible_shop
from .context import Context

log = logging.getLogger("shouhou.automation")


def set_automation(cmd: c.SetAutomation, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> None:
    """Replace the shop's rules with `cmd.rules`, checked first (a rule never rejects)."""
    shop = visible_shop(uow, actor, cmd.shop_id, lock=True)
    roles.require_act(actor, "set_automation")
    reject_rule = ctx.policies.in_force(shop.policy, ctx.now).rejection.reason_required.rule
    rules = automation.parse_rules(list(cmd.rules), reject_rule)
    stored = [r.stored() for r in rules]
    uow.replace_automation_rules(shop.id, stored, ctx.now, actor.label)
    shop.record(Event("automation_set", ctx.now, actor.label, shop_id=shop.id, rule=automation.RULE,
                      payload={"rules": stored}))


def act_for_shop(uow: SqlUnitOfWork, ctx: Context, e: Event) -> None:
    """Reaction on `applied` and `waybill_submitted`: the shop's first matching rule decides."""
    if e.ticket_id is None or e.shop_id is None:
        return
    rows = uow.automation_rules(e.shop_id)
    if not rows:
        return
    ticket = uow.tickets.get(e.ticket_id, lock=True)
    if ticket is None:
        return
    order = present(uow.orders.get(ticket.order_id, lock=True), f"order {ticket.order_id}")
    rules = [automation.parse_rule({"id": r["id"], "action": r["action"], "when": r["conditions"]}, i)
             for i, r in enumerate(rows)]
    m = automation.match(rules, ticket, order, buyer_of(uow, ticket.buyer_id).standing)
    if m is None:
        return
    shop = shop_of(uow, ticket.shop_id)
    if m.action == "approve" and ticket.type != "refund_only" and shop.return_address is None:
        # The rule cannot give the buyer a return address: a person decides, as without the rule.
        ticket.event("automation_skipped", e.at, "system", automation.RULE,
                     {"shop_rule": m.rule_id, "why_en": "the shop has no default return address",
                      "why_zh": "店铺未设置默认退货地址"})
        return
    try:
        automation.act(m, ticket, order, ctx.policies.kept_by(ticket), e.at, shop.return_address)
    except Refusal as refusal:
        # The domain checks before it changes anything: a refused rule leaves the ticket to a person
        # and never fails the buyer's own command.
        log.info("automation rule %s of shop %s did not act on %s: %s", m.rule_id, shop.id, ticket.id,
                 refusal.message_en)
        ticket.event("automation_skipped", e.at, "system", automation.RULE,
                     {"shop_rule": m.rule_id, "why_en": refusal.message_en, "why_zh": refusal.message_zh})
