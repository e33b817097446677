"""The expression language fuzzed: random text, grammar-shaped expressions over hostile values,
and a list of targeted attacks. Whatever goes in, compiling and evaluating

- raises nothing but :class:`ExpressionError` (and never its "internal error" form, which
  means some other exception was caught),
- ends within its bounds: the step budget (``limits.MAX_STEPS``) and so a fraction of a
  second, whatever the source length (``MAX_SOURCE_LENGTH``) or nesting (``MAX_DEPTH``),
- returns only the language's own values, each within ``MAX_TEXT_LENGTH``,
  ``MAX_LIST_LENGTH`` and the decimal bounds (``DECIMAL_PRECISION``,
  ``MAX_DECIMAL_EXPONENT``),
- and never leaves the sandbox: no import, no file, process or socket, no code compiled, no
  frame or attribute reached (watched with an audit hook while it runs).

Bounded by default (derandomized, ~100 examples a property); ``FORMFLOW_FUZZ_EXAMPLES=N``
runs ``N`` examples a property with a random seed instead. ``tests/platform/fuzz/
atheris_expressions.py`` drives the same checks from atheris, for coverage-guided runs.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from formflow.expressions import FUNCTIONS, EvalContext, ExpressionError, compile_expression
from formflow.expressions.limits import (
    DECIMAL_PRECISION,
    MAX_DECIMAL_EXPONENT,
    MAX_LIST_LENGTH,
    MAX_SOURCE_LENGTH,
    MAX_TEXT_LENGTH,
)

LONG = os.environ.get("FORMFLOW_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(LONG) if LONG else 100,
    derandomize=not LONG,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    # Explaining a failure traces every frame, which the sandbox watch would take for the
    # expression reaching into frames.
    phases=[p for p in Phase if p is not Phase.explain],
)
#: One compile + evaluate; the step budget keeps real ones to milliseconds, and this leaves
#: room for a loaded test machine.
TIME_LIMIT = 2.0
SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTEXT = EvalContext(
    today=datetime.date(2026, 3, 16),
    now=datetime.datetime(2026, 3, 16, 10, 0, tzinfo=SHANGHAI),
    timezone=SHANGHAI,
)

# -- the sandbox watch -----------------------------------------------------------------------

#: Audit events (see the Python docs' audit events table) an expression must never cause.
FORBIDDEN_PREFIXES = (
    "import",
    "exec",
    "compile",
    "open",
    "os.",
    "subprocess.",
    "socket.",
    "shutil.",
    "ctypes.",
    "pickle.",
    "marshal.",
    "urllib.",
    "http.",
    "sys._getframe",
    "sys.settrace",
    "sys.setprofile",
    "object.__getattr__",
    "object.__setattr__",
    "object.__delattr__",
    "function.__new__",
    "code.__new__",
    "builtins.input",
    "cpython.run_",
)
_watching: list[list[str]] = []


def _audit(event: str, _args: tuple[Any, ...]) -> None:
    if _watching and event.startswith(FORBIDDEN_PREFIXES):
        _watching[-1].append(f"{event} {_args!r:.100}")


sys.addaudithook(_audit)  # cannot be removed; it records only inside ``sandbox_watch``
compile_expression("1")  # the engine's own setup (reading and building the grammar) first


@contextmanager
def sandbox_watch() -> Iterator[list[str]]:
    """The forbidden audit events raised by this thread's code inside the block."""
    seen: list[str] = []
    _watching.append(seen)
    try:
        yield seen
    finally:
        _watching.pop()


# -- the checks ------------------------------------------------------------------------------


def _check_value(value: Any, depth: int = 0) -> None:
    if value is None or type(value) in (bool, datetime.date, datetime.datetime):
        return
    if type(value) is str:
        assert len(value) <= MAX_TEXT_LENGTH
        return
    if type(value) is Decimal:
        assert value.is_finite()
        assert len(value.as_tuple().digits) <= DECIMAL_PRECISION
        assert not value or abs(value.adjusted()) <= MAX_DECIMAL_EXPONENT, value
        return
    if type(value) is list and depth == 0:
        assert len(value) <= MAX_LIST_LENGTH
        for item in value:
            _check_value(item, depth + 1)
        return
    raise AssertionError(f"not a value of the language: {type(value).__name__} {value!r:.80}")


