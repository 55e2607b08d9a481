"""Merchant governance (RULES §9): evaluating the ladder and applying its measures with their effects
(KS-GOV-3, KS-GOV-4), lifting, appeals against measures, and the daily evaluation.

When it runs:
- on every `overdue_recorded` (KS-GOV-1) and every ruling (`ruled`, `appeal_upheld`): the reaction
  table (services.reactions) calls `evaluate_on_records` inside the unit of work that records them,
  each at its own time;
- by the worker (services.deadlines) at `shops.governance_due_at`: the next daily evaluation or the
  next end of a measure, whichever comes first. A shop with no overdue record and no ruling in the
  window and no measure in force has nothing to watch: its deadline is cleared until the next record.

The 30-day metrics are read from per-shop, per-day counters by adapters.metrics (`uow.metrics`); the
read side is views.governance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

from ..adapters import tables as t
from ..adapters.uow import SqlUnitOfWork
from ..domain import aftersales
from ..domain import governance as g
from ..domain import ledger as L
from ..domain.actors import Actor, require
from ..domain.events import Event
from ..domain.shops import Shop
from ..errors import not_found, present
from ..money import format_yuan
from ..policies import PolicyVersion
from . import commands as c
from .access import load_measure, visible_shop
from .books import Books
from .context import Context, Fired, new_id

GOV_COLUMNS = ("refund_handling", "score", "points", "freight_claims_by_platform", "cart_suspended",
               "governance_evaluated_at", "governance_due_at")


# -- commands -------------------------------------------------------------------------------------

def evaluate_shop(cmd: c.EvaluateShop, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> list[str]:
    """Platform staff ask for an evaluation now (the worker does it daily anyway)."""
    shop = visible_shop(uow, actor, cmd.shop_id)
    rule = ctx.policies.in_force(shop.policy, ctx.now).governance.evaluation.rule
    require(actor.is_platform_staff, "只有平台工作人员可以发起治理评估", "only platform staff may run a governance evaluation",
            rule)
    return [m.id for m in evaluate(uow, ctx, cmd.shop_id, ctx.now, "manual")]


def lift_measure(cmd: c.LiftMeasure, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    inst = load_measure(uow, actor, cmd.measure_id, lock=True)
    shop = _lock_shop(uow, inst.shop_id)
    g.lift(inst, actor, ctx.now, cmd.reason)
    _after_change(uow, ctx, shop, actor)
    return inst.id


def appeal_measure(cmd: c.AppealMeasure, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    inst = load_measure(uow, actor, cmd.measure_id, lock=True)
    appeal = g.file_appeal(new_id("MA"), inst, actor, ctx.now, cmd.reason, uow.measure_appeals.of_measure(inst.id))
    uow.measure_appeals.add(appeal)
    return appeal.id


def decide_measure_appeal(cmd: c.DecideMeasureAppeal, actor: Actor, uow: SqlUnitOfWork, ctx: Context) -> str:
    appeal = uow.measure_appeals.get(cmd.appeal_id)
    if appeal is None or not actor.sees(appeal.shop_id):
        raise not_found("measure appeal", cmd.appeal_id)
    inst = present(uow.measures.get(appeal.measure_id, lock=True), f"measure {appeal.measure_id}")
    shop = _lock_shop(uow, inst.shop_id)
    g.decide_appeal(appeal, inst, actor, ctx.now, cmd.upheld, cmd.answer)
    if appeal.status == "upheld" and inst.amount_fen and inst.charged:
        refunded = Books(uow).pay_shop(shop.id, inst.amount_fen, "wallet", ctx.now, g.PENALTY,
                                       "liquidated_damages_refund", rule=inst.rule,
                                       memo={"measure": inst.id, "appeal": appeal.id})
        inst.event("liquidated_damages_refunded", ctx.now, actor.label, inst.rule,
                   {"amount": format_yuan(inst.amount_fen), "debt_recovered": format_yuan(refunded)})
    _after_change(uow, ctx, shop, actor)
    return appeal.id


def _after_change(uow: SqlUnitOfWork, ctx: Context, shop: Shop, actor: Actor) -> None:
    """A measure ended by hand: the shop's flags, score and next deadline follow."""
    pv = ctx.policies.in_force(shop.policy, ctx.now)
    history = uow.measures.of_shop(shop.id)
    _settle_effects(uow, ctx, shop, pv, history, ctx.now, actor.label)
    metrics = uow.metrics(shop.id, ctx.now, pv.governance.window.delta)
    shop.score = g.score(metrics, pv.governance.score, shop.points, shown=False).value
    active = [m for m in history if m.active]
    due_times = [m.ends_at for m in active if m.ends_at is not None]
    if shop.governance_due_at is not None:
        due_times.append(shop.governance_due_at)
    shop.governance_due_at = min(due_times) if due_times else None


