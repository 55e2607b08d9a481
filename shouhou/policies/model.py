"""A policy version: every section of RULES.md as validated settings (RULES §11: a ticket keeps the
version in force when it opened). The comments name the RULES.md rule a field holds; each pack cites
its own ID for it (Douyin's return_refund.review is GEN-RR-1, its declared ID like KS-RR-1)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from .fast_lanes import FastLaneRules
from .governance import GovernanceRules
from .values import Choice, Compensation, DateFloor, Flag, Limit, Money, Span, WorkingDays

REASONS = (
    "logistics_damaged",
    "logistics_lost",
    "logistics_delayed",
    "quality",
    "not_as_described",
    "wrong_item",  # 发错货 (KS-PI-5)
    "missing_items",  # 少件 (KS-PI-4)
    "no_reason",
    "other",
)
ROLES = ("owner", "admin", "cs_admin", "cs_agent")
# Reasons SCENARIOS.md names that a pack's freight rules may list before tickets take them (GEN-FREIGHT-1)
FREIGHT_ONLY_REASONS = ("wrong_item", "missing_items")


class OrderRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    completion: Span  # GEN-ORD-1: confirmed + 7 days
    auto_confirm: Span  # GEN-ORD-2: later of shipment + N days and signing
    full_refund_closes: Flag  # GEN-ORD-4: a fully refunded order closes and never settles

    @field_validator("full_refund_closes")
    @classmethod
    def _closes(cls, v: Flag) -> Flag:
        if not v.enabled:
            raise ValueError("a fully refunded order has nothing left to settle (GEN-ORD-4); it cannot be switched off")
        return v


class ApplyRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    period: Flag  # GEN-APPLY-1
    no_reason_return: Span  # GEN-APPLY-2
    evidence_required: Choice  # GEN-APPLY-3: reasons that need evidence
    refundable: Flag  # GEN-APPLY-4
    one_open_ticket: Flag  # GEN-APPLY-5
    max_in_period: Limit | None = None  # DY-APPLY-1
    type_fits_state: Flag  # GEN-APPLY-6
    lines: Flag | None = None  # GEN-APPLY-7: partial after-sales over order lines

    @field_validator("one_open_ticket")
    @classmethod
    def _one_open(cls, v: Flag) -> Flag:
        if not v.enabled:
            raise ValueError("shouhou holds one open ticket per order (GEN-APPLY-5); it cannot be switched off")
        return v

    @field_validator("evidence_required")
    @classmethod
    def _known_reasons(cls, v: Choice) -> Choice:
        unknown = [r for r in v.value if r not in REASONS]
        if unknown:
            raise ValueError(f"unknown reasons {unknown}; known: {list(REASONS)}")
        return v


class RefundOnlyRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    review_before_shipment: Span  # KS-RO-1 / DY-RO-1
    review_after_shipment: Span


class ReturnRefundRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    review: Span  # KS-RR-1
    buyer_ships: Span  # KS-RR-2 / DY-RR-2
    shop_confirms_receipt: Span  # KS-RR-3 / DY-RR-2


class RejectionRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reason_required: Flag  # KS-RR-4
    shop_may_reprocess: Flag  # DY-RR-1
    intervention_after_rejection: Flag  # KS-RR-4: either side may ask the platform to step in
    intervention_window: Span | None = None  # DY-RR-3: None = no limit


class EntryRules(BaseModel):
    """Re-opening the after-sales entry past the period (超售后期打开售后入口, RULES §7). Each
    condition is optional: a pack names the ones its platform publishes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    window: Span  # KS-OP-7 / DY-OP-6: how long the buyer may apply once opened
    past_period: Flag  # DY-OP-1 (KS: implied by KS-OP-1): only completed orders
    completed_within: Span | None = None  # KS-OP-1
    created_after: DateFloor | None = None  # DY-OP-5
    created_within: Span | None = None  # DY-OP-5
    funds_cover_refundable: Flag | None = None  # KS-OP-2: wallet or deposit >= refundable
    shop_statuses: Choice | None = None  # KS-OP-3: shop in normal operation
    kinds: Choice | None = None  # KS-OP-4
    payments: Choice | None = None  # DY-OP-3
    goods: Choice | None = None  # DY-OP-4
    excluded_categories: Choice | None = None  # DY-OP-4
    refundable_positive: Flag | None = None  # KS-OP-5
    no_refund_in_progress: Flag | None = None  # DY-OP-2
    roles: Choice | None = None  # KS-OP-6: which shop roles may open it (None: any staff)
    buyer_requests: Flag  # DY-OP-6: the buyer may ask the shop to open it again
    notify_buyer: Flag  # DY-OP-10: site message and push to the buyer

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, v: Choice | None) -> Choice | None:
        if v is not None:
            unknown = [r for r in v.value if r not in ROLES]
            if unknown:
                raise ValueError(f"unknown roles {unknown}; known: {list(ROLES)}")
        return v


