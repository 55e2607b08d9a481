"""Freight claims (运费申请, GEN-FREIGHT-1): when a return is the shop's fault, the buyer claims the
return freight, up to a cap (the pack's: ¥20 without a receipt, ¥50 with one). The shop approves or
rejects within the pack's decision span (48 h), or the claim is approved automatically when it runs
out; that is not an overdue record (KS-GOV-1 counts tickets, not claims). While the KS-GOV-3 measure
freight_by_platform is in force the platform decides instead of the shop.

Decided here where the rules are silent:
- One claim per ticket, and a decision is final: a rejected claim is not claimed again.
- "The shop's fault": a platform ruling on the ticket decides it (its effective fault, after any
  upheld appeal, is the shop or both); without a ruling, the ticket's reason does (the pack's list).
- The buyer claims once the goods are on their way back (a return waybill was submitted) on a
  return, exchange or repair, not while the platform is still ruling, and not on a ticket that ended
  cancelled, rejected or closed.
- Who decides is settled when the claim is filed, and a claim waiting when the measure takes effect
  passes to the platform (as KS-GOV-4 takes over applications waiting for review); a claim the
  platform took stays with it when the measure ends. The platform's claims are approved
  automatically at the same deadline: the buyer never waits longer because the shop is governed.
- A decision that arrives when the deadline has fallen due loses the race: the deadline approved it.

Approval records `freight_refunded` on the ticket's timeline; the reaction table makes the shop pay
the buyer (services.money.shop_pays_buyer: wallet -> deposit -> advance compensation, a payout of its
own named `<ticket>:freight`). Pure: no I/O, no clock; the caller passes the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import minutes
from ..errors import Code, Reason, Refusal, refuse
from ..money import format_yuan
from ..policies import FreightRules
from .actors import Actor, require
from .tickets import STATUS_ZH, Ticket

RULE = "GEN-FREIGHT-1"  # when a pack has no freight section
MEASURE_RULE = "KS-GOV-3"  # freight_by_platform, when the pack's governance does not name it
GOODS_RETURN = ("return_refund", "exchange", "repair")  # ticket types where goods go back to the shop
SHOP_AT_FAULT = ("shop", "both")  # a ruling's effective fault that makes the return the shop's fault
ENDED_WITHOUT_CLAIM = ("cancelled", "rejected", "closed")
STATUSES = ("pending", "approved", "rejected")
DECIDERS = ("shop", "platform")
MAX_REASON = 2000
_PRECEDENCE: tuple[Code, ...] = ("limit_reached", "invalid_state", "ineligible", "invalid_input")


@dataclass(eq=False)
class FreightClaim:
    """One buyer's claim for a ticket's return freight. Its events go on the ticket's timeline."""

    id: str
    ticket_id: str
    order_id: str
    shop_id: str
    buyer_id: str
    amount_fen: int
    receipt: bool
    decides: str  # shop | platform
    created_at: datetime
    status: str = "pending"  # pending | approved | rejected
    due_at: datetime | None = None  # pending only: approved automatically then
    due_rule: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None  # an actor label, or "system" for the deadline
    reason: str | None = None  # why it was rejected

    @property
    def payout_id(self) -> str:
        """The payout of the freight (services.money.shop_pays_buyer): one per ticket, never two."""
        return f"{self.ticket_id}:freight"

    def is_due(self, at: datetime) -> bool:
        return self.status == "pending" and self.due_at is not None and self.due_at <= at


def cap_fen(rules: FreightRules, receipt: bool) -> int:
    """The most a buyer may claim: with a receipt, or without."""
    return (rules.cap_with_receipt if receipt else rules.cap_without_receipt).fen


def shop_at_fault(ticket: Ticket, rules: FreightRules, ruled_fault: str | None) -> bool:
    """A ruling on the ticket decides (its effective fault); without one, the ticket's reason."""
    if ruled_fault is not None:
        return ruled_fault in SHOP_AT_FAULT
    return ticket.reason in rules.shop_fault_reasons.value


