"""Shops, their staff and buyers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .events import Event, Recorder

SHOP_STATUSES = ("normal", "suspended", "closed")
# RULES §10: a buyer's standing is `normal` unless the platform says otherwise; only `good` buyers
# take the fast lanes, `poor` ones never.
STANDINGS = ("normal", "good", "poor")


@dataclass(eq=False)
class Shop(Recorder):
    id: str
    name: str
    policy: str
    status: str
    wallet_fen: int
    deposit_fen: int
    wallet_opened_at: datetime
    created_at: datetime
    return_address: str | None = None
    debt_fen: int = 0  # cached from the ledger: what the shop owes the platform (>= 0)
    # Governance (RULES §9): the effects of the measures in force (domain.governance.effects).
    refund_handling: str = "enabled"  # KS-GOV-4: "disabled" while the shop is high-risk
    score: int | None = None  # KS-GOV-2: the after-sales score at the last evaluation
    points: int = 0  # KS-GOV-3: points deducted by measures in force
    freight_claims_by_platform: bool = False  # KS-GOV-3: the platform handles buyers' freight claims
    cart_suspended: bool = False  # KS-GOV-3: no new orders
    governance_evaluated_at: datetime | None = None
    governance_due_at: datetime | None = None  # the next evaluation or the next end of a measure
    pending_events: list[Event] = field(default_factory=list, repr=False, compare=False)


@dataclass
class Staff:
    id: str
    shop_id: str
    role: str
    name: str


@dataclass(eq=False)
class Buyer(Recorder):
    id: str
    name: str
    standing: str = "normal"  # RULES §10: normal | good | poor, set by the platform
    member: bool = False  # DY-FAST-1: a top member (the higher fast-refund cap)
    pending_events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @property
    def fast_lane(self) -> bool:
        """RULES §10: fast lanes are for buyers in good standing; poor (and normal) buyers never."""
        return self.standing == "good"
