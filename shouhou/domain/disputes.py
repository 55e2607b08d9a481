"""Platform intervention (平台介入, RULES §6): the platform's response deadline in working days
(KS-PI-1), evidence windows (KS-PI-2, DY-PI-1), rulings with the party at fault, and the shop's
appeals (KS-PI-3). A case's events go on its ticket's timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..clock import SHANGHAI
from ..errors import present, refuse
from ..money import format_yuan
from ..policies import InterventionRules, PolicyVersion
from . import aftersales, remedies
from .actors import Actor, require
from .lines import Cover
from .orders import Order
from .tickets import Ticket
from .workdays import IsWorkday, working_days_deadline

FAULTS = ("shop", "buyer", "both", "platform", "creator")
AGAINST_SHOP = ("shop", "both")


def _ts(at: datetime) -> str:
    return at.astimezone(SHANGHAI).isoformat(timespec="minutes")


@dataclass(eq=False)
class Intervention:
    id: str
    ticket_id: str
    order_id: str
    shop_id: str
    buyer_id: str
    policy: str
    policy_version: str
    requested_at: datetime
    requested_by: str
    cause: str
    previous_status: str
    response_due_at: datetime
    reason: str | None = None
    status: str = "awaiting_response"  # awaiting_response | coordinating | collecting_evidence | ruled | withdrawn
    responded_at: datetime | None = None
    responded_by: str | None = None
    sla_missed_at: datetime | None = None
    evidence_requested_at: datetime | None = None
    buyer_evidence_due_at: datetime | None = None
    shop_evidence_due_at: datetime | None = None
    buyer_evidence_count: int = 0
    shop_evidence_count: int = 0
    buyer_evidence_closed: bool = False
    shop_evidence_closed: bool = False
    ruled_at: datetime | None = None
    ruled_by: str | None = None
    in_favour_of: str | None = None
    remedy: str | None = None
    fault: str | None = None
    effective_fault: str | None = None
    ruling_rule: str | None = None
    due_at: datetime | None = None
    due_action: str | None = None
    due_rule: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in ("ruled", "withdrawn")

    def reschedule(self, pv: PolicyVersion) -> None:
        """The case's next automatic action: the response SLA, then each evidence window's end."""
        timers: list[tuple[datetime, str, str]] = []
        iv = pv.intervention
        if self.is_open and self.responded_at is None and self.sla_missed_at is None:
            timers.append((self.response_due_at, "sla_miss", iv.response.rule))
        if self.is_open and self.evidence_requested_at is not None:
            if not self.buyer_evidence_closed and self.buyer_evidence_due_at is not None:
                timers.append((self.buyer_evidence_due_at, "buyer_evidence_closed", iv.buyer_evidence.rule))
            if not self.shop_evidence_closed and self.shop_evidence_due_at is not None:
                timers.append((self.shop_evidence_due_at, "shop_evidence_closed", iv.shop_evidence.rule))
        if timers:
            self.due_at, self.due_action, self.due_rule = min(timers)
        else:
            self.due_at = self.due_action = self.due_rule = None


def open_case(ticket: Ticket, pv: PolicyVersion, at: datetime, opening: aftersales.CaseOpening, ident: str,
              is_workday: IsWorkday) -> Intervention:
    """A ticket went to the platform: KS-PI-1's clock starts (end of the 2nd working day after today)."""
    response = pv.intervention.response
    due = working_days_deadline(at, response.working_days, is_workday)
    case = Intervention(
        id=ident, ticket_id=ticket.id, order_id=ticket.order_id, shop_id=ticket.shop_id, buyer_id=ticket.buyer_id,
        policy=ticket.policy, policy_version=ticket.policy_version, requested_at=at, requested_by=opening.actor,
        cause=opening.cause, previous_status=opening.previous_status, response_due_at=due, reason=opening.reason,
    )
    case.reschedule(pv)
    ticket.intervention_id = case.id
    ticket.event("intervention_opened", at, "system", response.rule,
                 {"intervention": case.id, "cause": opening.cause, "by": opening.by,
                  "response_due_at": due.isoformat(), "working_days": response.working_days})
    return case


def _platform(actor: Actor, zh: str, en: str) -> None:
    require(actor.is_platform_staff, f"只有平台客服可以{zh}", f"only platform customer service may {en}")


def _expect_open(case: Intervention, doing: tuple[str, str]) -> None:
    if not case.is_open:
        raise refuse("invalid_state", f"平台介入已结束({case.status}),不能{doing[0]}",
                     f"the intervention is {case.status}; cannot {doing[1]}")


