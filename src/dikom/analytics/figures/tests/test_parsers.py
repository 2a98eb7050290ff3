"""Property tests of the month and number parsers: never a crash, never a silently wrong value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dikom.analytics.figures.parsing import CellError, parse_month, parse_number
from dikom.analytics.figures.rows import FigureRow, clean_row


def _german(value: Decimal, grouping: bool) -> str:
    integer, _, fraction = f"{value:f}".partition(".")
    if grouping:
        integer = f"{int(integer):,}".replace(",", ".")
    return integer + ("," + fraction if fraction else "")


def _english(value: Decimal, grouping: bool) -> str:
    integer, _, fraction = f"{value:f}".partition(".")
    if grouping:
        integer = f"{int(integer):,}"
    return integer + ("." + fraction if fraction else "")


numbers = st.decimals(min_value=0, max_value=Decimal("999999999999"), places=4, allow_nan=False).map(
    lambda d: d.normalize() if d == d.to_integral_value() else d
)


@given(numbers, st.booleans())
def test_german_notation_round_trips(value: Decimal, grouping: bool) -> None:
    value = Decimal(f"{value:f}")
    assert parse_number(_german(value, grouping), decimal_comma=True) == value


@given(numbers, st.booleans())
def test_english_notation_round_trips(value: Decimal, grouping: bool) -> None:
    value = Decimal(f"{value:f}")
    assert parse_number(_english(value, grouping), decimal_comma=False) == value


@given(st.text(max_size=30), st.booleans())
@settings(max_examples=300)
def test_number_parser_raises_only_cell_errors(text: str, decimal_comma: bool) -> None:
    try:
        result = parse_number(text, decimal_comma=decimal_comma)
    except CellError:
        return
    # Whatever was accepted consists of digits, one sign and separators only.
    assert result.is_finite()
    assert (
        set(text.strip()) <= set("0123456789.,+- '\u00a0\u202f\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029")
        or text.strip() == ""
    )


@given(st.integers(min_value=2000, max_value=2100), st.integers(min_value=1, max_value=12))
def test_month_formats_agree(year: int, month: int) -> None:
    expected = date(year, month, 1)
    for text in (f"{year}-{month:02d}", f"{year}-{month}", f"{month:02d}/{year}", f"{month}.{year}", expected):
        assert parse_month(text) == expected
    german = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ][month - 1]
    assert parse_month(f"{german} {year}") == expected


@given(st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.none(), st.dates()))
@settings(max_examples=300)
def test_month_parser_raises_only_cell_errors(raw: object) -> None:
    try:
        result = parse_month(raw)
    except CellError:
        return
    assert result.day == 1 and 2000 <= result.year <= 2100


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "month": st.one_of(st.text(max_size=12), st.sampled_from(["2025-01", "13/2025", "Mai 2025"])),
            "service": st.text(max_size=12),
            "leika": st.one_of(st.text(max_size=16), st.just("99050012104000")),
            "metric": st.sampled_from(["visits", "satisfaction_avg", "processing_time_days", "x", ""]),
            "value": st.one_of(st.text(max_size=10), st.integers(), st.floats(), st.decimals()),
            "count": st.one_of(st.none(), st.text(max_size=5), st.integers()),
        },
    ),
    st.booleans(),
)
@settings(max_examples=300)
def test_clean_row_returns_a_row_or_errors(cells: dict[str, object], decimal_comma: bool) -> None:
    result = clean_row(cells, decimal_comma=decimal_comma, today=date(2026, 1, 15))
    if isinstance(result, FigureRow):
        assert result.month <= date(2026, 1, 1)
        assert result.service_key or result.leika_key
        if result.metric == "satisfaction_avg":
            assert 1 <= result.value <= 5
        elif result.metric == "visits":
            assert result.value >= 0 and result.value == result.value.to_integral_value()
    else:
        assert result and all(isinstance(column, str) and message for column, message in result)