# -- evaluation (KS-GOV-3, KS-GOV-4) ----------------------------------------------------------------

def _lock_shop(uow: SqlUnitOfWork, shop_id: str) -> Shop:
    """The shop, its row locked (PostgreSQL), with the governance columns as committed: another
    transaction may have changed them since this one first read the shop. (Money columns changed in
    this transaction are kept.)"""
    shop = uow.shops.get(shop_id)
    if shop is None:
        raise not_found("shop", shop_id)
    uow.shops.refresh(shop_id, GOV_COLUMNS)
    return shop


def evaluate(uow: SqlUnitOfWork, ctx: Context, shop_id: str, at: datetime, cause: str,
             metrics: g.Metrics | None = None) -> list[g.MeasureInstance]:
    """Evaluate one shop at `at`: end the measures whose end has come, compute the metrics (unless
    given, computed at `at` in this transaction), apply every rung reached (with its effects), update
    the shop's flags, score and next evaluation. Returns the measures applied."""
    shop = _lock_shop(uow, shop_id)
    pv = ctx.policies.in_force(shop.policy, at)
    gov = pv.governance
    history = uow.measures.of_shop(shop.id)
    for inst in history:
        if inst.runs_out_by(at):
            g.expire(inst)
    if metrics is None or metrics.end != at:
        metrics = uow.metrics(shop.id, at, gov.window.delta, bool(gov.metrics_read() & g.HANDLING))
    dues = g.due_measures(metrics, gov, history)
    if dues and not gov.metrics_read() & g.HANDLING:  # the measures keep every figure that brought them
        metrics = uow.metrics(shop.id, at, gov.window.delta)
    applied = []
    for due in dues:
        inst = g.start(new_id("G"), shop.id, due, shop.policy, pv, metrics, at, cause)
        if inst.amount_fen:
            inst.charged = _charge(uow, shop, pv, inst, at)
        g.announce(inst)
        uow.measures.add(inst)
        history.append(inst)
        applied.append(inst)
    _settle_effects(uow, ctx, shop, pv, history, at, "system")
    points = sum(m.points for m in history if m.active and m.measure == "point_deduction")
    shop.score = g.score(metrics, gov.score, points, shown=False).value
    shop.governance_evaluated_at = at
    active = [m for m in history if m.active]
    watched = metrics.overdue > 0 or metrics.rulings > 0 or bool(active)
    due_times = [m.ends_at for m in active if m.ends_at is not None]
    if watched:
        due_times.append(at + gov.evaluation.delta)
    shop.governance_due_at = min(due_times) if due_times else None
    return applied


def lock_shops(uow: SqlUnitOfWork, ctx: Context, events: Sequence[Event]) -> None:
    """Before anything reacts to a transaction's records, take their shops' row locks in id order
    (PostgreSQL), so two transactions that both evaluate the same shops cannot deadlock."""
    uow.shops.lock(e.shop_id for e in events if e.shop_id)


