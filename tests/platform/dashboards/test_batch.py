"""A dashboard's charts computed side by side give what each gives alone, in order, in the
viewer's scope, and a chart that cannot be drawn does not stop the others."""

from __future__ import annotations

import pytest

from formflow.dashboards.batch import all_results
from formflow.dashboards.charts import chart_result
from formflow.dashboards.compile import Filters
from formflow.dashboards.definition import parse_chart
from tests.platform.dashboards.world import FORM, build

CHARTS = [
    {"type": "bar", "dimensions": [{"field": "stage"}], "measures": [{"key": "n", "agg": "count"}]},
    {"type": "number", "measures": [{"key": "total", "agg": "sum", "field": "amount"}]},
    {"type": "bar", "dimensions": [{"field": "no_such_field"}],
     "measures": [{"key": "n", "agg": "count"}]},
    {"type": "ranking", "dimensions": [{"field": "_owner"}],
     "measures": [{"key": "total", "agg": "sum", "field": "amount"}]},
]  # fmt: skip


@pytest.fixture
def team(runtime, clock):
    return build(runtime, clock)


@pytest.mark.parametrize("viewer", ["boss", "mia", "ann"])
def test_side_by_side_gives_each_charts_own_result_in_order(team, viewer):
    charts = [parse_chart({"id": f"c{i}", "form": FORM, **c}) for i, c in enumerate(CHARTS)]
    with team.runtime.read(team.user(viewer)) as work:
        alone = [
            chart_result(work, chart, Filters(), language="en", where=f"charts[{i}]", cache=False)
            for i, chart in enumerate(charts)
        ]
        together = all_results(work, charts, Filters(), language="en", threads=3)
        one_thread = all_results(work, charts, Filters(), language="en", threads=1)
    assert together == alone == one_thread
    assert [r["id"] for r in together] == ["c0", "c1", "c2", "c3"]
    assert together[2]["error"] and "charts[2]" in together[2]["error"]
    assert together[0]["rows"] and not together[0]["error"]
