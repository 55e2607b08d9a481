"""Who acts: buyers, shop staff with a role, platform staff, and the system itself."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import refuse

SHOP_ROLES = ("owner", "admin", "cs_admin", "cs_agent")
PLATFORM_ROLES = ("platform_cs", "platform_operator", "integration")


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


SYSTEM = Actor("system")


def require(ok: bool, zh: str, en: str, rule: str | None = None) -> None:
    """Refuse with `forbidden` unless the actor may do this."""
    if not ok:
        raise refuse("forbidden", zh, en, rule)
