"""Property tests of the sandbox: whatever the source and the scope, compile and evaluate end
quickly and raise nothing but ExpressionError; Decimal arithmetic is exact."""

from __future__ import annotations

import datetime
import decimal
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from formflow.expressions import FUNCTIONS, EvalContext, ExpressionError, compile_expression
from formflow.expressions.evaluation import Evaluation

from .helpers import CONTEXT

UTC = datetime.UTC
TIME_LIMIT = 1.0  # seconds for one compile + evaluate; real figures are micro- to milliseconds

NAMES = ["a", "b", "c", "t", "d", "xs", "lines.x", "lines.y", "lines", "loc.city"]

# --- sources ---------------------------------------------------------------------------------

TOKENS = [
    "(", ")", ",", "+", "-", "*", "/", "^", "&", "%", "=", "<>", "!=", "<", "<=", ">", ">=",
    '"', "'", '""', "1", "0", ".5", "1e9999", "1e-9999", "9e99999999", "12.50", "a", "b",
    "lines.x", "a.b.c", "__x", "IF(", "SUM(", "ROUND(", "REPT(", "TEXT(", "DATE(", "COUNTIF(",
    "SEARCH(", "POWER(", "IFERROR(", " ", "\n", "TRUE", "false", "\u3000", "#", "[", "$", "é",
    "销售", "\\", "\x00",
]  # fmt: skip

token_soup = st.lists(st.sampled_from(TOKENS), max_size=80).map("".join)
any_source = st.one_of(st.text(max_size=200), token_soup)


def _number_literal(value: Decimal) -> str:
    return format(value, "f") if abs(value.adjusted()) < 30 else str(value)


def _text_literal(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


LEAVES = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=3).map(_number_literal),
    st.sampled_from(["0", "1", "2.5", "100", "1e300", "1e-300", "9999999999999999999999999999"]),
    st.text(alphabet="ab *?~<>=0123,.-%", max_size=8).map(_text_literal),
    st.sampled_from(['"2024-03-01"', '">1"', '"yyyy-mm-dd"', '"#,##0.00"', '"Y"', '"MD"']),
    st.sampled_from(["TRUE", "FALSE", "TODAY()", "NOW()"]),
    st.sampled_from(NAMES),
)

OPERATORS = ["+", "-", "*", "/", "^", "&", "=", "<>", "<", "<=", ">", ">="]
CALLABLE = sorted(FUNCTIONS)


def _call(name: str, arguments: list[str]) -> str:
    function = FUNCTIONS[name]
    low = function.min_args
    high = low + 3 if function.max_args is None else function.max_args
    count = max(low, min(high, len(arguments)))
    if function.paired and count % 2:
        count += 1
    arguments = (arguments * (count // max(len(arguments), 1) + 1))[:count] if count else []
    return f"{name}({', '.join(arguments)})"


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(OPERATORS), children).map(
            lambda parts: f"({parts[0]} {parts[1]} {parts[2]})"
        ),
        children.map(lambda child: f"-{child}"),
        children.map(lambda child: f"({child})%"),
        st.tuples(st.sampled_from(CALLABLE), st.lists(children, min_size=1, max_size=4)).map(
            lambda parts: _call(*parts)
        ),
    )


well_formed = st.recursive(LEAVES, _extend, max_leaves=20)

