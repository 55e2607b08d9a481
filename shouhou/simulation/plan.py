"""The draws: the marketplace's shops and buyers, and each day's orders with everything their people
will do, drawn from the seed before the day is played. Nothing here looks at the engine, so two
packs played from one seed meet the same orders, the same buyers and the same shop habits; only
what the rules do with them differs.

Delays are relative to the moment the person is answering (the shop reviews `review` after the
application, whenever that was); None means the person never acts and the pack's deadline decides.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from .marketplace import AfterSales, Delay, Marketplace, Profile

HOUR = 3600.0
DAY_SECONDS = 86400


@dataclass(frozen=True, slots=True)
class ShopPlan:
    id: str
    profile_name: str
    profile: Profile
    wallet_fen: int
    deposit_fen: int


@dataclass(frozen=True, slots=True)
class BuyerPlan:
    id: str
    standing: str
    member: bool


@dataclass(slots=True)
class CasePlan:
    """One after-sales request and how each side will answer it (seconds; None: never)."""

    type: str
    reason: str
    after: str  # payment | signing
    apply: float
    review: float | None  # the shop's review, from the application
    rejects: bool
    asks_intervention: float | None  # from the rejection
    respond: float  # the platform, from the request
    rule: float  # the platform, from its response
    for_buyer: bool
    ships_back: float | None  # the buyer, from approval
    return_transit: float
    confirm_return: float | None  # the shop, from the parcel's arrival
    ship_replacement: float | None  # the shop, from the return's receipt (exchange) or approval (reship)
    replacement_transit: float
    confirms_replacement: float | None  # the buyer, from the replacement's signing


@dataclass(slots=True)
class OrderPlan:
    index: int
    id: str
    shop: ShopPlan
    buyer: BuyerPlan
    created: float  # seconds from the run's start
    amount_fen: int
    category: str
    no_reason_return: bool
    ship: float  # the shop, from payment
    transit: float  # the courier, from shipment
    confirms: float | None  # the buyer, from signing
    case: CasePlan | None


class Chooser:
    """Weighted choice by one uniform draw (bisect over the cumulative weights)."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.names = list(weights)
        self.cum = list(itertools.accumulate(weights.values()))

    def __call__(self, rng: random.Random) -> str:
        return self.names[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


def lognormal(rng: random.Random, d: Delay, scale: float = HOUR) -> float:
    return rng.lognormvariate(d.mu, d.sigma) * scale


def maybe(rng: random.Random, share: float, d: Delay) -> float | None:
    """A delay, or None (never) with probability `share`: both draws are always made, so the draws
    that follow do not depend on which way it went."""
    never = rng.random() < share
    value = lognormal(rng, d)
    return None if never else value


class Planner:
    """Draws the marketplace (shops, buyers) once, then each day's orders, from one seeded stream."""

    def __init__(self, market: Marketplace) -> None:
        self.m = market
        self.rng = random.Random(market.run.seed)
        self.shops = self._shops()
        self.buyers = self._buyers()
        weights = {s.id: share for s, share in self._shop_shares()}
        self.pick_shop = Chooser(weights)
        self.shop_by_id = {s.id: s for s in self.shops}
        self.pick_category = Chooser(market.orders.categories)
        self.pick_courier = Chooser({str(i): c.share for i, c in enumerate(market.couriers)})
        self.pick_hour = Chooser({str(h): w for h, w in enumerate(market.orders.arrivals_by_hour)})
        kinds = {str(i): k.rate for i, k in enumerate(market.after_sales)}
        kinds["none"] = max(0.0, 1.0 - sum(k.rate for k in market.after_sales))
        self.pick_kind = Chooser(kinds)
        self.pick_reason = [Chooser(k.reasons) for k in market.after_sales]
        self.count = 0

    def _shops(self) -> list[ShopPlan]:
        out = []
        for g, group in enumerate(self.m.shops):
            for i in range(group.count):
                out.append(ShopPlan(f"sim-{group.profile}-{g}-{i + 1:03d}", group.profile,
                                    self.m.profiles[group.profile], round(group.wallet_yuan * 100),
                                    round(group.deposit_yuan * 100)))
        return out

    def _shop_shares(self) -> list[tuple[ShopPlan, float]]:
        out = []
        k = 0
        for group in self.m.shops:
            for _ in range(group.count):
                out.append((self.shops[k], group.orders_share / group.count))
                k += 1
        return out

    def _buyers(self) -> list[BuyerPlan]:
        b = self.m.buyers
        out = []
        for i in range(b.count):
            good = self.rng.random() < b.good_standing
            member = self.rng.random() < (b.members / b.good_standing if b.good_standing else 0.0) if good else False
            out.append(BuyerPlan(f"sim-buyer-{i + 1:06d}", "good" if good else "normal", member))
        return out

    def day(self, day: int) -> list[OrderPlan]:
        """The orders paid on day `day` (0 = the first), in the order they are paid."""
        n = self.m.run.orders_per_day
        plans = [self._order(day) for _ in range(n)]
        plans.sort(key=lambda p: (p.created, p.index))
        return plans

    def _order(self, day: int) -> OrderPlan:
        rng, m = self.rng, self.m
        self.count += 1
        hour = int(self.pick_hour(rng))
        created = day * 24 * HOUR + hour * HOUR + rng.random() * HOUR
        shop = self.shop_by_id[self.pick_shop(rng)]
        buyer = self.buyers[int(rng.random() * len(self.buyers))]
        amount = min(lognormal(rng, m.orders.amount_yuan, 1.0), m.orders.max_amount_yuan)
        amount_fen = max(100, round(amount * 100))
        category = self.pick_category(rng)
        courier = m.couriers[int(self.pick_courier(rng))]
        p = shop.profile
        plan = OrderPlan(
            index=self.count, id=f"sim-{self.count:08d}", shop=shop, buyer=buyer, created=created,
            amount_fen=amount_fen, category=category, no_reason_return=rng.random() < m.orders.no_reason_return,
            ship=lognormal(rng, p.ship_hours), transit=lognormal(rng, courier.transit_hours),
            confirms=maybe(rng, 1 - m.buyers.confirms_receipt, m.buyers.confirm_hours), case=None)
        kind = self.pick_kind(rng)
        if kind != "none":
            plan.case = self._case(m.after_sales[int(kind)], self.pick_reason[int(kind)], p)
        return plan

    def _case(self, k: AfterSales, pick_reason: Chooser, p: Profile) -> CasePlan:
        rng, b, pf = self.rng, self.m.buyers, self.m.platform
        courier = self.m.couriers[int(self.pick_courier(rng))]
        return CasePlan(
            type=k.type, reason=pick_reason(rng), after=k.after, apply=lognormal(rng, k.hours),
            review=maybe(rng, p.ignores_reviews, p.review_hours), rejects=rng.random() < p.rejects,
            asks_intervention=maybe(rng, 1 - b.asks_intervention, b.intervention_hours),
            respond=lognormal(rng, pf.respond_hours), rule=lognormal(rng, pf.rule_hours),
            for_buyer=rng.random() < pf.for_buyer,
            ships_back=maybe(rng, b.never_ships_back, b.ships_back_hours),
            return_transit=lognormal(rng, courier.transit_hours),
            confirm_return=maybe(rng, p.ignores_returns, p.confirm_return_hours),
            ship_replacement=maybe(rng, p.ignores_replacements, p.ship_replacement_hours),
            replacement_transit=lognormal(rng, courier.transit_hours),
            confirms_replacement=maybe(rng, 1 - b.confirms_replacement, b.confirm_hours),
        )


def at(start: datetime, seconds: float) -> datetime:
    """The instant `seconds` after the run's start, to the whole second (as a person's action is)."""
    return start + timedelta(seconds=int(seconds))
