"""Bearer tokens through HTTP (issue 11, finding 8): they expire (given or by their kind's default
lifetime), operators list and revoke them, and an expired or revoked token answers 401 in the error
envelope on its very next request. The clock is a VirtualClock moved by the test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shouhou.adapters import tables as t
from shouhou.clock import VirtualClock
from shouhou.entrypoints.api import create_app
from shouhou.entrypoints.demo import load_demo
from shouhou.errors import Refusal
from shouhou.services import commands as c
from shouhou.services.access import actor_for_token
from shouhou.services.app import Shouhou
from shouhou.services.shops import DEFAULT_LIFETIME

from ..conftest import PLATFORM

DAY = timedelta(days=1)
HOLDERS = {"ops": ("platform", "ops", "platform_operator"), "cs": ("platform", "cs", "platform_cs"),
           "int": ("platform", "erp", "integration"), "own": ("staff", "OWN", None), "b1": ("buyer", "B1", None)}


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app: Shouhou) -> Iterator[TestClient]:
    app.handle(c.CreateShop("S1", "S1", "kuaishou"), PLATFORM)
    app.handle(c.AddStaff("OWN", "S1", "owner"), PLATFORM)
    app.handle(c.AddBuyer("B1"), PLATFORM)
    for token, (kind, ident, role) in HOLDERS.items():
        app.handle(c.IssueToken(kind, ident, role, token=token), PLATFORM)
    with TestClient(create_app(app, worker=False)) as test_client:
        yield test_client


def mint(client: TestClient, **body: Any) -> str:
    r = client.post("/v1/tokens", json={"kind": "buyer", "actor_id": "B1", **body}, headers=h("ops"))
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"token"}  # the answer keeps its shape
    return str(r.json()["token"])


def listed(client: TestClient, query: str = "") -> dict[str, Any]:
    r = client.get(f"/v1/tokens{query}", headers=h("ops"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def id_of(client: TestClient, label: str) -> str:
    (item,) = [x for x in listed(client, "?limit=500")["items"] if x["label"] == label]
    return str(item["id"])


def assert_refused_401(r: Any, word: str) -> None:
    assert r.status_code == 401, r.text
    assert r.json() == {"code": "unauthenticated", "message_zh": r.json()["message_zh"],
                        "message_en": f"token {word}", "rules": []}


# -- expiry -----------------------------------------------------------------------------------------

def test_a_token_given_a_lifetime_stops_working_when_it_runs_out(client: TestClient, clock: VirtualClock) -> None:
    token = mint(client, expires_in_days=3, label="three days")
    assert client.get("/v1/me", headers=h(token)).status_code == 200
    (item,) = [x for x in listed(client, "?actor=B1")["items"] if x["label"] == "three days"]
    assert item["expires_at"] == (clock.now() + 3 * DAY).isoformat() and item["status"] == "active"
    clock.advance(3 * DAY - timedelta(seconds=1))
    assert client.get("/v1/me", headers=h(token)).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert_refused_401(client.get("/v1/me", headers=h(token)), "expired")
    assert client.get("/v1/me", headers=h("b1")).status_code == 200  # the buyer's other token still works


def test_expires_at_is_taken_as_given_and_must_lie_ahead(client: TestClient, clock: VirtualClock) -> None:
    at = (clock.now() + 10 * DAY).isoformat()
    mint(client, expires_at=at, label="until")
    assert [x["expires_at"] for x in listed(client)["items"] if x["label"] == "until"] == [at]
    for bad in ({"expires_at": (clock.now() - DAY).isoformat()},  # already past
                {"expires_at": clock.now().isoformat()},
                {"expires_at": (clock.now() + 20 * 365 * DAY).isoformat()},  # beyond the longest lifetime
                {"expires_at": "2026-04-01T00:00:00"},  # no offset
                {"expires_in_days": 0}, {"expires_in_days": 100_000},
                {"expires_in_days": 3, "expires_at": at}):
        r = client.post("/v1/tokens", json={"kind": "buyer", "actor_id": "B1", **bad}, headers=h("ops"))
        assert r.status_code == 422, (bad, r.text)
        assert set(r.json()) == {"code", "message_zh", "message_en", "rules"}


@pytest.mark.parametrize("kind, holder, role", [("platform", "p9", "platform_cs"), ("staff", "OWN", None),
                                                ("buyer", "B1", None)])
def test_without_an_expiry_a_token_gets_its_kinds_default_lifetime(
    client: TestClient, clock: VirtualClock, kind: str, holder: str, role: str | None,
) -> None:
    r = client.post("/v1/tokens", json={"kind": kind, "actor_id": holder, "role": role}, headers=h("ops"))
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    lifetime = DEFAULT_LIFETIME[kind]
    assert DEFAULT_LIFETIME["platform"] == 90 * DAY
    clock.advance(lifetime - timedelta(minutes=1))
    assert client.get("/v1/me", headers=h(token)).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert_refused_401(client.get("/v1/me", headers=h(token)), "expired")


def test_an_unknown_token_is_still_just_unknown(client: TestClient) -> None:
    r = client.get("/v1/me", headers=h("nobody-issued-this"))
    assert r.status_code == 401 and r.json()["message_en"] == "unknown token"


def test_demo_tokens_never_expire(app: Shouhou, clock: VirtualClock) -> None:
    load_demo(app)
    with app.uow(write=False) as uow:
        actor = actor_for_token(uow, "demo-platform", now=clock.now() + 20 * 365 * DAY)
    assert actor is not None and actor.role == "platform_operator"


def test_only_one_way_to_expire_and_never_only_from_inside(app: Shouhou) -> None:
    app.handle(c.AddBuyer("B1"), PLATFORM)
    with pytest.raises(Refusal) as e:
        app.handle(c.IssueToken("buyer", "B1", lifetime=DAY, never_expires=True), PLATFORM)
    assert e.value.code == "invalid_input"
    issued = app.handle(c.IssueToken("buyer", "B1", never_expires=True), PLATFORM)
    assert isinstance(issued, c.IssuedToken) and issued.expires_at is None and issued.id.startswith("tok_")


# -- list -------------------------------------------------------------------------------------------

def test_operators_list_tokens_never_the_token_or_its_hash(client: TestClient, clock: VirtualClock) -> None:
    clock.advance(timedelta(minutes=1))  # after the fixture's tokens: newest first puts it on top
    token = mint(client, label="listed", expires_in_days=30)
    page = listed(client)
    assert set(page) == {"items", "total", "limit", "offset"}
    assert page["total"] == len(HOLDERS) + 1 and page["limit"] == 50 and page["offset"] == 0
    item = page["items"][0]  # newest first
    assert set(item) == {"id", "kind", "actor", "role", "label", "created_at", "expires_at", "revoked_at", "status"}
    assert item["id"].startswith("tok_") and item["label"] == "listed" and item["kind"] == "buyer"
    assert item["actor"] == "B1" and item["created_at"] == clock.now().isoformat() and item["revoked_at"] is None
    body = client.get("/v1/tokens?limit=500", headers=h("ops")).text
    assert token not in body and "hash" not in body and "ops" not in [x.get("token") for x in page["items"]]
    staff = listed(client, "?kind=staff")["items"]
    assert [(x["actor"], x["role"]) for x in staff] == [("OWN", "owner")]
    assert [x["kind"] for x in listed(client, "?actor=B1")["items"]] == ["buyer", "buyer"]
    second = listed(client, "?limit=2&offset=2")
    assert len(second["items"]) == 2 and second["total"] == page["total"]


def test_active_filters_out_expired_and_revoked(client: TestClient, clock: VirtualClock) -> None:
    mint(client, expires_in_days=1, label="short")
    mint(client, label="revoked")
    assert client.post(f"/v1/tokens/{id_of(client, 'revoked')}/revoke", headers=h("ops")).status_code == 200
    clock.advance(2 * DAY)
    active = {x["label"] for x in listed(client, "?active=true")["items"]}
    inactive = {x["label"]: x["status"] for x in listed(client, "?active=false")["items"]}
    assert "short" not in active and "revoked" not in active
    assert inactive == {"short": "expired", "revoked": "revoked"}


@pytest.mark.parametrize("who", ["cs", "int", "own", "b1"])
def test_only_the_operator_lists_and_revokes(client: TestClient, who: str) -> None:
    """domain.roles' manage_tokens; a caller who may not gets 403 whether the id exists or not."""
    r = client.get("/v1/tokens", headers=h(who))
    assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    real = listed(client, "?kind=platform")["items"][0]["id"]
    for token_id in (real, "tok_nope"):
        r = client.post(f"/v1/tokens/{token_id}/revoke", headers=h(who))
        assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    assert all(x["revoked_at"] is None for x in listed(client)["items"])


