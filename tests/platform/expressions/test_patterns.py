"""Excel wildcard patterns (formflow.expressions.patterns) and what matching them costs."""

from __future__ import annotations

import time

import pytest

from formflow.expressions import EvalContext
from formflow.expressions.patterns import cost, matches, search

from .helpers import CONTEXT, fails, run


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("abc", "ABC", True),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a*", "a", True),
        ("*a", "ba", True),
        ("a*c", "abbbc", True),
        ("a*c", "abbbd", False),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "acb", False),
        ("*", "", True),
        ("", "", True),
        ("a~*", "a*", True),
        ("a~*", "ab", False),
        ("ab*ba", "aba", False),
    ],
)
def test_wildcard_matches(pattern, text, expected):
    assert matches(pattern, text) is expected


def test_wildcard_search_finds_the_leftmost_match():
    assert search("b?d", "abcdbxd") == 1
    assert search("b*x", "abcdbxd") == 1
    assert search("q", "abc") == -1
    assert search("b", "abcb", 2) == 3


def test_wildcard_matching_does_not_backtrack_exponentially():
    text = "a" * 65_000
    started = time.perf_counter()
    assert matches("*a*a*a*a*a*a*a*a*b", text) is False
    assert search("?" * 200 + "b", text) == -1
    assert time.perf_counter() - started < 0.5


def test_literal_patterns_cost_nothing_extra_and_question_marks_cost_by_text_length():
    assert cost("abc*def", 65_536) == 0
    assert cost("a?c", 3_200) == 300


def test_adversarial_search_runs_out_of_budget_instead_of_time():
    scope = {"t": "a" * 65_000}
    started = time.perf_counter()
    error = fails('SEARCH(REPT("?", 200) & "b", t)', scope)
    assert "evaluation limit exceeded" in error.message
    assert time.perf_counter() - started < 0.1


def test_countif_wildcards_are_charged_per_item():
    tight = EvalContext(CONTEXT.today, CONTEXT.now, CONTEXT.timezone, max_steps=100)
    scope = {"xs": ["x" * 1_000] * 5}
    assert run('COUNTIF(xs, "x*")', scope, tight) == 5
    assert "evaluation limit exceeded" in fails('COUNTIF(xs, "?*")', scope, tight).message
