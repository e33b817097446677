"""The grammar and parser: precedence, literals, names, and syntax errors with positions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from formflow.expressions import ExpressionError, compile_expression
from formflow.expressions.nodes import Boolean, Call, Chain, Name, Number, Text, Unary
from formflow.expressions.parser import parse

from .helpers import D, fails, run

# --- precedence ------------------------------------------------------------------------------


def test_negation_binds_tighter_than_power():
    assert run("-2^2") == 4
    assert run("0-2^2") == -4


def test_power_is_left_associative_as_in_excel():
    assert run("2^3^2") == 64


def test_multiplication_binds_tighter_than_addition():
    assert run("1 + 2 * 3") == 7
    assert run("(1 + 2) * 3") == 9


def test_subtraction_and_division_are_left_associative():
    assert run("10 - 4 - 3") == 3
    assert run("24 / 4 / 2") == 3


def test_percent_binds_tighter_than_power_and_negation():
    assert run("50%") == D("0.5")
    assert run("-50%") == D("-0.5")
    assert run("2^200%") == 4
    assert run("10%%") == D("0.001")


def test_concatenation_binds_looser_than_arithmetic():
    assert run('1 + 2 & "x"') == "3x"
    assert run('"x" & 2 * 3') == "x6"


def test_comparison_binds_loosest():
    assert run("1 + 1 = 2") is True
    assert run('"a" & "b" = "AB"') is True


def test_chained_comparison_is_a_syntax_error():
    error = fails("1 < 2 < 3")
    assert error.column == 7


def test_unary_plus_and_repeated_signs():
    assert run("+3") == 3
    assert run("--3") == 3
    assert run("1 - -1") == 2


def test_whitespace_including_ideographic_space_is_ignored():
    assert run("1\u3000+\u00a02\n*\t3") == 7


# --- literals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("12", "12"),
        ("12.5", "12.5"),
        (".5", "0.5"),
        ("1e3", "1E+3"),
        ("2.5E-2", "0.025"),
        ("12.", "12"),
    ],
)
def test_number_literals_are_decimals(source, expected):
    value = run(source)
    assert type(value) is Decimal
    assert value == Decimal(expected)


def test_long_number_literal_is_rounded_to_34_digits():
    assert run("1234567890123456789012345678901234567") == Decimal(
        "1.234567890123456789012345678901235E+36"
    )


@pytest.mark.parametrize("source", ["1e999999999", "1e10000", "9e99999999999", "1e-10050"])
def test_number_literal_out_of_range_is_rejected_at_compile_time(source):
    with pytest.raises(ExpressionError) as caught:
        compile_expression("1 + " + source)
    assert caught.value.position == 4
    assert "out of range" in caught.value.message


def test_zero_with_huge_negative_exponent_is_just_zero():
    assert run("0e-99999") == 0


def test_double_quoted_string_escapes_quote_by_doubling():
    assert run('"say ""hi"""') == 'say "hi"'


def test_single_quoted_string_escapes_quote_by_doubling():
    assert run("'it''s'") == "it's"
    assert run("'a \"b\"'") == 'a "b"'


def test_empty_strings():
    assert run('""') == ""
    assert run("''") == ""


def test_strings_may_hold_any_text_including_newlines_and_chinese():
    assert run('"第一行\n第二行"') == "第一行\n第二行"


@pytest.mark.parametrize("source", ["TRUE", "true", "True", "tRuE"])
def test_true_is_case_insensitive(source):
    assert run(source) is True


def test_false_literal_and_functions():
    assert run("FALSE") is False
    assert run("false()") is False
    assert run("TRUE()") is True


# --- names -----------------------------------------------------------------------------------


def test_names_become_name_nodes_and_dotted_names_keep_both_parts():
    tree = parse("price + lines.total")
    assert isinstance(tree, Chain)
    assert tree.operands[0] == Name(0, 1, "price")
    assert tree.operands[1] == Name(8, 1, "lines", "total")


