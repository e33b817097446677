"""The compiler: step counting (each node a step, skipped branches free, lists by element)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from formflow.expressions import EvalContext

from .helpers import CONTEXT, D, fails, run


def budget(steps: int) -> EvalContext:
    return EvalContext(CONTEXT.today, CONTEXT.now, CONTEXT.timezone, max_steps=steps)


@pytest.mark.parametrize(
    ("source", "nodes"),
    [("1", 1), ("1 + 2 * 3", 5), ("-x%", 3), ("ROUND(1.5, 0)", 3), ('"a" & "b" & "c"', 4)],
)
def test_each_node_is_one_step(source, nodes):
    scope = {"x": D(1)}
    assert run(source, scope, budget(nodes)) is not None
    assert "evaluation limit exceeded" in fails(source, scope, budget(nodes - 1)).message


def test_branches_that_do_not_run_cost_nothing():
    source = "IF(TRUE, 1, " + " + ".join(["1"] * 100) + ")"
    assert run(source, context=budget(4)) == 1
    assert (
        "evaluation limit exceeded"
        in fails(source.replace("TRUE", "FALSE"), None, budget(50)).message
    )


def test_list_elements_are_charged():
    scope = {"xs": [D(1)] * 100}
    assert run("SUM(xs)", scope, budget(300)) == 100
    assert "evaluation limit exceeded" in fails("SUM(xs)", scope, budget(150)).message


def test_subform_columns_are_charged_by_row():
    scope = {"lines": [{"x": D(1)}] * 100}
    assert "evaluation limit exceeded" in fails("SUM(lines.x)", scope, budget(50)).message


def test_default_budget_allows_realistic_formulas():
    scope = {"lines": [{"price": D(1), "qty": D(2)}] * 2_000}
    assert run("SUMPRODUCT(lines.price, lines.qty) + SUM(lines.qty)", scope) == 8_000


def test_a_budget_of_zero_refuses_everything():
    assert "evaluation limit exceeded" in fails("1", context=budget(0)).message


def test_decimal_fast_path_and_coercing_path_agree():
    scope = {"a": D("1.5"), "b": D(2), "ta": "1.5", "tb": "2"}
    for operator in ["+", "-", "*", "=", "<>", "<", "<=", ">", ">="]:
        fast = run(f"a {operator} b", scope)
        slow = run(f"(ta + 0) {operator} (tb + 0)", scope)
        assert fast == slow, operator
    assert type(run("a + b + a", scope)) is Decimal


def test_building_long_text_is_charged_by_length():
    source = 'LEN(REPT("ab", 3200))'  # 6,400 characters: 100 steps on top of 4 nodes
    assert run(source, context=budget(104)) == 6_400
    assert "evaluation limit exceeded" in fails(source, None, budget(103)).message
    assert (
        "evaluation limit exceeded" in fails('LEN(t & "")', {"t": "x" * 6_400}, budget(50)).message
    )


def test_a_formula_that_keeps_rebuilding_huge_text_runs_out_of_budget():
    term = "LEN(UPPER(t))"
    source = "+".join([term] * 200)
    assert "evaluation limit exceeded" in fails(source, {"t": "x" * 60_000}).message
