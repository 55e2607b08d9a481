"""Roles as one declared table: who may mint which token, add which staff role, move a shop's money.

Two rules hold everywhere: an act is allowed only to the roles listed for it in ACTS, and nobody
grants a role above their own (RANK): a shop admin adds admins, CS admins and agents but no owner;
the platform's integration role (its own systems) mints nothing. The process itself (`system`: the
CLI, the demo loader, the scenario runner) may do everything.
"""

from __future__ import annotations

from typing import Literal

from .actors import PLATFORM_ROLES, SHOP_ROLES, Actor, require

Act = Literal["issue_token", "manage_tokens", "add_staff", "top_up", "withdraw_deposit", "operate_workers",
              "set_automation", "set_buyer_standing", "manage_webhooks", "read_metrics"]

SYSTEM = "system"
ACTS: dict[Act, frozenset[str]] = {
    # mint a bearer token for a buyer, a staff member or platform staff (within RANK)
    "issue_token": frozenset({SYSTEM, "platform_operator"}),
    # list and revoke tokens
    "manage_tokens": frozenset({SYSTEM, "platform_operator"}),
    # add a staff member to a shop (within RANK: never above the granter's own role)
    "add_staff": frozenset({SYSTEM, "platform_operator", "owner", "admin"}),
    # pay into a shop's wallet or deposit (the platform's systems report payments too)
    "top_up": frozenset({SYSTEM, "platform_operator", "platform_cs", "integration", "owner", "admin"}),
    # take the deposit out (KS-EXIT-1 permitting)
    "withdraw_deposit": frozenset({SYSTEM, "platform_operator", "owner"}),
    # see and release the deadline actions the worker parked after they raised
    "operate_workers": frozenset({SYSTEM, "platform_operator"}),
    # define the shop's automation rules (GEN-AUTO-1): they act for the shop, so its managers set them
    "set_automation": frozenset({SYSTEM, "owner", "admin", "cs_admin"}),
    # record a buyer's standing and top membership (RULES §10: the platform says, never a shop)
    "set_buyer_standing": frozenset({SYSTEM, "platform_operator", "platform_cs"}),
    # register, change and redeliver webhook endpoints (the shop's own, or platform-wide for the platform)
    "manage_webhooks": frozenset({SYSTEM, "platform_operator", "owner", "admin"}),
    # scrape /metrics: the whole platform's counts (every shop's deadlines, payouts, webhooks), so the
    # operators and the platform's own systems (its Prometheus, with an integration token), nobody else
    "read_metrics": frozenset({SYSTEM, "platform_operator", "integration"}),
}

# Higher grants lower. Platform and shop roles are two ladders; the platform's operator stands above
# every shop role (it sets shops up), nobody in a shop above any platform role.
RANK: dict[str, int] = {
    SYSTEM: 100, "platform_operator": 90, "platform_cs": 80, "integration": 10,
    "owner": 40, "admin": 30, "cs_admin": 20, "cs_agent": 10,
}
if set(RANK) != {SYSTEM, *PLATFORM_ROLES, *SHOP_ROLES}:
    raise RuntimeError("every role needs a rank in domain.roles.RANK")

ACT_ZH: dict[Act, str] = {
    "issue_token": "签发令牌", "manage_tokens": "管理令牌", "add_staff": "添加员工", "top_up": "充值",
    "withdraw_deposit": "提取保证金", "operate_workers": "处理搁置的自动操作", "set_automation": "设置售后自动化规则",
    "set_buyer_standing": "设置买家信用", "manage_webhooks": "管理 Webhook 端点", "read_metrics": "读取运行指标",
}


def role_of(actor: Actor) -> str:
    """The role an actor acts in: `system` for the process, a buyer's is `buyer`."""
    if actor.kind == "system":
        return SYSTEM
    if actor.is_buyer:
        return "buyer"
    return actor.role or ""


def may(actor: Actor, act: Act) -> bool:
    return role_of(actor) in ACTS[act]


def require_act(actor: Actor, act: Act) -> None:
    allowed = sorted(ACTS[act] - {SYSTEM})
    require(may(actor, act), f"只有 {'、'.join(allowed)} 可以{ACT_ZH[act]}",
            f"only {', '.join(allowed)} may {act.replace('_', ' ')}")


def may_grant(actor: Actor, role: str) -> bool:
    """Nobody grants a role above their own; a shop's staff grant only shop roles."""
    mine = role_of(actor)
    if mine not in RANK or role not in RANK:
        return False
    if mine in SHOP_ROLES and role not in SHOP_ROLES:
        return False
    return RANK[role] <= RANK[mine]


def require_grant(actor: Actor, role: str) -> None:
    require(may_grant(actor, role), f"不能授予高于自己的角色 {role}", f"nobody may grant a role above their own ({role})")
