"""The figures of one run, read back from its database after the play: the events table (what
happened to tickets and what the worker fired), the journal (refunds, debt), the clawbacks and
measures tables, and the governance report and balances views the API serves. Nothing is counted
on the side while playing; the report shows what the engine stored.

Days are counted from the run's start (day 0 is the first), bucketed in SQL so that a run of
millions of events is summed by the database, not loaded row by row."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, func, literal, select

from ..adapters import tables as t
from ..domain import ledger
from ..domain.actors import Actor
from ..domain.tickets import STATUSES
from ..services.app import Shouhou
from ..services.views import governance as governance_views

READER = Actor("platform", "sim-report", role="platform_operator")
# What the worker fires at a deadline (domain.timeouts, orders.fire, governance's daily evaluation),
# as event types; the rest of the system's events follow from them (a refund, an overdue record).
DEADLINE_TYPES = ("auto_approved", "auto_closed", "auto_refunded", "replacement_auto_confirmed", "reship_late",
                  "order_confirmed", "order_completed", "evidence_window_closed", "intervention_sla_missed",
                  "appeal_sla_missed", "measure_ended", "freight_refunded")
DAILY = ("order_created", "applied", "auto_approved", "overdue_recorded", "measure_applied", "intervention_requested",
         "ruled")


@dataclass
class Figures:
    pack: str
    days: int
    tickets_by_state: dict[str, list[int]]  # open tickets in each status at the end of each day
    actions: dict[str, list[int]]  # "RULE type" -> deadline actions fired per day
    refunds: list[int]  # refunds per day (journal entries of kind refund)
    refunded_fen: list[int]
    clawbacks: list[int]  # clawbacks created per day
    clawback_fen: list[int]
    debt_fen: list[int]  # what shops owe the platform at the end of each day (sum of debt lines)
    shops: list[dict[str, Any]]  # the governance report's rows at the end
    measures: dict[str, Counter[str]]  # shop -> measure -> times applied
    daily: dict[str, list[int]]  # events of the DAILY types per day
    totals: dict[str, int | float]
    events_by_type: Counter[str] = field(default_factory=Counter)


def day_of(column: Any, start: datetime, dialect: str) -> ColumnElement[Any]:
    """The day (0 = the run's first) of an instant column, in SQL."""
    if dialect == "sqlite":  # Instant is stored as naive UTC text
        origin = start.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return cast(func.julianday(column) - func.julianday(literal(origin)), Integer)
    return cast(func.floor(func.extract("epoch", column - literal(start)) / 86400), Integer)


def read(app: Shouhou, pack: str, start: datetime, days: int, end: datetime) -> Figures:
    with app.uow(write=False) as uow:
        conn, dialect = uow.conn, uow.dialect
        e = t.events.c
        day = day_of(e.at, start, dialect).label("day")

        # tickets by state: every status change is an event (from_status -> to_status)
        moves: dict[str, list[int]] = {s: [0] * days for s in STATUSES}
        rows = conn.execute(select(day, e.from_status, e.to_status, func.count()).where(
            e.ticket_id.is_not(None), e.to_status.is_not(None)).group_by(day, e.from_status, e.to_status))
        for d, frm, to, n in rows:
            d = _clip(d, days)
            if to in moves:
                moves[to][d] += n
            if frm in moves:
                moves[frm][d] -= n
        by_state = {s: _running(v) for s, v in moves.items() if any(v)}

        # deadline actions per day by rule
        actions: dict[str, list[int]] = defaultdict(lambda: [0] * days)
        for d, rule, typ, n in conn.execute(select(day, e.rule, e.type, func.count()).where(
                e.actor == "system", e.type.in_(DEADLINE_TYPES)).group_by(day, e.rule, e.type)):
            actions[f"{rule or '-'} {typ}"][_clip(d, days)] += n

        events_by_type = Counter({typ: n for typ, n in conn.execute(
            select(e.type, func.count()).group_by(e.type))})
        daily: dict[str, list[int]] = {typ: [0] * days for typ in DAILY}
        for d, typ, n in conn.execute(select(day, e.type, func.count()).where(e.type.in_(DAILY)).group_by(day, e.type)):
            daily[typ][_clip(d, days)] += n

        # refunds (journal entries of kind refund: their positive lines are what the buyer is owed)
        je, jl = t.journal_entries.c, t.journal_lines.c
        jday = day_of(je.at, start, dialect).label("day")
        refunds, refunded = [0] * days, [0] * days
        for d, n in conn.execute(select(jday, func.count()).where(je.kind == "refund").group_by(jday)):
            refunds[_clip(d, days)] += n
        for d, fen in conn.execute(select(jday, func.sum(jl.amount)).select_from(
                t.journal_lines.join(t.journal_entries, jl.entry_id == je.id)).where(
                je.kind == "refund", jl.amount > 0).group_by(jday)):
            refunded[_clip(d, days)] += int(fen or 0)
        debt_moves = [0] * days
        for d, fen in conn.execute(select(jday, func.sum(jl.amount)).select_from(
                t.journal_lines.join(t.journal_entries, jl.entry_id == je.id)).where(
                jl.account.like(ledger.debt("%"))).group_by(jday)):
            debt_moves[_clip(d, days)] -= int(fen or 0)  # a debt line is negative when the shop owes more
        debt = _running(debt_moves)

        cb = t.clawbacks.c
        cday = day_of(cb.created_at, start, dialect).label("day")
        claws, claw_fen = [0] * days, [0] * days
        for d, n, fen in conn.execute(select(cday, func.count(), func.sum(cb.amount_fen)).group_by(cday)):
            claws[_clip(d, days)] += n
            claw_fen[_clip(d, days)] += int(fen or 0)

        report = governance_views.report(uow, READER, app.policies, end, sort="shop", descending=False)
        measures: dict[str, Counter[str]] = defaultdict(Counter)
        for inst in uow.measures.where():
            measures[inst.shop_id][inst.measure] += 1

        o = t.orders.c
        orders = int(conn.execute(select(func.count()).select_from(t.orders)).scalar_one())
        orders_by_status = Counter({s: n for s, n in conn.execute(select(o.status, func.count()).group_by(o.status))})
        tickets = int(conn.execute(select(func.count()).select_from(t.tickets)).scalar_one())
        overdue = int(conn.execute(select(func.count()).select_from(t.overdue_records)).scalar_one())
        paid_out = int(conn.execute(select(func.coalesce(func.sum(t.payouts.c.amount_fen), 0)).where(
            t.payouts.c.status == "paid")).scalar_one())

    totals: dict[str, int | float] = {
        "orders": orders, "orders_completed": orders_by_status["completed"],
        "orders_closed": orders_by_status["closed"], "tickets": tickets,
        "auto_approved": events_by_type["auto_approved"], "auto_refunded": events_by_type["auto_refunded"],
        "auto_closed": events_by_type["auto_closed"], "overdue_records": overdue,
        "measures_applied": sum(sum(c.values()) for c in measures.values()),
        "shops_with_measures": len(measures),
        "interventions": events_by_type["intervention_requested"], "rulings": events_by_type["ruled"],
        "refunds": sum(refunds), "refunded_yuan": sum(refunded) / 100, "paid_out_yuan": paid_out / 100,
        "clawbacks": sum(claws), "clawback_yuan": sum(claw_fen) / 100,
        "debt_yuan_at_end": (debt[-1] if debt else 0) / 100,
        "deadline_actions": sum(sum(v) for v in actions.values()),
    }
    return Figures(pack=pack, days=days, tickets_by_state=by_state, actions=dict(actions), refunds=refunds,
                   refunded_fen=refunded, clawbacks=claws, clawback_fen=claw_fen, debt_fen=debt,
                   shops=list(report["rows"]), measures=dict(measures), daily=daily, totals=totals,
                   events_by_type=events_by_type)


def _clip(d: Any, days: int) -> int:
    """A day index inside the run (what happened at the very end falls on the last day)."""
    return min(max(int(d), 0), days - 1)


def _running(moves: list[int]) -> list[int]:
    out, total = [], 0
    for m in moves:
        total += m
        out.append(total)
    return out
