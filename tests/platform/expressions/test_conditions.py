"""Condition rows ⇄ expressions, as the builder's condition editor uses them."""

from __future__ import annotations

import pytest

from formflow.expressions import compile_expression
from formflow.expressions.conditions import Row, build, rows_of


@pytest.mark.parametrize(
    ("rows", "join", "expression"),
    [
        ([Row("stage", "eq", "lost")], "AND", 'stage = "lost"'),
        (
            [Row("stage", "eq", "lost"), Row("amount", "gt", "1000")],
            "AND",
            'AND(stage = "lost", amount > 1000)',
        ),
        (
            [Row("tags", "contains", "vip"), Row("note", "empty")],
            "OR",
            'OR(CONTAINS(tags, "vip"), ISBLANK(note))',
        ),
        (
            [Row("note", "not_empty"), Row("name", "ne", 'say "hi"')],
            "AND",
            'AND(NOT(ISBLANK(note)), name <> "say ""hi""")',
        ),
        ([Row("won", "eq", "TRUE")], "AND", "won = TRUE"),
    ],
)
def test_rows_and_expressions_convert_both_ways(rows, join, expression):
    written = build(rows, join, numeric={"amount"})
    assert written == expression
    compile_expression(written)  # it is a valid expression
    assert rows_of(written) == (join if len(rows) > 1 else "AND", rows)


def test_expressions_the_builder_did_not_write_stay_text():
    assert rows_of("amount * 2 > total") is None
    assert rows_of("AND(a = 1, b + 1 > 2)") is None
    assert rows_of("not even (") is None
    assert rows_of("") == ("AND", [])
