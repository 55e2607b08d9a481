"""The marketplace a simulation plays, as read from its TOML file (default.toml beside this module is
the built-in one, each key documented there). Validated at load: an unknown key, a share outside
[0, 1] or a profile that does not exist is refused with the key it is about."""

from __future__ import annotations

import math
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..clock import SHANGHAI
from ..policies import REASONS

DEFAULT = Path(__file__).with_name("default.toml")
Z90 = 1.2815515655446004  # the standard normal's 90th percentile


class SimulationConfigError(Exception):
    """A simulation file that cannot be played: its path and every problem, one per line."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Delay(Model):
    """A log-normal duration in hours, given by its median and 90th percentile."""

    median: float = Field(gt=0)
    p90: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Delay:
        if self.p90 < self.median:
            raise ValueError("p90 must be at least the median")
        return self

    @property
    def mu(self) -> float:
        return math.log(self.median)

    @property
    def sigma(self) -> float:
        return math.log(self.p90 / self.median) / Z90


Share = float  # checked by the validators below: 0 <= share <= 1


def _share(v: float) -> float:
    if not 0 <= v <= 1:
        raise ValueError(f"a share is between 0 and 1, not {v}")
    return v


def _weights(v: dict[str, float]) -> dict[str, float]:
    if not v or any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
        raise ValueError("weights are >= 0 and not all 0")
    return v


class Run(Model):
    days: int = Field(ge=1, le=366)
    orders_per_day: int = Field(ge=1)
    seed: int = 1
    start: datetime
    step_minutes: int = Field(ge=1, le=24 * 60)
    tick_batch: int = Field(ge=1)

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        return (v if v.tzinfo else v.replace(tzinfo=SHANGHAI)).astimezone(SHANGHAI)

    @model_validator(mode="after")
    def _steps_fit_a_day(self) -> Run:
        if (24 * 60) % self.step_minutes:
            raise ValueError("step_minutes must divide a day (1440 minutes)")
        return self


class Buyers(Model):
    count: int = Field(ge=1)
    good_standing: Share = 0.0
    members: Share = 0.0
    confirms_receipt: Share
    confirm_hours: Delay
    ships_back_hours: Delay
    never_ships_back: Share = 0.0
    confirms_replacement: Share = 0.5
    asks_intervention: Share = 0.0
    intervention_hours: Delay

    _shares = field_validator("good_standing", "members", "confirms_receipt", "never_ships_back",
                              "confirms_replacement", "asks_intervention")(_share)


class Orders(Model):
    arrivals_by_hour: list[float] = Field(min_length=24, max_length=24)
    categories: dict[str, float]
    amount_yuan: Delay  # the same log-normal shape, in yuan
    max_amount_yuan: float = Field(gt=0)
    no_reason_return: Share = 1.0
    commission: dict[str, str] = Field(default_factory=dict)

    _cats = field_validator("categories")(_weights)
    _nrr = field_validator("no_reason_return")(_share)

    @field_validator("arrivals_by_hour")
    @classmethod
    def _hours(cls, v: list[float]) -> list[float]:
        if any(w < 0 for w in v) or sum(v) <= 0:
            raise ValueError("arrival weights are >= 0 and not all 0")
        return v


class Courier(Model):
    name: str
    share: float = Field(gt=0)
    transit_hours: Delay


class AfterSales(Model):
    """One kind of after-sales request: which type, when in the order's life, how often, why."""

    type: Literal["refund_only", "return_refund", "exchange", "reship"]
    after: Literal["payment", "signing"]
    rate: Share
    hours: Delay  # from payment or signing to the application
    reasons: dict[str, float]

    _rate = field_validator("rate")(_share)

    @field_validator("reasons")
    @classmethod
    def _known(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(REASONS))
        if unknown:
            raise ValueError(f"unknown reason(s) {unknown}; one of {list(REASONS)}")
        return _weights(v)

    @model_validator(mode="after")
    def _fits(self) -> AfterSales:
        if self.after == "payment" and self.type != "refund_only":
            raise ValueError("only refund_only is asked for before the goods arrive (after = 'payment')")
        return self


class Profile(Model):
    """How a shop answers: delays in hours from what it answers to, and how often it never does."""

    ship_hours: Delay
    review_hours: Delay
    ignores_reviews: Share
    rejects: Share
    confirm_return_hours: Delay
    ignores_returns: Share
    ship_replacement_hours: Delay
    ignores_replacements: Share

    _shares = field_validator("ignores_reviews", "rejects", "ignores_returns", "ignores_replacements")(_share)


class ShopGroup(Model):
    profile: str
    count: int = Field(ge=1)
    orders_share: float = Field(gt=0)
    wallet_yuan: float = Field(ge=0)
    deposit_yuan: float = Field(ge=0)


class Platform(Model):
    respond_hours: Delay
    rule_hours: Delay
    for_buyer: Share

    _fb = field_validator("for_buyer")(_share)


class Marketplace(Model):
    run: Run
    buyers: Buyers
    orders: Orders
    couriers: list[Courier] = Field(min_length=1)
    after_sales: list[AfterSales]
    profiles: dict[str, Profile]
    shops: list[ShopGroup] = Field(min_length=1)
    platform: Platform

    @model_validator(mode="after")
    def _profiles_exist(self) -> Marketplace:
        missing = sorted({g.profile for g in self.shops} - set(self.profiles))
        if missing:
            raise ValueError(f"shops name unknown profile(s) {missing}; defined: {sorted(self.profiles)}")
        if sum(k.rate for k in self.after_sales) > 1:
            raise ValueError("the after-sales rates add up to more than 1 (each is a share of all orders)")
        return self

    def overridden(self, *, days: int | None = None, orders_per_day: int | None = None,
                   seed: int | None = None) -> Marketplace:
        """The same marketplace with the command line's --days, --orders-per-day and --seed."""
        changes = {k: v for k, v in (("days", days), ("orders_per_day", orders_per_day), ("seed", seed))
                   if v is not None}
        if not changes:
            return self
        run = Run.model_validate({**self.run.model_dump(), **changes})
        return self.model_copy(update={"run": run})


def load(path: str | Path | None = None) -> Marketplace:
    """The marketplace in `path` (the built-in default.toml when None)."""
    p = Path(path) if path is not None else DEFAULT
    try:
        with p.open("rb") as f:
            raw = tomllib.load(f)
    except OSError as e:
        raise SimulationConfigError(f"{p}: cannot read it: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise SimulationConfigError(f"{p}: not valid TOML: {e}") from None
    try:
        return Marketplace.model_validate(raw)
    except ValidationError as e:
        lines = [f"{'.'.join(str(x) for x in err['loc']) or '(file)'}: {err['msg']}" for err in e.errors()]
        raise SimulationConfigError(f"{p}:\n  " + "\n  ".join(lines)) from None
