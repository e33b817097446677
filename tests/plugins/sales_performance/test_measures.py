"""Measures: one SQL aggregate per measure, exact sums, credit splits, clear errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import event

from formflow.definitions.service import get_form
from formflow.records import service as records
from sales_performance import measures
from sales_performance.measures import Measure, MeasureError, parse_filter
from tests.plugins.sales_performance.world import Sales, build

JUNE = (dt.date(2026, 6, 1), dt.date(2026, 7, 1))


@pytest.fixture
def sales(runtime, admin) -> Sales:
    return build(runtime, admin)


def contract(sales: Sales, amount: str, signed_on: str, as_: str = "rita", **data) -> int:
    customer = sales.customer(f"C{amount}{signed_on}{as_}", as_=as_)
    return sales.create(
        "contract",
        as_=as_,
        name="deal",
        customer=customer,
        amount=amount,
        signed_on=signed_on,
        **data,
    )


def actuals(sales: Sales, key: str, start=JUNE[0], end=JUNE[1]) -> dict[str, Decimal]:
    names = {p.id: n for n, p in sales.people.items()}
    with sales.runtime.write() as work:
        measures.ensure_defaults(work)
        found = measures.actuals(work, measures.get_measure(work, key), start, end)
    return {names[k]: v for k, v in found.items()}


def test_contract_amount_sums_exactly_and_splits_credit(sales):
    contract(sales, "1000.10", "2026-06-01")
    contract(sales, "2000.20", "2026-06-30")
    contract(sales, "999.99", "2026-07-01")  # next month
    contract(sales, "500.00", "2026-05-31")  # last month
    contract(sales, "700.00", "2026-06-15", status="cancelled")
    rita, ron = sales.people["rita"].id, sales.people["ron"].id
    contract(
        sales,
        "1000.01",
        "2026-06-10",
        team=[{"member": rita, "share": 60}, {"member": ron, "share": 40}],
    )
    got = actuals(sales, "contract_amount")
    # rita: 1000.10 + 2000.20 + 60 % of 1000.01 = 3000.30 + 600.006; ron: 400.004
    assert got == {"rita": Decimal("3600.306"), "ron": Decimal("400.004")}
    assert sum(got.values()) == Decimal("4000.31")


def test_counted_lists_the_records_behind_a_number(sales):
    first = contract(sales, "100.00", "2026-06-02")
    ron = sales.people["ron"].id
    shared = contract(
        sales,
        "300.00",
        "2026-06-03",
        team=[{"member": sales.people["rita"].id, "share": 50}, {"member": ron, "share": 50}],
    )
    with sales.runtime.write() as work:
        measures.ensure_defaults(work)
        measure = measures.get_measure(work, "contract_amount")
        rows = measures.counted(work, measure, *JUNE, sales.people["rita"].id)
    assert rows == [(first, Decimal("100")), (shared, Decimal("150"))]


def test_counts_and_averages_by_the_date_in_the_org_time_zone(sales):
    customer = sales.customer("Visited")
    # 2026-05-31T16:30Z is 2026-06-01 00:30 in Shanghai: June.
    for when, kind, stars in (
        ("2026-05-31T16:30:00Z", "visit", 5),
        ("2026-06-10T02:00:00Z", "visit", 4),
        ("2026-06-11T02:00:00Z", "call", 2),
        ("2026-06-30T16:30:00Z", "visit", 1),  # July 1st in Shanghai
    ):
        sales.create(
            "follow_up",
            customer=customer,
            type=kind,
            visited_at=when,
            content="x",
            satisfaction=stars,
        )
    assert actuals(sales, "visits") == {"rita": Decimal(2)}
    assert actuals(sales, "follow_ups") == {"rita": Decimal(3)}
    assert actuals(sales, "satisfaction") == {"rita": Decimal(11) / 3}


def test_filters_read_like_sentences():
    assert parse_filter("status = signed\ntype in visit, demo; received_on is not empty") == [
        measures.Filter("status", "eq", "signed"),
        measures.Filter("type", "in", ["visit", "demo"]),
        measures.Filter("received_on", "is_empty", False),
    ]
    with pytest.raises(MeasureError, match="cannot read 'status ~ x'"):
        parse_filter("status ~ x", measure="m")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"form": "nope"}, "there is no form 'nope'"),
        ({"field": "gone"}, "field 'gone' is not a field of form"),
        ({"member_field": "name"}, "member field 'name' is a text field"),
        ({"date_field": "amount"}, "date field 'amount' is a money field"),
        ({"filter": "colour = red"}, "filter: colour: is not a field"),
        ({"aggregate": "median"}, "aggregate must be one of"),
    ],
)
def test_a_broken_measure_names_what_is_wrong(sales, change, message):
    base = dict(
        key="m",
        name="m",
        form="contract",
        aggregate="sum",
        field="amount",
        filter="",
        member_field="owner",
        date_field="signed_on",
    )
    with sales.runtime.write() as work, pytest.raises(MeasureError, match=message):
        measures.actuals(work, Measure(**{**base, **change}), *JUNE)


def test_measures_read_together_give_the_numbers_they_give_alone(sales):
    rita, ron = sales.people["rita"].id, sales.people["ron"].id
    contract(sales, "1000.10", "2026-06-01")
    contract(sales, "1000.01", "2026-06-10", team=[{"member": rita, "share": 60},
                                                   {"member": ron, "share": 40}])  # fmt: skip
    contract(sales, "700.00", "2026-06-15", status="cancelled")
    customer = sales.customer("Visited")
    for when, kind, stars in (
        ("2026-06-02T02:00:00Z", "visit", 5),
        ("2026-06-03T02:00:00Z", "visit", None),
        ("2026-06-04T02:00:00Z", "call", 2),
        ("2026-07-01T02:00:00Z", "visit", 1),
    ):
        sales.create("follow_up", customer=customer, type=kind, visited_at=when, content="x",
                     **({"satisfaction": stars} if stars else {}))  # fmt: skip
    sales.create("follow_up", as_="ron", customer=sales.customer("R", as_="ron"), type="demo",
                 visited_at="2026-06-05T02:00:00Z", content="y", satisfaction=4)  # fmt: skip
    with sales.runtime.write() as work:
        measures.ensure_defaults(work)
        every = list(measures.all_measures(work).values())
        together = measures.actuals_many(work, every, *JUNE)
        alone = {m.key: measures.actuals(work, m, *JUNE) for m in every}
    assert together == alone
    assert together["visits"] == {rita: 2}
    assert together["satisfaction"] == {rita: Decimal("3.5"), ron: Decimal(4)}


def test_the_records_behind_everybodys_numbers_at_once_are_each_ones(sales):
    rita, ron = sales.people["rita"].id, sales.people["ron"].id
    contract(sales, "100.00", "2026-06-02")
    contract(sales, "300.00", "2026-06-03", team=[{"member": rita, "share": 50},
                                                  {"member": ron, "share": 50}])  # fmt: skip
    contract(sales, "70.00", "2026-06-04", as_="ron")
    with sales.runtime.write() as work:
        measures.ensure_defaults(work)
        measure = measures.get_measure(work, "contract_amount")
        everybody = measures.counted_by_member(work, measure, *JUNE)
        alone = {m: measures.counted(work, measure, *JUNE, m) for m in (rita, ron)}
    assert everybody == alone
    assert [value for _, value in everybody[ron]] == [Decimal(150), Decimal(70)]


def test_a_read_only_unit_of_work_reads_a_months_numbers_once(sales):
    contract(sales, "1000.10", "2026-06-01")
    with sales.runtime.write() as work:
        measures.ensure_defaults(work)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    engine = sales.runtime.db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with sales.runtime.read() as work:
            every = list(measures.all_measures(work).values())
            amount = measures.get_measure(work, "contract_amount")
            first = measures.actuals_many(work, every, *JUNE)
            asked = len(statements)
            again = measures.actuals_many(work, every, *JUNE)
            alone = measures.actuals(work, amount, *JUNE)
            assert len(statements) == asked  # the second reading ran no query
            assert again == first and alone == first["contract_amount"]
            again["contract_amount"].clear()  # a caller's copy: the book is not changed
            assert measures.actuals(work, amount, *JUNE) == first["contract_amount"]
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_unit_of_work_that_writes_reads_its_own_changes(sales):
    customer = sales.customer("Writer")
    with sales.runtime.write(sales.user("rita")) as work:
        measures.ensure_defaults(work)
        amount = measures.get_measure(work, "contract_amount")
        assert measures.actuals(work, amount, *JUNE) == {}
        form = get_form(work, "sales_performance.contract")
        records.create(work, form, {"name": "deal", "customer": customer, "amount": "250.00",
                                    "signed_on": "2026-06-03"})  # fmt: skip
        assert measures.actuals(work, amount, *JUNE) == {sales.people["rita"].id: Decimal(250)}
