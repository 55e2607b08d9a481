"""Money at the edges (RULES §8: integer fen inside, a decimal string in yuan outside): format and
parse are inverse, and parse refuses anything that is not a plain decimal with at most two places."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shouhou.money import MoneyFormatError, format_yuan, parse_yuan

MAX_FEN = 10**15 - 1  # 13 digits of yuan and 2 of fen: the most parse_yuan reads
FEN = st.integers(-MAX_FEN, MAX_FEN)
ASCII_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=13)
# What a yuan amount looks like, in ASCII: the oracle for the garbage test.
PLAIN = re.compile(r"-?[0-9]{1,13}(\.[0-9]{1,2})?")


@given(FEN)
@example(0)
@example(1)
@example(-1)
@example(99)
@example(MAX_FEN)
def test_parse_reads_back_what_format_wrote(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen


@given(FEN)
def test_format_writes_exactly_two_decimals(fen: int) -> None:
    text = format_yuan(fen)
    assert PLAIN.fullmatch(text) and text.split(".")[1].isdigit() and len(text.split(".")[1]) == 2


@given(ASCII_DIGITS, st.text(alphabet="0123456789", max_size=2))
def test_parse_reads_up_to_two_decimals_as_fen(yuan: str, frac: str) -> None:
    text = f"{yuan}.{frac}" if frac else yuan
    assert parse_yuan(text) == int(yuan) * 100 + int(frac.ljust(2, "0"))


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_parse_refuses_floats(value: float) -> None:
    with pytest.raises(MoneyFormatError):
        parse_yuan(value)


@given(ASCII_DIGITS, st.text(alphabet="0123456789", min_size=3, max_size=8))
def test_parse_refuses_more_than_two_decimals(yuan: str, frac: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_yuan(f"{yuan}.{frac}")


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=20))
@example("")
@example(".5")
@example("5.")
@example("1,000.00")
@example("1e3")
@example("¥99")
@example("99.00元")
@example("+5")
@example("--5")
@example("12345678901234")
@example("NaN")
@example("0x10")
def test_parse_refuses_garbage(text: str) -> None:
    if PLAIN.fullmatch(text.strip()):
        assert parse_yuan(text) >= -MAX_FEN
    else:
        with pytest.raises(MoneyFormatError):
            parse_yuan(text)


@pytest.mark.parametrize("value", [None, True, False])
def test_parse_refuses_missing_and_booleans(value: object) -> None:
    with pytest.raises(MoneyFormatError):
        parse_yuan(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["１００.００", "٣٠", "१०"], ids=["fullwidth", "arabic-indic", "devanagari"])
def test_parse_refuses_digits_outside_ascii(text: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_yuan(text)
