"""Operators: Decimal arithmetic, coercion, date arithmetic, ``&``, ``%`` and their errors."""

from __future__ import annotations

import datetime
import decimal
from decimal import Decimal

import pytest

from .helpers import SHANGHAI, D, fails, run

UTC = datetime.UTC

# --- arithmetic ------------------------------------------------------------------------------


def test_decimal_arithmetic_is_exact():
    assert run("0.1 + 0.2") == D("0.3")
    assert run("0.1 + 0.2 = 0.3") is True
    assert run("1.10 * 3") == D("3.30")


def test_division_keeps_34_significant_digits():
    assert run("1 / 3") == D("0.3333333333333333333333333333333333")
    assert run("2 / 3") == D("0.6666666666666666666666666666666667")


def test_results_are_decimals_never_floats():
    for source in ["1 + 1", "7 / 2", "2 ^ 0.5", "-3", "50%"]:
        assert type(run(source)) is Decimal


def test_blank_is_zero_in_arithmetic():
    assert run("x + 1", {"x": None}) == 1
    assert run("x * 5", {"x": None}) == 0


def test_logical_values_are_one_and_zero_in_arithmetic():
    assert run("TRUE + TRUE + FALSE") == 2


def test_numeric_text_converts_in_arithmetic():
    assert run('"3" * "4"') == 12
    assert run('" 1.5 " + 1') == D("2.5")
    assert run('"" + 1') == 1


def test_non_numeric_text_in_arithmetic_is_a_value_error_at_the_operator():
    error = fails('price * "abc"', {"price": D(2)})
    assert error.message.startswith("#VALUE!")
    assert "expected a number" in error.message
    assert error.position == 6


def test_error_in_a_long_chain_points_at_the_failing_operator():
    error = fails('1 + 2 + "x" + 4')
    assert error.position == 6


def test_division_by_zero_reports_the_operators_position():
    error = fails("total / count", {"total": D(10), "count": D(0)})
    assert "division by zero" in error.message
    assert error.position == 6
    assert error.column == 7


def test_division_by_blank_is_division_by_zero():
    assert "division by zero" in fails("1 / x", {"x": None}).message


def test_zero_divided_by_zero_is_division_by_zero():
    assert "division by zero" in fails("0 / 0").message


def test_overflow_is_an_error_not_infinity():
    error = fails("1e9000 * 1e9000")
    assert "#NUM!" in error.message
    assert error.position == 7


def test_underflow_rounds_to_zero():
    assert run("1e-9000 * 1e-9000") == 0


def test_negative_zero_is_returned_as_zero():
    value = run("-0")
    assert value == 0 and not value.is_signed()
    assert not run("0 * -1").is_signed()


def test_global_decimal_context_is_never_used_or_changed():
    before = decimal.getcontext().copy()
    with decimal.localcontext() as hostile:
        hostile.clear_flags()
        hostile.prec = 3
        hostile.traps[decimal.Inexact] = True
        hostile.traps[decimal.Rounded] = True
        assert run("1 / 3 + 100000.5") == D("100000.8333333333333333333333333333")
        assert run('ROUND(2.345, 2) & TEXT(1234.5678, "#,##0.00")') == "2.351,234.57"
        assert run("ABS(-1234567.891) + SQRT(2) * 0") == D("1234567.891")
        assert not any(hostile.flags.values())
    assert decimal.getcontext().prec == before.prec
    assert decimal.getcontext().traps == before.traps


# --- power -----------------------------------------------------------------------------------


def test_power_with_integer_and_fractional_exponents():
    assert run("2 ^ 10") == 1024
    assert run("2 ^ -1") == D("0.5")
    assert run("4 ^ 0.5") == 2
    assert run("(-2) ^ 3") == -8


@pytest.mark.parametrize("source", ["2 ^ 1025", "2 ^ -1025", "POWER(1.0001, 100000)"])
def test_exponent_beyond_1024_is_rejected(source):
    assert "exponent" in fails(source).message


def test_power_beyond_the_exponent_range_fails_fast():
    assert "#NUM!" in fails("10 ^ 1024 ^ 10").message
    assert "#NUM!" in fails("9.99e9000 ^ 2").message


def test_zero_to_the_zero_is_undefined():
    assert "#NUM!" in fails("0 ^ 0").message


def test_zero_to_a_negative_power_is_division_by_zero():
    assert "division by zero" in fails("0 ^ -1").message


def test_negative_base_with_fractional_exponent_is_num_error():
    assert "#NUM!" in fails("(-8) ^ 0.5").message