def claim_problems(ticket: Ticket, rules: FreightRules | None, amount_fen: int, receipt: bool, returned: bool,
                   ruled_fault: str | None, existing: FreightClaim | None) -> list[tuple[Code, Reason]]:
    """Every condition of GEN-FREIGHT-1 a new claim fails, as (code, reason)."""
    if rules is None:
        return [("ineligible", Reason(RULE, "该售后政策不受理运费申请", "this policy takes no freight claims"))]
    rule = rules.decision.rule
    problems: list[tuple[Code, Reason]] = []

    def fail(code: Code, zh: str, en: str) -> None:
        problems.append((code, Reason(rule, zh, en)))

    if existing is not None:
        fail("limit_reached", f"该售后单已有运费申请 {existing.id}({existing.status}),每张售后单只能申请一次",
             f"ticket {ticket.id} already has freight claim {existing.id} ({existing.status}); one per ticket")
    if ticket.type not in GOODS_RETURN:
        fail("ineligible", "只有退货退款、换货、维修的售后单可以申请退货运费",
             f"only a return, exchange or repair sends goods back; this ticket is {ticket.type}")
    elif ticket.status in ENDED_WITHOUT_CLAIM:
        fail("invalid_state", f"售后单已「{STATUS_ZH.get(ticket.status, ticket.status)}」,不能申请运费",
             f"the ticket ended {ticket.status}; no freight claim")
    elif ticket.status == "in_intervention":
        fail("invalid_state", "平台介入中,判定后才能申请运费", "the platform is ruling on the ticket; claim after the ruling")
    elif not returned:
        fail("invalid_state", "买家尚未寄回商品(未提交退货运单)", "the buyer has not sent the goods back (no return waybill)")
    if ticket.type in GOODS_RETURN and not shop_at_fault(ticket, rules, ruled_fault):
        if ruled_fault is not None:
            fail("ineligible", f"平台判定的责任方为 {ruled_fault},不是商家", f"the platform ruled {ruled_fault} at fault, not the shop")
        else:
            fail("ineligible", f"退货原因 {ticket.reason} 不是商家责任",
                 f"reason {ticket.reason} does not make the return the shop's fault "
                 f"(one of {list(rules.shop_fault_reasons.value)}, or a ruling against the shop)")
    cap = cap_fen(rules, receipt)
    if amount_fen <= 0 or amount_fen > cap:
        with_what = ("有", "with") if receipt else ("无", "without")
        fail("invalid_input", f"运费金额 {format_yuan(amount_fen)} 须大于 0 且不超过{with_what[0]}凭证上限 {format_yuan(cap)}",
             f"freight {format_yuan(amount_fen)} must be more than 0.00 and at most {format_yuan(cap)} "
             f"{with_what[1]} a receipt")
    return problems


def _refusal(problems: list[tuple[Code, Reason]]) -> Refusal:
    codes = {c for c, _ in problems}
    return Refusal(next(c for c in _PRECEDENCE if c in codes), [r for _, r in problems])


def claim(claim_id: str, ticket: Ticket, actor: Actor, rules: FreightRules | None, at: datetime, amount_fen: int,
          receipt: bool, returned: bool, ruled_fault: str | None, existing: FreightClaim | None,
          platform_decides: bool, measure_rule: str = MEASURE_RULE) -> FreightClaim:
    """The ticket's buyer claims the return freight. `returned`: a return waybill was submitted;
    `ruled_fault`: the effective fault of a ruling on the ticket, if any; `platform_decides`: the
    shop is under freight_by_platform (KS-GOV-3, `measure_rule`)."""
    require(actor.is_buyer and actor.id == ticket.buyer_id, "只有售后单的买家可以申请运费",
            "only the ticket's buyer may claim its freight", RULE)
    problems = claim_problems(ticket, rules, amount_fen, receipt, returned, ruled_fault, existing)
    if problems or rules is None:
        raise _refusal(problems)
    span = rules.decision
    due = at + span.delta
    decides = "platform" if platform_decides else "shop"
    made = FreightClaim(id=claim_id, ticket_id=ticket.id, order_id=ticket.order_id, shop_id=ticket.shop_id,
                        buyer_id=ticket.buyer_id, amount_fen=amount_fen, receipt=receipt, decides=decides,
                        created_at=at, due_at=due, due_rule=span.rule)
    body: dict[str, Any] = {"claim": made.id, "amount": format_yuan(amount_fen), "receipt": receipt,
                            "cap": format_yuan(cap_fen(rules, receipt)), "decides": decides,
                            "due": {"at": due.isoformat(), "action": "auto_approve", "rule": span.rule}}
    if platform_decides:
        body["measure_rule"] = measure_rule
    ticket.event("freight_claimed", at, actor.label, span.rule, body)
    return made


