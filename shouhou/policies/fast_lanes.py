"""Fast lanes (极速退款 / 闪电退货, RULES §10) as pack settings: each lane is switched on or off, with
the order amount it stops at (and, for DY-FAST-1, the higher cap of a top member)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..money import MoneyFormatError, format_yuan, parse_yuan
from .values import Choice, Setting

GOODS_KINDS = ("physical", "virtual", "coupon", "education")  # as orders give them


def _fen(text: str, what: str) -> int:
    try:
        fen = parse_yuan(text)
    except MoneyFormatError as e:
        raise ValueError(f"{what}: {e}") from None
    if fen <= 0:
        raise ValueError(f"{what} must be more than 0.00 yuan")
    return fen


class FastLane(Setting):
    """One lane: on or off, and the largest order (paid amount, yuan) it takes."""

    enabled: bool
    max_order: str  # yuan, e.g. "300.00": orders up to and including it
    member_max_order: str | None = None  # DY-FAST-1: the cap for a top member

    @model_validator(mode="after")
    def _caps(self) -> FastLane:
        cap = _fen(self.max_order, "max_order")
        if self.member_max_order is not None and _fen(self.member_max_order, "member_max_order") < cap:
            raise ValueError("member_max_order may not be below max_order")
        return self

    def cap_fen(self, member: bool = False) -> int:
        """The largest order the lane takes, for a member or not."""
        if member and self.member_max_order is not None:
            return parse_yuan(self.member_max_order)
        return parse_yuan(self.max_order)

    def show(self) -> str:
        if not self.enabled:
            return "no"
        out = f"yes, orders up to {format_yuan(self.cap_fen())}"
        if self.member_max_order is not None:
            out += f" ({format_yuan(self.cap_fen(True))} for top members)"
        return out


class FastLaneRules(BaseModel):
    """RULES §10. Every lane is for buyers in good standing only (poor buyers never), and never for a
    made-to-order (定制) order; `goods` names the goods kinds the lanes take (not virtual goods)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # a lane the pack leaves out is not the pack's (Kuaishou has no DY-FAST-1, Douyin no KS-FAST-1/2)
    unshipped_refund: FastLane | None = None  # KS-FAST-1: refund only, not shipped -> approved and refunded at once
    lightning_return: FastLane | None = None  # KS-FAST-2: no-reason return -> approved at once with the return address
    advance_refund: FastLane | None = None  # DY-FAST-1: no-reason return, waybill submitted -> the platform advances
    goods: Choice  # RULES §10: not virtual goods

    @property
    def advance_rule(self) -> str | None:
        return self.advance_refund.rule if self.advance_refund is not None else None

    @field_validator("goods")
    @classmethod
    def _known_goods(cls, v: Choice) -> Choice:
        unknown = [g for g in v.value if g not in GOODS_KINDS]
        if unknown:
            raise ValueError(f"unknown goods kinds {unknown}; known: {list(GOODS_KINDS)}")
        return v