class ExchangeRules(BaseModel):
    """Exchange, repair, reship (RULES §5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    review: Span  # GEN-EX-1: 48 h -> auto-approve (overdue)
    buyer_ships: Span  # GEN-EX-1: KS 10 d, DY 7 d -> auto-close
    shop_confirms_receipt: Span  # GEN-EX-1: -> turns into a refund
    ship_replacement: Span  # GEN-EX-1: 72 h -> turns into a refund
    replacement_confirm: Span  # GEN-EX-1: the buyer confirms; auto-confirmed after this
    refund_instead: Flag  # GEN-EX-2: the shop may refund instead before the replacement ships
    reship_review: Span  # GEN-EX-3
    reship_ship: Span  # GEN-EX-3: 48 h -> turns into a refund


class InterventionRules(BaseModel):
    """Platform intervention (RULES §6)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    response: WorkingDays  # KS-PI-1: platform CS responds within 2 working days (a miss is recorded)
    buyer_evidence: Span  # KS-PI-2: evidence window
    shop_evidence: Span  # KS-PI-2 / DY-PI-1 (24 h on Douyin)
    shop_silence_loses: Flag  # DY-PI-1: no shop evidence -> ruling for the buyer automatically
    ruling: Flag  # KS-PI-2: platform CS rules by the platform's rules, naming who was at fault
    stalled_exchange: Flag  # either side may ask about an exchange that stalls
    appeal_window: Span  # KS-PI-3: within 48 h after the refund
    appeal_answer: WorkingDays  # KS-PI-3: 5 working days
    appeal_failed_per_month: Limit  # KS-PI-3
    appeal_failed_per_year: Limit  # KS-PI-3
    evidence_max_items: Limit  # KS-PI-2: items per submission
    evidence_max_bytes: Limit  # KS-PI-2: bytes per item
    evidence_case_max_items: Limit  # KS-PI-2: items per side per case, every submission together
    evidence_case_max_bytes: Limit  # KS-PI-2: bytes per side per case, every submission together
    evidence_types: Choice  # KS-PI-2: the types accepted, as detected from the file's bytes


