"""The operator's view over HTTP: /healthz says when the workers last swept and what is due and
parked; the parked actions are listed and retried by platform operators only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.domain.actors import Actor
from shouhou.entrypoints.api import create_app
from shouhou.policies import PolicyRegistry
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, START

D = timedelta(days=1)


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app: Shouhou) -> Iterator[TestClient]:
    app.handle(c.CreateShop("S1", "S1", "kuaishou", return_address="仓"), PLATFORM, now=START)
    app.handle(c.AddStaff("OWN", "S1", "owner"), PLATFORM, now=START)
    app.handle(c.AddBuyer("B1"), PLATFORM, now=START)
    for token, kind, ident, role in (("own", "staff", "OWN", None), ("ops", "platform", "ops", "platform_operator"),
                                     ("cs", "platform", "cs", "platform_cs")):
        app.handle(c.IssueToken(kind, ident, role, token=token), PLATFORM, now=START)
    order = app.handle(c.ImportOrder("S1", "B1", 1000, id="O1", created_at=START - D), PLATFORM, now=START)
    app.handle(c.Apply(order, "refund_only", "quality", None, ("x.jpg",)), Actor("buyer", "B1"), now=START)
    with TestClient(create_app(app)) as test_client:
        yield test_client


def test_healthz_says_when_the_workers_swept_and_what_is_due_and_parked(
        client: TestClient, app: Shouhou, clock: VirtualClock) -> None:
    body = client.get("/healthz").json()
    assert (body["status"], body["last_sweep_at"], body["workers"], body["due"], body["parked"]) == \
        ("ok", None, [], 0, 0)
    clock.advance(10 * D)
    assert client.get("/healthz").json()["due_by_kind"]["ticket"] == 1
    # a worker without the Kuaishou pack parks the ticket; the heartbeat records its sweep
    Shouhou.with_fakes(app.engine, clock, PolicyRegistry({})).tick(worker="host:1")
    body = client.get("/healthz").json()
    assert (body["parked"], body["due"], body["last_sweep_at"]) == (1, 1, clock.now().isoformat())
    assert body["workers"][0]["worker"] == "host:1" and body["workers"][0]["seconds_ago"] == 0


def test_parked_actions_are_listed_and_retried_by_platform_operators_only(
        client: TestClient, app: Shouhou, clock: VirtualClock) -> None:
    clock.advance(10 * D)
    Shouhou.with_fakes(app.engine, clock, PolicyRegistry({})).tick()
    for who in ("own", "cs"):
        assert client.get("/v1/platform/parked", headers=h(who)).status_code == 403
    page = client.get("/v1/platform/parked", headers=h("ops")).json()
    (item,) = page["items"]
    assert (item["kind"], item["attempts"], page["total"]) == ("ticket", 1, 1)
    assert "kuaishou" in item["error"]
    assert item["next_try_at"] == (clock.now() + timedelta(minutes=1)).isoformat()
    path = f"/v1/platform/parked/ticket/{item['id']}/retry"
    assert client.post(path, headers=h("own")).status_code == 403
    assert client.post("/v1/platform/parked/ticket/NOPE/retry", headers=h("ops")).status_code == 404
    assert client.post(path, headers=h("ops")).status_code == 204
    assert client.get("/v1/platform/parked", headers=h("ops")).json()["items"][0]["next_try_at"] == \
        clock.now().isoformat()
    app.tick()  # the pack is loaded in this engine: the retry fires it and clears the parking
    assert client.get("/v1/platform/parked", headers=h("ops")).json()["total"] == 0
    assert client.get("/healthz").json()["parked"] == 0
