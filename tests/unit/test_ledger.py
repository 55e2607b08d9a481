"""The ledger's pure parts (RULES §8, GEN-ORD-3, DY-OP-9, KS-FEE-1): balanced entries in integer fen,
settlement splits whose parts add up to the whole, half-up rounding, the refund waterfall
wallet -> deposit -> advance compensation, debt recovered first. No database. (Money at the edges,
yuan strings, is tests/unit/test_money_properties.py's.)"""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shouhou.clock import SHANGHAI
from shouhou.domain import ledger as L
from shouhou.policies import PolicyRegistry

AT = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
SCALE = 10_000  # rates have at most 4 decimals: a rate is k / SCALE


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, in integers only (both ≥ 0, denominator > 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def rate_text(k: int) -> str:
    return str(Decimal(k) / SCALE)


# -- Entry -----------------------------------------------------------------------------------------

def test_an_entry_refuses_lines_that_do_not_add_up_to_zero() -> None:
    with pytest.raises(L.UnbalancedEntry, match="add up to 1"):
        L.Entry("refund", AT, (L.Line("wallet:S1", -100), L.Line("payable:B1", 101)))
    with pytest.raises(L.UnbalancedEntry):
        L.Entry("refund", AT, (L.Line("wallet:S1", -100),))
    with pytest.raises(L.UnbalancedEntry, match="needs lines"):
        L.Entry("refund", AT, ())


@pytest.mark.parametrize("bad", [1.0, 0.5, Decimal("1"), "1", True, None])
def test_an_entry_refuses_amounts_that_are_not_integer_fen(bad: object) -> None:
    with pytest.raises(L.UnbalancedEntry, match="integer fen"):
        L.Entry("refund", AT, (L.Line("wallet:S1", bad), L.Line("payable:B1", 0)))  # type: ignore[arg-type]


def test_a_balanced_entry_is_accepted_and_keeps_its_lines() -> None:
    e = L.Entry("refund", AT, (L.Line("wallet:S1", -70), L.Line("deposit:S1", -30), L.Line("payable:B1", 100)),
                ticket_id="T1")
    assert sum(x.amount for x in e.lines) == 0
    assert [x.account for x in e.lines] == ["wallet:S1", "deposit:S1", "payable:B1"]


def test_entry_merges_moves_of_one_account_drops_zeros_and_is_none_when_nothing_moves() -> None:
    e = L.entry("x", AT, [("a", -5), ("b", 3), ("a", 0), ("b", 2), ("c", 0)])
    assert e is not None and e.lines == (L.Line("a", -5), L.Line("b", 5))
    assert L.entry("x", AT, [("a", 5), ("a", -5)]) is None
    assert L.entry("x", AT, []) is None
    with pytest.raises(L.UnbalancedEntry):
        L.entry("x", AT, [("a", -5), ("b", 4)])


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(-10**12, 10**12)), max_size=8))
def test_entry_is_balanced_whenever_it_is_built(moves: list[tuple[str, int]]) -> None:
    closing = [("z", -sum(v for _, v in moves))]
    e = L.entry("x", AT, [*moves, *closing])
    if e is None:
        assert all(v == 0 for v in _merged(moves + closing).values())
    else:
        assert sum(x.amount for x in e.lines) == 0
        assert all(x.amount != 0 for x in e.lines)
        assert len({x.account for x in e.lines}) == len(e.lines)
        assert {x.account: x.amount for x in e.lines} == {a: v for a, v in _merged(moves + closing).items() if v}


