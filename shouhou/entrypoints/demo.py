"""Demo data (`shouhou serve --demo`): a small marketplace to click and curl through.

Everything goes through `Shouhou.handle` and the commands of shouhou/services/commands.py, exactly
as live traffic would (no SQL): one Kuaishou 快手小店 shop and one Douyin 抖店 shop with staff of
every role, four buyers (one in good standing, for the fast lanes), orders in every state and tickets
(售后单) part-way through their flow;
and a third, Kuaishou shop ks-slow that let ten refund requests lapse three days ago, so that it
carries overdue records (KS-GOV-1) and the first rungs of the measures ladder (KS-GOV-3).
Times are relative to the engine's clock when the demo is loaded; a few tickets were opened "in the
past" so that their automatic action falls due a few minutes after start, and the deadline worker
can be watched firing them.

Fixed bearer tokens, for the README's curl lines:

| token | who |
| --- | --- |
| demo-platform | platform operator 平台运营 |
| demo-ks-owner, demo-ks-admin, demo-ks-cs-admin, demo-ks-agent | staff of the Kuaishou shop ks-demo |
| demo-dy-owner, demo-dy-admin, demo-dy-cs-admin, demo-dy-agent | staff of the Douyin shop dy-demo |
| demo-ks-slow-owner | owner of ks-slow, the shop under governance measures |
| demo-buyer-1, demo-buyer-2, demo-buyer-3, demo-buyer-4 | buyers buyer-1 … buyer-4 (buyer-4 in good standing, a member) |

Loading twice is harmless: if the demo shop exists, nothing is written. A database with other shops
and no demo shop is refused (DemoRefused): the demo's tokens would open it to anyone who read this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..domain.actors import Actor
from ..domain.lines import Cover, OrderLine
from ..money import parse_yuan
from ..services import commands as c
from ..services.app import Shouhou
from ..services.views import tickets as ticket_views

PLATFORM = Actor("platform", "demo-ops", role="platform_operator")
KS_SHOP, DY_SHOP, SLOW_SHOP = "ks-demo", "dy-demo", "ks-slow"
ROLES = (("owner", "owner", "主账号"), ("admin", "admin", "管理员"), ("cs_admin", "cs-admin", "客服管理员"),
         ("cs_agent", "agent", "客服"))
BUYERS = (("buyer-1", "张伟 Zhang Wei"), ("buyer-2", "李娜 Li Na"), ("buyer-3", "王芳 Wang Fang"),
          ("buyer-4", "赵敏 Zhao Min"))
# RULES §10: buyer-4 is in good standing (信用良好) and a Douyin top member: the fast lanes take them
STANDING: dict[str, tuple[str, bool]] = {"buyer-4": ("good", True)}

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


@dataclass(frozen=True)
class DemoOrder:
    id: str
    shop: str
    buyer: str
    amount: str
    category: str
    created: timedelta  # before now
    shipped: timedelta | None = None
    signed: timedelta | None = None
    confirmed: timedelta | None = None
    lines: tuple[tuple[str, str, int, str, str, str], ...] = ()  # sku, name, qty, price, listed price, kind
    custom: bool = False  # made to order (定制): never in a fast lane


# Orders in every state (paid, shipped, signed, confirmed, completed) in both shops, and the orders
# that carry the demo's tickets.
ORDERS = (
    DemoOrder("KS-1001", KS_SHOP, "buyer-1", "59.00", "apparel", 2 * HOUR),
    DemoOrder("KS-1002", KS_SHOP, "buyer-2", "129.00", "apparel", 3 * DAY, 2 * DAY, lines=(
        ("KS-SHIRT-L", "纯棉衬衫 L cotton shirt", 1, "99.00", "129.00", "goods"),
        ("KS-BELT", "皮带 belt", 1, "30.00", "39.00", "accessory"),
        ("KS-SOCKS", "赠品袜子 free socks", 2, "0.00", "9.90", "gift"))),
    DemoOrder("KS-1003", KS_SHOP, "buyer-1", "89.00", "snacks", 5 * DAY, 4 * DAY, 1 * DAY),
    DemoOrder("KS-1004", KS_SHOP, "buyer-3", "199.00", "beauty", 9 * DAY, 8 * DAY, 6 * DAY, 2 * DAY),
    DemoOrder("KS-1005", KS_SHOP, "buyer-2", "39.90", "snacks", 45 * DAY, 44 * DAY, 42 * DAY, 30 * DAY),
    DemoOrder("KS-1101", KS_SHOP, "buyer-1", "99.00", "apparel", 4 * DAY, 3 * DAY, 1 * DAY),
    DemoOrder("KS-1102", KS_SHOP, "buyer-2", "45.00", "snacks", 1 * DAY),
    DemoOrder("KS-1103", KS_SHOP, "buyer-3", "259.00", "apparel", 6 * DAY, 5 * DAY, 4 * DAY),
    DemoOrder("KS-1104", KS_SHOP, "buyer-1", "79.00", "home", 6 * DAY, 5 * DAY, 4 * DAY),
    DemoOrder("KS-1105", KS_SHOP, "buyer-2", "149.00", "home", 7 * DAY, 6 * DAY, 5 * DAY),
    DemoOrder("KS-1106", KS_SHOP, "buyer-3", "69.00", "beauty", 4 * DAY, 3 * DAY, 2 * DAY),
    DemoOrder("KS-1107", KS_SHOP, "buyer-1", "129.00", "apparel", 3 * DAY, 2 * DAY, 1 * DAY, lines=(
        ("KS-TEE-M", "T 恤 M tee", 2, "64.50", "79.00", "goods"),
        ("KS-STICKER", "赠品贴纸 free sticker", 1, "0.00", "5.00", "gift"))),
    DemoOrder("KS-1108", KS_SHOP, "buyer-3", "99.00", "apparel", 13 * DAY, 12 * DAY, 11 * DAY),
    DemoOrder("KS-1109", KS_SHOP, "buyer-2", "69.00", "snacks", 3 * DAY, 2 * DAY),
    DemoOrder("KS-1110", KS_SHOP, "buyer-3", "159.00", "apparel", 6 * DAY, 5 * DAY, 4 * DAY),
    DemoOrder("KS-1111", KS_SHOP, "buyer-1", "88.00", "home", 6 * DAY, 5 * DAY, 4 * DAY),
    DemoOrder("KS-1112", KS_SHOP, "buyer-4", "39.00", "snacks", 3 * HOUR),
    DemoOrder("KS-1113", KS_SHOP, "buyer-4", "199.00", "apparel", 3 * HOUR, custom=True),
    DemoOrder("DY-2001", DY_SHOP, "buyer-2", "299.00", "digital", 1 * HOUR),
    DemoOrder("DY-2002", DY_SHOP, "buyer-3", "49.00", "books", 2 * DAY, 1 * DAY),
    DemoOrder("DY-2003", DY_SHOP, "buyer-1", "399.00", "digital", 6 * DAY, 5 * DAY, 3 * DAY, lines=(
        ("DY-EARBUDS", "无线耳机 wireless earbuds", 1, "349.00", "399.00", "goods"),
        ("DY-CASE", "耳机保护套 earbud case", 1, "50.00", "59.00", "accessory"),
        ("DY-CABLE", "赠品数据线 free cable", 1, "0.00", "19.00", "gift"))),
    DemoOrder("DY-2004", DY_SHOP, "buyer-2", "88.00", "books", 20 * DAY, 19 * DAY, 17 * DAY, 3 * DAY),
    DemoOrder("DY-2005", DY_SHOP, "buyer-3", "59.00", "books", 60 * DAY, 59 * DAY, 57 * DAY, 40 * DAY),
    DemoOrder("DY-2101", DY_SHOP, "buyer-1", "159.00", "apparel", 5 * DAY, 4 * DAY, 2 * DAY, lines=(
        ("DY-SHIRT-S", "衬衫 S shirt", 2, "59.00", "69.00", "goods"),
        ("DY-HAT", "渔夫帽 bucket hat", 1, "41.00", "49.00", "accessory"),
        ("DY-PIN", "赠品胸针 free pin", 1, "0.00", "12.00", "gift"))),
    DemoOrder("DY-2102", DY_SHOP, "buyer-2", "219.00", "apparel", 5 * DAY, 4 * DAY, 3 * DAY),
    DemoOrder("DY-2103", DY_SHOP, "buyer-3", "99.00", "home", 10 * DAY, 9 * DAY, 8 * DAY),
    DemoOrder("DY-2104", DY_SHOP, "buyer-1", "66.00", "beauty", 4 * DAY, 3 * DAY, 2 * DAY),
    DemoOrder("DY-2105", DY_SHOP, "buyer-2", "329.00", "digital", 8 * DAY, 7 * DAY, 6 * DAY),
    DemoOrder("DY-2106", DY_SHOP, "buyer-3", "45.00", "home", 8 * DAY, 7 * DAY, 6 * DAY),
    DemoOrder("DY-2107", DY_SHOP, "buyer-4", "1299.00", "digital", 6 * DAY, 5 * DAY, 3 * DAY),
) + tuple(  # ks-slow: ten signed orders whose refund requests the shop let lapse
    DemoOrder(f"KS-30{i:02d}", SLOW_SHOP, BUYERS[i % 3][0], "49.00", "snacks", 9 * DAY, 8 * DAY, 6 * DAY)
    for i in range(1, 11)
)


class DemoRefused(Exception):
    """The database holds shops and none is the demo's: demo data (with its well-known tokens, one
    of them a platform operator's) is never loaded into a real marketplace."""

    def __init__(self, shops: int) -> None:
        super().__init__(f"the database holds {shops} shop(s) and no {KS_SHOP}: it is not a demo database")
        self.shops = shops