class RemedyRules(BaseModel):
    """What a ruling against the shop may order beyond a refund (KS-PI-4, -5, -6) and the
    delayed-shipment record it may bring (KS-GOV-5). A pack without this section rules by KS-PI-2
    alone: a finding is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    missing_items: Flag  # KS-PI-4: reship (or the platform compensates at once)
    reship_within: Span  # KS-PI-4: 24 h to reship with a waybill; late -> delayed shipment
    priority_after: Span  # KS-PI-4: late and still not reshipped this long after -> priority compensation
    wrong_item: Flag  # KS-PI-5: return for refund or exchange; freight on the shop
    unjustified_rejection: Flag  # KS-PI-6: refund at once by advance compensation; the shop retrieves
    delayed_shipment: Compensation  # KS-GOV-5: the buyer's compensation, charged to the shop

    def finding(self, name: str) -> Flag:
        flag: Flag = getattr(self, name)
        return flag


class MoneyRules(BaseModel):
    """RULES §8, KS-FEE-1, KS-OP-8, DY-OP-8, DY-OP-9."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    settlement: Flag  # GEN-ORD-3: settle at completion on amounts net of refunds
    waterfall: Choice  # DY-OP-9: refund sources after settlement, in order
    fee_sharing: Span | None = None  # KS-FEE-1: refunds within N days of confirmed receipt are shared
    fee_sharing_short: Span | None = None  # KS-FEE-1: the shorter window for some categories
    fee_sharing_short_categories: Choice | None = None
    commission_return: Span | None = None  # KS-OP-8: over-period refunds within N days after completion
    commission_return_categories: Choice | None = None  # KS-OP-8: designated categories ("*" = all)
    no_commission_return: Flag | None = None  # DY-OP-8: the shop bears the whole refund
    clawback_retry: Span  # KS-FEE-1: a failed clawback is retried after this long
    payout_retry: Span  # a refund payout that did not go through is tried again after this long
    payout_attempts: Limit  # DY-OP-9: after this many failures the platform advance-compensates

    @field_validator("waterfall")
    @classmethod
    def _sources(cls, v: Choice) -> Choice:
        if not v.value or v.value[-1] != "advance" or any(x not in ("wallet", "deposit", "advance") for x in v.value):
            raise ValueError("waterfall lists wallet/deposit and ends with advance")
        return v


class FreightRules(BaseModel):
    """Freight claims (运费申请, GEN-FREIGHT-1): the buyer claims a return's freight when the return is
    the shop's fault, up to a cap; the shop (or, under KS-GOV-3's freight_by_platform, the platform)
    decides within `decision`, or the claim is approved automatically (not an overdue record)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    cap_without_receipt: Money  # GEN-FREIGHT-1: ¥20 by default
    cap_with_receipt: Money  # GEN-FREIGHT-1: ¥50 by default
    decision: Span  # GEN-FREIGHT-1: 48 h -> approved automatically
    shop_fault_reasons: Choice  # GEN-FREIGHT-1: the ticket reasons that make a return the shop's fault

    @field_validator("shop_fault_reasons")
    @classmethod
    def _known_reasons(cls, v: Choice) -> Choice:
        known = (*REASONS, *FREIGHT_ONLY_REASONS)
        unknown = [r for r in v.value if r not in known]
        if unknown:
            raise ValueError(f"unknown reasons {unknown}; known: {list(known)}")
        return v

    @model_validator(mode="after")
    def _receipt_never_lowers_the_cap(self) -> FreightRules:
        if self.cap_with_receipt.fen < self.cap_without_receipt.fen:
            raise ValueError("cap_with_receipt must be at least cap_without_receipt: a receipt never lowers the cap")
        return self


class PolicyVersion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    effective_from: datetime
    summary: str | None = None
    order: OrderRules
    apply: ApplyRules
    refund_only: RefundOnlyRules
    return_refund: ReturnRefundRules
    rejection: RejectionRules
    entry: EntryRules
    exchange: ExchangeRules
    intervention: InterventionRules
    money: MoneyRules
    governance: GovernanceRules
    remedies: RemedyRules | None = None
    freight: FreightRules | None = None  # GEN-FREIGHT-1; a pack without it takes no freight claims
    fast_lanes: FastLaneRules | None = None  # RULES §10: a pack without the section has no fast lane

    @field_validator("effective_from")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("effective_from needs a zone offset, e.g. 2026-01-01T00:00:00+08:00")
        return v

    def rows(self) -> list[tuple[str, str, str, str, str | None]]:
        """(setting, value, rule, source, note) for every value of the version, for display."""
        out: list[tuple[str, str, str, str, str | None]] = []
        for section in ("order", "apply", "refund_only", "return_refund", "rejection", "entry", "exchange", "intervention", "money",
                        "governance", "remedies", "freight", "fast_lanes"):
            block = getattr(self, section)
            if block is None:
                continue
            for key in type(block).model_fields:
                item = getattr(block, key)
                if item is None:
                    continue
                out.append((f"{section}.{key}", item.show(), item.rule, item.source, item.note))
        return out
