"""Run-time values: normalisation of record values, coercions and the comparison rules."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from formflow.expressions import ExpressionError
from formflow.expressions.values import (
    equal,
    normalize,
    number_text,
    order,
    parse_number,
    to_bool,
    to_number,
    to_text,
)

from .helpers import SHANGHAI, D, fails, run

UTC = datetime.UTC

# --- normalize -------------------------------------------------------------------------------


def test_ints_and_floats_from_records_become_decimals():
    assert normalize(3) == Decimal(3) and type(normalize(3)) is Decimal
    assert normalize(0.1) == Decimal("0.1")


def test_tuples_become_lists_and_their_items_are_normalized():
    assert normalize((1, "a", None)) == [Decimal(1), "a", None]


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), float("nan"), float("-inf")]
)
def test_non_finite_numbers_are_rejected(value):
    with pytest.raises(ExpressionError):
        normalize(value)


def test_numbers_beyond_the_exponent_range_are_rejected():
    with pytest.raises(ExpressionError):
        normalize(Decimal("1e10000"))
    with pytest.raises(ExpressionError):
        normalize(10**20000)


def test_tiny_numbers_underflow_to_zero():
    assert normalize(Decimal("1e-999999")) == 0


def test_unsupported_types_are_rejected_with_their_name():
    with pytest.raises(ExpressionError, match="object"):
        normalize(object())


def test_text_and_lists_over_the_size_bounds_are_rejected():
    with pytest.raises(ExpressionError, match="text longer"):
        normalize("x" * 65_537)
    with pytest.raises(ExpressionError, match="list longer"):
        normalize([1] * 10_001)


def test_lists_nest_at_most_two_levels():
    assert normalize([[1], [2, 3]]) == [[Decimal(1)], [Decimal(2), Decimal(3)]]
    with pytest.raises(ExpressionError, match="nested"):
        normalize([[[1]]])


def test_self_referencing_list_is_an_error_not_a_recursion_error():
    looped: list = []
    looped.append(looped)
    with pytest.raises(ExpressionError):
        normalize(looped)


def test_mappings_are_kept_for_dotted_access():
    location = {"lat": 1}
    assert normalize(location) is location


# --- conversions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "0"),
        ("", "0"),
        (True, "1"),
        (False, "0"),
        ("12", "12"),
        (" -1.5e3 ", "-1500"),
        ("1,234.50", "1234.50"),
        ("15%", "0.15"),
        (".5", "0.5"),
    ],
)
def test_to_number_follows_excel_coercions(value, expected):
    assert to_number(value) == Decimal(expected)


@pytest.mark.parametrize("value", ["abc", "1,2", "1e", "--1", "NaN", "inf", "1_000", " ", [1]])
def test_to_number_rejects_what_is_not_a_number(value):
    with pytest.raises(ExpressionError, match="#VALUE!"):
        to_number(value)


def test_to_number_rejects_dates():
    with pytest.raises(ExpressionError, match="date"):
        to_number(datetime.date(2024, 1, 1))


def test_parse_number_rejects_huge_exponents_as_out_of_range():
    with pytest.raises(ExpressionError, match="out of range"):
        parse_number("1e999999999")
    assert parse_number("1e9999999999") is None  # too many exponent digits: not a number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1E+3"), "1000"),
        (Decimal("1.50"), "1.5"),
        (Decimal("-0"), "0"),
        (Decimal("0.000"), "0"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("-12.340"), "-12.34"),
    ],
)
def test_numbers_print_plainly_without_exponent_or_trailing_zeros(value, expected):
    assert number_text(value) == expected


def test_to_text_of_each_kind():
    assert to_text(None, SHANGHAI) == ""
    assert to_text(True, SHANGHAI) == "TRUE"
    assert to_text(datetime.date(2024, 3, 1), SHANGHAI) == "2024-03-01"
    instant = datetime.datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
    assert to_text(instant, SHANGHAI) == "2024-03-01 10:00:00"
    with pytest.raises(ExpressionError):
        to_text([1], SHANGHAI)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (None, False), ("", False), (D(0), False), (D("0.1"), True), ("true", True)],
)
def test_to_bool_follows_excel(value, expected):
    assert to_bool(value) is expected


@pytest.mark.parametrize("value", ["yes", datetime.date(2024, 1, 1), [True]])
def test_to_bool_rejects_other_values(value):
    with pytest.raises(ExpressionError, match="logical"):
        to_bool(value)


# --- comparison ------------------------------------------------------------------------------


def test_text_equality_ignores_case():
    assert run('"a" = "A"') is True
    assert run('"Straße" = "STRASSE"') is True
    assert run('"a" <> "A"') is False


def test_text_ordering_ignores_case():
    assert run('"apple" < "Banana"') is True


def test_blank_equals_empty_text_and_zero():
    scope = {"x": None}
    assert run('x = ""', scope) is True
    assert run("x = 0", scope) is True
    assert run("x = FALSE", scope) is True
    assert run("x = 1", scope) is False
    assert run("x = x", scope) is True


def test_empty_list_equals_blank():
    assert run('tags = ""', {"tags": []}) is True


def test_number_and_text_are_never_equal():
    assert run('1 = "1"') is False
    assert run('1 <> "1"') is True


def test_ordering_number_against_text_is_an_error_at_the_operator():
    error = fails('price > "10"', {"price": D(5)})
    assert error.position == 6
    assert "cannot compare" in error.message


def test_logical_values_are_not_numbers_when_compared():
    assert run("TRUE = 1") is False
    assert run("FALSE < TRUE") is True


def test_blank_orders_as_the_zero_of_the_other_side():
    scope = {"x": None}
    assert run("x < 1", scope) is True
    assert run('x < "a"', scope) is True
    assert run("x >= 0", scope) is True


def test_blank_orders_before_every_date():
    scope = {"x": None, "d": datetime.date(2024, 1, 1)}
    assert run("x < d", scope) is True
    assert run("d > x", scope) is True


def test_dates_compare_with_dates_and_datetimes_in_the_context_zone():
    scope = {
        "day": datetime.date(2024, 3, 15),
        "morning": datetime.datetime(2024, 3, 15, 1, 0, tzinfo=UTC),  # 09:00 in Shanghai
    }
    assert run("morning > day", scope) is True
    assert run("day = DATE(2024, 3, 15)", scope) is True
    assert run("day = morning", scope) is False


def test_date_against_number_is_unequal_and_unordered():
    scope = {"day": datetime.date(2024, 3, 15)}
    assert run("day = 45366", scope) is False
    assert "cannot compare" in fails("day < 45366", scope).message


def test_lists_compare_element_by_element_for_equality_only():
    zone = SHANGHAI
    assert equal([D(1), "a"], [D(1), "A"], zone) is True
    assert equal([D(1)], [D(1), D(2)], zone) is False
    with pytest.raises(ExpressionError):
        order([D(1)], [D(1)], zone)


def test_comparisons_return_python_bools():
    assert run("2 > 1") is True
    assert run('"b" >= "a"') is True
    assert run("1 <> 1") is False
    assert run("1 != 2") is True
