"""Shop automation rules (GEN-AUTO-1) through the engine, on the suite's database: who may save them,
that saving replaces the list, and that a rule acts inside the buyer's own transaction (the refund's
money follows in it too), as the shop, with no overdue record (KS-GOV-1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shouhou.adapters import tables as t
from shouhou.domain import ledger as L
from shouhou.domain.actors import Actor
from shouhou.errors import Refusal
from shouhou.services import commands as c
from shouhou.services.app import Shouhou
from shouhou.services.views.automation import automation_rules

from ..conftest import PLATFORM, START

SHOP = "S1"
OWNER = Actor("staff", "U1", shop_id=SHOP, role="owner")
AGENT = Actor("staff", "U2", shop_id=SHOP, role="cs_agent")
CS_ADMIN = Actor("staff", "U3", shop_id=SHOP, role="cs_admin")
STRANGER = Actor("staff", "X1", shop_id="S2", role="owner")
BUYER = Actor("buyer", "B1")
D = timedelta(days=1)
RULES: tuple[dict[str, Any], ...] = (
    {"id": "SMALL", "action": "approve", "when": {"types": ["refund_only"], "max_amount": "50.00"}},
    {"id": "RECEIPT", "action": "confirm_receipt", "when": {"types": ["return_refund"]}},
)


@pytest.fixture
def shop(app: Shouhou) -> Shouhou:
    app.handle(c.CreateShop(SHOP, "Shop", "kuaishou", wallet_fen=10_000, deposit_fen=10_000, return_address="仓"),
               PLATFORM, now=START)
    app.handle(c.CreateShop("S2", "Other", "kuaishou"), PLATFORM, now=START)
    for a in (OWNER, AGENT, CS_ADMIN):
        app.handle(c.AddStaff(a.id, SHOP, str(a.role)), PLATFORM, now=START)
    app.handle(c.AddStaff(STRANGER.id, "S2", "owner"), PLATFORM, now=START)
    app.handle(c.AddBuyer(BUYER.id), PLATFORM, now=START)
    return app


def order(app: Shouhou, ident: str, amount: int) -> str:
    return str(app.handle(c.ImportOrder(SHOP, BUYER.id, amount, id=ident, created_at=START - 3 * D,
                                        shipped_at=START - 2 * D, signed_at=START - D), PLATFORM, now=START))


def events(app: Shouhou, ticket: str, type_: str) -> list[dict[str, Any]]:
    with app.uow(write=False) as uow:
        return [e for e in uow.events_for(ticket_id=ticket) if e["type"] == type_]


def test_owner_and_cs_admin_save_the_rules_an_agent_and_other_shops_may_not(shop: Shouhou) -> None:
    for actor, code in ((AGENT, "forbidden"), (STRANGER, "not_found")):
        with pytest.raises(Refusal) as e:
            shop.handle(c.SetAutomation(SHOP, RULES), actor, now=START)
        assert e.value.code == code
    shop.handle(c.SetAutomation(SHOP, RULES), CS_ADMIN, now=START)
    shop.handle(c.SetAutomation(SHOP, RULES[1:]), OWNER, now=START)  # replaces, does not add
    with shop.uow(write=False) as uow:
        view = automation_rules(uow, AGENT, SHOP)
    assert [r["id"] for r in view["rules"]] == ["RECEIPT"]
    assert view["updated_by"] == "staff:U1" and view["rule"] == "GEN-AUTO-1"


def test_a_refused_save_keeps_the_rules_there_were(shop: Shouhou) -> None:
    shop.handle(c.SetAutomation(SHOP, RULES), OWNER, now=START)
    with pytest.raises(Refusal):
        shop.handle(c.SetAutomation(SHOP, ({"id": "NO", "action": "reject"},)), OWNER, now=START)
    with shop.uow(write=False) as uow:
        assert [r["id"] for r in uow.automation_rules(SHOP)] == ["SMALL", "RECEIPT"]


def test_rules_act_in_the_buyers_transaction_as_the_shop(shop: Shouhou) -> None:
    shop.handle(c.SetAutomation(SHOP, RULES), OWNER, now=START)
    small = shop.handle(c.Apply(order(shop, "O1", 5_000), "refund_only", "other", None, ()), BUYER, now=START)
    dear = shop.handle(c.Apply(order(shop, "O2", 5_001), "refund_only", "other", None, ()), BUYER, now=START)
    ret = shop.handle(c.Apply(order(shop, "O3", 9_900), "return_refund", "other", None, ()), BUYER, now=START)
    (approved,) = events(shop, small, "approved")
    assert approved["rule"] == "GEN-AUTO-1" and approved["payload"]["shop_rule"] == "SMALL"
    assert events(shop, small, "refunded")
    with shop.uow(write=False) as uow:
        assert uow.tickets.get(small).status == "refunded"  # type: ignore[union-attr]
        assert uow.tickets.get(dear).status == "pending_review"  # type: ignore[union-attr]
        refund = uow.conn.execute(select(t.journal_entries.c.id).where(
            t.journal_entries.c.ticket_id == small, t.journal_entries.c.kind == "refund")).all()
        assert len(refund) == 1  # the money followed in the same transaction
        assert uow.balance(L.escrow("O1")) == 0
    shop.handle(c.Approve(ret), OWNER, now=START)  # no approve rule for returns: the shop approves
    shop.handle(c.SubmitWaybill(ret, "SF", "SF1"), BUYER, now=START + D)
    (confirmed,) = events(shop, ret, "return_confirmed")
    assert confirmed["rule"] == "GEN-AUTO-1" and confirmed["payload"]["shop_rule"] == "RECEIPT"
    assert confirmed["actor"] == "staff:rule:RECEIPT"
    shop.tick(START + 10 * D)
    with shop.uow(write=False) as uow:
        overdue = {r.ticket_id for r in uow.conn.execute(select(t.overdue_records.c.ticket_id))}
    assert overdue == {dear}  # the shop that let the review run out; never what its rules decided
