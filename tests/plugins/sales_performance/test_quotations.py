"""Quotation discount approval as shipped: each band reaches exactly its approvers,
boundaries included; the minimum-price and large-total rules; approval locks the quotation,
rejection tells the rep why."""

from __future__ import annotations

import pytest

from formflow.errors import Forbidden
from tests.plugins.sales_performance.world import Sales, build


@pytest.fixture
def sales(runtime, admin) -> Sales:
    return build(runtime, admin)


MANAGER = [["max"]]
DIRECTOR = [["max"], ["dora"]]
TOP = [["max"], ["dora"], ["fay", "victor"]]


@pytest.mark.parametrize(
    ("lines", "discount", "route"),
    [
        ([("Router", "1000", 10)], "0", MANAGER),  # list price
        ([("Router", "900", 10)], "0", MANAGER),  # exactly 10 %: the manager's band
        ([("Router", "1000", 10)], "0.1", MANAGER),  # exactly 10 % as an overall discount
        ([("Router", "899.99", 10)], "0", DIRECTOR),  # just over 10 %
        ([("Router", "1000", 10)], "0.2", DIRECTOR),  # exactly 20 %: still the director's
        ([("Router", "1000", 10)], "0.2001", TOP),  # just over 20 %
        ([("Router", "1000", 10)], "0.21", TOP),
        # 5 % off overall, but one line is under the router's minimum price (800)
        ([("Licence", "10000", 1), ("Router", "790", 1)], "0.05", TOP),
        ([("Licence", "10000", 101)], "0", TOP),  # a total above 1,000,000
    ],
)
def test_each_discount_band_reaches_exactly_its_approvers(sales, lines, discount, route):
    quote = sales.quote(*lines, discount=discount)
    assert sales.values("quotation", quote)["status"] == "in_approval"
    assert sales.approvers_until_done(quote) == route
    assert sales.values("quotation", quote)["status"] == "approved"


def test_pricing_copies_list_and_minimum_prices_and_computes_the_effective_discount(sales):
    quote = sales.quote(("Router", "900", 2), ("Licence", "9500", 1), discount="0.05")
    values = sales.values("quotation", quote)
    assert [(str(line["list_price"]), str(line["min_price"])) for line in values["lines"]] == [
        ("1000.00", "800.00"),
        ("10000.00", "9000.00"),
    ]
    # (1800 + 9500) × 0.95 = 10,735 against 12,000 at list price: 10.54 % off
    assert str(values["total"]) == "10735.00"
    assert str(values["effective_discount"]) == "0.105417"
    assert values["number"].startswith("QT-")


def test_an_approved_quotation_is_locked_and_the_rep_told(sales):
    quote = sales.quote(("Router", "950", 1))
    sales.act("max", quote)
    assert sales.values("quotation", quote)["status"] == "approved"
    assert any("已批准" in title for title, _ in sales.inbox("rita"))
    from formflow.definitions.service import get_form
    from formflow.records import service as records

    with (
        pytest.raises(Forbidden, match="locked"),
        sales.runtime.write(sales.user("rita")) as work,
    ):
        records.update_record(
            work,
            get_form(work, "sales_performance.quotation"),
            quote,
            {"note": "one more thing"},
            revision=None,
        )


def test_a_rejection_marks_the_quotation_and_tells_the_rep_why(sales):
    quote = sales.quote(("Router", "700", 5), discount="0")
    sales.act("max", quote, "reject", comment="价格太低，请重新报价")
    assert sales.values("quotation", quote)["status"] == "rejected"
    [(title, body)] = [m for m in sales.inbox("rita") if "驳回" in m[0]]
    assert sales.values("quotation", quote)["number"] in title
    assert "价格太低，请重新报价" in body