def demo_exists(shouhou: Shouhou) -> bool:
    with shouhou.uow(write=False) as uow:
        return uow.shops.exists(KS_SHOP)


def load_demo(shouhou: Shouhou) -> dict[str, Any]:
    """Fill the demo marketplace (skipped if it is there already). Returns what it holds: tokens,
    shops, orders and the tickets by order, with their status and next deadline. Only into a
    database with no shop at all or one that is a demo already (holds ks-demo); else DemoRefused."""
    with shouhou.uow(write=False) as uow:
        is_demo, shops = uow.shops.exists(KS_SHOP), uow.shops.count()
    created = False
    if not is_demo:
        if shops:
            raise DemoRefused(shops)
        _Loader(shouhou, shouhou.clock.now().replace(microsecond=0)).run()
        created = True
    return {"created": created, **describe(shouhou)}


def describe(shouhou: Shouhou) -> dict[str, Any]:
    with shouhou.uow(write=False) as uow:
        tickets = [v for shop in (KS_SHOP, DY_SHOP)
                   for v in ticket_views.list_tickets(uow, PLATFORM, shop=shop, limit=500)["items"]]
    tickets.sort(key=lambda v: (v["due"] is None, v["due"]["at"] if v["due"] else "", v["order"]))
    return {
        "tokens": dict(TOKENS),
        "shops": {KS_SHOP: "kuaishou", DY_SHOP: "douyin", SLOW_SHOP: "kuaishou"},
        "orders": [o.id for o in ORDERS],
        "tickets": [
            {"id": v["id"], "order": v["order"], "shop": v["shop"], "type": v["type"], "status": v["status"],
             "due": v["due"]["at"] if v["due"] else None, "due_action": v["due"]["action"] if v["due"] else None,
             "due_rule": v["due"]["rule"] if v["due"] else None}
            for v in tickets
        ],
    }