# -- revoke -----------------------------------------------------------------------------------------

def test_a_revoked_token_answers_401_on_its_next_request(client: TestClient, app: Shouhou,
                                                         clock: VirtualClock) -> None:
    token = mint(client, label="to revoke")
    assert client.get("/v1/me", headers=h(token)).status_code == 200
    token_id = id_of(client, "to revoke")
    r = client.post(f"/v1/tokens/{token_id}/revoke", headers=h("ops"))
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"] == clock.now().isoformat() and r.json()["status"] == "revoked"
    assert_refused_401(client.get("/v1/me", headers=h(token)), "revoked")
    # again: nothing changes, no second event
    clock.advance(DAY)
    again = client.post(f"/v1/tokens/{token_id}/revoke", headers=h("ops"))
    assert again.status_code == 200 and again.json() == r.json()
    with app.uow(write=False) as uow:
        events = [e for e in uow.all_events() if e["type"] == "token_revoked"]
        stored = uow.conn.execute(select(t.tokens.c.revoked_at).where(t.tokens.c.id == token_id)).scalar_one()
    assert [(e["actor"], e["payload"]) for e in events] == [
        ("platform:ops", {"token": token_id, "kind": "buyer", "actor": "B1", "role": None})]
    assert stored == clock.now() - DAY


def test_revoking_an_unknown_token_is_404(client: TestClient) -> None:
    r = client.post("/v1/tokens/tok_nope/revoke", headers=h("ops"))
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_an_operator_may_revoke_their_own_token(client: TestClient) -> None:
    (mine,) = [x["id"] for x in listed(client, "?actor=ops")["items"]]
    assert client.post(f"/v1/tokens/{mine}/revoke", headers=h("ops")).status_code == 200
    assert_refused_401(client.get("/v1/tokens", headers=h("ops")), "revoked")