def evaluate_on_records(uow: SqlUnitOfWork, ctx: Context, events: Sequence[Event]) -> None:
    """KS-GOV-3 on each overdue record (or ruling) of one transaction, at its own time, shop by shop."""
    records: dict[str, list[tuple[datetime, str]]] = {}
    for e in events:
        if e.shop_id:
            records.setdefault(e.shop_id, []).append((e.at, e.type))
    last = _metrics_at_last(uow, ctx, {shop: max(at for at, _ in recs) for shop, recs in records.items()})
    for shop_id, shop_records in records.items():
        evaluate_records(uow, ctx, shop_id, shop_records, last.get(shop_id))


def _metrics_at_last(uow: SqlUnitOfWork, ctx: Context, last: dict[str, datetime]) -> dict[str, g.Metrics]:
    """What evaluating many shops (a sweep's batch) reads, read for all of them at once: their rows
    (locked: lock_shops took the locks already), their measures, and their metrics at their last
    record, grouped by the window and figures their packs read. A few statements for a batch instead
    of a few per shop."""
    if len(last) < 2:
        return {}
    uow.shops.get_many(last, lock=True)
    uow.measures.of_shops(last)
    wanted: dict[tuple[timedelta, bool], dict[str, datetime]] = {}
    for shop_id, at in last.items():
        shop = uow.shops.get(shop_id)
        if shop is None:
            continue
        gov = ctx.policies.in_force(shop.policy, at).governance
        wanted.setdefault((gov.window.delta, bool(gov.metrics_read() & g.HANDLING)), {})[shop_id] = at
    out: dict[str, g.Metrics] = {}
    for (window, handling), ends_at in wanted.items():
        out.update(uow.metrics_at(ends_at, window, handling))
    return out


def evaluate_records(uow: SqlUnitOfWork, ctx: Context, shop_id: str, records: Sequence[tuple[datetime, str]],
                     at_last: g.Metrics | None = None) -> list[g.MeasureInstance]:
    """The records one transaction made for one shop (a sweep catching up may make dozens), each
    judged at its own time. Evaluating at every record would run the metric queries once per record;
    instead the metrics are checked at the last record, and where a rung is reached the earliest
    record that reaches it is found by bisection (along one batch the shop's record only grows), so
    each measure starts at the record that brought it. The shop is then evaluated at its last record.
    `at_last`, when given, is the metrics at the last record, read already. Returns the measures
    applied."""
    times = sorted(set(records))
    applied: list[g.MeasureInstance] = []
    # the metrics at the last record, when no rung is reached there (given: good until a measure starts)
    last = at_last if at_last is not None and times and at_last.end == times[-1][0] else None
    i = 0
    while i < len(times) - 1:
        reached, metrics = _reaches_rung(uow, ctx, shop_id, times[-1][0], last)
        if not reached:
            last = metrics
            break
        lo, hi = i, len(times) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if _reaches_rung(uow, ctx, shop_id, times[mid][0])[0]:
                hi = mid
            else:
                lo = mid + 1
        at, cause = times[lo]
        applied += evaluate(uow, ctx, shop_id, at, cause)
        last = None  # (what the measure did may change the figures after it)
        i = lo + 1
    if times and i < len(times):  # (i == len(times): just evaluated at the last record)
        at, cause = times[-1]
        applied += evaluate(uow, ctx, shop_id, at, cause, last)
    return applied


def _reaches_rung(uow: SqlUnitOfWork, ctx: Context, shop_id: str, at: datetime,
                  known: g.Metrics | None = None) -> tuple[bool, g.Metrics]:
    """Whether evaluating the shop at `at` would apply a measure (measures whose end has come by then
    counted as ended), without changing anything; and the metrics at `at` (`known`, if they are)."""
    shop = uow.shops.get(shop_id)
    if shop is None:
        raise not_found("shop", shop_id)
    gov = ctx.policies.in_force(shop.policy, at).governance
    history = [dataclasses.replace(m, status="ended", ended_at=m.ends_at, pending_events=[])
               if m.runs_out_by(at) else m
               for m in uow.measures.of_shop(shop_id)]
    handling = bool(gov.metrics_read() & g.HANDLING)
    metrics = known if known is not None and known.end == at and known.start == at - gov.window.delta \
        else uow.metrics(shop_id, at, gov.window.delta, handling)
    return bool(g.due_measures(metrics, gov, history)), metrics


