"""RULES §11 through the service layer and a real database: a ticket keeps the policy version in force
when it opened; a new version never changes a running deadline, nor the next ones of that ticket."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shouhou.clock import SHANGHAI
from shouhou.domain.actors import Actor
from shouhou.domain.tickets import Ticket
from shouhou.policies import BUILTIN_DIR, PolicyRegistry, load_pack
from shouhou.services import commands as c
from shouhou.services.app import Shouhou

from ..conftest import PLATFORM, START

BUYER = Actor("buyer", "B1")
V2_FROM = datetime(2026, 3, 3, 0, 0, tzinfo=SHANGHAI)
V2 = f"""
[[versions]]
version = "v2"
effective_from = {V2_FROM.isoformat()}
summary = "Shorter review and return periods"

[versions.return_refund]
review = {{ hours = 24, rule = "KS-RR-1", source = "default" }}
buyer_ships = {{ days = 3, rule = "KS-RR-2", source = "default" }}
"""


@pytest.fixture
def versioned(tmp_path: Path, policies: PolicyRegistry) -> str:
    """A custom pack: Kuaishou's v1 (review 48 h, buyer ships in 10 d), then v2 from V2_FROM (24 h, 3 d)."""
    text = (BUILTIN_DIR / "kuaishou.toml").read_text("utf-8").replace('name = "kuaishou"', 'name = "versioned"')
    path = tmp_path / "versioned.toml"
    path.write_text(text + V2, "utf-8")
    pack = load_pack(path)
    assert [v.version for v in pack.versions] == ["2026.1", "v2"]
    policies.add(pack)
    return pack.name


def _setup(app: Shouhou, pack: str) -> None:
    app.handle(c.CreateShop(id="S1", name="S1", policy=pack, return_address="S1 退货地址"), PLATFORM, now=START)
    app.handle(c.AddBuyer(id="B1"), PLATFORM, now=START)
    for oid in ("O1", "O2"):
        app.handle(c.ImportOrder(id=oid, shop_id="S1", buyer_id="B1", amount_fen=9900,
                                 created_at=START - timedelta(days=5), shipped_at=START - timedelta(days=4),
                                 signed_at=START - timedelta(days=2)), PLATFORM, now=START)


def _ticket(app: Shouhou, ticket_id: str) -> Ticket:
    with app.uow(write=False) as uow:
        ticket: Ticket | None = uow.tickets.get(ticket_id)
    assert ticket is not None
    return ticket


def test_ticket_opened_under_v1_keeps_v1_deadlines_after_v2_takes_effect(app: Shouhou, versioned: str) -> None:
    _setup(app, versioned)
    applied_v1 = START + timedelta(hours=1)  # 2026-03-02 10:00, v1 in force
    t1 = app.handle(c.Apply("O1", "return_refund", "quality", evidence=("a.jpg",)), BUYER, now=applied_v1)
    assert _ticket(app, t1).policy_version == "2026.1"

    applied_v2 = datetime(2026, 3, 3, 12, 0, tzinfo=SHANGHAI)  # v2 in force
    t2 = app.handle(c.Apply("O2", "return_refund", "quality", evidence=("a.jpg",)), BUYER, now=applied_v2)
    assert _ticket(app, t2).policy_version == "v2"
    assert _ticket(app, t2).due_at == applied_v2 + timedelta(hours=24)

    # v2's 24 h after T1's application: T1 is still under review.
    app.tick(now=applied_v1 + timedelta(hours=24))
    assert _ticket(app, t1).status == "pending_review"
    assert _ticket(app, t1).due_at == applied_v1 + timedelta(hours=48)

    # v1's 48 h: auto-approved, and the next deadline (buyer ships) is v1's 10 days, not v2's 3.
    app.tick(now=applied_v1 + timedelta(hours=48))
    first = _ticket(app, t1)
    assert (first.status, first.due_rule) == ("awaiting_return", "KS-RR-2")
    assert first.due_at == applied_v1 + timedelta(hours=48) + timedelta(days=10)

    # T2, opened under v2, follows v2 throughout.
    app.tick(now=applied_v2 + timedelta(hours=24))
    second = _ticket(app, t2)
    assert second.status == "awaiting_return"
    assert second.due_at == applied_v2 + timedelta(hours=24) + timedelta(days=3)

    app.tick(now=second.due_at)  # past T1's would-be v2 deadline (applied_v1 + 48 h + 3 d) too
    assert _ticket(app, t1).status == "awaiting_return"
    assert _ticket(app, t2).status == "closed"
