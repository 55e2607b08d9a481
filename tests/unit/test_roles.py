"""Roles as a declared table (domain.roles), checked as a matrix: who may mint which token, add which
staff role, top up and withdraw the deposit; nobody grants a role above their own."""

from __future__ import annotations

import pytest

from shouhou.domain import roles
from shouhou.domain.actors import PLATFORM_ROLES, SHOP_ROLES, Actor

ACTORS = {
    "system": Actor("system"),
    "platform_operator": Actor("platform", "p1", role="platform_operator"),
    "platform_cs": Actor("platform", "p2", role="platform_cs"),
    "integration": Actor("platform", "p3", role="integration"),
    "owner": Actor("staff", "u1", shop_id="S1", role="owner"),
    "admin": Actor("staff", "u2", shop_id="S1", role="admin"),
    "cs_admin": Actor("staff", "u3", shop_id="S1", role="cs_admin"),
    "cs_agent": Actor("staff", "u4", shop_id="S1", role="cs_agent"),
    "buyer": Actor("buyer", "b1"),
}

# act -> the roles that may do it; every other actor is refused
MAY = {
    "issue_token": {"system", "platform_operator"},
    "manage_tokens": {"system", "platform_operator"},
    "add_staff": {"system", "platform_operator", "owner", "admin"},
    "top_up": {"system", "platform_operator", "platform_cs", "integration", "owner", "admin"},
    "withdraw_deposit": {"system", "platform_operator", "owner"},
    "operate_workers": {"system", "platform_operator"},
}


@pytest.mark.parametrize("act", sorted(MAY))
@pytest.mark.parametrize("who", sorted(ACTORS))
def test_each_act_is_allowed_exactly_to_the_roles_of_the_table(act: roles.Act, who: str) -> None:
    assert roles.may(ACTORS[who], act) is (who in MAY[act])


# granter -> the roles it may grant (a staff member's token carries the member's role)
GRANTS = {
    "system": {*PLATFORM_ROLES, *SHOP_ROLES},
    "platform_operator": {*PLATFORM_ROLES, *SHOP_ROLES},
    "platform_cs": {"platform_cs", "integration", *SHOP_ROLES},
    "integration": {"integration", "cs_agent"},
    "owner": set(SHOP_ROLES),
    "admin": {"admin", "cs_admin", "cs_agent"},
    "cs_admin": {"cs_admin", "cs_agent"},
    "cs_agent": {"cs_agent"},
    "buyer": set(),
}


@pytest.mark.parametrize("role", [*PLATFORM_ROLES, *SHOP_ROLES])
@pytest.mark.parametrize("who", sorted(ACTORS))
def test_nobody_grants_a_role_above_their_own(who: str, role: str) -> None:
    assert roles.may_grant(ACTORS[who], role) is (role in GRANTS[who])


def test_integration_may_mint_no_token_and_an_admin_may_not_make_an_owner() -> None:
    """The audit's escalations: the integration role minted a platform_operator token; a shop admin
    created a staff member with role owner."""
    assert not roles.may(ACTORS["integration"], "issue_token")
    assert not roles.may_grant(ACTORS["integration"], "platform_operator")
    assert roles.may(ACTORS["admin"], "add_staff") and not roles.may_grant(ACTORS["admin"], "owner")
    assert not roles.may(ACTORS["integration"], "withdraw_deposit")