def _settle_effects(uow: SqlUnitOfWork, ctx: Context, shop: Shop, pv: PolicyVersion,
                    history: Sequence[g.MeasureInstance], at: datetime, actor: str) -> None:
    """Keep the shop's flags equal to the effects of the measures in force; say when refund handling
    turns off or on (KS-GOV-4). When it turns off, the applications still waiting for the shop's
    review are approved and refunded at once, like those that arrive while it is off."""
    eff = g.effects(history)
    if eff.refund_handling == "disabled" and shop.refund_handling != "disabled":
        tk = t.tickets.c
        for ticket in uow.tickets.where(tk.shop_id == shop.id, tk.status == "pending_review", tk.created_at <= at,
                                        order_by=(tk.created_at, tk.id), lock=True):
            order = present(uow.orders.get(ticket.order_id, lock=True), f"order {ticket.order_id}")
            aftersales.refund_for_high_risk(ticket, order, ctx.policies.kept_by(ticket), at,
                                            pv.governance.refund_handling_rule)
    if eff.refund_handling != shop.refund_handling:
        rule = pv.governance.refund_handling_rule
        kind = "refund_handling_disabled" if eff.refund_handling == "disabled" else "refund_handling_enabled"
        shop.record(Event(kind, at, actor, shop_id=shop.id, rule=rule, payload={
            "refund_handling": eff.refund_handling,
            "message_zh": "店铺退款处理能力已关闭:新的售后申请将自动同意并退款" if eff.refund_handling == "disabled"
            else "店铺退款处理能力已恢复",
            "message_en": "refund handling disabled: every new application is approved and refunded at once"
            if eff.refund_handling == "disabled" else "refund handling enabled again"}))
    shop.refund_handling = eff.refund_handling
    shop.cart_suspended = eff.cart_suspended
    shop.freight_claims_by_platform = eff.freight_claims_by_platform
    shop.points = eff.points


def _charge(uow: SqlUnitOfWork, shop: Shop, pv: PolicyVersion, inst: g.MeasureInstance,
            at: datetime) -> dict[str, int]:
    """Liquidated damages (违约金): one balanced entry, from the wallet, then the deposit, and what they
    cannot cover is owed as debt (the refund waterfall's order, DY-OP-9). Returns fen per source."""
    books = Books(uow)
    sources = books.waterfall(shop.id, inst.amount_fen, pv.money.waterfall.value)
    charged: dict[str, int] = {}
    moves: list[tuple[str, int]] = []
    for source, account, fen in sources:
        name = "debt" if source == "advance" else source
        moves.append((L.debt(shop.id) if source == "advance" else account, -fen))
        charged[name] = charged.get(name, 0) + fen
    moves.append((g.PENALTY, inst.amount_fen))
    books.post(L.entry("liquidated_damages", at, moves, shop_id=shop.id, rule=inst.rule,
                       memo={"measure": inst.id, "sources": charged}))
    return charged


def evaluate_when_due(uow: SqlUnitOfWork, ctx: Context, shop_id: str) -> Fired | None:
    """The worker: the shop's governance deadline fell due (the daily evaluation, a measure's end).
    Evaluate at that time; measures that end then end first."""
    shop = uow.shops.get(shop_id, lock=True)
    if shop is None or shop.governance_due_at is None or shop.governance_due_at > ctx.now:
        return None
    evaluate(uow, ctx, shop_id, shop.governance_due_at, "daily_evaluation")
    return Fired((shop.governance_due_at,))
