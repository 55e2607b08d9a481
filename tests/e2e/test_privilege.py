"""The audit's privilege escalations, through HTTP: the integration role minted a platform_operator
token (which then lifted a measure) and tokens for any owner or buyer; a shop admin created an owner;
integration passed deposit withdrawal's role check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shouhou.entrypoints.api import create_app
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app: Shouhou) -> Iterator[TestClient]:
    app.handle(c.CreateShop("S1", "S1", "kuaishou", wallet_fen=3000, deposit_fen=5000), PLATFORM)
    for mid, role in (("OWN", "owner"), ("ADM", "admin")):
        app.handle(c.AddStaff(mid, "S1", role), PLATFORM)
    app.handle(c.AddBuyer("B1"), PLATFORM)
    for token, kind, ident, role in (("own", "staff", "OWN", None), ("adm", "staff", "ADM", None),
                                     ("int", "platform", "erp", "integration"),
                                     ("ops", "platform", "ops", "platform_operator")):
        app.handle(c.IssueToken(kind, ident, role, token=token), PLATFORM)
    with TestClient(create_app(app)) as test_client:
        yield test_client


@pytest.mark.parametrize("body", [
    {"kind": "platform", "actor_id": "x", "role": "platform_operator"},
    {"kind": "platform", "actor_id": "x", "role": "integration"},
    {"kind": "staff", "actor_id": "OWN"},
    {"kind": "buyer", "actor_id": "B1"},
])
def test_the_integration_role_mints_no_token(client: TestClient, body: dict[str, str]) -> None:
    r = client.post("/v1/tokens", json=body, headers=h("int"))
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "forbidden"


def test_the_operator_still_mints_tokens(client: TestClient) -> None:
    r = client.post("/v1/tokens", json={"kind": "platform", "actor_id": "cs1", "role": "platform_cs"}, headers=h("ops"))
    assert r.status_code == 201, r.text
    assert client.get("/v1/me", headers=h(r.json()["token"])).json()["role"] == "platform_cs"


def test_a_shop_admin_adds_staff_but_no_owner(client: TestClient) -> None:
    owner = client.post("/v1/shops/S1/staff", json={"id": "NEW1", "role": "owner"}, headers=h("adm"))
    assert owner.status_code == 403, owner.text
    agent = client.post("/v1/shops/S1/staff", json={"id": "NEW2", "role": "cs_agent"}, headers=h("adm"))
    assert agent.status_code == 201, agent.text
    assert client.post("/v1/shops/S1/staff", json={"id": "NEW3", "role": "owner"}, headers=h("own")).status_code == 201


def test_the_integration_role_may_not_withdraw_the_deposit(client: TestClient) -> None:
    r = client.post("/v1/shops/S1/deposit/withdraw", json={"amount": "10.00"}, headers=h("int"))
    assert r.status_code == 403, r.text
