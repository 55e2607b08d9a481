"""The hot reads' lanes (entrypoints/api/hot_reads.py) answer exactly what FastAPI's handlers of the
same routes answer: status, headers and body bytes, for plain requests the lanes take (tickets one
can and cannot see, the queue's pages, every kind of caller, missing, unknown and revoked tokens)
and for requests they leave to FastAPI (filters, values out of bounds or not plain decimals)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.entrypoints.api import create_app, hot_reads
from shouhou.entrypoints.demo import load_demo
from shouhou.services.app import Shouhou

TOKENS = ("demo-platform", "demo-ks-agent", "demo-dy-owner", "demo-buyer-1", "nobody", None)
QUEUES = ("", "?limit=5", "?limit=5&offset=3", "?offset=2", "?limit=500&offset=0", "?limit=0", "?limit=501",
          "?limit=05", "?limit=-1", "?limit=abc", "?limit=5&limit=6", "?limit=", "?status=pending_review",
          "?limit=5&type=refund_only", "?offset=1000000001", "?foo=1")


@pytest.fixture
def clients(app: Shouhou, clock: VirtualClock) -> Iterator[tuple[TestClient, TestClient]]:
    load_demo(app)
    clock.advance(timedelta(days=3))
    app.tick()
    with TestClient(create_app(app)) as hot, TestClient(create_app(app, hot_lanes=False)) as plain:
        yield hot, plain


def same(hot: TestClient, plain: TestClient, path: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    a, b = hot.get(path, headers=headers), plain.get(path, headers=headers)
    assert (a.status_code, a.content) == (b.status_code, b.content), (path, token)
    drop = {"x-request-id"}
    assert [(k, v) for k, v in a.headers.items() if k not in drop] == \
        [(k, v) for k, v in b.headers.items() if k not in drop], (path, token)
    return a.status_code


def test_the_lanes_answer_byte_for_byte_as_fastapi(clients: tuple[TestClient, TestClient]) -> None:
    hot, plain = clients
    assert sum(isinstance(r.app, hot_reads.HotRead) for r in hot.app.routes if hasattr(r, "app")) == 2  # type: ignore[attr-defined]
    ids = [t["id"] for t in plain.get("/v1/tickets?limit=500", headers={"Authorization": "Bearer demo-platform"})
           .json()["items"]]
    statuses = set()
    for token in TOKENS:
        for query in QUEUES:
            statuses.add(same(hot, plain, f"/v1/tickets{query}", token))
        for ticket in [*ids[:6], "no-such-ticket", "T%20x"]:
            statuses.add(same(hot, plain, f"/v1/tickets/{ticket}", token))
        statuses.add(same(hot, plain, f"/v1/tickets/{ids[0]}?limit=3", token))
    assert {200, 401, 404, 422} <= statuses


def test_a_revoked_token_is_refused_at_once_on_the_lanes(clients: tuple[TestClient, TestClient]) -> None:
    hot, _ = clients
    owner = {"Authorization": "Bearer demo-platform"}
    made = hot.post("/v1/tokens", headers=owner, json={"kind": "buyer", "actor_id": "buyer-1", "label": "short"})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    listed = hot.get("/v1/tokens?kind=buyer&actor_id=buyer-1", headers=owner).json()["items"]
    token_id = next(t["id"] for t in listed if t["label"] == "short")
    mine = {"Authorization": f"Bearer {token}"}
    assert hot.get("/v1/tickets", headers=mine).status_code == 200  # read, and cached
    assert hot.post(f"/v1/tokens/{token_id}/revoke", headers=owner).status_code == 200
    assert hot.get("/v1/tickets", headers=mine).status_code == 401
    assert hot.get("/v1/tickets/anything", headers=mine).status_code == 401


@pytest.mark.parametrize("query,page", [(b"", {"limit": 50, "offset": 0}), (b"limit=7", {"limit": 7, "offset": 0}),
                                        (b"offset=9&limit=1", {"limit": 1, "offset": 9}), (b"limit=0", None),
                                        (b"limit=007", None), (b"limit", None), (b"limit=1&&offset=2", None),
                                        (b"limit=1%30", None), (b"limit=+1", None)])
def test_which_queue_requests_the_lane_takes(query: bytes, page: dict[str, int] | None) -> None:
    assert hot_reads.queue_page(query) == page


def _first_full_match(routes: list[object], path: str, method: str) -> object | None:
    from starlette.routing import Match  # noqa: PLC0415
    scope = {"type": "http", "path": path, "method": method, "root_path": ""}
    for route in routes:
        if route.matches(scope)[0] == Match.FULL:  # type: ignore[attr-defined]
            return route
    return None


def test_the_hot_routes_are_tried_first_and_every_request_finds_the_route_it_found_before(app: Shouhou) -> None:
    hot, plain = create_app(app), create_app(app, hot_lanes=False)
    assert [getattr(r, "name", None) for r in hot.router.routes[:2]] == ["get_ticket", "list_tickets"]
    probes = 0
    for route in plain.router.routes:  # every declared route's paths, each with its methods
        path = getattr(route, "path", None)
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            for sample in {hot_reads._sample(path or "/"), hot_reads._sample(path or "/").replace("/x", "/export")}:
                a, b = _first_full_match(hot.router.routes, sample, method), _first_full_match(plain.router.routes, sample, method)
                assert (getattr(a, "path", None), getattr(a, "name", None)) == \
                    (getattr(b, "path", None), getattr(b, "name", None)), (method, sample)
                probes += 1
    assert probes > 150
    assert list(hot.openapi()["paths"]) == list(plain.openapi()["paths"])  # the document keeps the declared order


def test_a_route_that_could_shadow_a_hot_one_keeps_it_behind() -> None:
    from fastapi import FastAPI  # noqa: PLC0415
    api = FastAPI()
    for path, name in (("/v1/tickets/export", "export"), ("/a", "a"), ("/v1/tickets/{ticket_id}", "get_ticket"),
                       ("/v1/tickets/{ticket_id}/events", "events")):
        api.add_api_route(path, lambda: None, name=name, methods=["GET"])
    api.add_api_route("/v1/tickets/bulk", lambda: None, name="bulk", methods=["POST"])
    hot = next(r for r in api.router.routes if getattr(r, "name", "") == "get_ticket")
    hot_reads.move_forward(api.router.routes, hot)  # type: ignore[arg-type]
    assert [getattr(r, "name", "") for r in api.router.routes if getattr(r, "name", "") in
            ("a", "export", "get_ticket", "events", "bulk")] == ["export", "get_ticket", "a", "events", "bulk"]