# --- percent and unary -----------------------------------------------------------------------


def test_percent_divides_by_exactly_100():
    assert run("12.5%") == D("0.125")
    assert run("x%", {"x": D(3)}) == D("0.03")


def test_unary_minus_requires_a_number():
    error = fails('-"abc"')
    assert error.position == 0


def test_unary_minus_of_blank_is_zero():
    assert run("-x", {"x": None}) == 0


# --- concatenation ---------------------------------------------------------------------------


def test_concatenation_turns_values_into_text():
    scope = {"blank": None, "n": D("1E+3"), "d": datetime.date(2024, 3, 1)}
    assert run('"[" & blank & "]"', scope) == "[]"
    assert run('n & ""', scope) == "1000"
    assert run('"due " & d', scope) == "due 2024-03-01"
    assert run('TRUE & ""') == "TRUE"
    assert run('1.50 & "x"') == "1.5x"


def test_concatenating_a_datetime_uses_the_context_zone():
    scope = {"at": datetime.datetime(2024, 3, 1, 0, 30, tzinfo=UTC)}
    assert run('at & ""', scope) == "2024-03-01 08:30:00"


def test_concatenating_a_list_is_an_error():
    assert "#VALUE!" in fails('tags & ""', {"tags": ["a"]}).message


def test_concatenation_beyond_65536_characters_is_rejected():
    error = fails('REPT("ab", 30000) & REPT("cd", 3000)')
    assert "text longer than 65536" in error.message


# --- date arithmetic -------------------------------------------------------------------------


def test_date_plus_days_is_a_date():
    assert run("d + 30", {"d": datetime.date(2024, 1, 31)}) == datetime.date(2024, 3, 1)
    assert run("30 + d", {"d": datetime.date(2024, 1, 31)}) == datetime.date(2024, 3, 1)
    assert run("d - 1", {"d": datetime.date(2024, 3, 1)}) == datetime.date(2024, 2, 29)


def test_date_plus_fractional_days_moves_by_whole_days_floored():
    scope = {"d": datetime.date(2024, 3, 1)}
    assert run("d + 1.9", scope) == datetime.date(2024, 3, 2)
    assert run("d - 0.5", scope) == datetime.date(2024, 2, 29)


def test_datetime_plus_fractional_days_keeps_the_time():
    start = datetime.datetime(2024, 3, 1, 8, 0, tzinfo=SHANGHAI)
    assert run("t + 0.5", {"t": start}) == datetime.datetime(2024, 3, 1, 20, 0, tzinfo=SHANGHAI)


def test_date_minus_date_is_a_number_of_days():
    scope = {"a": datetime.date(2024, 3, 1), "b": datetime.date(2024, 2, 1)}
    assert run("a - b", scope) == 29
    assert run("b - a", scope) == -29


def test_datetime_minus_datetime_is_fractional_days():
    scope = {
        "a": datetime.datetime(2024, 3, 2, 6, 0, tzinfo=UTC),
        "b": datetime.datetime(2024, 3, 1, 0, 0, tzinfo=UTC),
    }
    assert run("a - b", scope) == D("1.25")


def test_datetime_minus_date_uses_midnight_in_the_context_zone():
    scope = {
        "a": datetime.datetime(2024, 3, 1, 12, 0, tzinfo=SHANGHAI),
        "d": datetime.date(2024, 3, 1),
    }
    assert run("a - d", scope) == D("0.5")


def test_naive_datetimes_are_read_in_the_context_zone():
    scope = {"a": datetime.datetime(2024, 3, 1, 12, 0), "d": datetime.date(2024, 3, 1)}
    assert run("a - d", scope) == D("0.5")


def test_adding_two_dates_is_an_error():
    scope = {"a": datetime.date(2024, 3, 1)}
    assert "two dates" in fails("a + a", scope).message


def test_number_minus_date_is_an_error():
    assert "#VALUE!" in fails("1 - a", {"a": datetime.date(2024, 3, 1)}).message


def test_multiplying_a_date_is_an_error():
    assert "#VALUE!" in fails("a * 2", {"a": datetime.date(2024, 3, 1)}).message


def test_date_shifted_out_of_range_is_an_error():
    scope = {"a": datetime.date(9999, 12, 31), "b": datetime.date(1, 1, 1)}
    assert "out of range" in fails("a + 1", scope).message
    assert "out of range" in fails("b - 1", scope).message
    assert "out of range" in fails("a + 1e30", scope).message