# --- scopes ----------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.decimals(),
    st.decimals(min_value=-(10**9), max_value=10**9, places=2),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(["", "12", " 3.5 ", "1e999999", "TRUE", "2024-03-01", "abc*"]),
    st.dates(),
    st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("Asia/Shanghai")])),
    st.datetimes(),
)
values = st.one_of(scalars, st.lists(scalars, max_size=8))
rows = st.lists(st.fixed_dictionaries({"x": values, "y": values}), max_size=6)
scopes = st.fixed_dictionaries(
    {
        "a": values,
        "b": values,
        "c": values,
        "t": values,
        "d": values,
        "xs": values,
        "lines": st.one_of(rows, values),
        "loc": st.one_of(st.fixed_dictionaries({"city": values}), values),
    }
)
contexts = st.builds(
    EvalContext,
    today=st.dates(),
    now=st.datetimes(timezones=st.just(UTC)),
    timezone=st.sampled_from([ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")]),
    max_steps=st.one_of(st.integers(0, 50), st.just(100_000)),
)


def _is_value(value: Any, depth: int = 0) -> bool:
    if value is None or type(value) in (bool, str, datetime.date):
        return True
    if type(value) is Decimal:
        return value.is_finite()
    if type(value) is datetime.datetime:
        return True
    if type(value) is list and depth < 2:
        return all(_is_value(item, depth + 1) or isinstance(item, Mapping) for item in value)
    return False


def _outcome(source: str, scope: Mapping[str, Any], context: EvalContext) -> tuple[str, Any]:
    try:
        return "value", compile_expression(source).evaluate(scope, context)
    except ExpressionError as error:
        assert "internal error" not in error.message, (source, error.__cause__)
        if error.position is not None:
            assert 0 <= error.position <= len(source)
            assert error.line is not None and error.column is not None
        return "error", error.message


# --- properties ------------------------------------------------------------------------------

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_any_text(source: str) -> None:
    started = time.perf_counter()
    try:
        expression = compile_expression(source)
    except ExpressionError as error:
        assert "internal error" not in error.message, error.__cause__
        assert error.position is None or 0 <= error.position <= len(source)
    else:
        assert expression.source == source
        kind, _ = _outcome(source, {name: None for name in ("a", "b", "lines")}, CONTEXT)
        assert kind in ("value", "error")
    assert time.perf_counter() - started < TIME_LIMIT


def check_well_formed(source: str, scope: Mapping[str, Any], context: EvalContext) -> None:
    try:
        expression = compile_expression(source)
    except ExpressionError as error:
        assert "nested too deeply" in error.message
        return
    started = time.perf_counter()
    kind, result = _outcome(source, scope, context)
    assert time.perf_counter() - started < TIME_LIMIT
    if kind == "value":
        assert _is_value(result), result

    # Within the step budget: an evaluation that finishes never spent more than it had.
    try:
        evaluation = Evaluation(scope, context, expression._cost)
        expression._run(evaluation)
    except ExpressionError:
        pass
    else:
        assert evaluation.steps_left >= 0

    # The caller's decimal context is neither used nor disturbed.
    with decimal.localcontext() as hostile:
        hostile.clear_flags()
        hostile.prec = 2
        hostile.Emax = 3
        for signal in (decimal.Inexact, decimal.Rounded, decimal.Overflow, decimal.Underflow):
            hostile.traps[signal] = True
        assert _outcome(source, scope, context) == (kind, result)
        assert not any(hostile.flags.values())


@QUICK
@given(source=any_source)
@example(source="(" * 3000)
@example(source="-" * 3999 + "1")
@example(source='REPT("x", 1e15)')
@example(source="9" * 3999)
@example(source='"' + "x" * 3998)
def test_any_text_compiles_or_raises_expression_error_quickly(source):
    check_any_text(source)


@pytest.mark.slow
@THOROUGH
@given(source=any_source)
def test_any_text_compiles_or_raises_expression_error_quickly_thoroughly(source):
    check_any_text(source)


@QUICK
@given(source=well_formed, scope=scopes, context=contexts)
def test_well_formed_expressions_evaluate_to_a_value_or_expression_error(source, scope, context):
    check_well_formed(source, scope, context)


@pytest.mark.slow
@THOROUGH
@given(source=well_formed, scope=scopes, context=contexts)
def test_well_formed_expressions_evaluate_to_a_value_or_expression_error_thoroughly(
    source, scope, context
):
    check_well_formed(source, scope, context)


decimals_15 = st.decimals(min_value=-(10**12), max_value=10**12, places=4)


@given(a=decimals_15, b=decimals_15)
def test_decimal_arithmetic_is_exact(a, b):
    wide = decimal.Context(prec=100)
    scope = {"a": a, "b": b}
    assert compile_expression("a + b").evaluate(scope, CONTEXT) == wide.add(a, b)
    assert compile_expression("a - b").evaluate(scope, CONTEXT) == wide.subtract(a, b)
    assert compile_expression("a * b").evaluate(scope, CONTEXT) == wide.multiply(a, b)
    assert compile_expression("(a + b) - b = a").evaluate(scope, CONTEXT) is True


@given(a=decimals_15)
def test_number_literals_read_exactly(a):
    literal = format(abs(a), "f")
    source = ("-" if a < 0 else "") + literal
    assert compile_expression(source).evaluate({}, CONTEXT) == a


@given(a=decimals_15, b=decimals_15.filter(bool))
def test_division_is_correctly_rounded_to_34_digits(a, b):
    assert compile_expression("a / b").evaluate({"a": a, "b": b}, CONTEXT) == decimal.Context(
        prec=34
    ).divide(a, b)
