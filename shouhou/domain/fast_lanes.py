"""Fast lanes (极速退款 / 闪电退货, RULES §10): a buyer in good standing skips the shop's wait.

- KS-FAST-1: a refund-only application on an order not shipped yet, the order at most the pack's cap
  (¥300): approved and refunded at once (`fast_refund`, then the usual `refunded`).
- KS-FAST-2: a no-reason return inside GEN-APPLY-2 (the application's own checks decide the window),
  the order at most ¥1000: approved at once with the shop's return address (`fast_approved`); the
  buyer then ships within KS-RR-2 as after any approval. A shop without a return address gets no
  fast approval: the ticket waits for its review.
- DY-FAST-1: a no-reason return of the whole order (every unit of every line, its whole paid amount)
  whose waybill is submitted, the order at most ¥1000 (¥1500 for a top member): the platform
  advances the refund at once (`fast_refund`; `advanced_fen` on the ticket), and the ticket stays
  with the shop (`awaiting_receipt`). The shop's receipt (or KS-RR-3/DY-RR-2's auto-refund) refunds
  the ticket with no second payment; the money follows through the reaction table
  (services.fast_lanes): the advance is recovered from the order funds, or from the buyer when the
  ticket ends without a refund (a refused parcel ruled the buyer's fault).

Every lane wants a buyer in good standing (poor and normal buyers never), goods of the kinds the pack
names (not virtual), and an order that is not made to order (定制). Nothing here refuses: a ticket
outside a lane simply takes the normal road. Pure: the service layer gives the buyer and the time.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import refuse
from ..money import format_yuan
from ..policies import FastLane, PolicyVersion
from .orders import Order
from .refund import end, refund
from .review import approved
from .shops import Buyer
from .tickets import Ticket


def _open_to(buyer: Buyer, order: Order, pv: PolicyVersion, lane: FastLane | None, member: bool = False) -> bool:
    """What every lane asks (RULES §10): on in the pack, a good-standing buyer, goods the pack takes,
    not made to order, the order's paid amount within the lane's cap."""
    rules = pv.fast_lanes
    return (rules is not None and lane is not None and lane.enabled and buyer.fast_lane and buyer.id == order.buyer_id
            and not order.custom and order.goods in rules.goods.value and order.amount_fen <= lane.cap_fen(member))


def _why(buyer: Buyer, order: Order, lane: FastLane, member: bool = False) -> dict[str, object]:
    return {"standing": buyer.standing, "member": buyer.member, "order_amount": format_yuan(order.amount_fen),
            "cap": format_yuan(lane.cap_fen(member))}


def on_application(ticket: Ticket, order: Order, buyer: Buyer, pv: PolicyVersion, at: datetime,
                   return_address: str | None) -> str | None:
    """Right after the buyer applied: KS-FAST-1 refunds an unshipped refund-only ticket at once;
    KS-FAST-2 approves a no-reason return at once. Returns the rule that acted, or None."""
    rules = pv.fast_lanes
    if rules is None or ticket.status != "pending_review":
        return None
    lane = rules.unshipped_refund
    if lane is not None and ticket.type == "refund_only" and order.shipped_at is None \
            and _open_to(buyer, order, pv, lane):
        ticket.move("refunded", "fast_refund", at, "system", lane.rule, _why(buyer, order, lane))
        refund(ticket, order, pv, at, "system", lane.rule)
        end(ticket, order, pv, at)
        return lane.rule
    lane = rules.lightning_return
    if lane is not None and ticket.type == "return_refund" and ticket.reason == "no_reason" and return_address \
            and _open_to(buyer, order, pv, lane):
        approved(ticket, order, pv, at, "system", "fast_approved", lane.rule, return_address, require_address=True)
        return lane.rule
    return None


def whole_order(ticket: Ticket, order: Order) -> bool:
    """DY-FAST-1's "not partial": the ticket covers every unit of every line and the order's whole
    paid amount (nothing refunded before it)."""
    if ticket.amount_fen != order.amount_fen or order.refunded_fen:
        return False
    covered = {c.sku: c.qty for c in ticket.lines}
    return all(covered.get(line.sku, 0) >= line.qty for line in order.lines)


def on_waybill(ticket: Ticket, order: Order, buyer: Buyer, pv: PolicyVersion, at: datetime) -> str | None:
    """Right after the buyer submitted the return waybill: DY-FAST-1, the platform advances the
    refund (once per ticket). Returns the rule that acted, or None."""
    rules = pv.fast_lanes
    if rules is None or ticket.status != "awaiting_receipt" or ticket.advanced_fen:
        return None
    lane = rules.advance_refund
    if lane is None or ticket.type != "return_refund" or ticket.reason != "no_reason" or not whole_order(ticket, order) \
            or not _open_to(buyer, order, pv, lane, member=buyer.member):
        return None
    ticket.advanced_fen = ticket.amount_fen
    ticket.event("fast_refund", at, "system", lane.rule,
                 {"amount": format_yuan(ticket.amount_fen), "advanced": format_yuan(ticket.advanced_fen),
                  "by": "platform", **_why(buyer, order, lane, buyer.member)},
                 frm=ticket.status, to=ticket.status)
    return lane.rule


def refuse_cancel_after_advance(ticket: Ticket, pv: PolicyVersion) -> None:
    """The buyer has the money already (DY-FAST-1): the ticket is no longer theirs to withdraw; it
    ends with the shop's receipt or the platform's ruling."""
    if ticket.advanced_fen and not ticket.refunded_fen:
        rule = pv.fast_lanes.advance_rule if pv.fast_lanes is not None else None
        raise refuse("invalid_state", "平台已先行退款,售后单不能撤销",
                     "the platform has advanced the refund; the ticket can no longer be cancelled", rule)