def test_function_names_are_case_insensitive_and_stored_upper_case():
    tree = parse("round(1, 2)")
    assert isinstance(tree, Call)
    assert tree.name == "ROUND"
    assert run("round(2.5)") == run("ROUND(2.5)") == 3


def test_names_starting_with_double_underscore_are_rejected():
    error = fails("1 + __class__")
    assert error.position == 4
    assert "__" in error.message


def test_double_underscore_after_dot_is_rejected_with_its_position():
    error = fails("row.__dict__")
    assert error.position == 4


def test_double_underscore_function_name_is_rejected():
    assert fails("__import__('os')").position == 0


def test_single_underscore_names_are_fine():
    assert run("_x + x_1", {"_x": D(1), "x_1": D(2)}) == 3


def test_more_than_one_dot_is_rejected():
    error = fails("a.b.c")
    assert error.position == 0
    assert "one level" in error.message


def test_dotted_name_cannot_be_called():
    assert "unknown function" in fails("a.b(1)").message


# --- syntax errors ---------------------------------------------------------------------------


def test_error_for_two_operators_in_a_row_points_at_the_second():
    error = fails("1 + * 2")
    assert (error.position, error.line, error.column) == (4, 1, 5)
    assert "unexpected '*'" in error.message


def test_error_at_end_of_input_points_past_the_last_character():
    error = fails("1 +")
    assert (error.position, error.column) == (3, 4)
    assert "end of expression" in error.message


def test_unclosed_parenthesis_says_what_is_missing():
    error = fails("ROUND(1, 2")
    assert "')'" in error.message


def test_unclosed_string_points_at_its_opening_quote():
    error = fails('1 & "abc')
    assert error.position == 4
    assert "not closed" in error.message


def test_unknown_character_is_reported_with_its_position():
    error = fails("1 # 2")
    assert (error.position, error.column) == (2, 3)


def test_errors_on_later_lines_report_line_and_column():
    error = fails("1 +\n  2 +\n  * 3")
    assert (error.line, error.column) == (3, 3)


def test_empty_and_blank_sources_are_errors():
    assert "empty" in fails("").message
    assert "empty" in fails("   ").message


def test_missing_argument_is_a_syntax_error():
    assert fails("IF(, 1)").position == 3


def test_trailing_comma_is_a_syntax_error():
    assert fails("SUM(1, )").position == 7


# --- bounds ----------------------------------------------------------------------------------


def test_source_longer_than_4000_characters_is_rejected():
    error = fails("1" + "+1" * 2000)
    assert "too long" in error.message


def test_source_of_exactly_4000_characters_is_accepted():
    source = "1" + "+1" * 1999 + "+"
    source = source[:-1] + " "
    assert len(source) == 4000
    assert run(source) == 2000


def test_nesting_64_deep_is_accepted():
    assert run("(" * 63 + "1" + ")" * 63) == 1


def test_nesting_beyond_64_is_rejected_at_compile_time_at_the_paren():
    error = fails("(" * 70 + "1" + ")" * 70)
    assert "nested too deeply" in error.message
    assert error.position == 70 - 64


def test_deep_nesting_of_calls_and_operators_is_rejected_not_a_recursion_error():
    for source in ["ABS(" * 100 + "1" + ")" * 100, "-" * 2000 + "1", "1" + "%" * 2000]:
        assert "nested too deeply" in fails(source).message


def test_long_flat_sums_are_shallow_not_deep():
    tree = parse("+".join(["1"] * 500))
    assert tree.depth == 2
    assert run("+".join(["1"] * 500)) == 500


def test_unbalanced_parentheses_in_bulk_are_a_syntax_error():
    assert isinstance(fails("(" * 3999), ExpressionError)
    assert isinstance(fails(")" * 3999), ExpressionError)


def test_literal_nodes_have_depth_one():
    assert parse("1") == Number(0, 1, Decimal(1))
    assert parse("'x'") == Text(0, 1, "x")
    assert parse("TRUE") == Boolean(0, 1, True)
    assert isinstance(parse("-1"), Unary)
