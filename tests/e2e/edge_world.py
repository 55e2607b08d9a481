"""A small marketplace for the HTTP edge's tests (tests/e2e/test_edge_*.py): one Kuaishou shop with an
owner, a buyer with a signed order, a platform CS token; `client(app, **settings)` builds the API with
the edge settings a test needs (a small rate limit, a small body limit, CORS origins)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from shouhou.clock import VirtualClock
from shouhou.config import Settings
from shouhou.entrypoints.api import create_app
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM

TOKENS = {"own": ("staff", "OWN1", None), "b1": ("buyer", "B1", None), "b2": ("buyer", "B2", None),
          "cs": ("platform", "CS1", "platform_cs"), "plat": ("platform", "ops", "platform_operator")}


def h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def populate(app: Shouhou, clock: VirtualClock) -> None:
    app.handle(c.CreateShop("S1", "S1", "kuaishou", return_address="杭州 1 号仓"), PLATFORM)
    app.handle(c.AddStaff("OWN1", "S1", "owner"), PLATFORM)
    for b in ("B1", "B2"):
        app.handle(c.AddBuyer(b), PLATFORM)
    for token, (kind, ident, role) in TOKENS.items():
        app.handle(c.IssueToken(kind, ident, role, token=token), PLATFORM)
    now = clock.now()
    for oid, bid in (("O1", "B1"), ("O2", "B1"), ("O3", "B2")):
        app.handle(c.ImportOrder("S1", bid, 9900, id=oid, created_at=now - timedelta(days=5),
                                 shipped_at=now - timedelta(days=4), signed_at=now - timedelta(days=2)), PLATFORM)


def client(app: Shouhou, **settings: Any) -> TestClient:
    """The API over `app` with these edge settings (the rest at their defaults); server errors come
    back as 500 responses instead of being raised, as a real client would see them."""
    return TestClient(create_app(app, settings=Settings(**settings)), raise_server_exceptions=False)


def dispute_collecting_evidence(cl: TestClient, order: str = "O1", buyer: str = "b1") -> str:
    """A ticket rejected, taken to the platform, and in its evidence window; its id."""
    t = cl.post(f"/v1/orders/{order}/tickets", json={"type": "refund_only", "reason": "quality",
                                                     "evidence": ["m.jpg"]}, headers=h(buyer)).json()
    for path, token, body in (("reject", "own", {"reason": "no"}), ("intervention", buyer, {"reason": "发霉"}),
                              ("intervention/respond", "cs", None), ("intervention/evidence-request", "cs", None)):
        r = cl.post(f"/v1/tickets/{t['id']}/{path}", headers=h(token), **({"json": body} if body else {}))
        assert r.status_code == 200, (path, r.text)
    return t["id"]  # type: ignore[no-any-return]
