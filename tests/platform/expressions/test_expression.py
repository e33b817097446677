"""The public entry points: compile_expression, Expression.references and evaluate."""

from __future__ import annotations

import dataclasses
import threading
import timeit
from collections.abc import Mapping
from decimal import Decimal

import pytest

from formflow.expressions import Expression, ExpressionError, compile_expression

from .helpers import CONTEXT, D, fails, run


def test_compile_returns_an_expression_with_its_source():
    expression = compile_expression("price * qty")
    assert isinstance(expression, Expression)
    assert expression.source == "price * qty"


def test_references_list_every_field_name_as_written():
    expression = compile_expression('IF(a > 0, SUM(lines.total), b & "x") + a + Loc.city')
    assert expression.references == frozenset({"a", "b", "lines.total", "Loc.city"})


def test_references_exclude_functions_and_literals():
    assert compile_expression('ROUND(TRUE + "a", 1)').references == frozenset()


def test_references_include_names_in_branches_that_may_never_run():
    assert compile_expression("IF(TRUE, 1, never)").references == frozenset({"never"})


def test_compiled_expressions_are_cached_by_source():
    assert compile_expression("1 + 2 + cache_probe") is compile_expression("1 + 2 + cache_probe")


def test_expressions_are_immutable():
    expression = compile_expression("1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.source = "2"  # type: ignore[misc]


def test_expressions_with_the_same_source_are_equal():
    from formflow.expressions.expression import _compile_cached

    assert _compile_cached.__wrapped__("1 + x") == compile_expression("1 + x")


def test_non_text_source_is_an_expression_error():
    with pytest.raises(ExpressionError):
        compile_expression(None)  # type: ignore[arg-type]
    with pytest.raises(ExpressionError):
        compile_expression(["1"])  # type: ignore[arg-type]


def test_compile_errors_carry_line_and_column():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("1 +\nFOO(2)")
    assert (caught.value.line, caught.value.column, caught.value.position) == (2, 1, 4)
    assert caught.value.message == "unknown function FOO"


def test_wrong_argument_count_is_a_compile_error_at_the_function_name():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("1 + ROUND(1, 2, 3)")
    assert caught.value.position == 4
    assert "ROUND expects 1 to 2 arguments, got 3" in caught.value.message


def test_unknown_field_is_reported_with_its_position():
    error = fails("price * qty", {"price": D(1)})
    assert error.message == "unknown field 'qty'"
    assert (error.position, error.column) == (8, 9)


def test_blank_field_is_not_an_unknown_field():
    assert run("ISBLANK(x)", {"x": None}) is True


def test_evaluate_accepts_any_mapping():
    class Record(Mapping):
        def __init__(self, data):
            self.data = data

        def __getitem__(self, key):
            return self.data[key]

        def __iter__(self):
            return iter(self.data)

        def __len__(self):
            return len(self.data)

    assert run("a + 1", Record({"a": D(1)})) == 2


def test_a_broken_scope_becomes_an_internal_expression_error():
    class Broken(Mapping):
        def __getitem__(self, key):
            raise RuntimeError("database went away")

        def __iter__(self):
            return iter(())

        def __len__(self):
            return 0

    error = fails("a", Broken())
    assert "internal error" in error.message
    assert isinstance(error.__cause__, RuntimeError)


def test_evaluate_returns_the_documented_kinds():
    assert type(run("1")) is Decimal
    assert type(run('"a"')) is str
    assert type(run("1 = 1")) is bool
    assert run("x", {"x": None}) is None
    assert run("xs", {"xs": [1, "a"]}) == [Decimal(1), "a"]


def test_the_same_expression_evaluates_concurrently_on_many_threads():
    expression = compile_expression("SUM(xs) * k")
    failures = []

    def work(k):
        for _ in range(200):
            if expression.evaluate({"xs": [D(1), D(2)], "k": D(k)}, CONTEXT) != 3 * k:
                failures.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_evaluating_a_line_formula_takes_microseconds():
    expression = compile_expression("unit_price * quantity * (1 - line_discount)")
    scope = {"unit_price": D("12.50"), "quantity": D(3), "line_discount": D("0.1")}
    assert expression.evaluate(scope) == D("33.75")
    number = 2_000
    seconds = min(timeit.repeat(lambda: expression.evaluate(scope), number=number, repeat=3))
    # A generous ceiling, so the test holds on a loaded CI machine; the figure is a few µs.
    assert seconds / number < 50e-6
