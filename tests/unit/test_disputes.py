"""Platform intervention and the other ticket types, pure (RULES §5, §6): working-day deadlines on
the official calendar, evidence windows, rulings, appeals; exchange, repair, reship."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from shouhou.adapters.calendar import (
    CalendarFileError,
    OfficialCalendar,
    covers,
    is_workday,
    load_calendar_file,
)
from shouhou.clock import SHANGHAI
from shouhou.domain import aftersales, appeals, disputes
from shouhou.domain.actors import Actor
from shouhou.domain.orders import Order
from shouhou.domain.tickets import Ticket
from shouhou.domain.workdays import working_days_deadline
from shouhou.errors import Refusal

from .test_aftersales import BUYER, STAFF, make_order, open_ticket, policy

CS = Actor("platform", "cs", role="platform_cs")
H, D = timedelta(hours=1), timedelta(days=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# -- working days (RULES §0) ------------------------------------------------------------------------

def test_the_calendar_knows_2026() -> None:
    assert covers(date(2026, 10, 1))
    assert not is_workday(date(2026, 10, 1))  # National Day
    assert is_workday(date(2026, 10, 10))  # an adjusted working Saturday (调休)


@pytest.mark.parametrize(
    ("asked", "n", "deadline"),
    [
        ("2026-09-30T15:00", 2, "2026-10-10T00:00"),  # National Day: 10-08 and 10-09 are the 1st and 2nd
        ("2026-10-09T10:00", 2, "2026-10-13T00:00"),  # Saturday 10-10 is a working day, Sunday is not
        ("2026-10-09T10:00", 1, "2026-10-11T00:00"),
        ("2026-03-02T09:00", 2, "2026-03-05T00:00"),  # an ordinary Monday
        ("2026-03-06T23:59", 2, "2026-03-11T00:00"),  # Friday night: Monday and Tuesday
        ("2026-09-30T15:00", 5, "2026-10-14T00:00"),  # KS-PI-3: 10-08, 10-09, Sat 10-10 (调休), 10-12, 10-13
    ],
)
def test_working_days_deadline_is_the_end_of_the_nth_working_day_after_the_request(asked: str, n: int,
                                                                                  deadline: str) -> None:
    assert working_days_deadline(at(asked), n, is_workday) == at(deadline)


def test_working_days_fall_back_to_weekdays_less_the_fixed_date_holidays_where_the_calendar_has_no_data() -> None:
    far = date(2099, 3, 2)
    assert not covers(far)
    assert is_workday(far) and not is_workday(date(2099, 3, 7))
    # 元旦, 劳动节, 国庆节 fall on fixed dates whatever the year's schedule: a Friday 1 January is off
    assert date(2100, 1, 1).weekday() == 4 and not is_workday(date(2100, 1, 1))
    assert not is_workday(date(2099, 10, 2)) and is_workday(date(2099, 10, 5))


def test_a_calendar_file_gives_the_official_schedule_of_a_year_the_package_does_not_know(tmp_path: Path) -> None:
    f = tmp_path / "calendar.toml"
    f.write_text("[2099]\nholidays = [2099-03-02]\nworkdays = [2099-03-07]\n")
    days = OfficialCalendar(load_calendar_file(f))
    assert days.covers(date(2099, 3, 2)) and not days.is_workday(date(2099, 3, 2))  # a Monday off
    assert days.is_workday(date(2099, 3, 7))  # a working Saturday
    assert days.is_workday(date(2099, 1, 1)) is (date(2099, 1, 1).weekday() < 5)  # the file is the whole truth
    # a request on Friday 2099-02-27: Mon 03-02 is off, Tue 03-03 and Wed 03-04 are the two working days
    assert working_days_deadline(datetime(2099, 2, 27, 10, tzinfo=SHANGHAI), 2, days.is_workday) == \
        datetime(2099, 3, 5, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("text", "says"), [
    ("[2099]\nholidays = ['2099-03-02']\n", "list of dates"),
    ("[2099]\nholidays = [2098-03-02]\n", "another year"),
    ("[2099]\nholidays = [2099-03-02]\nworkdays = [2099-03-02]\n", "both a holiday and a working day"),
    ("[2099]\nferien = []\n", "unknown keys"),
    ("[next]\nholidays = []\n", "year table"),
    ("[2099\n", "calendar file"),
])
def test_a_bad_calendar_file_is_refused_naming_what_is_wrong(tmp_path: Path, text: str, says: str) -> None:
    f = tmp_path / "calendar.toml"
    f.write_text(text)
    with pytest.raises(CalendarFileError, match=says):
        load_calendar_file(f)


# -- intervention -----------------------------------------------------------------------------------

def rejected(pack: str = "kuaishou", when: datetime = at("2026-09-30T09:00")) -> tuple[Order, Ticket]:
    order = make_order(pack, now=when)
    ticket = open_ticket(order, when, type_="refund_only")
    aftersales.reject(ticket, order, STAFF, policy(pack, when), when + H, "no", [])
    return order, ticket


def case_for(order: Order, ticket: Ticket, when: datetime) -> disputes.Intervention:
    pv = policy(order.policy, when)
    opening = aftersales.request_intervention(ticket, order, BUYER, pv, when, "please")
    return disputes.open_case(ticket, pv, when, opening, "I1", is_workday)


def test_KS_PI_1_response_due_in_two_working_days_and_a_miss_is_only_recorded() -> None:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    assert (case.due_at, case.due_action, case.due_rule) == (at("2026-10-10T00:00"), "sla_miss", "KS-PI-1")
    pv = policy("kuaishou")
    disputes.fire(case, ticket, order, pv, case.due_at, None)
    assert case.sla_missed_at == at("2026-10-10T00:00") and ticket.status == "in_intervention"
    assert case.due_at is None
    disputes.respond(case, ticket, CS, pv, at("2026-10-10T09:00"))
    assert case.status == "coordinating"
    with pytest.raises(Refusal) as e:
        disputes.respond(case, ticket, CS, pv, at("2026-10-10T10:00"))
    assert e.value.code == "invalid_state"


def test_only_platform_staff_respond_and_rule() -> None:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    integration = Actor("platform", "order-sync", role="integration")  # the platform's systems judge nothing
    for actor in (STAFF, BUYER, integration):
        with pytest.raises(Refusal) as e:
            disputes.respond(case, ticket, actor, policy("kuaishou"), at("2026-10-08T10:00"))
        assert e.value.code == "forbidden"


def test_KS_PI_2_ruling_only_after_the_platform_responded_and_names_the_fault() -> None:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    pv = policy("kuaishou")
    with pytest.raises(Refusal) as e:
        disputes.rule(case, ticket, order, CS, pv, at("2026-10-08T10:00"), "buyer", None, None, None, None)
    assert e.value.code == "invalid_state" and "KS-PI-1" in e.value.rules
    disputes.respond(case, ticket, CS, pv, at("2026-10-08T10:00"))
    for bad in ({"in_favour_of": "nobody"}, {"in_favour_of": "buyer", "fault": "weather"},
                {"in_favour_of": "merchant", "remedy": "refund"}, {"in_favour_of": "buyer", "amount": 10**9}):
        with pytest.raises(Refusal) as e:
            disputes.rule(case, ticket, order, CS, pv, at("2026-10-08T11:00"), bad["in_favour_of"],  # type: ignore[arg-type]
                          bad.get("remedy"), bad.get("amount"), bad.get("fault"), None)  # type: ignore[arg-type]
        assert e.value.code == "invalid_input"
    disputes.rule(case, ticket, order, CS, pv, at("2026-10-08T11:00"), "buyer", "refund", 5000, None, None)
    assert ticket.status == "refunded" and ticket.refunded_fen == 5000 and order.refunded_fen == 5000
    assert (case.fault, case.effective_fault, case.ruling_rule) == ("shop", "shop", "KS-PI-2")
    ruled = [e for e in ticket.pending_events if e.type == "ruled"][0]
    assert ruled.rule == "KS-PI-2" and ruled.payload["against_shop"] is True


def test_a_ruling_for_the_buyer_with_return_and_refund_runs_the_return_flow() -> None:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    pv = policy("kuaishou")
    disputes.respond(case, ticket, CS, pv, at("2026-10-08T10:00"))
    disputes.rule(case, ticket, order, CS, pv, at("2026-10-08T11:00"), "buyer", "return_refund", None, None, "仓")
    assert ticket.type == "return_refund" and ticket.status == "awaiting_return"
    assert ticket.due_rule == "KS-RR-2" and ticket.return_address == "仓"


def test_a_return_and_refund_ruling_takes_its_amount_and_a_closing_one_none() -> None:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    pv = policy("kuaishou")
    disputes.respond(case, ticket, CS, pv, at("2026-10-08T10:00"))
    for remedy, amount in (("return_refund", 0), ("return_refund", ticket.amount_fen + 1), ("close", 100)):
        with pytest.raises(Refusal) as e:
            disputes.rule(case, ticket, order, CS, pv, at("2026-10-08T11:00"), "buyer" if remedy != "close" else
                          "merchant", remedy, amount, None, "仓")
        assert e.value.code == "invalid_input"
    disputes.rule(case, ticket, order, CS, pv, at("2026-10-08T11:00"), "buyer", "return_refund", 1000, None, "仓")
    assert (ticket.amount_fen, order.held_fen, ticket.status) == (1000, 1000, "awaiting_return")


def test_a_ruling_for_the_shop_closes_the_ticket() -> None:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    pv = policy("kuaishou")
    disputes.respond(case, ticket, CS, pv, at("2026-10-08T10:00"))
    disputes.rule(case, ticket, order, CS, pv, at("2026-10-08T11:00"), "merchant", None, None, None, None)
    assert ticket.status == "closed" and case.fault == "buyer" and order.open_ticket_id is None


def test_DY_PI_1_shop_silence_for_24h_loses_the_case() -> None:
    order, ticket = rejected("douyin", at("2026-03-02T09:00"))
    case = case_for(order, ticket, at("2026-03-02T12:00"))
    pv = policy("douyin")
    disputes.respond(case, ticket, CS, pv, at("2026-03-02T13:00"))
    disputes.request_evidence(case, ticket, CS, pv, at("2026-03-02T14:00"))
    assert case.shop_evidence_due_at == at("2026-03-03T14:00") and case.due_rule == "DY-PI-1"
    disputes.fire(case, ticket, order, pv, at("2026-03-03T14:00"), None)
    assert ticket.status == "refunded" and case.ruling_rule == "DY-PI-1" and case.ruled_by == "system"


def test_DY_PI_1_shop_evidence_in_time_keeps_the_case_open() -> None:
    order, ticket = rejected("douyin", at("2026-03-02T09:00"))
    case = case_for(order, ticket, at("2026-03-02T12:00"))
    pv = policy("douyin")
    disputes.respond(case, ticket, CS, pv, at("2026-03-02T13:00"))
    disputes.request_evidence(case, ticket, CS, pv, at("2026-03-02T14:00"))
    side = disputes.evidence_side(case, ticket, STAFF, pv, at("2026-03-03T13:59"), [("a.jpg", "image/jpeg", 10)])
    assert side == "shop"
    disputes.fire(case, ticket, order, pv, at("2026-03-03T14:00"), None)
    assert ticket.status == "in_intervention" and case.is_open
    with pytest.raises(Refusal) as e:
        disputes.evidence_side(case, ticket, STAFF, pv, at("2026-03-03T14:00"), [("b.jpg", "image/jpeg", 10)])
    assert e.value.code == "ineligible" and e.value.rules == ["DY-PI-1"]


def test_KS_PI_2_evidence_limits_are_pack_values() -> None:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    pv = policy("kuaishou")
    disputes.respond(case, ticket, CS, pv, at("2026-10-08T10:00"))
    with pytest.raises(Refusal):
        disputes.evidence_side(case, ticket, BUYER, pv, at("2026-10-08T10:30"), [("a.jpg", "image/jpeg", 1)])
    disputes.request_evidence(case, ticket, CS, pv, at("2026-10-08T11:00"))
    too_many = [(f"{i}.jpg", "image/jpeg", 1) for i in range(pv.intervention.evidence_max_items.value + 1)]
    for items in (too_many, [("a.exe", "application/x-msdownload", 10)],
                  [("big.mp4", "video/mp4", pv.intervention.evidence_max_bytes.value + 1)], []):
        with pytest.raises(Refusal) as e:
            disputes.evidence_side(case, ticket, BUYER, pv, at("2026-10-08T12:00"), items)
        assert e.value.code == "invalid_input"
    ok = [("max.mp4", "video/mp4", pv.intervention.evidence_max_bytes.value)]
    assert disputes.evidence_side(case, ticket, BUYER, pv, at("2026-10-08T12:00"), ok) == "buyer"
    with pytest.raises(Refusal) as e:
        disputes.evidence_side(case, ticket, Actor("buyer", "B9"), pv, at("2026-10-08T12:00"), ok)
    assert e.value.code == "forbidden"


# -- appeals (KS-PI-3) ------------------------------------------------------------------------------

def ruled_against_shop() -> tuple[Order, Ticket, disputes.Intervention]:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    pv = policy("kuaishou")
    disputes.respond(case, ticket, CS, pv, at("2026-10-08T10:00"))
    disputes.rule(case, ticket, order, CS, pv, at("2026-10-08T11:00"), "buyer", "refund", None, None, None)
    return order, ticket, case


def appeal(case: disputes.Intervention, ticket: Ticket, when: datetime, month: int = 0, year: int = 0,
           pending: bool = False) -> appeals.Appeal:
    return appeals.file_appeal(case, ticket, STAFF, policy("kuaishou"), when, "reason", month, year, pending, "A1",
                                is_workday)


@pytest.mark.parametrize(("after", "ok"), [(timedelta(hours=47, minutes=59), True), (timedelta(hours=48), False)])
def test_KS_PI_3_appeal_within_48h_of_the_refund(after: timedelta, ok: bool) -> None:
    _, ticket, case = ruled_against_shop()
    when = at("2026-10-08T11:00") + after
    if ok:
        a = appeal(case, ticket, when)
        assert a.answer_due_at == working_days_deadline(when, 5, is_workday) and a.due_rule == "KS-PI-3"
    else:
        with pytest.raises(Refusal) as e:
            appeal(case, ticket, when)
        assert e.value.code == "ineligible" and e.value.rules == ["KS-PI-3"]


@pytest.mark.parametrize(("month", "year", "ok"), [(2, 9, True), (3, 3, False), (0, 10, False)])
def test_KS_PI_3_three_failed_appeals_a_month_ten_a_year(month: int, year: int, ok: bool) -> None:
    _, ticket, case = ruled_against_shop()
    if ok:
        appeal(case, ticket, at("2026-10-08T12:00"), month, year)
    else:
        with pytest.raises(Refusal) as e:
            appeal(case, ticket, at("2026-10-08T12:00"), month, year)
        assert e.value.code == "limit_reached" and e.value.rules == ["KS-PI-3"]


def test_KS_PI_3_an_upheld_appeal_changes_the_fault_not_the_money() -> None:
    order, ticket, case = ruled_against_shop()
    a = appeal(case, ticket, at("2026-10-08T12:00"))
    with pytest.raises(Refusal):
        appeal(case, ticket, at("2026-10-08T12:30"), pending=True)
    with pytest.raises(Refusal) as e:
        appeals.decide_appeal(a, case, ticket, STAFF, policy("kuaishou"), at("2026-10-09T10:00"), True, "ok", None)
    assert e.value.code == "forbidden"
    appeals.decide_appeal(a, case, ticket, CS, policy("kuaishou"), at("2026-10-09T10:00"), True, "ok", "buyer")
    assert (a.status, case.fault, case.effective_fault) == ("upheld", "shop", "buyer")
    assert ticket.refunded_fen == order.amount_fen and ticket.status == "refunded"


def test_KS_PI_3_an_unanswered_appeal_is_a_recorded_miss() -> None:
    _, ticket, case = ruled_against_shop()
    a = appeal(case, ticket, at("2026-10-08T12:00"))
    assert a.due_at is not None
    appeals.fire_appeal(a, ticket, a.due_at)
    assert a.sla_missed_at == a.answer_due_at and a.status == "pending"
    assert [e.type for e in ticket.pending_events][-1] == "appeal_sla_missed"


def test_KS_PI_3_an_appeal_answered_late_records_the_miss_at_its_deadline() -> None:
    _, ticket, case = ruled_against_shop()
    a = appeal(case, ticket, at("2026-10-08T12:00"))
    due = a.answer_due_at
    appeals.decide_appeal(a, case, ticket, CS, policy("kuaishou"), due + 2 * D, False, "no", None)
    assert (a.status, a.sla_missed_at, a.due_at) == ("rejected", due, None)
    assert [(e.type, e.at) for e in ticket.pending_events][-2:] == [("appeal_sla_missed", due),
                                                                     ("appeal_rejected", due + 2 * D)]


def test_KS_PI_1_a_response_after_the_deadline_records_the_miss_the_worker_did_not() -> None:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    disputes.respond(case, ticket, CS, policy("kuaishou"), at("2026-10-12T09:00"))
    assert case.sla_missed_at == at("2026-10-10T00:00") and case.due_action != "sla_miss"
    order2, ticket2 = rejected()
    on_time = case_for(order2, ticket2, at("2026-09-30T15:00"))
    disputes.respond(on_time, ticket2, CS, policy("kuaishou"), at("2026-10-09T23:59"))
    assert on_time.sla_missed_at is None


def test_no_appeal_of_a_ruling_for_the_shop() -> None:
    order, ticket = rejected()
    case = case_for(order, ticket, at("2026-09-30T15:00"))
    pv = policy("kuaishou")
    disputes.respond(case, ticket, CS, pv, at("2026-10-08T10:00"))
    disputes.rule(case, ticket, order, CS, pv, at("2026-10-08T11:00"), "merchant", None, None, None, None)
    with pytest.raises(Refusal) as e:
        appeal(case, ticket, at("2026-10-08T12:00"))
    assert e.value.code == "invalid_state"


# -- exchange, repair, reship (RULES §5) ------------------------------------------------------------

@pytest.mark.parametrize(("pack", "days"), [("kuaishou", 10), ("douyin", 7)])
def test_GEN_EX_1_exchange_steps_and_their_deadlines(pack: str, days: int) -> None:
    t0 = at("2026-03-02T09:00")
    order = make_order(pack, now=t0)
    pv = policy(pack, t0)
    ticket = open_ticket(order, t0, type_="exchange")
    assert ticket.due_rule == "GEN-EX-1" and ticket.due_at == t0 + 48 * H
    aftersales.approve(ticket, order, STAFF, pv, t0 + H, "仓", None)
    assert ticket.due_at == t0 + H + days * D and ticket.due_action == "auto_close"
    aftersales.submit_waybill(ticket, order, BUYER, pv, t0 + 2 * H, None, "W1")
    assert ticket.due_at == t0 + 2 * H + days * D and ticket.due_action == "auto_refund"
    aftersales.confirm_return(ticket, order, STAFF, pv, t0 + 3 * H)
    assert ticket.status == "awaiting_replacement" and ticket.due_at == t0 + 75 * H
    aftersales.ship_replacement(ticket, order, STAFF, pv, t0 + 4 * H, "SF", "S1")
    assert ticket.status == "replacement_shipped" and ticket.due_action == "auto_confirm_replacement"
    aftersales.confirm_replacement(ticket, order, BUYER, pv, t0 + 5 * H)
    assert ticket.status == "completed" and ticket.refunded_fen == 0 and order.open_ticket_id is None


def test_GEN_EX_1_replacement_not_shipped_in_72h_turns_into_a_refund() -> None:
    t0 = at("2026-03-02T09:00")
    order = make_order(now=t0)
    pv = policy("kuaishou", t0)
    ticket = open_ticket(order, t0, type_="repair")
    aftersales.approve(ticket, order, STAFF, pv, t0, "仓", None)
    aftersales.submit_waybill(ticket, order, BUYER, pv, t0, None, None)
    aftersales.confirm_return(ticket, order, STAFF, pv, t0)
    with pytest.raises(Refusal):
        aftersales.ship_replacement(ticket, order, STAFF, pv, t0 + 72 * H, None, None)
    aftersales.fire(ticket, order, pv, t0 + 72 * H, None)
    assert ticket.status == "refunded" and ticket.refunded_fen == order.amount_fen


def test_GEN_EX_3_reship_needs_a_lost_or_damaged_parcel_and_ships_within_48h() -> None:
    t0 = at("2026-03-02T09:00")
    order = make_order(now=t0)
    pv = policy("kuaishou", t0)
    with pytest.raises(Refusal) as e:
        open_ticket(order, t0, type_="reship", reason="quality")
    assert "GEN-APPLY-6" in e.value.rules
    ticket = open_ticket(order, t0, type_="reship", reason="logistics_damaged")
    assert ticket.due_rule == "GEN-EX-3"
    aftersales.fire(ticket, order, pv, t0 + 48 * H, None)
    assert ticket.status == "awaiting_replacement" and ticket.due_at == t0 + 96 * H and ticket.due_rule == "GEN-EX-3"
    overdue = [e for e in ticket.pending_events if e.type == "overdue_recorded"]
    assert overdue[0].payload["overdue_type"] == "reship_overdue"


def test_GEN_EX_2_refund_instead_before_the_replacement_ships_only() -> None:
    t0 = at("2026-03-02T09:00")
    order = make_order(now=t0)
    pv = policy("kuaishou", t0)
    ret = open_ticket(order, t0, type_="return_refund")
    with pytest.raises(Refusal) as e:
        aftersales.refund_instead(ret, order, STAFF, pv, t0)
    assert e.value.rules == ["GEN-EX-2"]
    aftersales.cancel(ret, order, BUYER, pv, t0)
    ex = open_ticket(order, t0, type_="exchange", tid="T2")
    aftersales.refund_instead(ex, order, STAFF, pv, t0 + H)
    assert ex.status == "refunded" and order.status == "closed"


def test_a_stalled_exchange_can_go_to_the_platform() -> None:
    t0 = at("2026-03-02T09:00")
    order = make_order(now=t0)
    pv = policy("kuaishou", t0)
    ticket = open_ticket(order, t0, type_="exchange")
    aftersales.approve(ticket, order, STAFF, pv, t0, "仓", None)
    aftersales.submit_waybill(ticket, order, BUYER, pv, t0, None, None)
    aftersales.confirm_return(ticket, order, STAFF, pv, t0)
    opening = aftersales.request_intervention(ticket, order, BUYER, pv, t0 + H, "slow")
    assert opening.cause == "stalled_exchange" and ticket.status == "in_intervention" and ticket.due_at is None
    case = disputes.open_case(ticket, pv, t0 + H, opening, "I1", is_workday)
    disputes.respond(case, ticket, CS, pv, t0 + 2 * H)
    disputes.rule(case, ticket, order, CS, pv, t0 + 3 * H, "merchant", None, None, None, None)
    assert ticket.status == "closed"
