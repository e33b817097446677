"""Text functions: CONCAT, LEFT, MID, SUBSTITUTE, FIND, SEARCH, REPT, VALUE, CONTAINS…"""

from __future__ import annotations

import time

import pytest

from ..helpers import D, fails, run


def test_concat_and_concatenate_join_values_and_lists():
    assert run('CONCAT("a", 1, TRUE, x)', {"x": None}) == "a1TRUE"
    assert run('CONCATENATE("a", "b")') == "ab"
    assert run("CONCAT(lines.name)", {"lines": [{"name": "x"}, {"name": "y"}]}) == "xy"


def test_concat_refuses_results_over_the_text_limit():
    assert "text longer" in fails("CONCAT(xs)", {"xs": ["x" * 60_000, "y" * 6_000]}).message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('LEFT("abcdef")', "a"),
        ('LEFT("abcdef", 3)', "abc"),
        ('LEFT("abc", 10)', "abc"),
        ('LEFT("abc", 0)', ""),
        ('RIGHT("abcdef", 2)', "ef"),
        ('RIGHT("abcdef")', "f"),
        ('RIGHT("abc", 0)', ""),
        ('RIGHT("abc", 1e20)', "abc"),
        ('MID("abcdef", 2, 3)', "bcd"),
        ('MID("abc", 5, 2)', ""),
        ('MID("销售业绩", 3, 2)', "业绩"),
        ('UPPER("abc")', "ABC"),
        ('LOWER("ABC")', "abc"),
        ('TRIM("  a   b  ")', "a b"),
        ('SUBSTITUTE("a-b-c", "-", "+")', "a+b+c"),
        ('SUBSTITUTE("a-b-c", "-", "+", 2)', "a-b+c"),
        ('SUBSTITUTE("a-b-c", "-", "+", 5)', "a-b-c"),
        ('SUBSTITUTE("abc", "", "x")', "abc"),
        ('SUBSTITUTE("aaa", "a", "")', ""),
        ('REPT("ab", 3)', "ababab"),
        ('REPT("ab", 0)', ""),
        ('REPT("", 1e15)', ""),
        ("LEFT(12345, 2)", "12"),
    ],
)
def test_text_functions(source, expected):
    assert run(source) == expected


def test_len_counts_characters():
    assert run('LEN("销售")') == 2
    assert run("LEN(1.50)") == 3
    assert run("LEN(x)", {"x": None}) == 0


def test_negative_counts_are_value_errors():
    assert "#VALUE!" in fails('LEFT("abc", -1)').message
    assert "#VALUE!" in fails('MID("abc", 0, 1)').message
    assert "#VALUE!" in fails('REPT("a", -1)').message


def test_rept_refuses_to_build_huge_text_before_building_it():
    started = time.perf_counter()
    assert "text longer" in fails('REPT("abc", 1e15)').message
    assert "text longer" in fails('REPT("a", 65537)').message
    assert time.perf_counter() - started < 0.1
    assert len(run('REPT("a", 65536)')) == 65_536


def test_substitute_refuses_to_build_huge_text():
    scope = {"t": "a" * 60_000}
    assert "text longer" in fails('SUBSTITUTE(t, "a", "bb")', scope).message


def test_find_is_case_sensitive_and_one_based():
    assert run('FIND("b", "abcb")') == 2
    assert run('FIND("b", "abcb", 3)') == 4
    assert run('FIND("", "abc")') == 1
    assert "#VALUE!" in fails('FIND("B", "abc")').message
    assert "#VALUE!" in fails('FIND("a", "abc", 5)').message


def test_search_ignores_case_and_supports_wildcards():
    assert run('SEARCH("B", "abcb")') == 2
    assert run('SEARCH("c?b", "abcxb")') == 3
    assert run('SEARCH("b*d", "abcd")') == 2
    assert run('SEARCH("*d", "abcd")') == 1
    assert run('SEARCH("~?", "a?b")') == 2
    assert "#VALUE!" in fails('SEARCH("z", "abc")').message


def test_value_converts_numeric_text():
    assert run('VALUE("1,234.5")') == D("1234.5")
    assert run('VALUE("15%")') == D("0.15")
    assert run("VALUE(3)") == 3
    assert run("VALUE(x)", {"x": None}) == 0
    assert "#VALUE!" in fails('VALUE("abc")').message
    assert "#VALUE!" in fails("VALUE(TRUE)").message


def test_contains_on_text_ignores_case():
    assert run('CONTAINS("Hello World", "world")') is True
    assert run('CONTAINS("Hello", "bye")') is False
    assert run('CONTAINS(x, "a")', {"x": None}) is False


def test_contains_on_a_list_tests_membership():
    scope = {"tags": ["VIP", "new"]}
    assert run('CONTAINS(tags, "vip")', scope) is True
    assert run('CONTAINS(tags, "vi")', scope) is False
    assert run("CONTAINS(nums, 2)", {"nums": [D(1), D(2)]}) is True
