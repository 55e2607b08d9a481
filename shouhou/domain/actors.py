"""Who acts: buyers, shop staff with a role, platform staff, and the system itself."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import refuse

SHOP_ROLES = ("owner", "admin", "cs_admin", "cs_agent")
PLATFORM_ROLES = ("platform_cs", "platform_operator", "integration")
# The platform's people, who judge (rulings, appeals, lifting measures); `integration` is the
# platform's own systems (order import, carrier callbacks), which report facts and judge nothing.
JUDGING_ROLES = ("platform_cs", "platform_operator")


@dataclass(frozen=True)
class Actor:
    kind: str  # buyer | staff | platform | system
    id: str = "system"
    shop_id: str | None = None  # staff only
    role: str | None = None  # staff: a SHOP_ROLE; platform: a PLATFORM_ROLE

    @property
    def label(self) -> str:
        return "system" if self.kind == "system" else f"{self.kind}:{self.id}"

    @property
    def is_buyer(self) -> bool:
        return self.kind == "buyer"

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_platform(self) -> bool:
        return self.kind in ("platform", "system")

    def sees(self, shop_id: str, buyer_id: str | None = None) -> bool:
        """Tenancy, the one rule: the platform sees everything, shop staff what belongs to their shop,
        a buyer what is theirs (an object with a buyer: an order, a ticket, a request). A shop's own
        records (measures, balances) have no buyer: buyers see none of them."""
        if self.is_platform:
            return True
        if self.is_staff:
            return self.shop_id == shop_id
        return self.is_buyer and buyer_id is not None and self.id == buyer_id

    @property
    def is_platform_staff(self) -> bool:
        """Platform customer service or operators: people who may rule, decide appeals, lift measures."""
        return self.kind == "platform" and self.role in JUDGING_ROLES


SYSTEM = Actor("system")


def require(ok: bool, zh: str, en: str, rule: str | None = None) -> None:
    """Refuse with `forbidden` unless the actor may do this."""
    if not ok:
        raise refuse("forbidden", zh, en, rule)