def decide(made: FreightClaim, ticket: Ticket, actor: Actor, at: datetime, approve: bool, reason: str | None,
           platform_decides: bool, measure_rule: str = MEASURE_RULE) -> None:
    """The shop's staff, or the platform while the claim is its to decide, approve or reject it.
    `platform_decides`: the shop is under freight_by_platform now (KS-GOV-3)."""
    rule = made.due_rule or RULE
    by_platform = made.decides == "platform" or platform_decides
    if actor.is_staff:
        require(actor.shop_id == made.shop_id, "只有该店铺的员工可以处理运费申请",
                "only the shop's staff may decide its freight claims", rule)
        require(not by_platform, "店铺处于「平台直接处理买家运费申请」措施中,运费申请由平台处理",
                "the platform handles this shop's freight claims while the freight_by_platform measure is in force",
                measure_rule)
    elif actor.is_platform_staff or actor.kind == "system":
        require(by_platform, "运费申请由商家处理(平台仅在「平台直接处理买家运费申请」措施期间处理)",
                "the shop decides this freight claim; the platform decides only under freight_by_platform", rule)
    else:
        require(False, "只有商家或平台可以处理运费申请", "only the shop or the platform may decide a freight claim", rule)
    if made.status != "pending":
        raise refuse("invalid_state", f"运费申请 {made.id} 已处理({made.status})",
                     f"freight claim {made.id} is {made.status} already; a decision is final", rule)
    if made.due_at is not None and made.due_at <= at:
        raise refuse("invalid_state", f"运费申请已于 {minutes(made.due_at)} 自动同意",
                     f"the freight claim was approved automatically at {minutes(made.due_at)}", rule)
    if by_platform:
        made.decides = "platform"  # filed before the measure took effect: the platform has it now
    if approve:
        _approve(made, ticket, at, actor.label, made.decides)
        return
    text = (reason or "").strip()
    if not text:
        raise refuse("invalid_input", "拒绝运费申请须填写理由", "rejecting a freight claim needs a reason", rule)
    if len(text) > MAX_REASON:
        raise refuse("invalid_input", f"理由不能超过 {MAX_REASON} 个字符", f"the reason is at most {MAX_REASON} characters",
                     rule)
    made.status, made.decided_at, made.decided_by, made.reason = "rejected", at, actor.label, text
    made.due_at = made.due_rule = None
    ticket.event("freight_rejected", at, actor.label, rule,
                 {"claim": made.id, "amount": format_yuan(made.amount_fen), "decided_by": made.decides,
                  "reason": text})


def fire(made: FreightClaim, ticket: Ticket) -> None:
    """The worker, at the claim's due time: nobody decided, so it is approved (not an overdue record)."""
    if made.status != "pending" or made.due_at is None:
        raise refuse("invalid_state", f"运费申请 {made.id} 没有待执行的自动操作", f"freight claim {made.id} has nothing due")
    _approve(made, ticket, made.due_at, "system", "deadline")


def _approve(made: FreightClaim, ticket: Ticket, at: datetime, by: str, decided_by: str) -> None:
    rule = made.due_rule or RULE
    made.status, made.decided_at, made.decided_by = "approved", at, by
    made.due_at = made.due_rule = None
    ticket.event("freight_refunded", at, by, rule,
                 {"claim": made.id, "amount": format_yuan(made.amount_fen), "payout": made.payout_id,
                  "receipt": made.receipt, "decided_by": decided_by})
