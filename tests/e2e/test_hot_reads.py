"""The two hot reads, GET /v1/tickets/{id} and GET /v1/tickets, answer their view as it is, without
FastAPI validating it against the response model again (issue 15): so the view must be exactly the
documented model, for tickets in many states (a timeline of several events, a return address, a
freight claim, lines, an over-period label)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.entrypoints.api import create_app
from shouhou.entrypoints.api.schemas.tickets import TicketOut, TicketPage
from shouhou.entrypoints.demo import load_demo
from shouhou.services.app import Shouhou


@pytest.fixture
def client(app: Shouhou, clock: VirtualClock) -> Iterator[TestClient]:
    load_demo(app)
    clock.advance(timedelta(days=3))
    app.tick()  # deadlines fire: timelines with system events, refunds, overdue records
    with TestClient(create_app(app)) as test_client:
        yield test_client


def same_as_model(model: Any, body: dict[str, Any]) -> None:
    assert model.model_validate(body).model_dump(mode="json", by_alias=True) == body  # as FastAPI would


def test_every_ticket_and_every_queue_page_is_exactly_its_model(client: TestClient) -> None:
    headers = {"Authorization": "Bearer demo-platform"}
    page = client.get("/v1/tickets?limit=500", headers=headers).json()
    same_as_model(TicketPage, page)
    assert page["total"] >= 20 and "next_actions" not in page["items"][0]
    kinds = set()
    for item in page["items"]:
        body = client.get(f"/v1/tickets/{item['id']}", headers=headers).json()
        same_as_model(TicketOut, body)
        kinds |= {("timeline", len(body["timeline"]) > 2), ("claim", body["freight_claim"] is not None),
                  ("lines", bool(body["lines"])), ("over_period", body["over_period"])}
    assert {("timeline", True), ("claim", True), ("lines", True)} <= kinds
    for shop_token in ("demo-ks-owner", "demo-dy-owner"):
        same_as_model(TicketPage, client.get("/v1/tickets?status=pending_review&limit=5",
                                             headers={"Authorization": f"Bearer {shop_token}"}).json())
