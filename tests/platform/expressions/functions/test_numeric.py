"""Math functions: aggregates over lists, rounding, MOD, POWER, SQRT, CEILING, FLOOR…"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from ..helpers import SHANGHAI, D, fails, run

LINES = {
    "lines": [
        {"price": D("10.50"), "qty": D(2), "name": "pen"},
        {"price": D("3"), "qty": None, "name": "ink"},
        {"price": None, "qty": D(5), "name": ""},
    ]
}

# --- aggregates ------------------------------------------------------------------------------


def test_sum_of_values_and_subform_columns():
    assert run("SUM(1, 2, 3)") == 6
    assert run("SUM(lines.price)", LINES) == D("13.50")
    assert run("SUM(lines.price, 1)", LINES) == D("14.50")


def test_sum_converts_direct_arguments_but_skips_text_in_lists():
    assert run('SUM("3", TRUE, 1)') == 5
    assert run("SUM(xs)", {"xs": [D(1), "2", True, None, D(3)]}) == 4
    assert "#VALUE!" in fails('SUM("abc")').message


def test_sum_of_an_empty_list_is_zero():
    assert run("SUM(xs)", {"xs": []}) == 0


def test_sum_flattens_only_one_level():
    assert run("SUM(xs)", {"xs": [[D(1), D(2)], D(3)]}) == 3


def test_average_skips_blanks_in_lists():
    assert run("AVERAGE(lines.qty)", LINES) == D("3.5")
    assert run("AVERAGE(1, 2)") == D("1.5")


def test_average_of_nothing_is_div0():
    assert "#DIV/0!" in fails("AVERAGE(xs)", {"xs": [None, ""]}).message


def test_min_and_max():
    assert run("MIN(3, 1, 2)") == 1
    assert run("MAX(lines.price)", LINES) == D("10.50")
    assert run("MIN(lines.price)", LINES) == 3
    assert run("MAX(xs)", {"xs": []}) == 0


def test_min_and_max_work_on_dates():
    scope = {"days": [datetime.date(2024, 3, 1), None, datetime.date(2024, 1, 5)]}
    assert run("MAX(days)", scope) == datetime.date(2024, 3, 1)
    assert run("MIN(days)", scope) == datetime.date(2024, 1, 5)


def test_min_of_mixed_dates_and_datetimes_compares_instants():
    late = datetime.datetime(2024, 1, 5, 9, 0, tzinfo=SHANGHAI)
    scope = {"days": [late, datetime.date(2024, 1, 5)]}
    assert run("MIN(days)", scope) == datetime.date(2024, 1, 5)
    assert run("MAX(days)", scope) == late


def test_min_of_numbers_and_dates_is_an_error():
    assert "#VALUE!" in fails("MIN(1, d)", {"d": datetime.date(2024, 1, 1)}).message


def test_count_counts_numbers_and_dates():
    scope = {"xs": [D(1), "2", None, True, datetime.date(2024, 1, 1)]}
    assert run("COUNT(xs)", scope) == 2
    assert run('COUNT(1, "2", "x", TRUE)') == 3
    assert run('COUNT("0")') == 1


def test_counta_counts_non_empty_values_and_subform_rows():
    assert run("COUNTA(lines.name)", LINES) == 2
    assert run("COUNTA(lines)", LINES) == 3
    assert run("COUNTA(xs)", {"xs": [None, "", [], 0, False]}) == 2


def test_sumproduct_multiplies_columns():
    assert run("SUMPRODUCT(lines.price, lines.qty)", LINES) == 21
    assert run("SUMPRODUCT(2, 3)") == 6


def test_sumproduct_lists_must_have_the_same_length():
    scope = {"a": [D(1), D(2)], "b": [D(1)]}
    assert "same length" in fails("SUMPRODUCT(a, b)", scope).message


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ('">5"', 2),
        ('">=5"', 3),
        ('"<5"', 1),
        ('"<=5"', 2),
        ('"=5"', 1),
        ('"<>5"', 7),
        ("5", 1),
        ('"5"', 1),
        ('"apple"', 2),
        ('"APP*"', 2),
        ('"?ear"', 1),
        ('"<>apple"', 6),
        ('""', 1),
        ('"<>"', 7),
        ("TRUE", 0),
        ('"*"', 3),
    ],
)
def test_countif_criteria(criteria, expected):
    scope = {"xs": [D(1), D(5), D(7), D(9), "apple", "Apple", "pear", None]}
    assert run(f"COUNTIF(xs, {criteria})", scope) == expected


def test_countif_with_date_criteria():
    scope = {"days": [datetime.date(2024, 1, 1), datetime.date(2024, 6, 1), None]}
    assert run('COUNTIF(days, ">=2024-03-01")', scope) == 1


def test_countif_wildcards_can_be_escaped():
    scope = {"xs": ["a*b", "axb"]}
    assert run('COUNTIF(xs, "a~*b")', scope) == 1
    assert run('COUNTIF(xs, "a*b")', scope) == 2


def test_countif_of_blank_criteria_counts_blanks():
    assert run("COUNTIF(xs, y)", {"xs": [None, "", D(0)], "y": None}) == 2


def test_countif_rejects_very_long_wildcard_patterns():
    assert "255" in fails('COUNTIF(xs, REPT("a", 300) & "*")', {"xs": ["a"]}).message


# --- rounding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("ROUND(2.5)", "3"),
        ("ROUND(-2.5)", "-3"),
        ("ROUND(0.5)", "1"),
        ("ROUND(1.5)", "2"),
        ("ROUND(2.345, 2)", "2.35"),
        ("ROUND(-2.345, 2)", "-2.35"),
        ("ROUND(1234.5, -2)", "1200"),
        ("ROUND(1250, -2)", "1300"),
        ("ROUND(-1250, -2)", "-1300"),
        ("ROUND(499, -3)", "0"),
        ("ROUND(1.2, 5)", "1.2"),
        ("ROUND(1.23456, 2.9)", "1.23"),
        ("ROUND(5, -100000)", "0"),
        ("ROUNDUP(1.21, 1)", "1.3"),
        ("ROUNDUP(-1.21, 1)", "-1.3"),
        ("ROUNDUP(1, -3)", "1000"),
        ("ROUNDDOWN(1.29, 1)", "1.2"),
        ("ROUNDDOWN(-1.29, 1)", "-1.2"),
        ("TRUNC(8.9)", "8"),
        ("TRUNC(-8.9)", "-8"),
        ("TRUNC(3.14159, 3)", "3.141"),
        ("INT(8.9)", "8"),
        ("INT(-8.9)", "-9"),
        ("INT(-0.5)", "-1"),
    ],
)
def test_rounding_functions(source, expected):
    assert run(source) == Decimal(expected)


def test_round_with_negative_digits_returns_a_plain_integer():
    assert str(run("ROUND(1234.5, -2)")) == "1200"


def test_round_of_huge_numbers_keeps_them():
    assert run("ROUND(1e9000, 2)") == Decimal("1e9000")
    assert run("ROUNDUP(5, -9999)") == Decimal("1e9999")


def test_rounding_half_away_from_zero_not_bankers():
    assert [run(f"ROUND({n})") for n in ("0.5", "1.5", "2.5", "3.5")] == [1, 2, 3, 4]


# --- arithmetic functions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("MOD(3, 2)", "1"),
        ("MOD(-3, 2)", "1"),
        ("MOD(3, -2)", "-1"),
        ("MOD(-3, -2)", "-1"),
        ("MOD(4, 2)", "0"),
        ("MOD(5.5, 2)", "1.5"),
        ("ABS(-3.5)", "3.5"),
        ("SIGN(-0.1)", "-1"),
        ("SIGN(0)", "0"),
        ("SIGN(7)", "1"),
        ("POWER(2, 8)", "256"),
        ("SQRT(16)", "4"),
        ("SQRT(2)", "1.414213562373095048801688724209698"),
        ("CEILING(2.5)", "3"),
        ("CEILING(2.5, 2)", "4"),
        ("CEILING(-2.5, 2)", "-2"),
        ("CEILING(-2.5, -2)", "-4"),
        ("CEILING(4.42, 0.05)", "4.45"),
        ("CEILING(5, 0)", "0"),
        ("FLOOR(2.5)", "2"),
        ("FLOOR(2.5, 2)", "2"),
        ("FLOOR(-2.5, 2)", "-4"),
        ("FLOOR(-2.5, -2)", "-2"),
        ("FLOOR(4.42, 0.05)", "4.4"),
    ],
)
def test_math_functions(source, expected):
    assert run(source) == Decimal(expected)


def test_mod_by_zero_is_div0():
    assert "#DIV/0!" in fails("MOD(1, 0)").message


def test_mod_with_a_huge_quotient_is_num_error():
    assert "#NUM!" in fails("MOD(1e100, 3)").message


def test_sqrt_of_a_negative_number_is_num_error():
    error = fails("1 + SQRT(-1)")
    assert "#NUM!" in error.message
    assert error.position == 4


def test_ceiling_and_floor_of_positive_number_with_negative_significance_are_errors():
    assert "#NUM!" in fails("CEILING(2.5, -2)").message
    assert "#NUM!" in fails("FLOOR(2.5, -2)").message


def test_floor_with_zero_significance_is_div0():
    assert "#DIV/0!" in fails("FLOOR(2.5, 0)").message
