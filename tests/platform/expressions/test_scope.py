"""Names against the scope: plain fields, subform columns, mapping parts, ChainMap rows."""

from __future__ import annotations

from collections import ChainMap

from .helpers import D, fails, run

QUOTE = {
    "discount": D("0.1"),
    "lines": [
        {"product": "pen", "price": D("2.50"), "qty": D(4), "tags": ["a", "b"]},
        {"product": "ink", "price": D("10"), "qty": D(1), "tags": []},
    ],
    "address": {"city": "Shanghai", "zip": "200000"},
}


def test_subform_column_is_the_list_of_that_field_in_every_row():
    assert run("lines.price", QUOTE) == [D("2.50"), D(10)]
    assert run("lines.missing", QUOTE) == [None, None]


def test_subform_columns_feed_aggregates():
    assert run("SUMPRODUCT(lines.price, lines.qty) * (1 - discount)", QUOTE) == D("18")


def test_multi_value_subform_column_is_a_list_of_lists():
    assert run("lines.tags", QUOTE) == [["a", "b"], []]
    assert run("COUNTA(lines.tags)", QUOTE) == 1


def test_mapping_part_is_looked_up_by_key():
    assert run('address.city & " " & address.zip', QUOTE) == "Shanghai 200000"
    assert run("address.street", QUOTE) is None


def test_dotted_name_on_a_blank_field_is_blank():
    assert run("ISBLANK(address.city)", {"address": None}) is True


def test_dotted_name_on_a_plain_value_is_an_error_at_the_name():
    error = fails("1 + price.amount", {"price": D(3)})
    assert error.position == 4
    assert "no part" in error.message


def test_rows_that_are_not_mappings_give_blanks():
    assert run("lines.x", {"lines": [{"x": 1}, "junk", None]}) == [D(1), None, None]


def test_attributes_of_objects_are_never_reachable():
    class Secret:
        password = "hunter2"

    assert "#VALUE!" in fails("s.password", {"s": Secret()}).message
    assert "unsupported value" in fails("s", {"s": Secret()}).message


def test_subform_row_formula_sees_its_row_first_then_the_parent():
    parent = {"discount": D("0.5"), "price": D(999)}
    row = {"price": D(10), "qty": D(2)}
    assert run("price * qty * (1 - discount)", ChainMap(row, parent)) == D("10.0")


def test_unknown_field_in_a_dotted_name_points_at_the_name():
    error = fails("1 + rows.x")
    assert error.message == "unknown field 'rows'"
    assert error.position == 4


def test_more_than_10000_rows_is_an_error():
    assert "list longer" in fails("lines.x", {"lines": [{}] * 10_001}).message
    assert "list longer" in fails("xs", {"xs": [1] * 10_001}).message