def _merged(moves: list[tuple[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for a, v in moves:
        out[a] = out.get(a, 0) + v
    return out


# -- part / pro_rata: half-up ----------------------------------------------------------------------

@pytest.mark.parametrize("amount, rate, expected", [
    (1, "0.5", 1),        # 0.5 fen rounds up
    (3, "0.5", 2),        # 1.5 -> 2
    (5, "0.1", 1),        # 0.5 -> 1
    (4, "0.1", 0),        # 0.4 -> 0
    (7, "0.5", 4),        # 3.5 -> 4
    (5, "0.5", 3),        # 2.5 -> 3 (banker's rounding would give 2)
    (19900, "0.05", 995),
    (1999, "0.0525", 105),  # 104.9475 -> 105
    (10, "0", 0),
])
def test_part_is_half_up(amount: int, rate: str, expected: int) -> None:
    assert L.part(amount, Decimal(rate)) == expected


@given(st.integers(0, 10**9), st.integers(0, SCALE - 1))
def test_part_matches_integer_half_up(amount: int, k: int) -> None:
    assert L.part(amount, L.rate(rate_text(k))) == half_up(amount * k, SCALE)


def test_rate_of_nothing_is_zero() -> None:
    assert L.rate(None) == 0 and L.rate("") == 0 and L.rate("0.0500") == Decimal("0.05")


@pytest.mark.parametrize("whole, share, of, expected", [
    (100, 1, 8, 13),      # 12.5 -> 13
    (100, 3, 8, 38),      # 37.5 -> 38
    (995, 1, 2, 498),     # 497.5 -> 498
    (1, 1, 2, 1),         # 0.5 -> 1
    (1, 1, 3, 0),
    (100, 8, 8, 100),
    (100, 0, 8, 0),
    (100, 5, 0, 0),       # nothing to divide by
    (100, 5, -1, 0),
])
def test_pro_rata_is_half_up(whole: int, share: int, of: int, expected: int) -> None:
    assert L.pro_rata(whole, share, of) == expected


@given(st.integers(0, 10**9), st.integers(1, 10**9), st.data())
def test_pro_rata_matches_integer_half_up_and_never_exceeds_the_whole(whole: int, of: int, data: st.DataObject) -> None:
    share = data.draw(st.integers(0, of))
    got = L.pro_rata(whole, share, of)
    assert got == half_up(whole * share, of)
    assert 0 <= got <= whole
    if share == of:
        assert got == whole


# -- split (GEN-ORD-3) -----------------------------------------------------------------------------

ROLES = (*L.PROMOTER_ROLES, "tech_fee")


@st.composite
def commissions(draw: st.DrawFn) -> dict[str, str]:
    """Up to four rates with at most 4 decimals, adding up to less than 1."""
    chosen = draw(st.lists(st.sampled_from(ROLES), unique=True, max_size=4))
    out: dict[str, str] = {}
    left = SCALE - 1
    for role in chosen:
        k = draw(st.integers(0, left))
        left -= k
        out[role] = rate_text(k)
    return out


def _room_for_rounding(amount: int, commission: dict[str, str]) -> bool:
    """Whether every cut rounded half-up on its own fits in `amount` (it does unless the amount is a
    few fen)."""
    return sum(half_up(amount * int(Decimal(r) * SCALE), SCALE) for r in commission.values()) <= amount


def _half_up_cut(amount: int, commission: dict[str, str], key: str) -> int:
    return half_up(amount * int(Decimal(commission.get(key, "0")) * SCALE), SCALE)


@given(st.integers(1, 10**9), commissions())
@example(1, {"creator": "0.5"})
@example(3, {"creator": "0.5", "tech_fee": "0.25"})
@example(5, {"creator": "0.3", "group_leader": "0.3", "tech_fee": "0.3"})
@example(10**9, {"creator": "0.9999"})
@example(19900, {"creator": "0.1", "tech_fee": "0.05"})
def test_split_parts_add_up_to_the_whole_with_half_up_cuts(amount: int, commission: dict[str, str]) -> None:
    cut = L.split(amount, commission)
    assert cut.total == amount
    assert cut.shop + sum(cut.promoters.values()) + cut.fee == amount
    assert cut.shop >= 0 and cut.fee >= 0 and all(v >= 0 for v in cut.promoters.values())
    for role in L.PROMOTER_ROLES:
        if not Decimal(commission.get(role, "0")):
            assert role not in cut.promoters  # no zero-rate promoter lines
    cuts = {**cut.promoters, "tech_fee": cut.fee}
    for key in ROLES:
        want = _half_up_cut(amount, commission, key)
        if _room_for_rounding(amount, commission):
            assert cuts.get(key, 0) == want, key  # each cut half-up, the shop takes the rounding
        else:
            assert cuts.get(key, 0) <= want, key  # a few fen: never more than the half-up cut


def test_split_examples() -> None:
    # the money_ks_over_period_waterfall scenario: 100.00 with 10 % creator and 5 % TR
    assert L.split(10_000, {"creator": "0.10", "tech_fee": "0.05"}) == L.Split(8_500, {"creator": 1_000}, 500)
    # 0.5 fen of TR rounds up, the shop takes the rounding
    assert L.split(1, {"tech_fee": "0.5"}) == L.Split(0, {}, 1)
    assert L.split(3, {"tech_fee": "0.5"}) == L.Split(1, {}, 2)
    assert L.split(199, {"creator": "0.1", "group_leader": "0.05", "affiliate": "0.0333", "tech_fee": "0.05"}) \
        == L.Split(199 - 20 - 10 - 7 - 10, {"creator": 20, "group_leader": 10, "affiliate": 7}, 10)
    assert L.split(12_345, {}) == L.Split(12_345, {}, 0)


@pytest.mark.parametrize("amount, commission", [
    (5, {"creator": "0.3", "group_leader": "0.3", "tech_fee": "0.3"}),       # 2 + 2 + 2 > 5 if uncapped
    (2, {"creator": "0.25", "group_leader": "0.25", "affiliate": "0.25", "tech_fee": "0.2"}),
    (3, {"creator": "0.5", "affiliate": "0.1667", "tech_fee": "0.1667"}),
])
def test_split_of_a_few_fen_never_fails_nor_takes_more_than_the_whole(amount: int, commission: dict[str, str]) -> None:
    """Rounding each cut up on its own could take more than a net of a few fen (after refunds): the
    cuts are capped, the shop's part is never negative, and settlement does not fail."""
    cut = L.split(amount, commission)
    assert cut.total == amount and cut.shop >= 0 and cut.fee >= 0


# -- waterfall (DY-OP-9, RULES §8) -----------------------------------------------------------------

AMOUNT = 1_000
# balances relative to a 10.00 refund: none, negative (never taken from), part, exactly all, more
BALANCES = [0, -50, 300, 999, AMOUNT, 5_000]


@pytest.mark.parametrize("wallet_balance, deposit_balance", list(itertools.product(BALANCES, BALANCES)))
def test_waterfall_wallet_then_deposit_then_advance(wallet_balance: int, deposit_balance: int) -> None:
    got = L.waterfall("S1", AMOUNT, wallet_balance, deposit_balance)
    from_wallet = min(max(wallet_balance, 0), AMOUNT)
    from_deposit = min(max(deposit_balance, 0), AMOUNT - from_wallet)
    advance = AMOUNT - from_wallet - from_deposit
    want = [("wallet", "wallet:S1", from_wallet), ("deposit", "deposit:S1", from_deposit),
            ("advance", L.ADVANCE, advance)]
    assert got == [w for w in want if w[2]]
    assert sum(v for *_, v in got) == AMOUNT


@given(st.integers(1, 10**9), st.integers(-10**9, 10**9), st.integers(-10**9, 10**9),
       st.permutations(["wallet", "deposit"]))
def test_waterfall_takes_each_source_in_order_never_more_than_it_holds(
        amount: int, wallet_balance: int, deposit_balance: int, first_two: list[str]) -> None:
    order = (*first_two, "advance")
    got = L.waterfall("S1", amount, wallet_balance, deposit_balance, order)
    held = {"wallet": max(wallet_balance, 0), "deposit": max(deposit_balance, 0)}
    assert sum(v for *_, v in got) == amount
    assert [s for s, *_ in got] == [s for s in order if s in {x for x, *_ in got}]  # the pack's order
    left = amount
    for source in order:
        take = next((v for s, _, v in got if s == source), 0)
        assert take > 0 or source not in {s for s, *_ in got}
        if source == "advance":
            assert take == left
        else:
            assert take == min(held[source], left)
        left -= take
    assert left == 0


@pytest.mark.parametrize("pack", ["kuaishou", "douyin"])
def test_waterfall_order_of_the_packs(pack: str) -> None:
    pv = PolicyRegistry.default().get(pack).at(AT)
    order = tuple(pv.money.waterfall.value)
    assert order == ("wallet", "deposit", "advance")
    assert pv.money.waterfall.rule == {"kuaishou": "GEN-OP-9", "douyin": "DY-OP-9"}[pack]  # GEN-OP-9: as DY-OP-9
    assert L.waterfall("S1", 12_000, 3_000, 5_000, order) == [
        ("wallet", "wallet:S1", 3_000), ("deposit", "deposit:S1", 5_000), ("advance", L.ADVANCE, 4_000)]


def test_waterfall_without_advance_refuses_a_shortfall() -> None:
    assert L.waterfall("S1", 100, 60, 40, ("wallet", "deposit")) == [
        ("wallet", "wallet:S1", 60), ("deposit", "deposit:S1", 40)]
    with pytest.raises(ValueError, match="advance"):
        L.waterfall("S1", 100, 60, 39, ("wallet", "deposit"))


def test_waterfall_of_nothing_takes_nothing() -> None:
    assert L.waterfall("S1", 0, 100, 100) == []


# -- recover_debt (RULES §8: debt first) -----------------------------------------------------------

@pytest.mark.parametrize("debt_balance, incoming, repay, rest", [
    (-4_000, 2_500, 2_500, 0),      # money_dy_advance_compensation: a top-up of 25.00 against 40.00
    (-1_500, 9_500, 1_500, 8_000),  # then 95.00 of settlement pays the last 15.00
    (-100, 100, 100, 0),
    (0, 100, 0, 100),
    (50, 100, 0, 100),              # no debt (a positive debt account is not owed)
    (-100, 0, 0, 0),
])
def test_recover_debt_examples(debt_balance: int, incoming: int, repay: int, rest: int) -> None:
    moves, left = L.recover_debt("S1", debt_balance, incoming)
    assert moves == ([("debt:S1", repay)] if repay else [])
    assert left == rest


@given(st.integers(-10**12, 10**12), st.integers(0, 10**12))
def test_recover_debt_takes_the_debt_first_and_never_more_than_owed(debt_balance: int, incoming: int) -> None:
    moves, left = L.recover_debt("S1", debt_balance, incoming)
    owed = max(-debt_balance, 0)
    repaid = sum(v for _, v in moves)
    assert all(a == "debt:S1" and v > 0 for a, v in moves)
    assert repaid == min(owed, incoming)
    assert repaid + left == incoming
    assert debt_balance + repaid <= max(debt_balance, 0)  # never past zero
    assert left == 0 or repaid == owed  # the shop keeps money only once the debt is paid


# -- accounts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("account, negative", [
    ("channel", True), ("opening", True), ("topup:S1", True), ("platform:advance", True), ("debt:S1", True),
    ("receivable:B1", True),  # DY-FAST-1: what a buyer owes back
    ("wallet:S1", False), ("deposit:S1", False), ("escrow:O1", False), ("payable:B1", False),
    ("promoter:creator:C1", False), ("platform:fee", False),
])
def test_only_clearing_accounts_and_debt_may_go_negative(account: str, negative: bool) -> None:
    assert L.may_go_negative(account) is negative
