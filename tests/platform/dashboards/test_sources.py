"""Charts over a plugin's data source: its filters mean what the same filters mean on a
form, its option columns keep their options' order, formulas use any measure of the chart,
and a dashboard's charts over one source compute its rows once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from formflow.dashboards import service as dashboards
from formflow.dashboards.charts import chart_result
from formflow.dashboards.compile import Filters
from formflow.dashboards.definition import parse, parse_chart
from formflow.dashboards.periods import Range
from formflow.dashboards.sources import DataSource, SourceColumn
from formflow.definitions import service as definitions
from formflow.errors import ValidationFailed
from formflow.extensions import hookimpl
from formflow.people import service as people
from formflow.records import service as records
from tests.conftest import make_person
from tests.platform.dashboards.world import FORM, build

SOURCE = "test.deals"
STAGES = {  # listed as a funnel runs, not alphabetically
    "lead": {"en": "Lead"},
    "qualified": {"en": "Qualified"},
    "won": {"en": "Won"},
    "lost": {"en": "Lost"},
}
ROWS: list[dict[str, Any]] = [
    {
        "stage": "lead",
        "amount": Decimal("1000.00"),
        "closed_on": None,
        "note": "ACME renewal",
        "code": "10",
    },
    {
        "stage": "won",
        "amount": 950.5,
        "closed_on": dt.date(2026, 1, 31),
        "note": "",
        "code": "9",
    },
    {"stage": "won", "amount": 80, "closed_on": "2026-02-01", "note": "acme pilot", "code": "2"},
    {
        "stage": "qualified",
        "amount": "2000",
        "closed_on": dt.datetime(2026, 1, 15, 9, tzinfo=dt.UTC),
        "note": None,
        "code": None,
    },
    {"stage": "lost", "amount": None, "closed_on": "2026-03-02", "note": "other", "code": "10"},
    {"stage": None, "amount": 5, "closed_on": "2026-01-01", "note": "x", "code": "1"},
]


class Deals:
    """A plugin offering one small source, counting how often its rows are computed."""

    def __init__(self) -> None:
        self.computed = 0

    def rows(self, work: Any, filters: Filters) -> list[dict[str, Any]]:
        self.computed += 1
        return [dict(row) for row in ROWS]

    @hookimpl
    def formflow_data_sources(self) -> dict[str, DataSource]:
        return {
            SOURCE: DataSource(
                SOURCE,
                {"en": "Deals"},
                (
                    SourceColumn("stage", {"en": "Stage"}, "option", STAGES),
                    SourceColumn("amount", {"en": "Amount"}, "money"),
                    SourceColumn("closed_on", {"en": "Closed on"}, "date"),
                    SourceColumn("note", {"en": "Note"}, "text"),
                    SourceColumn("code", {"en": "Code"}, "text"),
                ),
                self.rows,
            )
        }


@pytest.fixture
def deals(runtime) -> Deals:
    plugin = Deals()
    runtime.plugins.register(plugin, name="test_deals")
    make_person(runtime, "boss", admin=True)
    return plugin


def viewer(runtime) -> Any:
    with runtime.read() as work:
        user = people.get_user(work, "boss")
        work.session.expunge(user)
        return user


def draw(runtime, chart: dict[str, Any], filters: Filters | None = None) -> dict[str, Any]:
    spec = parse_chart({"id": "c", "source": SOURCE, **chart})
    with runtime.read(viewer(runtime)) as work:
        return chart_result(work, spec, filters or Filters(), language="en")


def count(runtime, *filters: dict[str, Any]) -> int:
    """How many rows pass ``filters``."""
    result = draw(
        runtime,
        {"type": "number", "measures": [{"key": "n", "agg": "count"}], "filters": list(filters)},
    )
    assert result["error"] is None, result["error"]
    return result["rows"][0]["values"][0] if result["rows"] else 0


def refusal(runtime, *filters: dict[str, Any]) -> str:
    result = draw(
        runtime,
        {"type": "number", "measures": [{"key": "n", "agg": "count"}], "filters": list(filters)},
    )
    assert result["rows"] == []
    return result["error"]


# -- filters ------------------------------------------------------------------------------------


def test_in_takes_a_json_list_as_the_chart_designer_stores_it_and_comma_separated_text(
    runtime, deals
):
    assert count(runtime, {"field": "stage", "op": "in", "value": ["lead", "won"]}) == 3
    assert count(runtime, {"field": "stage", "op": "in", "value": "lead, won"}) == 3
    assert count(runtime, {"field": "amount", "op": "in", "value": [1000, "80"]}) == 2
    assert count(runtime, {"field": "amount", "op": "in", "value": "950.50,2000"}) == 2


@pytest.mark.parametrize(
    ("value", "empty"),
    [
        (None, True),
        (True, True),
        ("true", True),
        (False, False),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("no", False),
        (0, False),
    ],
)
def test_is_empty_reads_its_value_as_the_record_list_does(runtime, deals, value, empty):
    # Empty notes: None and "" (rows 2 and 4); closed_on: row 1 only.
    notes = count(runtime, {"field": "note", "op": "is_empty", "value": value})
    closed = count(runtime, {"field": "closed_on", "op": "is_empty", "value": value})
    assert (notes, closed) == ((2, 1) if empty else (4, 5))


def test_numbers_compare_as_numbers_and_text_as_text(runtime, deals):
    # As text "950.5" > "900" but "1000" < "900"; as numbers both are greater.
    assert count(runtime, {"field": "amount", "op": "gt", "value": "900"}) == 3
    assert count(runtime, {"field": "amount", "op": "eq", "value": 1000}) == 1  # 1000.00
    assert count(runtime, {"field": "amount", "op": "lte", "value": "80.00"}) == 2
    # ne keeps the empty amount, as a form's ``!= OR IS NULL`` does; lt drops it.
    assert count(runtime, {"field": "amount", "op": "ne", "value": "80"}) == 5
    assert count(runtime, {"field": "amount", "op": "between", "value": [80, "1000"]}) == 3
    # A text column compares as a form's text field does, character by character.
    assert count(runtime, {"field": "code", "op": "gt", "value": "9"}) == 0
    assert count(runtime, {"field": "code", "op": "lt", "value": "2"}) == 3  # 10, 10, 1


def test_dates_compare_as_days_whatever_the_rows_hold(runtime, deals):
    january = {"field": "closed_on", "op": "between", "value": "2026-01-01,2026-01-31"}
    assert count(runtime, january) == 3  # a date, a datetime and ISO text
    assert count(runtime, {"field": "closed_on", "op": "gte", "value": "2026-02-01"}) == 2
    assert count(runtime, {"field": "closed_on", "op": "eq", "value": "2026-01-31"}) == 1


def test_contains_ignores_case_like_the_record_lists(runtime, deals):
    assert count(runtime, {"field": "note", "op": "contains", "value": "acme"}) == 2


def test_a_filter_the_column_cannot_take_is_refused_naming_its_op_or_value(runtime, deals):
    assert refusal(runtime, {"field": "amount", "op": "like", "value": "1"}) == (
        "chart.filters[0].op: unknown operator 'like'"
    )
    assert refusal(runtime, {"field": "amount", "op": "contains", "value": "1"}) == (
        "chart.filters[0].op: cannot use 'contains' here "
        "(use eq, ne, lt, lte, gt, gte, in, between, is_empty)"
    )
    assert refusal(runtime, {"field": "amount", "op": "gt", "value": "lots"}) == (
        "chart.filters[0].value: gt: must be a number"
    )
    assert refusal(runtime, {"field": "closed_on", "op": "between", "value": "2026-01-01"}) == (
        "chart.filters[0].value: between: needs two values: low,high"
    )
    assert refusal(runtime, {"field": "stage", "op": "eq"}) == (
        "chart.filters[0].value: eq: needs a value"
    )


def test_publishing_a_dashboard_with_a_bad_source_filter_names_the_charts_path(runtime, deals):
    chart = {"type": "number", "source": SOURCE, "measures": [{"key": "n", "agg": "count"}]}
    document = {
        "name": "test.deals",
        "title": "Deals",
        "charts": [
            {**chart, "id": "a"},
            {**chart, "id": "b", "filters": [{"field": "note", "op": "contains", "value": "x"}]},
            {**chart, "id": "c", "filters": [{"field": "amount", "op": "starts", "value": "1"}]},
        ],
    }
    with runtime.read(viewer(runtime)) as work, pytest.raises(ValidationFailed) as caught:
        dashboards.check(work, document)
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("charts[2].filters[0].op", "operator")
    ]


# -- order --------------------------------------------------------------------------------------


def keys(result: dict[str, Any]) -> list[Any]:
    assert result["error"] is None, result["error"]
    return [r["keys"][0] for r in result["rows"]]


def test_option_columns_keep_their_options_order(runtime, deals):
    bars = {"type": "bar", "dimensions": [{"field": "stage"}]}
    count_ = {"measures": [{"key": "n", "agg": "count"}]}
    result = draw(runtime, {**bars, **count_})
    assert keys(result) == ["lead", "qualified", "won", "lost", None]
    assert [r["labels"][0] for r in result["rows"]][:4] == ["Lead", "Qualified", "Won", "Lost"]
    by_stage = draw(runtime, {**bars, **count_, "sort": {"by": "stage", "descending": True}})
    assert keys(by_stage) == [None, "lost", "won", "qualified", "lead"]
    by_count = draw(runtime, {**bars, **count_, "sort": {"by": "n", "descending": True}})
    assert keys(by_count)[0] == "won"
    assert keys(draw(runtime, {**bars, **count_, "limit": 2})) == ["lead", "qualified"]


def test_other_columns_sort_by_value_empty_first(runtime, deals):
    result = draw(
        runtime,
        {
            "type": "bar",
            "dimensions": [{"field": "closed_on", "bucket": "month"}],
            "measures": [{"key": "n", "agg": "count"}],
        },
    )
    assert keys(result) == [None, "2026-01", "2026-02", "2026-03"]


# -- formulas -----------------------------------------------------------------------------------


def test_a_formula_may_use_measures_listed_after_it_and_other_formulas(runtime, deals):
    result = draw(
        runtime,
        {
            "type": "bar",
            "dimensions": [{"field": "stage"}],
            "measures": [
                {"key": "share", "formula": "per_deal / total", "kind": "percent"},
                {"key": "per_deal", "formula": "amount / n"},
                {"key": "amount", "agg": "sum", "field": "amount"},
                {"key": "n", "agg": "count"},
                {"key": "total", "agg": "max", "field": "amount"},
            ],
        },
    )
    won = next(r for r in result["rows"] if r["keys"] == ["won"])
    # won: 950.5 + 80 over 2 deals = 515.25, of the largest 950.5
    assert won["values"] == [
        str((Decimal("515.25") / Decimal("950.5")).quantize(Decimal("0.0001"))),
        "515.2500",
        "1030.50",
        2,
        "950.50",
    ]


def test_a_form_charts_formula_may_use_a_measure_listed_after_it(runtime, clock):
    team = build(runtime, clock)
    spec = parse_chart(
        {
            "id": "c",
            "form": FORM,
            "type": "number",
            "measures": [
                {"key": "average", "formula": "amount / n"},
                {"key": "amount", "agg": "sum", "field": "amount"},
                {"key": "n", "agg": "count"},
            ],
        }
    )
    with runtime.read(team.user("boss")) as work:
        result = chart_result(work, spec, Filters(), language="en")
    total = sum(Decimal(str(d["amount"])) for d in team.deals())
    assert result["rows"][0]["values"] == [
        str((total / 40).quantize(Decimal("0.0001"))),
        str(total.quantize(Decimal("0.01"))),
        40,
    ]


def chart_with(chart_id: str, *measures: dict[str, Any]) -> dict[str, Any]:
    return {"id": chart_id, "type": "number", "source": SOURCE, "measures": list(measures)}


def test_a_formula_using_no_measure_or_itself_is_refused_naming_it():
    document = {
        "name": "test.formulas",
        "title": "Formulas",
        "charts": [
            chart_with("fine", {"key": "n", "agg": "count"}),
            chart_with(
                "unknown", {"key": "n", "agg": "count"}, {"key": "rate", "formula": "won / n"}
            ),
            chart_with(
                "cycles",
                {"key": "a", "formula": "b + n"},
                {"key": "n", "agg": "count"},
                {"key": "b", "formula": "a * 2"},
                {"key": "c", "formula": "c + 1"},
                {"key": "d", "formula": "a + n"},
            ),
        ],
    }
    with pytest.raises(ValidationFailed) as caught:
        parse(document)
    assert [(e.field, e.code, e.message) for e in caught.value.errors] == [
        (
            "charts[1].measures[1].formula",
            "formula",
            "uses won, which is not a measure of this chart",
        ),
        ("charts[2].measures[0].formula", "formula_cycle", "is computed from itself: a → b → a"),
        ("charts[2].measures[2].formula", "formula_cycle", "is computed from itself: b → a → b"),
        ("charts[2].measures[3].formula", "formula_cycle", "is computed from itself: c → c"),
    ]


# -- rows computed once a view ------------------------------------------------------------------


def test_a_dashboards_charts_over_one_source_compute_its_rows_once(runtime, deals):
    march = Filters(period=Range(dt.date(2026, 3, 1), dt.date(2026, 4, 1)))
    charts = [
        parse_chart(chart_with("n", {"key": "n", "agg": "count"})),
        parse_chart(chart_with("total", {"key": "total", "agg": "sum", "field": "amount"})),
    ]
    with runtime.read(viewer(runtime)) as work:
        results = [chart_result(work, c, Filters(), language="en") for c in charts]
        assert deals.computed == 1
        assert [r["rows"][0]["values"] for r in results] == [[6], ["4035.50"]]
        chart_result(work, charts[0], march, language="en")  # other filters: other rows
        assert deals.computed == 2
    with runtime.read(viewer(runtime)) as work:  # the next view reads them afresh
        chart_result(work, charts[0], Filters(), language="en")
    assert deals.computed == 3


class Counting:
    """A source over the world's deals that names the form it reads and narrows its rows
    to the columns a chart reads: its charts are cached until a deal changes."""

    def __init__(self) -> None:
        self.asked: list[frozenset[str] | None] = []

    def rows(self, work: Any, filters: Filters, columns: frozenset[str] | None = None) -> list:
        from formflow.records.models import Record

        self.asked.append(columns)
        loaded = definitions.get_form(work, FORM)
        live = work.session.scalars(
            select(Record.id).where(Record.form_id == loaded.form.id, Record.deleted_at.is_(None))
        ).all()
        return [{"deals": len(live), "unread": 1}]

    @hookimpl
    def formflow_data_sources(self) -> dict[str, DataSource]:
        columns = (SourceColumn("deals", {"en": "Deals"}, "integer"),
                   SourceColumn("unread", {"en": "Unread"}, "integer"))  # fmt: skip
        return {
            "test.counting": DataSource(
                "test.counting",
                {"en": "Counting"},
                columns,
                self.rows,
                reads=(FORM,),
                narrows=True,
            )
        }


def test_a_source_that_names_its_forms_is_cached_until_one_of_its_records_changes(runtime, clock):
    team = build(runtime, clock)
    source = Counting()
    runtime.plugins.register(source, name="test_counting")
    chart = parse_chart({"id": "n", "type": "number", "source": "test.counting",
                         "measures": [{"key": "n", "agg": "sum", "field": "deals"}]})  # fmt: skip

    def shown() -> str:
        with runtime.read(team.user("boss")) as work:
            result = chart_result(work, chart, Filters(), language="en")
        assert result["error"] is None, result["error"]
        return result["rows"][0]["values"][0]

    first = shown()
    assert shown() == first and len(source.asked) == 1  # the second view came from the cache
    assert source.asked == [frozenset({"deals"})]  # only the column the chart reads
    with runtime.write(team.user("ann")) as work:
        records.create(
            work, definitions.get_form(work, FORM), {"title": "One more", "stage": "lead"}
        )
    assert int(shown()) == int(first) + 1 and len(source.asked) == 2


def test_a_number_over_no_rows_counts_zero_like_a_forms(runtime, deals):
    chart = {
        "type": "number",
        "filters": [{"field": "note", "op": "eq", "value": "no such note"}],
        "measures": [
            {"key": "n", "agg": "count"},
            {"key": "kinds", "agg": "count_distinct", "field": "stage"},
            {"key": "total", "agg": "sum", "field": "amount"},
        ],
    }
    result = draw(runtime, chart)
    assert [row["values"] for row in result["rows"]] == [[0, 0, None]]
