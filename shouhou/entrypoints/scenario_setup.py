"""A scenario's set-up (../shared/SCENARIOS.md): its shops, staff, buyers and orders, created through
the engine at the scenario's start. A set-up the engine refuses makes the file invalid (exit 2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..domain.actors import Actor
from ..domain.lines import OrderLine
from ..errors import Refusal
from ..services import commands as c
from .scenario_file import Node
from .scenario_state import Run

# Who creates the set-up.
PLATFORM = Actor("platform", "scenario", role="platform_operator")
# An order's commission when the file gives none (SCENARIOS.md: "every order field ... has the default shown").
DEFAULT_COMMISSION = {"creator": "0.10", "group_leader": "0.00", "affiliate": "0.00", "tech_fee": "0.05"}

TOP_KEYS = {"name", "policy", "start", "shops", "staff", "buyers", "orders", "steps", "description", "channel"}
SHOP_KEYS = {"id", "status", "wallet", "deposit", "wallet_opened_at", "name", "return_address"}
STAFF_KEYS = {"id", "shop", "role", "name"}
ORDER_KEYS = {"id", "shop", "buyer", "amount", "freight", "payment", "kind", "marketing", "goods", "category",
              "no_reason_return", "custom", "commission", "created_at", "shipped_at", "signed_at", "confirmed_at",
              "lines"}
BUYER_KEYS = {"id", "name", "standing", "member"}
LINE_KEYS = {"sku", "name", "qty", "price", "listed_price", "kind"}


def set_up(run: Run) -> None:
    run.keys(run.doc, TOP_KEYS, "the scenario")
    at = run.start
    for shop in run.list_of("shops"):
        run.keys(shop, SHOP_KEYS, "a shop")
        sid = run.id_of(shop)
        opened = run.opt_time(shop, "wallet_opened_at")
        _do(run, c.CreateShop(
            id=sid, name=str(shop.get("name", sid)), policy=run.pack, status=str(shop.get("status", "normal")),
            wallet_fen=run.money(shop, "wallet", "0.00"), deposit_fen=run.money(shop, "deposit", "0.00"),
            wallet_opened_at=opened, return_address=shop.get("return_address", f"{sid} 退货地址"),
        ), shop, "shops", at)
    for member in run.list_of("staff"):
        run.keys(member, STAFF_KEYS, "a staff member")
        mid = run.id_of(member)
        _do(run, c.AddStaff(id=mid, shop_id=str(member.get("shop")), role=str(member.get("role", "cs_agent")),
                            name=str(member.get("name", mid))), member, "staff", at)
        run.staff[mid] = Actor("staff", mid, shop_id=str(member.get("shop")), role=str(member.get("role", "cs_agent")))
    buyers = run.doc.get("buyers") or []
    if not isinstance(buyers, list):
        raise run.bad(run.doc, "buyers", "buyers must be a list of ids")
    for b in buyers:
        if isinstance(b, dict):  # {id, standing, member} (RULES §10): standing normal, member false by default
            b = run.keys(b, BUYER_KEYS, "a buyer", run.doc, "buyers")
            member = b.get("member", False)
            if not isinstance(member, bool):
                raise run.bad(b, "member", "member must be true or false")
            bid = run.id_of(b)
            _do(run, c.AddBuyer(id=bid, name=str(b.get("name", bid)),
                                standing=str(b.get("standing", "normal")), member=member), b, "standing", at)
        else:
            _do(run, c.AddBuyer(id=str(b)), run.doc, "buyers", at)
    for o in run.list_of("orders"):
        _import_order(run, o, at)


def _import_order(run: Run, o: Node, at: datetime) -> None:
    run.keys(o, ORDER_KEYS, "an order")
    for req in ("id", "shop", "buyer", "amount"):
        if req not in o:
            raise run.bad(o, req, f"an order needs {req}")
    commission = o["commission"] if "commission" in o else DEFAULT_COMMISSION  # SCENARIOS.md's default
    if commission is None:
        commission = {}
    if not isinstance(commission, dict):
        raise run.bad(o, "commission", "commission must be a mapping")
    _do(run, c.ImportOrder(
        id=str(o["id"]), shop_id=str(o["shop"]), buyer_id=str(o["buyer"]), amount_fen=run.money(o, "amount"),
        freight_fen=run.money(o, "freight", "0.00"), payment=str(o.get("payment", "online")),
        kind=str(o.get("kind", "normal")), marketing=bool(o.get("marketing", False)),
        goods=str(o.get("goods", "physical")), category=str(o.get("category", "apparel")),
        no_reason_return=bool(o.get("no_reason_return", True)), custom=_flag(run, o, "custom"),
        commission={str(k): str(v) for k, v in commission.items()},
        created_at=run.opt_time(o, "created_at") or run.start - timedelta(days=5),
        shipped_at=run.opt_time(o, "shipped_at") if "shipped_at" in o else run.start - timedelta(days=4),
        signed_at=run.opt_time(o, "signed_at") if "signed_at" in o else run.start - timedelta(days=2),
        confirmed_at=run.opt_time(o, "confirmed_at"), lines=_lines(run, o),
    ), o, "orders", at)


def _flag(run: Run, o: Node, key: str) -> bool:
    value = o.get(key, False)
    if not isinstance(value, bool):
        raise run.bad(o, key, f"{key} must be true or false")
    return value


def _lines(run: Run, o: Node) -> tuple[OrderLine, ...]:
    """An order's `lines` (GEN-APPLY-7): kind defaults to goods, listed_price to price, qty to 1."""
    items = o.get("lines") or []
    if not isinstance(items, list):
        raise run.bad(o, "lines", "lines must be a list")
    out = []
    for item in items:
        run.keys(item, LINE_KEYS, "an order line", o, "lines")
        if "sku" not in item or "price" not in item:
            raise run.bad(item, "sku", "an order line needs sku and price")
        qty = item.get("qty", 1)
        if not isinstance(qty, int) or isinstance(qty, bool):
            raise run.bad(item, "qty", "qty must be a whole number")
        price = run.money(item, "price")
        out.append(OrderLine(sku=str(item["sku"]), name=str(item.get("name", item["sku"])), qty=qty, price_fen=price,
                             listed_price_fen=run.money(item, "listed_price") if "listed_price" in item else price,
                             kind=str(item.get("kind", "goods"))))
    return tuple(out)


def _do(run: Run, cmd: object, node: Node, key: str, at: datetime) -> Any:
    """Runs a set-up command as the platform; a refusal makes the file invalid at `key`."""
    try:
        return run.app.handle(cmd, PLATFORM, now=at)
    except Refusal as e:
        raise run.bad(node, key, f"set-up refused: {e.code}: {e.message_en}") from None
