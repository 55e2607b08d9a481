"""Commands: what an actor asks the engine to do. Small, frozen, imperative."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from ..domain.lines import Cover, OrderLine


@dataclass(frozen=True)
class CreateShop:
    id: str
    name: str
    policy: str
    status: str = "normal"
    wallet_fen: int = 0
    deposit_fen: int = 0
    wallet_opened_at: datetime | None = None
    return_address: str | None = None


@dataclass(frozen=True)
class SetShopStatus:
    shop_id: str
    status: str
    reason: str | None = None


@dataclass(frozen=True)
class AddStaff:
    id: str
    shop_id: str
    role: str
    name: str = ""


@dataclass(frozen=True)
class AddBuyer:
    id: str
    name: str = ""
    standing: str = "normal"  # RULES §10: normal | good | poor
    member: bool = False  # DY-FAST-1: a top member


@dataclass(frozen=True)
class SetBuyerStanding:
    """Platform staff record a buyer's standing and/or top membership (RULES §10); None: unchanged."""

    buyer_id: str
    standing: str | None = None
    member: bool | None = None
    reason: str | None = None


@dataclass(frozen=True)
class IssueToken:
    """At most one of expires_at, lifetime and never_expires; with none of them the token gets its
    kind's default lifetime (services.shops.DEFAULT_LIFETIME)."""

    kind: str  # buyer | staff | platform
    actor_id: str
    role: str | None = None
    label: str | None = None
    token: str | None = None  # a chosen token (demo data); otherwise a random one
    expires_at: datetime | None = None
    lifetime: timedelta | None = None
    never_expires: bool = False  # the console and the demo data only; the API offers no way to ask


@dataclass(frozen=True)
class IssuedToken:
    """What IssueToken answers: the secret (shown once, stored only as its hash) and the public id
    that lists show and revocation names."""

    token: str
    id: str
    expires_at: datetime | None


@dataclass(frozen=True)
class RevokeToken:
    id: str  # the public id, tok_…


@dataclass(frozen=True)
class ImportOrder:
    shop_id: str
    buyer_id: str
    amount_fen: int
    id: str | None = None
    freight_fen: int = 0
    payment: str = "online"
    kind: str = "normal"
    marketing: bool = False
    goods: str = "physical"
    category: str = "general"
    no_reason_return: bool = True
    custom: bool = False  # made to order (定制): never in a fast lane (RULES §10)
    commission: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    shipped_at: datetime | None = None
    signed_at: datetime | None = None
    confirmed_at: datetime | None = None
    lines: tuple[OrderLine, ...] = ()  # GEN-APPLY-7: none given, one line of qty 1 (amount less freight)


@dataclass(frozen=True)
class ShipOrder:
    order_id: str
    carrier: str | None = None
    waybill: str | None = None


@dataclass(frozen=True)
class SignOrder:
    order_id: str


@dataclass(frozen=True)
class ConfirmOrder:
    order_id: str


@dataclass(frozen=True)
class Apply:
    order_id: str
    type: str
    reason: str
    amount_fen: int | None = None
    evidence: tuple[str, ...] = ()
    note: str | None = None
    lines: tuple[Cover, ...] | None = None  # GEN-APPLY-7: none given, every unit still left


@dataclass(frozen=True)
class Cancel:
    ticket_id: str


@dataclass(frozen=True)
class Approve:
    ticket_id: str
    return_address: str | None = None


@dataclass(frozen=True)
class Reject:
    ticket_id: str
    reason: str | None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubmitWaybill:
    ticket_id: str
    carrier: str | None = None
    waybill: str | None = None


@dataclass(frozen=True)
class ConfirmReturn:
    ticket_id: str


@dataclass(frozen=True)
class RefuseReturn:
    ticket_id: str
    reason: str | None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestIntervention:
    ticket_id: str
    reason: str | None = None


@dataclass(frozen=True)
class OpenEntry:
    order_id: str


@dataclass(frozen=True)
class RequestReopen:
    order_id: str
    note: str | None = None


