"""The function registry and the catalog the form builder's function picker shows."""

from __future__ import annotations

import pytest

from formflow.expressions import FUNCTIONS, function_catalog
from formflow.expressions.functions import CATEGORIES

REQUIRED = {
    "logical": "IF IFS AND OR NOT XOR IFERROR SWITCH ISBLANK ISEMPTY ISNUMBER ISTEXT",
    "math": "SUM SUMPRODUCT AVERAGE MIN MAX COUNT COUNTA COUNTIF ROUND ROUNDUP ROUNDDOWN INT "
    "TRUNC ABS MOD POWER SQRT CEILING FLOOR SIGN",
    "text": "CONCAT CONCATENATE LEFT RIGHT MID LEN UPPER LOWER TRIM SUBSTITUTE FIND SEARCH REPT "
    "TEXT VALUE CONTAINS",
    "date": "TODAY NOW DATE YEAR MONTH DAY HOUR MINUTE WEEKDAY WEEKNUM ISOWEEKNUM DATEDIF DAYS "
    "EDATE EOMONTH DATEVALUE",
}


@pytest.mark.parametrize("category", list(REQUIRED))
def test_every_required_function_is_registered_in_its_category(category):
    for name in REQUIRED[category].split():
        assert FUNCTIONS[name].category == category, name


def test_catalog_lists_every_function_once_with_both_languages():
    catalog = function_catalog()
    assert sorted(entry["name"] for entry in catalog) == sorted(FUNCTIONS)
    for entry in catalog:
        assert set(entry) == {"name", "category", "signature", "description"}
        assert entry["category"] in CATEGORIES
        assert entry["signature"].startswith(entry["name"] + "(")
        assert set(entry["description"]) == {"en", "zh-CN"}
        assert entry["description"]["en"].strip()
        assert entry["description"]["zh-CN"].strip()
        assert any("\u4e00" <= char <= "\u9fff" for char in entry["description"]["zh-CN"])


def test_catalog_is_ordered_by_category_then_name():
    catalog = function_catalog()
    keys = [(CATEGORIES.index(entry["category"]), entry["name"]) for entry in catalog]
    assert keys == sorted(keys)


def test_catalog_entries_are_copies():
    function_catalog()[0]["description"]["en"] = "changed"
    assert function_catalog()[0]["description"]["en"] != "changed"


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        FUNCTIONS["EVIL"] = FUNCTIONS["SUM"]  # type: ignore[index]


def test_lazy_functions_are_exactly_the_documented_ones():
    lazy = {name for name, function in FUNCTIONS.items() if function.lazy}
    assert lazy == {"IF", "IFS", "AND", "OR", "IFERROR", "SWITCH"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("IF(1)", "IF expects 2 to 3 arguments, got 1"),
        ("TODAY(1)", "TODAY expects 0 arguments, got 1"),
        ("NOT(1, 2)", "NOT expects 1 argument, got 2"),
        ("SUM()", "SUM expects at least 1 argument, got 0"),
        ("SWITCH(1, 2)", "SWITCH expects at least 3 arguments, got 2"),
    ],
)
def test_arity_errors(source, message):
    from formflow.expressions import ExpressionError, compile_expression

    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert caught.value.message == message
    assert caught.value.position == 0