def _staff_id(shop: str, suffix: str) -> str:
    return f"{shop[:2]}-{suffix}"


def _tokens() -> dict[str, str]:
    tokens = {"demo-platform": "platform operator 平台运营"}
    for shop, title in ((KS_SHOP, "Kuaishou"), (DY_SHOP, "Douyin")):
        for role, suffix, zh in ROLES:
            tokens[f"demo-{_staff_id(shop, suffix)}"] = f"{title} shop {shop}: {role} {zh}"
    tokens[f"demo-{SLOW_SHOP}-owner"] = f"Kuaishou shop {SLOW_SHOP}: owner 主账号 (under measures)"
    for bid, name in BUYERS:
        tokens[f"demo-{bid}"] = f"buyer {bid} {name}"
    return tokens


TOKENS = _tokens()


class _Loader:
    def __init__(self, app: Shouhou, now: datetime) -> None:
        self.app, self.now = app, now
        self.tickets: dict[str, str] = {}

    def do(self, cmd: object, actor: Actor = PLATFORM, ago: timedelta = timedelta(0)) -> Any:
        return self.app.handle(cmd, actor, now=self.now - ago)

    def token(self, kind: str, holder: str, role: str | None = None, token: str | None = None) -> None:
        """The README's fixed token `demo-<holder>`. Demo tokens never expire: the demo is kept across
        restarts, and serve --demo only loads into an empty database or a demo (DemoRefused)."""
        self.do(c.IssueToken(kind=kind, actor_id=holder, role=role, token=token or f"demo-{holder}", label="demo",
                             never_expires=True))

    @staticmethod
    def buyer(order: str) -> Actor:
        return Actor("buyer", next(o.buyer for o in ORDERS if o.id == order))

    @staticmethod
    def staff(shop: str, suffix: str) -> Actor:
        role = next(r for r, s, _ in ROLES if s == suffix)
        return Actor("staff", _staff_id(shop, suffix), shop_id=shop, role=role)

    def run(self) -> None:
        self.marketplace()
        self.kuaishou_tickets()
        self.douyin_tickets()
        self.slow_shop()
        for o in ORDERS:
            if o.id not in self.tickets:
                self.import_order(o, timedelta(0))
        self.desk()

    def desk(self) -> None:
        """From now on: ks-demo's automation rules (售后小助手, GEN-AUTO-1) approve small refunds before
        shipment and confirm returned snacks; a buyer's complaint (投诉工单) stays open for the platform."""
        owner = self.staff(KS_SHOP, "owner")
        self.do(c.SetAutomation(KS_SHOP, (
            {"id": "small-unshipped-refunds", "action": "approve",
             "when": {"types": ["refund_only"], "order_state": "unshipped", "max_amount": "50.00"}},
            {"id": "snacks-back", "action": "confirm_receipt", "when": {"categories": ["snacks"]}},
        )), owner)
        self.do(c.FileComplaint("KS-1106", "客服态度差,拒绝沟通 the agent refused to talk"), self.buyer("KS-1106"))

    def import_order(self, o: DemoOrder, ago: timedelta) -> None:
        """The order arrives from the platform's order system at `now - ago`, with its history; what
        follows (auto-confirmation, completion) then happens as it would live."""
        self.do(c.ImportOrder(
            id=o.id, shop_id=o.shop, buyer_id=o.buyer, amount_fen=parse_yuan(o.amount), category=o.category,
            created_at=self.now - o.created,
            shipped_at=None if o.shipped is None else self.now - o.shipped,
            signed_at=None if o.signed is None else self.now - o.signed,
            confirmed_at=None if o.confirmed is None else self.now - o.confirmed,
            commission={"creator": "0.10", "tech_fee": "0.05"} if o.shop == KS_SHOP else {"tech_fee": "0.05"},
            custom=o.custom,
            lines=tuple(OrderLine(sku, name, qty, parse_yuan(price), parse_yuan(listed), kind)
                        for sku, name, qty, price, listed, kind in o.lines),
        ), ago=ago)

    def marketplace(self) -> None:
        shops = (
            (KS_SHOP, "快手小店演示店 Kuaishou demo shop", "kuaishou", "5000.00", "20000.00",
             "浙江省杭州市余杭区仓前街道文一西路 1 号 快手演示退货仓 收 (Kuaishou demo returns) 0571-0000-0001"),
            (DY_SHOP, "抖店演示店 Douyin demo shop", "douyin", "8000.00", "50000.00",
             "广东省广州市白云区太和镇 1 号 抖店演示退货仓 收 (Douyin demo returns) 020-0000-0002"),
        )
        for sid, name, policy, wallet, deposit, address in shops:
            self.do(c.CreateShop(id=sid, name=name, policy=policy, wallet_fen=parse_yuan(wallet),
                                 deposit_fen=parse_yuan(deposit), wallet_opened_at=self.now - 400 * DAY,
                                 return_address=address))
            for role, suffix, zh in ROLES:
                member = _staff_id(sid, suffix)
                self.do(c.AddStaff(id=member, shop_id=sid, role=role, name=f"{zh} {member}"))
                self.token("staff", member)
        for bid, name in BUYERS:
            standing, is_member = STANDING.get(bid, ("normal", False))
            self.do(c.AddBuyer(id=bid, name=name, standing=standing, member=is_member))
            self.token("buyer", bid)
        self.token("platform", PLATFORM.id, PLATFORM.role, token="demo-platform")

    def slow_shop(self) -> None:
        """ks-slow let ten refund-only requests lapse three days ago: the worker approves and refunds
        each at its KS-RO-1 deadline, records it overdue (KS-GOV-1), and the governance evaluation on
        each record applies the warning, then forced study (KS-GOV-3)."""
        self.do(c.CreateShop(id=SLOW_SHOP, name="慢处理演示店 Kuaishou shop that lets requests lapse",
                             policy="kuaishou", wallet_fen=parse_yuan("3000.00"), deposit_fen=parse_yuan("10000.00"),
                             wallet_opened_at=self.now - 400 * DAY,
                             return_address="浙江省杭州市滨江区 1 号 慢处理演示退货仓 0571-0000-0003"))
        self.do(c.AddStaff(id=f"{SLOW_SHOP}-owner", shop_id=SLOW_SHOP, role="owner", name="主账号 ks-slow-owner"))
        self.token("staff", f"{SLOW_SHOP}-owner")
        for i, o in enumerate(x for x in ORDERS if x.shop == SLOW_SHOP):
            self.apply(o.id, "refund_only", "not_as_described", 5 * DAY - i * HOUR, amount="10.00",
                       note="少发了一件 one item missing")
        self.app.tick(self.now)  # what fell due since: as a worker running all along would have done

    def apply(self, order: str, type_: str, reason: str, ago: timedelta, amount: str | None = None,
              evidence: tuple[str, ...] = (), note: str | None = None,
              lines: tuple[Cover, ...] | None = None) -> str:
        self.import_order(next(o for o in ORDERS if o.id == order), ago)
        ticket: str = self.do(c.Apply(order, type_, reason, None if amount is None else parse_yuan(amount),
                                      evidence, note, lines), self.buyer(order), ago)
        self.tickets[order] = ticket
        return ticket

    def kuaishou_tickets(self) -> None:
        agent, cs_admin, owner = (self.staff(KS_SHOP, s) for s in ("agent", "cs-admin", "owner"))
        # pending_review, 46 h left on KS-RR-1
        self.apply("KS-1101", "return_refund", "quality", 2 * HOUR, evidence=("seam-torn.jpg",),
                   note="袖口开线 the cuff seam is torn")
        # pending_review, refund only before shipment: KS-RO-1's 24 h run out 5 minutes after start
        self.apply("KS-1102", "refund_only", "other", 24 * HOUR - 5 * MINUTE, note="不想要了,还没发货 not shipped yet")
        # pending_review, return & refund: KS-RR-1's 48 h run out 2 minutes after start (auto-approve, overdue)
        self.apply("KS-1103", "return_refund", "not_as_described", 48 * HOUR - 2 * MINUTE,
                   evidence=("colour.jpg",), note="颜色与图片不符 colour differs from the photos")
        # awaiting_return: approved two days ago, KS-RR-2 gives the buyer 10 days to ship
        t = self.apply("KS-1104", "return_refund", "no_reason", 3 * DAY)
        self.do(c.Approve(t), agent, 2 * DAY)
        # awaiting_receipt: the buyer shipped, KS-RR-3 gives the shop 10 days to confirm receipt
        t = self.apply("KS-1105", "return_refund", "quality", 4 * DAY, evidence=("broken-handle.jpg",))
        self.do(c.Approve(t), agent, 3 * DAY)
        self.do(c.SubmitWaybill(t, "SF", "SF1234567890"), self.buyer("KS-1105"), 2 * DAY)
        # and claims the return freight with a receipt (GEN-FREIGHT-1): the shop has 24 h left to decide
        self.do(c.ClaimFreight(t, parse_yuan("12.00"), receipt=True), self.buyer("KS-1105"), 1 * DAY)
        # rejected with a reason (KS-RR-4)
        t = self.apply("KS-1106", "refund_only", "other", 1 * DAY, amount="20.00", note="想要补偿 asking for a discount")
        self.do(c.Reject(t, "商品无质量问题,已提供质检报告 no defect; inspection report attached",
                         ("inspection.pdf",)), cs_admin, 20 * HOUR)
        # refunded: partial refund only on one of the two tees (GEN-APPLY-7), approved by the owner
        t = self.apply("KS-1107", "refund_only", "logistics_delayed", 1 * DAY, amount="30.00",
                       evidence=("tracking.png",), note="物流延误补偿 compensation for the delay",
                       lines=(Cover("KS-TEE-M", 1),))
        self.do(c.Approve(t), owner, 22 * HOUR)
        # pending_review, refund only after shipment: KS-RO-1's 48 h leave two days (the README rejects it)
        self.apply("KS-1109", "refund_only", "other", 1 * HOUR, note="买错口味了 wrong flavour")
        # awaiting_return since almost 10 days: KS-RR-2 auto-closes it 10 minutes after start
        t = self.apply("KS-1108", "return_refund", "no_reason", 10 * DAY + 2 * HOUR)
        self.do(c.Approve(t), agent, 10 * DAY - 10 * MINUTE)
        self.rulings(agent)

    def _disputed(self, order: str, reason: str, ago: timedelta, lines: tuple[Cover, ...] | None = None) -> str:
        """A ticket the shop rejected and the buyer took to the platform, which took the case."""
        agent = self.staff(KS_SHOP, "agent")
        t = self.apply(order, "refund_only", reason, ago, lines=lines, note="平台介入演示 a dispute for the platform")
        self.do(c.Reject(t, "已核对发货记录 checked the packing record"), agent, ago - HOUR)
        self.do(c.RequestIntervention(t, "商家拒绝 the shop refused"), self.buyer(order), ago - 2 * HOUR)
        self.do(c.RespondIntervention(t), PLATFORM, ago - 3 * HOUR)
        return t

    def rulings(self, agent: Actor) -> None:
        """Seed 004's rulings against the shop (KS-PI-4, -5, -6)."""
        # missing items: the belt and the socks; ruled 20 h ago, so the 24 h to reship end 4 h after start
        t = self._disputed("KS-1002", "missing_items", 26 * HOUR, (Cover("KS-BELT", 1), Cover("KS-SOCKS", 2)))
        self.do(c.Rule(t, "buyer", finding="missing_items"), PLATFORM, 20 * HOUR)
        # wrong item: returned for an exchange; the buyer claimed compensation (a delayed-shipment record)
        t = self._disputed("KS-1110", "wrong_item", 2 * DAY)
        self.do(c.Rule(t, "buyer", "exchange", finding="wrong_item"), PLATFORM, 2 * DAY - 4 * HOUR)
        self.do(c.ClaimCompensation(t), self.buyer("KS-1110"), 1 * DAY)
        # KS-FAST-1: a good buyer's refund before shipment, ¥39 (<= ¥300): refunded at once; the same for a
        # made-to-order item (定制) waits for the shop
        self.apply("KS-1112", "refund_only", "other", 2 * HOUR, note="拍错了 ordered by mistake")
        self.apply("KS-1113", "refund_only", "other", 2 * HOUR, note="定制款不想要了 changed my mind")
        # rejected without cause: refunded by advance compensation; the shop must still collect the goods
        t = self._disputed("KS-1111", "other", 1 * DAY)
        self.do(c.Rule(t, "buyer", finding="unjustified_rejection"), PLATFORM, 1 * DAY - 4 * HOUR)

    def douyin_tickets(self) -> None:
        agent, admin = self.staff(DY_SHOP, "agent"), self.staff(DY_SHOP, "admin")
        # pending_review, refund only after shipment (DY-RO-1, 48 h)
        self.apply("DY-2101", "refund_only", "not_as_described", 1 * HOUR, amount="50.00",
                   note="尺码偏小 runs small; keep it for a partial refund", lines=(Cover("DY-SHIRT-S", 1),))
        # pending_review, seven-day no-reason return: the 48 h review runs out 7 minutes after start
        self.apply("DY-2102", "return_refund", "no_reason", 48 * HOUR - 7 * MINUTE)
        # awaiting_return since almost 7 days: DY-RR-2 auto-closes it 15 minutes after start
        t = self.apply("DY-2103", "return_refund", "quality", 7 * DAY + 1 * HOUR, evidence=("dent.jpg",))
        self.do(c.Approve(t), agent, 7 * DAY - 15 * MINUTE)
        # rejected
        t = self.apply("DY-2104", "return_refund", "no_reason", 1 * DAY)
        self.do(c.Reject(t, "商品已拆封使用,不支持无理由退货 opened and used"), admin, 12 * HOUR)
        # awaiting_receipt
        t = self.apply("DY-2105", "return_refund", "quality", 5 * DAY, evidence=("screen.jpg",))
        self.do(c.Approve(t), agent, 4 * DAY)
        self.do(c.SubmitWaybill(t, "YTO", "YT9876543210"), self.buyer("DY-2105"), 3 * DAY)
        # DY-FAST-1: a good-standing top member's no-reason return of a ¥1299 order (<= ¥1500 for members):
        # the platform advanced the refund when the waybill was submitted; the shop has yet to confirm
        t = self.apply("DY-2107", "return_refund", "no_reason", 2 * DAY)
        self.do(c.Approve(t), agent, 2 * DAY - HOUR)
        self.do(c.SubmitWaybill(t, "SF", "SF2107000001"), self.buyer("DY-2107"), 1 * DAY)
        # refunded through the whole return: the order closes (fully refunded)
        t = self.apply("DY-2106", "return_refund", "no_reason", 5 * DAY)
        self.do(c.Approve(t), agent, 4 * DAY + 20 * HOUR)
        self.do(c.SubmitWaybill(t, "ZTO", "ZT5555000111"), self.buyer("DY-2106"), 4 * DAY)
        self.do(c.ConfirmReturn(t), agent, 1 * DAY)
