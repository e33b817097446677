"""Logical functions: IF, IFS, AND, OR, NOT, XOR, IFERROR, SWITCH and the IS… tests."""

from __future__ import annotations

import datetime

import pytest

from ..helpers import D, fails, run


def test_if_picks_a_branch():
    assert run('IF(1 > 0, "yes", "no")') == "yes"
    assert run('IF(1 < 0, "yes", "no")') == "no"


def test_if_without_else_gives_false():
    assert run('IF(1 < 0, "yes")') is False


def test_if_evaluates_only_the_chosen_branch():
    assert run("IF(qty = 0, 0, total / qty)", {"qty": D(0), "total": D(5)}) == 0
    assert run("IF(TRUE, 1, unknown_field)") == 1


def test_if_condition_coercions():
    assert run('IF(5, "t", "f")') == "t"
    assert run('IF(0, "t", "f")') == "f"
    assert run('IF(x, "t", "f")', {"x": None}) == "f"
    assert run('IF("true", "t", "f")') == "t"


def test_if_with_non_logical_text_condition_is_an_error_at_if():
    error = fails('1 + IF("maybe", 1, 2)')
    assert error.position == 4
    assert "logical" in error.message


def test_ifs_returns_the_first_true_branch():
    source = 'IFS(score >= 90, "A", score >= 80, "B", TRUE, "C")'
    assert run(source, {"score": D(95)}) == "A"
    assert run(source, {"score": D(85)}) == "B"
    assert run(source, {"score": D(10)}) == "C"


def test_ifs_with_no_true_condition_is_na():
    assert "#N/A" in fails("IFS(FALSE, 1)").message


def test_ifs_needs_pairs():
    error = fails("IFS(TRUE, 1, FALSE)")
    assert "pairs" in error.message
    assert error.position == 0


def test_ifs_is_lazy():
    assert run("IFS(TRUE, 1, 1/0, 2)") == 1


def test_and_or_short_circuit():
    assert run("AND(FALSE, 1/0)") is False
    assert run("OR(TRUE, 1/0)") is True
    assert "division by zero" in fails("AND(TRUE, 1/0)").message


def test_and_or_truth_tables():
    assert run("AND(TRUE, TRUE)") is True
    assert run("AND(TRUE, FALSE)") is False
    assert run("OR(FALSE, FALSE)") is False
    assert run("OR(FALSE, TRUE)") is True


def test_and_or_over_lists_skip_blanks():
    assert run("AND(flags)", {"flags": [True, None, True]}) is True
    assert run("AND(flags)", {"flags": [True, False]}) is False
    assert run("OR(flags)", {"flags": [None, False]}) is False
    assert run("OR(flags)", {"flags": [False, True]}) is True


def test_xor_is_true_for_an_odd_count():
    assert run("XOR(TRUE, FALSE)") is True
    assert run("XOR(TRUE, TRUE)") is False
    assert run("XOR(TRUE, TRUE, TRUE)") is True


def test_not():
    assert run("NOT(TRUE)") is False
    assert run("NOT(0)") is True


def test_iferror_catches_errors_from_its_value():
    assert run('IFERROR(1/0, "n/a")') == "n/a"
    assert run('IFERROR(VALUE("x"), 0)') == 0
    assert run('IFERROR(missing, "none")') == "none"
    assert run('IFERROR(5, "n/a")') == 5


def test_iferror_fallback_is_lazy():
    assert run("IFERROR(1, 1/0)") == 1


def test_iferror_does_not_swallow_the_evaluation_limit():
    from formflow.expressions import EvalContext

    from ..helpers import CONTEXT

    tight = EvalContext(CONTEXT.today, CONTEXT.now, CONTEXT.timezone, max_steps=10)
    error = fails('IFERROR(SUM(xs), "x")', {"xs": [D(1)] * 50}, tight)
    assert "evaluation limit exceeded" in error.message


def test_switch_returns_the_matching_result():
    source = 'SWITCH(stage, "won", 1, "lost", 0, 0.5)'
    assert run(source, {"stage": "WON"}) == 1
    assert run(source, {"stage": "lost"}) == 0
    assert run(source, {"stage": "open"}) == D("0.5")


def test_switch_without_match_or_default_is_na():
    assert "#N/A" in fails('SWITCH(1, 2, "two")').message


def test_switch_is_lazy():
    assert run("SWITCH(1, 1, 10, 1/0, 20)") == 10


@pytest.mark.parametrize(
    ("value", "blank", "empty"),
    [
        (None, True, True),
        ("", False, True),
        ([], False, True),
        (" ", False, False),
        (D(0), False, False),
        ([None], False, False),
        (False, False, False),
    ],
)
def test_isblank_and_isempty(value, blank, empty):
    assert run("ISBLANK(x)", {"x": value}) is blank
    assert run("ISEMPTY(x)", {"x": value}) is empty


def test_isnumber_and_istext():
    assert run("ISNUMBER(1)") is True
    assert run('ISNUMBER("1")') is False
    assert run("ISNUMBER(TRUE)") is False
    assert run('ISTEXT("1")') is True
    assert run("ISTEXT(d)", {"d": datetime.date(2024, 1, 1)}) is False