def check(source: str, scope: Mapping[str, Any] | None = None) -> tuple[str, Any]:
    """Compile and evaluate ``source`` under every property above; the outcome."""
    scope = SCOPE if scope is None else scope
    started = time.perf_counter()
    with sandbox_watch() as events:
        try:
            outcome: tuple[str, Any] = (
                "value",
                compile_expression(source).evaluate(scope, CONTEXT),
            )
        except ExpressionError as error:
            assert "internal error" not in error.message, (source[:200], error.__cause__)
            assert error.position is None or 0 <= error.position <= len(source)
            outcome = ("error", error.message)
    elapsed = time.perf_counter() - started
    assert not events, (source[:200], events)
    assert elapsed < TIME_LIMIT, (source[:200], elapsed)
    if outcome[0] == "value":
        _check_value(outcome[1])
    return outcome


# -- scopes: ordinary and hostile values -----------------------------------------------------

BIG_LIST = [Decimal(1)] * MAX_LIST_LENGTH
SCOPE: dict[str, Any] = {
    "a": Decimal("12.5"),
    "b": Decimal("-3"),
    "n": Decimal("1E+9999"),
    "tiny": Decimal("1E-9999"),
    "t": "x" * MAX_TEXT_LENGTH,
    "s": "销售 a*b?~",
    "d": datetime.date(2026, 3, 16),
    "dt": datetime.datetime(2026, 3, 16, 2, 0, tzinfo=datetime.UTC),
    "xs": BIG_LIST,
    "lines": [{"x": Decimal(i), "y": "r" * i} for i in range(50)],
    "empty": None,
}
NAMES = [*SCOPE, "lines.x", "lines.y", "missing"]

# -- sources ---------------------------------------------------------------------------------

HOSTILE_LEAVES = [
    "9",
    "0",
    "1e9999",
    "1e-9999",
    "1e99999999999",
    "99999999999999999999999999999999999999",
    "1024",
    "1025",
    "-1",
    "0.5",
    '"x"',
    '""',
    '"*?~"',
    '"yyyy-mm-dd hh:mm:ss"',
    '"#,##0.00"',
    '"' + "y" * 1000 + '"',
    "TRUE",
    "TODAY()",
    "NOW()",
]
OPERATORS = ["+", "-", "*", "/", "^", "&", "=", "<>", "<", ">=", "%"]
CALLABLE = sorted(FUNCTIONS)

leaves = st.one_of(
    st.sampled_from(HOSTILE_LEAVES),
    st.sampled_from(NAMES),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.text(alphabet='ab"*?~%#,.0-9 yYmdhs', max_size=12).map(
        lambda text: '"' + text.replace('"', '""') + '"'
    ),
)


def _call(parts: tuple[str, list[str]]) -> str:
    name, arguments = parts
    function = FUNCTIONS[name]
    high = function.min_args + 3 if function.max_args is None else function.max_args
    count = max(function.min_args, min(high, len(arguments)))
    if function.paired and count % 2:
        count += 1
    arguments = (arguments * (count + 1))[:count] if arguments else []
    return f"{name}({', '.join(arguments)})"


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(OPERATORS), children).map(
            lambda p: f"{p[0]}{p[1]}{p[2]}" if p[1] != "%" else f"({p[0]})%"
        ),
        st.tuples(children, st.sampled_from(OPERATORS[:6]), children).map(
            lambda p: f"({p[0]} {p[1]} {p[2]})"
        ),
        children.map(lambda child: f"-{child}"),
        st.tuples(st.sampled_from(CALLABLE), st.lists(children, max_size=4)).map(_call),
        # The same call over and over: the cheap way to build something expensive.
        st.tuples(st.sampled_from(["REPT", "CONCAT", "SUBSTITUTE", "POWER", "TEXT"]), children).map(
            lambda p: _call((p[0], [p[1], p[1], p[1]]))
        ),
    )


grammar_shaped = st.recursive(leaves, _extend, max_leaves=30)

#: Characters the lexer knows, and some it does not, for random text.
SOUP = [
    *"()+-*/^&%=<>,.\"'_ aAzZ09eE\n\u3000销!#$[]{}\\;:@`|~?",
    *("__", "IF(", "REPT(", "POWER(", "lines.", "1e9999"),
]
random_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(SOUP), max_size=150).map("".join),
)

# -- properties ------------------------------------------------------------------------------


@FUZZ
@given(source=random_text)
def test_random_text_compiles_or_is_refused_inside_the_sandbox(source):
    check(source)


@FUZZ
@given(source=grammar_shaped)
def test_grammar_shaped_expressions_over_hostile_values_stay_inside_the_sandbox(source):
    check(source)


@FUZZ
@given(
    source=grammar_shaped,
    value=st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False),
        st.text(max_size=100),
        st.lists(st.decimals(allow_nan=False, allow_infinity=False), max_size=20),
        st.just("z" * (MAX_TEXT_LENGTH + 1)),
        st.just([Decimal(1)] * (MAX_LIST_LENGTH + 1)),
        st.integers(min_value=-(10**60), max_value=10**60),
        st.floats(),
    ),
)
def test_any_value_a_record_could_hold_stays_inside_the_sandbox(source, value):
    check(source, {**SCOPE, "a": value, "b": value})


