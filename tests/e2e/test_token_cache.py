"""The token cache (issue 15): a request with a token read lately needs no statement to know its
caller, and a revoked token is refused within the bound: at once in the process that revoked it, at
most the cache's ttl later in any other (another `serve` worker, the CLI). Expiry stays exact. The
clock is a VirtualClock moved by the test; "another process" is a second engine object on the same
database, with its own cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from shouhou.adapters import tables as t
from shouhou.clock import VirtualClock
from shouhou.entrypoints.api import create_app
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.access import hash_token
from shouhou.services.app import TOKEN_TTL, Shouhou

from ..conftest import PLATFORM

TTL = timedelta(seconds=5)


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def elsewhere(engine: Engine, clock: VirtualClock, policies: PolicyRegistry) -> Shouhou:
    """Another process on the same database (the CLI's `token revoke`, another serve worker)."""
    return Shouhou.with_fakes(engine, clock, policies)


@pytest.fixture
def client(app: Shouhou) -> Iterator[TestClient]:
    app.handle(c.CreateShop("S1", "S1", "kuaishou"), PLATFORM)
    app.handle(c.AddStaff("OWN", "S1", "owner"), PLATFORM)
    app.handle(c.IssueToken("platform", "ops", "platform_operator", token="ops"), PLATFORM)
    app.handle(c.IssueToken("staff", "OWN", None, token="own"), PLATFORM)
    with TestClient(create_app(app)) as test_client:
        yield test_client


def token_id(sh: Shouhou, token: str) -> str:
    """What `token revoke` names: the token's public id."""
    with sh.uow(write=False) as uow:
        return str(uow.conn.execute(select(t.tokens.c.id).where(t.tokens.c.token_hash == hash_token(token))).scalar_one())


def test_the_default_bound_is_five_seconds() -> None:
    assert TOKEN_TTL == TTL


def test_a_token_revoked_elsewhere_is_refused_once_the_ttl_has_passed(
    client: TestClient, elsewhere: Shouhou, clock: VirtualClock,
) -> None:
    assert client.get("/v1/me", headers=h("own")).status_code == 200  # read, and now cached
    elsewhere.handle(c.RevokeToken(token_id(elsewhere, "own")), PLATFORM)
    clock.advance(TTL - timedelta(milliseconds=1))
    assert client.get("/v1/me", headers=h("own")).status_code == 200  # within the bound: still its entry
    clock.advance(timedelta(milliseconds=1))
    r = client.get("/v1/me", headers=h("own"))
    assert r.status_code == 401 and r.json()["message_en"] == "token revoked"
    assert client.get("/v1/me", headers=h("ops")).status_code == 200


def test_a_token_revoked_here_is_refused_on_its_next_request(client: TestClient, app: Shouhou) -> None:
    assert client.get("/v1/me", headers=h("own")).status_code == 200
    assert len(app.tokens) == 1
    r = client.post(f"/v1/tokens/{token_id(app, 'own')}/revoke", headers=h("ops"))
    assert r.status_code == 200, r.text
    assert client.get("/v1/me", headers=h("own")).status_code == 401  # no clock moved


def test_a_token_issued_elsewhere_works_at_once_even_after_a_miss(client: TestClient, elsewhere: Shouhou) -> None:
    assert client.get("/v1/me", headers=h("late")).status_code == 401  # unknown: not remembered as such
    elsewhere.handle(c.IssueToken("staff", "OWN", None, token="late"), PLATFORM)
    assert client.get("/v1/me", headers=h("late")).status_code == 200


def test_a_cached_token_still_expires_at_its_time(client: TestClient, elsewhere: Shouhou, clock: VirtualClock) -> None:
    elsewhere.handle(c.IssueToken("staff", "OWN", None, token="brief", expires_at=clock.now() + timedelta(seconds=2)),
                     PLATFORM)
    assert client.get("/v1/me", headers=h("brief")).status_code == 200
    clock.advance(timedelta(seconds=2))  # within the ttl, past the expiry
    r = client.get("/v1/me", headers=h("brief"))
    assert r.status_code == 401 and r.json()["message_en"] == "token expired"


def test_with_no_ttl_every_request_reads_the_token(
    engine: Engine, clock: VirtualClock, policies: PolicyRegistry, elsewhere: Shouhou,
) -> None:
    app = Shouhou.with_fakes(engine, clock, policies)
    app.tokens.ttl = timedelta(0)
    app.handle(c.CreateShop("S1", "S1", "kuaishou"), PLATFORM)
    app.handle(c.AddStaff("OWN", "S1", "owner"), PLATFORM)
    app.handle(c.IssueToken("staff", "OWN", None, token="own"), PLATFORM)
    with TestClient(create_app(app)) as client:
        assert client.get("/v1/me", headers=h("own")).status_code == 200
        elsewhere.handle(c.RevokeToken(token_id(elsewhere, "own")), PLATFORM)
        assert client.get("/v1/me", headers=h("own")).status_code == 401
    assert len(app.tokens) == 0


def test_a_get_with_a_known_token_is_one_transaction_and_no_token_statement(
    client: TestClient, app: Shouhou, engine: Engine,
) -> None:
    assert client.get("/v1/shops/S1", headers=h("own")).status_code == 200  # the token is read here
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    def began(conn: Any) -> None:
        seen.append("<transaction>")

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "begin", began)
    try:
        assert client.get("/v1/shops/S1", headers=h("own")).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "begin", began)
    assert seen.count("<transaction>") == 1
    assert not [s for s in seen if "tokens" in s or "FROM staff" in s], seen


def test_an_action_and_its_answer_are_one_transaction(client: TestClient, app: Shouhou, engine: Engine,
                                                      clock: VirtualClock) -> None:
    """POST .../approve answers the ticket as the command committed it, read in the command's own
    transaction (Shouhou.handle's `show`), not in a second one."""
    now = clock.now()
    app.handle(c.AddBuyer("B1"), PLATFORM)
    app.handle(c.IssueToken("buyer", "B1", None, token="b1"), PLATFORM)
    app.handle(c.ImportOrder("S1", "B1", 9900, id="O1", created_at=now - timedelta(days=5),
                             shipped_at=now - timedelta(days=4), signed_at=now - timedelta(days=2)), PLATFORM)
    for token in ("b1", "own"):
        assert client.get("/v1/me", headers=h(token)).status_code == 200
    transactions: list[str] = []

    def began(conn: Any) -> None:
        transactions.append("begin")

    event.listen(engine, "begin", began)
    try:
        applied = client.post("/v1/orders/O1/tickets", json={"type": "return_refund", "reason": "no_reason"},
                              headers=h("b1"))
        assert applied.status_code == 201 and applied.json()["status"] == "pending_review"
        assert len(transactions) == 1
        approved = client.post(f"/v1/tickets/{applied.json()['id']}/approve", json={"return_address": "仓库"},
                               headers=h("own"))
        assert approved.status_code == 200, approved.text
        assert len(transactions) == 2
    finally:
        event.remove(engine, "begin", began)
    body = approved.json()
    assert body["status"] == "awaiting_return" and [e["type"] for e in body["timeline"]] == ["applied", "approved"]
