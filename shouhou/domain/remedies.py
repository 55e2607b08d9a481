"""Seed 004's rulings against the shop (KS-PI-4, -5, -6) and the delayed-shipment record they may
bring (KS-GOV-5). A ruling that names a finding orders a remedy beyond KS-PI-2's refund or return:

- missing items (少件, KS-PI-4): the shop reships the missing lines within 24 h with a waybill; late,
  a delayed-shipment record and the buyer's compensation; still not reshipped (or the shop says it
  cannot, or the platform orders `refund`), the platform compensates at once (优先赔付): goods at what
  the buyer paid, accessories and gifts at the listed price, all of it borne by the shop;
- wrong item (發錯貨, KS-PI-5): the buyer returns it for a refund or an exchange, the return freight
  on the shop (GEN-FREIGHT-1); a buyer who claims compensation (赔付申请) brings a delayed-shipment record;
- rejected without cause (無故駁回, KS-PI-6): refunded at once by the platform's advance compensation,
  recovered from the shop, which must collect the goods itself (a retrieval task, no buyer deadline).

Money moves through events: `refunded` with `funding: advance` (the platform pays first, the shop's
money then covers it) and `compensated` (the shop pays the buyer beyond the refund)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import refuse
from ..money import format_yuan
from ..policies import PolicyVersion, RemedyRules
from .actors import Actor
from .lines import Cover, OrderLine, with_held
from .orders import Order
from .refund import end, refund
from .tickets import Ticket
from .who_acts import buyer_only, not_due, staff_only

FINDINGS = ("missing_items", "wrong_item", "unjustified_rejection")
REMEDIES = {"missing_items": ("reship", "refund"), "wrong_item": ("return_refund", "exchange"),
            "unjustified_rejection": ("refund",)}


@dataclass(eq=False)
class Remedy:
    """What a ruling with a finding ordered, and how far it got. One per ruling (its id is the case's)."""

    id: str
    ticket_id: str
    order_id: str
    shop_id: str
    buyer_id: str
    finding: str
    remedy: str
    rule: str
    ruled_at: datetime
    lines: tuple[Cover, ...] = ()
    claimed_at: datetime | None = None  # KS-PI-5: the buyer's compensation claim (赔付申请)
    retrieval: str | None = None  # KS-PI-6: open | done
    retrieved_at: datetime | None = None
    retrieved_by: str | None = None


def rules_of(pv: PolicyVersion, finding: str) -> RemedyRules:
    """The pack's remedies, refusing a finding the pack does not rule on."""
    if finding not in FINDINGS:
        raise refuse("invalid_input", f"判定事由须为 {'、'.join(FINDINGS)}", f"finding must be one of {list(FINDINGS)}")
    rules = pv.remedies
    if rules is None or not rules.finding(finding).enabled:
        raise refuse("ineligible", f"该规则包没有「{finding}」的判定处理", f"this policy has no ruling for {finding}",
                     rules.finding(finding).rule if rules is not None else None)
    return rules


def check(pv: PolicyVersion, finding: str, remedy: str | None, in_favour_of: str, fault: str) -> str:
    """The remedy a finding takes (its first one when none is named); a finding is a ruling against
    the shop, for the buyer."""
    rules = rules_of(pv, finding)
    rule = rules.finding(finding).rule
    if in_favour_of != "buyer" or fault not in ("shop", "both"):
        raise refuse("invalid_input", "判定事由是对商家不利的判定:须判给买家且商家有责",
                     "a finding is a ruling against the shop: in favour of the buyer, the shop at fault", rule)
    allowed = REMEDIES[finding]
    chosen = remedy or allowed[0]
    if chosen not in allowed:
        raise refuse("invalid_input", f"「{finding}」的处理须为 {'、'.join(allowed)}",
                     f"a {finding} ruling takes remedy {' or '.join(allowed)}", rule)
    return chosen


def ruled_cover(ticket: Ticket, asked: tuple[Cover, ...] | None) -> tuple[Cover, ...]:
    """The lines the ruling is about: the ticket's own, or some of them (never more than it covers)."""
    if not asked:
        return ticket.lines
    have = {c.sku: c.qty for c in ticket.lines}
    bad = [c for c in asked if c.qty < 1 or c.qty > have.get(c.sku, 0)]
    if bad or len({c.sku for c in asked}) != len(asked):
        raise refuse("invalid_input", "判定的商品行须在售后单的范围内,且不重复",
                     f"ruled lines must be among the ticket's lines, each once, within its quantity: "
                     f"{[c.as_json() for c in bad] or 'a sku twice'}")
    return tuple(asked)


def _free(order: Order) -> tuple[OrderLine, ...]:
    """The order's lines without this ticket's hold (GEN-APPLY-5: it is the only open ticket)."""
    return with_held(order.lines, {})


def paid_value(order: Order, cover: tuple[Cover, ...]) -> int:
    by_sku = {line.sku: line for line in _free(order)}
    return sum(by_sku[c.sku].cap_fen(c.qty) for c in cover if c.sku in by_sku)


def order_remedy(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, actor: str, case_id: str,
                 finding: str, remedy: str, asked: tuple[Cover, ...] | None, amount_fen: int | None,
                 default_address: str | None, payload: Mapping[str, Any]) -> Remedy:
    """Carry out a ruling with a finding (after disputes.rule checked and recorded the case)."""
    rules = rules_of(pv, finding)
    rule = rules.finding(finding).rule
    cover = ruled_cover(ticket, asked)
    made = Remedy(id=case_id, ticket_id=ticket.id, order_id=order.id, shop_id=ticket.shop_id,
                  buyer_id=ticket.buyer_id, finding=finding, remedy=remedy, rule=rule, ruled_at=at, lines=cover)
    body: dict[str, Any] = {**payload, "finding": finding, "remedy": remedy, "lines": [c.as_json() for c in cover]}
    if finding == "missing_items":
        if ticket.lines:
            ticket.lines = cover
        value = paid_value(order, cover) if order.lines else ticket.amount_fen
        _retype(ticket, "reship", body)
        ticket.amount_fen = value
        if order.open_ticket_id == ticket.id:
            order.reopen_hold(ticket.id, value, ticket.lines)
        if remedy == "refund":
            ticket.move("awaiting_replacement", "ruled", at, actor, rule, body,
                        due=(at, "priority_compensation", rule))
            priority_compensation(ticket, order, pv, at, actor, "the platform ruled it cannot be reshipped")
        else:
            span = rules.reship_within
            ticket.move("awaiting_replacement", "ruled", at, actor, rule, body,
                        due=(at + span.delta, "reship_late", span.rule))
    elif finding == "wrong_item":
        if amount_fen is not None:
            ticket.amount_fen = amount_fen
        if order.open_ticket_id == ticket.id:
            order.reopen_hold(ticket.id, ticket.amount_fen, ticket.lines)
        _retype(ticket, remedy, body)
        span = pv.return_refund.buyer_ships if remedy == "return_refund" else pv.exchange.buyer_ships
        ticket.return_address = ticket.return_address or default_address
        body["freight"] = "on the shop (GEN-FREIGHT-1)"
        ticket.move("awaiting_return", "ruled", at, actor, rule, body, due=(at + span.delta, "auto_close", span.rule))
    else:  # unjustified_rejection
        if amount_fen is not None:
            ticket.amount_fen = amount_fen
        _retype(ticket, "return_refund", body)
        ticket.move("refunded", "ruled", at, actor, rule, body)
        refund(ticket, order, pv, at, actor, rule, funding="advance")
        end(ticket, order, pv, at)
        made.retrieval = "open"
        ticket.event("retrieval_opened", at, "system", rule,
                     {"task": "the shop collects the goods from the buyer itself", "buyer_deadline": None})
    return made


def _retype(ticket: Ticket, to: str, body: dict[str, Any]) -> None:
    if ticket.type != to:
        body["converted_from"] = ticket.type
        ticket.type = to


def reship_late(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime) -> None:
    """KS-PI-4: 24 h passed without a reship: a delayed-shipment record and the buyer's compensation;
    the shop may still reship, until the platform compensates the lines instead."""
    rules = _rules(pv)
    delayed_shipment(ticket, order, pv, at, "system", rules.reship_within.rule)
    span = rules.priority_after
    ticket.move("awaiting_replacement", "reship_late", at, "system", rules.reship_within.rule,
                {"reship_within": rules.reship_within.show()}, due=(at + span.delta, "priority_compensation", span.rule))


def _rules(pv: PolicyVersion) -> RemedyRules:
    if pv.remedies is None:
        raise refuse("ineligible", "该规则包没有判定处理", "this policy has no ruling remedies")
    return pv.remedies


def priority_compensation(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, actor: str,
                          why: str) -> None:
    """KS-PI-4: the platform compensates the missing lines at once (优先赔付): goods at what the buyer
    paid (a refund of those lines, paid first by the platform and covered by the shop's money), and
    accessories and gifts at the listed price (the part above what was paid: the shop pays it)."""
    rule = _rules(pv).missing_items.rule
    by_sku = {line.sku: line for line in _free(order)}
    refund_part = paid_value(order, ticket.lines) if order.lines else ticket.amount_fen
    extra = sum(max(by_sku[c.sku].listed_price_fen - by_sku[c.sku].price_fen, 0) * c.qty
                for c in ticket.lines if c.sku in by_sku and by_sku[c.sku].kind in ("accessory", "gift"))
    ticket.amount_fen = refund_part
    body = {"why": why, "amount": format_yuan(refund_part + extra), "paid_back": format_yuan(refund_part),
            "listed_price_extra": format_yuan(extra), "lines": [c.as_json() for c in ticket.lines]}
    if refund_part > 0:
        ticket.move("refunded", "priority_compensation", at, actor, rule, body)
        refund(ticket, order, pv, at, actor, rule, funding="advance")
    else:
        ticket.move("completed", "priority_compensation", at, actor, rule, body)
    if extra > 0:
        ticket.event("compensated", at, "system", rule,
                     {"amount": format_yuan(extra), "payout": f"{ticket.id}:priority",
                      "for": "missing accessories and gifts at their listed price"})
    end(ticket, order, pv, at)


def cannot_reship(ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
                  remedy: Remedy | None) -> None:
    """The shop says it cannot reship the missing lines (KS-PI-4): the platform compensates at once."""
    staff_only(actor, ticket, "声明无法补发", "say it cannot reship")
    if remedy is None or remedy.finding != "missing_items":
        raise refuse("invalid_state", "只有平台判定少件的售后单可以声明无法补发",
                     "only a ticket ruled as missing items can be declared impossible to reship", _rules(pv).missing_items.rule)
    ticket.expect("awaiting_replacement", doing=("声明无法补发", "say it cannot reship"))
    not_due(ticket, at)
    priority_compensation(ticket, order, pv, at, actor.label, "the shop cannot reship")


def delayed_shipment(ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime, actor: str,
                     cause: str) -> int:
    """KS-GOV-5: a delayed-shipment record on the shop (counted like an overdue record) and the
    buyer's compensation at the pack's rate of the order's paid amount, paid by the shop."""
    rate = _rules(pv).delayed_shipment
    fen = rate.of(order.amount_fen)
    ticket.event("delayed_shipment", at, actor, rate.rule,
                 {"overdue_type": "delayed_shipment", "cause": cause, "compensation": format_yuan(fen),
                  "rate": rate.show()})
    if fen > 0:
        ticket.event("compensated", at, "system", rate.rule,
                     {"amount": format_yuan(fen), "payout": f"{ticket.id}:delay", "for": "delayed shipment"})
    return fen


def claim_compensation(remedy: Remedy | None, ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion,
                       at: datetime) -> int:
    """KS-PI-5: after a wrong-item ruling the buyer claims compensation (赔付申请): the order gets a
    delayed-shipment record and the buyer the KS-GOV-5 compensation. Once per ruling."""
    buyer_only(actor, ticket, "申请赔付", "claim compensation")
    rule = _rules(pv).wrong_item.rule
    if remedy is None or remedy.finding != "wrong_item":
        raise refuse("ineligible", "只有平台判定商家发错货后可以申请赔付",
                     "compensation is claimed after a ruling that the shop sent the wrong item", rule)
    if remedy.claimed_at is not None:
        raise refuse("invalid_state", "已申请过赔付", "compensation has been claimed already", rule)
    remedy.claimed_at = at
    return delayed_shipment(ticket, order, pv, at, actor.label, rule)


def retrieve_goods(remedy: Remedy | None, ticket: Ticket, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    """KS-PI-6: the shop has collected the goods from the buyer; its retrieval task is done."""
    staff_only(actor, ticket, "登记取回商品", "record the retrieval")
    rule = _rules(pv).unjustified_rejection.rule
    if remedy is None or remedy.retrieval is None:
        raise refuse("invalid_state", "该售后单没有取回任务", "this ticket has no retrieval task", rule)
    if remedy.retrieval == "done":
        raise refuse("invalid_state", "商品已取回", "the goods were retrieved already", rule)
    remedy.retrieval, remedy.retrieved_at, remedy.retrieved_by = "done", at, actor.label
    ticket.event("goods_retrieved", at, actor.label, rule, {"opened_at": remedy.ruled_at.isoformat()})