POWERS = [
    "9^9^9",
    "9^9^9^9",
    "(9^9)^9",
    "POWER(9, POWER(9, 9))",
    "10^1024",
    "10^1025",
    "10^-1025",
    "(10^1024)^1024",
    "n * n",
    "n ^ 2",
    "tiny * tiny",
    "tiny ^ 2",
    "1 / tiny",
    "SQRT(n) ^ 4",
    "2 ^ 0.5 ^ 1024",
    "(-8) ^ (1/3)",
    "0 ^ -1",
    "1e9999 * 10",
    "-n - n",
    "9**9**9",
]
REPETITION = [
    'REPT("x", 10^9)',
    'REPT("x", 1e9)',
    'REPT("xy", 32768) & "z"',
    'REPT(REPT("x", 60000), 60000)',
    'REPT("x", 65536) & REPT("x", 65536)',
    "t & t",
    'SUBSTITUTE(t, "x", t)',
    'SUBSTITUTE(REPT("x", 1000), "x", REPT("y", 1000))',
    "CONCAT(t, t, t)",
    'TEXT(n, REPT("0", 10000))',
    'TEXT(1, REPT("#", 60000))',
    "LEFT(t, 1e30)",
    "MID(t, 1e30, 1e30)",
    "REPT(t, 2)",
    'UPPER(REPT("ß", 40000))',
    "SUM(xs) + SUM(xs) + SUM(xs)",
    "SUMPRODUCT(xs, xs)",
    'COUNTIF(xs, "1")',
    'COUNTIF(lines.y, REPT("*?", 127) & "~")',
    'SEARCH(REPT("*", 255), t)',
    'IFERROR(REPT("x", 1e9), REPT("y", 1e9))',
]
DATES = [
    "DATE(1e30, 1, 1)",
    "DATE(9999, 12, 31) + 1",
    "DATE(1, 1, 1) - 1",
    "EDATE(d, 1e30)",
    "EOMONTH(d, -1e30)",
    'DATEDIF(DATE(1, 1, 1), DATE(9999, 12, 31), "MD")',
    "DAYS(DATE(9999, 12, 31), DATE(1, 1, 1))",
    "d + 1e30",
    "dt + n",
    'DATEVALUE(REPT("2", 10000))',
    "WEEKNUM(d, 1e30)",
    "ROUND(a, 1e30)",
    "ROUND(n, -1e30)",
    "FLOOR(n, tiny)",
    "CEILING(tiny, n)",
    "MOD(n, tiny)",
    "MOD(1e9999, 7)",
    "INT(n) + TRUNC(-n)",
    'VALUE("1e99999999")',
    'VALUE(REPT("9", 60000))',
]
ESCAPES = [
    '__import__("os")',
    "__builtins__",
    "a.__class__",
    "lines.__class__",
    "a.__class__.__mro__",
    "s.upper",
    "s.__len__",
    'EVAL("1")',
    'EXEC("1")',
    'OPEN("/etc/passwd")',
    "globals",
    "GLOBALS()",
    "lambda",
    "a if b else c",
    "[1, 2]",
    "{1: 2}",
    "a[0]",
    "a; b",
    "`a`",
    "a.b.c.d",
    "__x",
    "_",
    "lines.__dict__",
    "IF(TRUE, __import__, 1)",
]
NESTING = [
    "(" * 3000 + "1" + ")" * 3000,
    "(" * 1999 + "1" + ")" * 1999,
    "-" * 3999 + "1",
    "+" * 3999 + "1",
    "1" + "%" * 3999,
    "ABS(" * 999 + "1" + ")" * 999,
    "IF(TRUE," * 400 + "1" + ")" * 400,
    "2" + "^2" * 1999,
    "1" + "+1" * 1999,
    '"x"' + '&"x"' * 999,
    "9" * MAX_SOURCE_LENGTH,
    "9" * (MAX_SOURCE_LENGTH + 1),
    '"' + "x" * (MAX_SOURCE_LENGTH - 2) + '"',
    "SUM(" + ",".join(["xs"] * 1300) + ")",
    "SUM(" + ",".join(["1"] * 1999) + ")",
    "IFS(" + ",".join(["FALSE, 1"] * 900) + ")",
]


@pytest.mark.parametrize("source", POWERS + REPETITION + DATES + ESCAPES + NESTING)
def test_hostile_expressions_are_refused_or_bounded(source):
    check(source)


@pytest.mark.parametrize("source", ESCAPES)
def test_nothing_outside_the_language_is_reachable(source):
    kind, message = check(source)
    assert kind == "error", message