@dataclass(frozen=True)
class DeclineReopen:
    request_id: str
    reason: str | None


@dataclass(frozen=True)
class FileComplaint:
    """投诉工单: the buyer complains about their order (KS-EXIT-1 waits while it is open)."""

    order_id: str
    reason: str | None


@dataclass(frozen=True)
class CloseComplaint:
    complaint_id: str
    answer: str | None = None


@dataclass(frozen=True)
class ClaimFreight:
    """运费申请: the buyer claims a return's freight, up to the pack's cap (GEN-FREIGHT-1)."""

    ticket_id: str
    amount_fen: int
    receipt: bool = False


@dataclass(frozen=True)
class DecideFreight:
    """The shop, or the platform under freight_by_platform (KS-GOV-3), decides a freight claim."""

    ticket_id: str
    approve: bool
    reason: str | None = None


@dataclass(frozen=True)
class TopUp:
    shop_id: str
    account: str  # wallet | deposit
    amount_fen: int


@dataclass(frozen=True)
class SetAutomation:
    """GEN-AUTO-1: replace the shop's automation rules ({id, action, when}, money in yuan text)."""

    shop_id: str
    rules: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class WithdrawDeposit:
    shop_id: str
    amount_fen: int


@dataclass(frozen=True)
class ShipReplacement:
    ticket_id: str
    carrier: str | None = None
    waybill: str | None = None


@dataclass(frozen=True)
class SignReplacement:
    ticket_id: str


@dataclass(frozen=True)
class ConfirmReplacement:
    ticket_id: str


@dataclass(frozen=True)
class RefundInstead:
    ticket_id: str


@dataclass(frozen=True)
class RespondIntervention:
    ticket_id: str


@dataclass(frozen=True)
class RequestEvidence:
    ticket_id: str


@dataclass(frozen=True)
class EvidenceFile:
    """One file as sent: its name, the type the sender declares (checked against the type detected
    from its bytes), and its content, in memory or as a readable binary file (an upload spooled to
    disk is read in chunks, never whole); `size` when the sender already knows it."""

    name: str
    content_type: str
    content: bytes | BinaryIO
    size: int | None = None


@dataclass(frozen=True)
class SubmitEvidence:
    ticket_id: str
    items: tuple[EvidenceFile, ...]


@dataclass(frozen=True)
class Rule:
    ticket_id: str
    in_favour_of: str
    remedy: str | None = None
    amount_fen: int | None = None
    fault: str | None = None
    finding: str | None = None  # KS-PI-4 missing_items | KS-PI-5 wrong_item | KS-PI-6 unjustified_rejection
    lines: tuple[Cover, ...] | None = None  # the ticket's lines the ruling is about (default: all)


@dataclass(frozen=True)
class CannotReship:
    """KS-PI-4: the shop cannot reship the missing lines; the platform compensates at once."""

    ticket_id: str


@dataclass(frozen=True)
class ClaimCompensation:
    """KS-PI-5: the buyer's compensation claim (赔付申请) after a wrong-item ruling."""

    ticket_id: str


@dataclass(frozen=True)
class RetrieveGoods:
    """KS-PI-6: the shop has collected the goods from the buyer."""

    ticket_id: str


@dataclass(frozen=True)
class FileAppeal:
    ticket_id: str
    reason: str | None


@dataclass(frozen=True)
class DecideAppeal:
    appeal_id: str
    upheld: bool
    answer: str | None = None
    fault_after: str | None = None


# -- merchant governance (RULES §9) -------------------------------------------------------------------

@dataclass(frozen=True)
class EvaluateShop:
    shop_id: str


@dataclass(frozen=True)
class LiftMeasure:
    measure_id: str
    reason: str | None


@dataclass(frozen=True)
class AppealMeasure:
    measure_id: str
    reason: str | None


@dataclass(frozen=True)
class DecideMeasureAppeal:
    appeal_id: str
    upheld: bool
    answer: str | None = None


# -- operations --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetryParked:
    kind: str
    ident: str
