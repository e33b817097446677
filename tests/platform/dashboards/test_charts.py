"""Every chart type's query against the same numbers computed independently in Python
from the stored records, on both databases; and the viewer's data scope applied."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest

from formflow.dashboards.charts import chart_result
from formflow.dashboards.compile import Filters
from formflow.dashboards.definition import parse_chart
from formflow.dashboards.periods import Range
from tests.platform.dashboards.world import FORM, STAGES, build

ZONE = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def team(runtime, clock):
    return build(runtime, clock)


NO_FILTERS = Filters()


def run(team, chart: dict[str, Any], as_: str = "boss", filters: Filters = NO_FILTERS, **kw):
    spec = parse_chart({"id": "c", "form": FORM, **chart})
    user = team.user(as_)
    with team.runtime.read(user) as work:
        return chart_result(work, spec, filters, language="en", **kw)


def table(result) -> dict[tuple, list]:
    assert result["error"] is None, result["error"]
    return {tuple(r["keys"]): r["values"] for r in result["rows"]}


def money(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def test_bar_counts_and_sums_by_stage_in_option_order(team):
    result = run(
        team,
        {
            "type": "bar",
            "dimensions": [{"field": "stage"}],
            "measures": [
                {"key": "n", "agg": "count"},
                {"key": "amount", "agg": "sum", "field": "amount"},
                {"key": "avg", "agg": "avg", "field": "amount"},
                {"key": "low", "agg": "min", "field": "amount"},
                {"key": "high", "agg": "max", "field": "amount"},
                {"key": "reps", "agg": "count_distinct", "field": "_owner"},
                {"key": "per_rep", "formula": "amount / reps"},
            ],
        },
    )
    deals = team.deals()
    expected = {}
    for stage in STAGES:
        amounts = [Decimal(str(d["amount"])) for d in deals if d["stage"] == stage]
        reps = len({d["_owner"] for d in deals if d["stage"] == stage})
        total = sum(amounts)
        expected[(stage,)] = [
            len(amounts),
            money(total),
            money(total / len(amounts)),
            money(min(amounts)),
            money(max(amounts)),
            reps,
            str((total / reps).quantize(Decimal("0.0001"))),
        ]
    assert table(result) == expected
    assert [r["keys"][0] for r in result["rows"]] == STAGES  # the form's option order
    assert result["rows"][3]["labels"] == ["Won"]
    assert result["measures"][1] == {"key": "amount", "label": "Sum of Amount", "kind": "money"}


def test_line_by_month_of_a_date_field_and_empty_dates(team):
    result = run(
        team,
        {
            "type": "line",
            "dimensions": [{"field": "closed_on", "bucket": "month"}],
            "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
        },
    )
    sums: dict[Any, Decimal] = defaultdict(Decimal)
    for d in team.deals():
        key = d["closed_on"][:7] if d.get("closed_on") else None
        sums[(key,)] += Decimal(str(d["amount"]))
    assert table(result) == {k: [money(v)] for k, v in sums.items()}
    assert result["rows"][0]["keys"] == [None]  # empty first, then the months in order
    assert result["rows"][0]["labels"] == ["(empty)"]


@pytest.mark.parametrize("bucket", ["day", "week", "month", "quarter", "year"])
def test_created_at_buckets_in_the_forms_time_zone(team, bucket):
    result = run(
        team,
        {
            "type": "bar",
            "dimensions": [{"field": "_created_at", "bucket": bucket}],
            "measures": [{"key": "n", "agg": "count"}],
        },
    )
    counts: Counter = Counter()
    for d in team.deals():
        day = d["_created_at"].astimezone(ZONE).date()
        key = {
            "day": day.isoformat(),
            "week": (day - dt.timedelta(days=day.weekday())).isoformat(),
            "month": day.isoformat()[:7],
            "quarter": f"{day.year}-Q{(day.month + 2) // 3}",
            "year": str(day.year),
        }[bucket]
        counts[(key,)] += 1
    assert table(result) == {k: [v] for k, v in counts.items()}


def test_stacked_bar_and_pivot_with_subtotals(team):
    deals = team.deals()
    stacked = run(
        team,
        {
            "type": "stacked_bar",
            "dimensions": [{"field": "_owner"}, {"field": "stage"}],
            "measures": [{"key": "n", "agg": "count"}],
        },
    )
    counts = Counter((str(d["_owner"]), d["stage"]) for d in deals)
    assert table(stacked) == {k: [v] for k, v in counts.items()}
    pivot = run(
        team,
        {
            "type": "pivot",
            "dimensions": [{"field": "region"}, {"field": "stage"}],
            "measures": [
                {"key": "amount", "agg": "sum", "field": "amount"},
                {"key": "reps", "agg": "count_distinct", "field": "_owner"},
            ],
        },
    )
    grid = pivot["pivot"]
    for region in ("north", "south", None):
        mine = [d for d in deals if d.get("region") == region]
        key = region or ""
        assert grid["row_totals"][key] == [
            money(sum(Decimal(str(d["amount"])) for d in mine)),
            len({d["_owner"] for d in mine}),  # distinct reps: computed, not added up
        ]
        for stage in STAGES:
            cell = [d for d in mine if d["stage"] == stage]
            if cell:
                assert grid["cells"][key][stage][0] == money(
                    sum(Decimal(str(d["amount"])) for d in cell)
                )
    assert grid["grand"] == [money(sum(Decimal(str(d["amount"])) for d in deals)), 4]
    assert [c["key"] for c in grid["columns"]] == STAGES


def test_ranking_pie_funnel_number_and_gauge(team):
    deals = team.deals()
    ranking = run(
        team,
        {
            "type": "ranking",
            "dimensions": [{"field": "_owner"}],
            "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
            "limit": 2,
        },
    )
    sums: dict[int, Decimal] = defaultdict(Decimal)
    for d in deals:
        sums[d["_owner"]] += Decimal(str(d["amount"]))
    top = sorted(sums.items(), key=lambda kv: kv[1], reverse=True)[:2]
    assert [(r["keys"][0], r["values"][0]) for r in ranking["rows"]] == [
        (str(k), money(v)) for k, v in top
    ]
    assert ranking["rows"][0]["labels"][0] in ("ann", "bob", "cat", "mia")
    pie = run(
        team,
        {
            "type": "pie",
            "dimensions": [{"field": "region"}],
            "measures": [{"key": "n", "agg": "count"}],
        },
    )
    assert table(pie) == {(k,): [v] for k, v in Counter(d.get("region") for d in deals).items()}
    funnel = run(
        team,
        {
            "type": "funnel",
            "dimensions": [{"field": "stage"}],
            "measures": [{"key": "n", "agg": "count"}],
        },
    )
    assert [r["keys"][0] for r in funnel["rows"]] == STAGES
    number = run(team, {"type": "number", "measures": [{"key": "n", "agg": "count"}]})
    assert table(number) == {(): [len(deals)]}
    gauge = run(
        team,
        {
            "type": "gauge",
            "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
            "target": "100000",
        },
    )
    assert gauge["target"] == "100000"
    assert gauge["rows"][0]["values"] == [money(sum(Decimal(str(d["amount"])) for d in deals))]


def test_number_card_compares_with_the_previous_period(team):
    deals = team.deals()
    period = Range(dt.date(2026, 5, 1), dt.date(2026, 6, 1))
    result = run(
        team,
        {
            "type": "number",
            "date_field": "closed_on",
            "compare": True,
            "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
        },
        filters=Filters(period=period),
    )

    def total(first, after):
        return money(
            sum(
                (
                    Decimal(str(d["amount"]))
                    for d in deals
                    if d.get("closed_on")
                    and first.isoformat() <= d["closed_on"] < after.isoformat()
                ),
                Decimal(0),
            )
        )

    assert result["rows"][0]["values"] == [total(dt.date(2026, 5, 1), dt.date(2026, 6, 1))]
    assert result["compare"]["values"] == [total(dt.date(2026, 4, 1), dt.date(2026, 5, 1))]


def test_a_reps_and_a_managers_numbers_differ_exactly_as_their_scopes(team):
    deals = team.deals()
    chart = {
        "type": "bar",
        "dimensions": [{"field": "_owner"}],
        "measures": [{"key": "n", "agg": "count"}],
    }
    ann = team.people["ann"].id
    assert table(run(team, chart, as_="ann")) == {
        (str(ann),): [sum(1 for d in deals if d["_owner"] == ann)]
    }
    east = team.departments["east"]
    mine = Counter(str(d["_owner"]) for d in deals if d["_department"] == east)
    assert table(run(team, chart, as_="mia")) == {(k,): [v] for k, v in mine.items()}
    everyone = Counter(str(d["_owner"]) for d in deals)
    assert table(run(team, chart, as_="boss")) == {(k,): [v] for k, v in everyone.items()}


def test_dashboard_filters_department_and_owner(team):
    deals = team.deals()
    chart = {"type": "number", "measures": [{"key": "n", "agg": "count"}]}
    west = team.departments["west"]
    assert table(run(team, chart, filters=Filters(departments=(west,)))) == {
        (): [sum(1 for d in deals if d["_department"] == west)]
    }
    bob = team.people["bob"].id
    assert table(run(team, chart, filters=Filters(owner=bob))) == {
        (): [sum(1 for d in deals if d["_owner"] == bob)]
    }


def test_drill_down_filters_name_the_group(team):
    seen = []

    def url(form, filters):
        seen.append((form, filters))
        return "/x"

    run(
        team,
        {
            "type": "bar",
            "dimensions": [{"field": "closed_on", "bucket": "quarter"}],
            "measures": [{"key": "n", "agg": "count"}],
            "filters": [{"field": "stage", "op": "eq", "value": "won"}],
        },
        drill_url=url,
    )
    shown = {tuple((f.field, f.op, f.value) for f in filters) for _, filters in seen}
    assert (("stage", "eq", "won"), ("closed_on", "between", "2026-01-01,2026-03-31")) in shown
    assert (("stage", "eq", "won"), ("closed_on", "is_empty", "true")) in shown


def test_charts_never_reveal_a_hidden_field(team, runtime):
    from tests.conftest import grant

    grant(
        runtime,
        FORM,
        {"actions": ["view"], "scope": "all", "fields": {"amount": "hidden"}},
    )
    result = run(
        team,
        {"type": "number", "measures": [{"key": "a", "agg": "sum", "field": "amount"}]},
        as_="ann",
    )
    assert result["error"] and "amount" in result["error"]


def test_bad_charts_are_named(team):
    result = run(
        team,
        {
            "type": "bar",
            "dimensions": [{"field": "nope"}],
            "measures": [{"key": "n", "agg": "count"}],
        },
    )
    assert "chart.dimensions[0].field" in result["error"]
    result = run(
        team,
        {
            "type": "bar",
            "dimensions": [{"field": "stage"}],
            "measures": [{"key": "t", "agg": "sum", "field": "title"}],
        },
    )
    assert "chart.measures[0].field" in result["error"] and "not a number" in result["error"]


def test_results_are_cached_until_a_record_changes(team, runtime, clock):
    from formflow.definitions.service import get_form
    from formflow.records import service as records

    chart = {"type": "number", "measures": [{"key": "n", "agg": "count"}]}
    first = run(team, chart)
    hits = runtime.charts.hits
    assert run(team, chart) == first and runtime.charts.hits == hits + 1
    clock.advance(seconds=1)
    with runtime.write(team.user("ann")) as work:
        records.create(work, get_form(work, FORM), {"title": "New", "stage": "lead"})
    assert table(run(team, chart)) == {(): [len(team.deals())]}