def respond(case: Intervention, ticket: Ticket, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    """Platform CS takes the case and starts coordinating (KS-PI-1, KS-PI-2)."""
    _platform(actor, "响应介入", "respond to an intervention")
    _expect_open(case, ("响应", "respond"))
    if case.responded_at is not None:
        raise refuse("invalid_state", "平台已响应", "the platform has responded already")
    late = at > case.response_due_at
    if late and case.sla_missed_at is None:
        # The deadline passed before the worker got to it: the miss is recorded all the same, at its time.
        _sla_missed(case, ticket, case.response_due_at, pv.intervention.response.rule)
    case.responded_at, case.responded_by, case.status = at, actor.label, "coordinating"
    case.reschedule(pv)
    ticket.event("intervention_responded", at, actor.label, pv.intervention.response.rule,
                 {"intervention": case.id, "within_sla": not late, "response_due_at": case.response_due_at.isoformat()})


def _sla_missed(case: Intervention, ticket: Ticket, at: datetime, rule: str | None) -> None:
    """KS-PI-1: the platform did not respond in time; the miss is on the record (nothing else changes)."""
    case.sla_missed_at = at
    ticket.event("intervention_sla_missed", at, "system", rule,
                 {"intervention": case.id, "response_due_at": case.response_due_at.isoformat()})


def request_evidence(case: Intervention, ticket: Ticket, actor: Actor, pv: PolicyVersion, at: datetime) -> None:
    """Coordination failed: both sides get an evidence window (KS-PI-2; the shop 24 h on Douyin, DY-PI-1)."""
    _platform(actor, "要求举证", "request evidence")
    _expect_open(case, ("要求举证", "request evidence"))
    if case.responded_at is None:
        raise refuse("invalid_state", "平台须先响应介入", "the platform must respond first", pv.intervention.response.rule)
    iv = pv.intervention
    case.status, case.evidence_requested_at = "collecting_evidence", at
    case.buyer_evidence_due_at = at + iv.buyer_evidence.delta
    case.shop_evidence_due_at = at + iv.shop_evidence.delta
    case.buyer_evidence_closed = case.shop_evidence_closed = False
    case.reschedule(pv)
    ticket.event("evidence_requested", at, actor.label, iv.shop_evidence.rule,
                 {"intervention": case.id, "buyer_until": case.buyer_evidence_due_at.isoformat(),
                  "shop_until": case.shop_evidence_due_at.isoformat(),
                  "shop_silence_loses": iv.shop_silence_loses.enabled})


def evidence_side(case: Intervention, ticket: Ticket, actor: Actor, pv: PolicyVersion, at: datetime,
                  items: list[tuple[str, str, int]], *, declared: Sequence[str] | None = None,
                  before: Mapping[str, tuple[int, int]] | None = None) -> str:
    """Checks a submission (name, content type as detected from the bytes, size per item) and says
    whose it is. `declared`: the types the sender named, one per item, which must be the detected
    ones; `before`: the items and bytes each side ("buyer", "shop") has already submitted on the
    case (KS-PI-2's per-case limits count them all)."""
    if actor.is_buyer and actor.id == ticket.buyer_id:
        side = "buyer"
    elif actor.is_staff and actor.shop_id == ticket.shop_id:
        side = "shop"
    else:
        raise refuse("forbidden", "只有买家或店铺员工可以举证", "only the buyer or the shop's staff submit evidence")
    _expect_open(case, ("举证", "submit evidence"))
    iv = pv.intervention
    if case.evidence_requested_at is None:
        raise refuse("invalid_state", "平台尚未要求举证", "the platform has not asked for evidence", iv.buyer_evidence.rule)
    due = case.buyer_evidence_due_at if side == "buyer" else case.shop_evidence_due_at
    closed = case.buyer_evidence_closed if side == "buyer" else case.shop_evidence_closed
    rule = iv.buyer_evidence.rule if side == "buyer" else iv.shop_evidence.rule
    due = present(due, f"the {side}'s evidence deadline of case {case.id}")
    if closed or at >= due:
        raise refuse("ineligible", f"举证期已于 {_ts(due)} 结束", f"the evidence window closed at {_ts(due)}", rule)
    problems_zh, problems_en = [], []
    if not items:
        problems_zh.append("至少提交一项凭证")
        problems_en.append("submit at least one item")
    if len(items) > iv.evidence_max_items.value:
        problems_zh.append(f"每次最多 {iv.evidence_max_items.value} 项")
        problems_en.append(f"at most {iv.evidence_max_items.value} items per submission")
    for i, (name, ctype, size) in enumerate(items):
        said = declared[i] if declared is not None else ctype
        if said != ctype:
            problems_zh.append(f"{name}:声明的类型 {said} 与文件内容 {ctype} 不符")
            problems_en.append(f"{name}: declared as {said} but its content is {ctype}")
        if ctype not in iv.evidence_types.value:
            problems_zh.append(f"{name}:不支持的类型 {ctype}")
            problems_en.append(f"{name}: type {ctype} is not accepted ({', '.join(iv.evidence_types.value)})")
        if size <= 0 or size > iv.evidence_max_bytes.value:
            problems_zh.append(f"{name}:大小 {size} 字节,须在 1 到 {iv.evidence_max_bytes.value} 之间")
            problems_en.append(f"{name}: {size} bytes; must be 1 to {iv.evidence_max_bytes.value}")
        if not name or len(name) > 255:
            problems_zh.append("文件名须为 1 到 255 个字符")
            problems_en.append("a name is 1 to 255 characters")
    if problems_en:
        raise refuse("invalid_input", ";".join(problems_zh), "; ".join(problems_en), iv.evidence_types.rule)
    _within_case_limits(iv, (before or {}).get(side, (0, 0)), items)
    if side == "buyer":
        case.buyer_evidence_count += len(items)
    else:
        case.shop_evidence_count += len(items)
    ticket.event("evidence_submitted", at, actor.label, rule,
                 {"intervention": case.id, "side": side, "items": [n for n, _, _ in items]})
    return side


def _within_case_limits(iv: InterventionRules, before: tuple[int, int], items: list[tuple[str, str, int]]) -> None:
    """KS-PI-2: a side's evidence on one case, every submission together, stays within the pack's
    count and bytes."""
    count, size = before[0] + len(items), before[1] + sum(n for _, _, n in items)
    max_items, max_bytes = iv.evidence_case_max_items, iv.evidence_case_max_bytes
    if count > max_items.value:
        raise refuse("limit_reached", f"本案每方最多提交 {max_items.value} 项凭证,已提交 {before[0]} 项",
                     f"at most {max_items.value} items per side per case; {before[0]} already submitted", max_items.rule)
    if size > max_bytes.value:
        raise refuse("limit_reached", f"本案每方凭证合计最多 {max_bytes.value} 字节,已提交 {before[1]} 字节",
                     f"at most {max_bytes.value} bytes of evidence per side per case; {before[1]} already submitted",
                     max_bytes.rule)


def rule(case: Intervention, ticket: Ticket, order: Order, actor: Actor, pv: PolicyVersion, at: datetime,
         in_favour_of: str, remedy: str | None, amount_fen: int | None, fault: str | None,
         default_address: str | None, rule_id: str | None = None, finding: str | None = None,
         lines: tuple[Cover, ...] | None = None) -> remedies.Remedy | None:
    """The platform decides (KS-PI-2): for the buyer (refund, or return & refund, which then runs the
    return flow) or for the shop (close), naming who was at fault. A `finding` against the shop
    (KS-PI-4, -5, -6) orders its remedy (domain.remedies), returned to be kept; `lines` narrows the
    ruling to some of the ticket's lines (their paid value is the amount unless one is given)."""
    automatic = actor.kind == "system"
    if not automatic:
        _platform(actor, "判定", "rule")
    _expect_open(case, ("判定", "rule"))
    if case.responded_at is None and not automatic:
        raise refuse("invalid_state", "平台须先响应介入才能判定", "the platform rules only after it has responded",
                     pv.intervention.response.rule)
    rule_id = rule_id or pv.intervention.ruling.rule
    if in_favour_of not in ("buyer", "merchant"):
        raise refuse("invalid_input", "in_favour_of 须为 buyer 或 merchant", "in_favour_of must be buyer or merchant")
    fault = fault or ("shop" if in_favour_of == "buyer" else "buyer")
    if fault not in FAULTS:
        raise refuse("invalid_input", f"责任方须为 {'、'.join(FAULTS)}", f"fault must be one of {list(FAULTS)}")
    if finding is not None:
        remedy = remedies.check(pv, finding, remedy, in_favour_of, fault)
        rule_id = remedies.rules_of(pv, finding).finding(finding).rule
    elif in_favour_of == "buyer":
        remedy = remedy or "refund"
        if remedy not in ("refund", "return_refund"):
            raise refuse("invalid_input", "判给买家的处理须为 refund 或 return_refund(补发、换货须注明判定事由)",
                         "a ruling for the buyer is refund or return_refund (reship and exchange come with a finding)")
    else:
        if remedy not in (None, "close") or lines:
            raise refuse("invalid_input", "判给商家时只能关闭售后单", "a ruling for the shop closes the ticket")
        remedy = "close"
    cover = remedies.ruled_cover(ticket, lines)
    if finding == "missing_items" and amount_fen is not None:
        raise refuse("invalid_input", "少件的金额由所缺商品行决定,不另给金额",
                     "a missing-items ruling takes its amount from the missing lines, not an amount", rule_id)
    if amount_fen is None and lines and order.lines:
        amount_fen = remedies.paid_value(order, cover)
    amount = ticket.amount_fen if amount_fen is None else amount_fen
    if remedy == "close" and amount_fen is not None:
        raise refuse("invalid_input", "驳回买家的判定不涉及金额", "a ruling that closes the ticket takes no amount")
    if remedy not in ("close", "reship") and not 0 < amount <= ticket.amount_fen:
        raise refuse("invalid_input", f"退款金额须大于 0 且不超过 {format_yuan(ticket.amount_fen)}",
                     f"amount must be > 0 and at most {format_yuan(ticket.amount_fen)}")
    if ticket.status != "in_intervention":
        raise refuse("invalid_state", f"售后单状态为 {ticket.status},不在平台介入中",
                     f"ticket is {ticket.status}, not in intervention")
    case.status, case.ruled_at, case.ruled_by = "ruled", at, actor.label
    case.in_favour_of, case.remedy, case.fault, case.effective_fault, case.ruling_rule = (
        in_favour_of, remedy, fault, fault, rule_id)
    case.reschedule(pv)
    payload = {"intervention": case.id, "in_favour_of": in_favour_of, "remedy": remedy, "fault": fault,
               "amount": format_yuan(amount) if remedy != "close" else None, "against_shop": fault in AGAINST_SHOP}
    if finding is not None:
        return remedies.order_remedy(ticket, order, pv, at, actor.label, case.id, finding, remedy, lines,
                                     amount_fen, default_address, payload)
    if lines:
        ticket.lines = cover
    if remedy == "refund":
        ticket.amount_fen = amount
        ticket.move("refunded", "ruled", at, actor.label, rule_id, payload)
        aftersales.refund(ticket, order, pv, at, actor.label, rule_id)
        aftersales._end(ticket, order, pv, at)
    elif remedy == "return_refund":
        span = pv.return_refund.buyer_ships
        ticket.amount_fen = amount  # refunded when the shop confirms the parcel (or KS-RR-3 does)
        if order.open_ticket_id == ticket.id:
            order.reopen_hold(ticket.id, amount, ticket.lines)
        if ticket.type != "return_refund":
            payload["converted_from"] = ticket.type
            ticket.type = "return_refund"
        ticket.return_address = ticket.return_address or default_address
        ticket.move("awaiting_return", "ruled", at, actor.label, rule_id, payload,
                    due=(at + span.delta, "auto_close", span.rule))
    else:
        end = "completed" if case.previous_status == "replacement_shipped" else "closed"
        ticket.move(end, "ruled", at, actor.label, rule_id, payload)
        aftersales._end(ticket, order, pv, at)
    return None


def withdraw(case: Intervention, ticket: Ticket, pv: PolicyVersion, at: datetime,
             reason: str = "the buyer cancelled the ticket", rule: str | None = None) -> None:
    """The ticket ended while the platform had it (the buyer cancelled, the shop refunded instead):
    no ruling is needed any more."""
    if case.is_open:
        case.status = "withdrawn"
        case.reschedule(pv)
        ticket.event("intervention_withdrawn", at, "system", rule or pv.intervention.ruling.rule,
                     {"intervention": case.id, "reason": reason})


def fire(case: Intervention, ticket: Ticket, order: Order, pv: PolicyVersion, at: datetime,
         default_address: str | None) -> None:
    """The worker: the case's pending action fell due at `at`."""
    if case.due_at is None or case.due_at > at:
        raise refuse("invalid_state", "没有到期的自动操作", "nothing is due on this intervention")
    action, rule_id = case.due_action, case.due_rule
    iv = pv.intervention
    if action == "sla_miss":
        _sla_missed(case, ticket, at, rule_id)
    elif action == "buyer_evidence_closed":
        case.buyer_evidence_closed = True
        ticket.event("evidence_window_closed", at, "system", rule_id,
                     {"intervention": case.id, "side": "buyer", "items": case.buyer_evidence_count})
    elif action == "shop_evidence_closed":
        case.shop_evidence_closed = True
        ticket.event("evidence_window_closed", at, "system", rule_id,
                     {"intervention": case.id, "side": "shop", "items": case.shop_evidence_count})
        if iv.shop_silence_loses.enabled and case.shop_evidence_count == 0 and case.is_open:
            # DY-PI-1: the shop uploaded nothing; the ruling goes to the buyer by itself.
            rule(case, ticket, order, Actor("system"), pv, at, "buyer", "refund", None, "shop", default_address,
                 rule_id=iv.shop_silence_loses.rule)
            return
    else:  # pragma: no cover - the schema admits no other action
        raise ValueError(f"unknown intervention action {action}")
    case.reschedule(pv)


@dataclass(eq=False)
class EvidenceItem:
    """One stored piece of evidence: what it is, how big, its SHA-256, where the blob store keeps it."""

    id: str
    intervention_id: str
    ticket_id: str
    side: str
    submitted_by: str
    name: str
    content_type: str
    size: int
    sha256: str
    blob_key: str
    submitted_at: datetime
