"""ExpressionError: its text, its position fields, with_field, and pickling."""

from __future__ import annotations

import pickle

import pytest

from formflow.expressions import ExpressionError, compile_expression
from formflow.expressions.errors import LimitError, line_and_column


def _compile_error(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    return caught.value


def test_str_names_the_field_and_the_position():
    error = _compile_error("1 + FOO(2)").with_field("total")
    assert str(error) == "total: unknown function FOO (line 1, column 5)"


def test_str_without_field_or_position():
    assert str(ExpressionError("division by zero")) == "division by zero"
    assert str(ExpressionError("x", 3)) == "x (position 3)"


def test_with_field_returns_a_copy():
    error = ExpressionError("bad", 2, line=1, column=3)
    named = error.with_field("discount")
    assert named is not error
    assert error.field is None
    assert (named.field, named.message, named.position, named.line, named.column) == (
        "discount",
        "bad",
        2,
        1,
        3,
    )


def test_with_field_keeps_the_subclass():
    assert isinstance(LimitError("evaluation limit exceeded").with_field("f"), LimitError)


def test_errors_survive_pickling_with_every_attribute():
    error = _compile_error("1 +\n* 2").with_field("total")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ExpressionError
    assert (copy.message, copy.position, copy.line, copy.column, copy.field) == (
        error.message,
        error.position,
        error.line,
        error.column,
        error.field,
    )
    assert str(copy) == str(error)


def test_line_and_column_are_one_based_and_count_newlines():
    assert line_and_column("abc", 0) == (1, 1)
    assert line_and_column("ab\ncd", 3) == (2, 1)
    assert line_and_column("ab\ncd", 4) == (2, 2)
    assert line_and_column("ab", 2) == (1, 3)
