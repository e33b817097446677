"""The dashboards API: publish, refuse with paths and store nothing, list what a caller may
open, and each chart's numbers for the caller — a rep's own, a manager's team's, everyone's
for the admin — under the period, department and owner filters, with drill-down URLs that
list exactly the records counted. Every response is checked against the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from formflow.api.openapi import build_document
from formflow.dashboards.filters import record_list_url
from formflow.records.query import Filter
from tests.conftest import Api, snapshot
from tests.platform.api.test_openapi import _check
from tests.platform.dashboards.world import FORM, STAGES, build

ZONE = ZoneInfo("Asia/Shanghai")
BOARD = "shop.sales"


def board(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": BOARD,
        "title": {"zh-CN": "销售", "en": "Sales"},
        "filters": ["period", "department", "owner"],
        "period": "all",
        "charts": [
            {
                "id": "by_stage",
                "type": "bar",
                "form": FORM,
                "dimensions": [{"field": "stage"}],
                "measures": [
                    {"key": "n", "agg": "count"},
                    {"key": "amount", "agg": "sum", "field": "amount"},
                ],
            },
            {
                "id": "total",
                "type": "number",
                "form": FORM,
                "measures": [{"key": "n", "agg": "count"}],
            },
            {
                "id": "by_owner",
                "type": "ranking",
                "form": FORM,
                "dimensions": [{"field": "_owner"}],
                "measures": [{"key": "n", "agg": "count"}],
            },
        ],
    }
    document.update(changes)
    return document


@pytest.fixture
def team(runtime, clock):
    return build(runtime, clock)


@pytest.fixture
def boss(api, team) -> Api:
    return api.as_(team.people["admin"])


@pytest.fixture
def document():
    return build_document()


def _published(boss: Api, **changes: Any) -> Any:
    response = boss.put(f"/dashboards/{BOARD}", board(**changes))
    assert response.status_code in (200, 201), response.body
    return response


def _charts(response) -> dict[str, Any]:
    assert response.status_code == 200, response.body
    return {c["id"]: c for c in response.body["charts"]}


def _table(chart) -> dict[tuple, list]:
    assert chart["error"] is None, chart["error"]
    return {tuple(r["keys"]): r["values"] for r in chart["rows"]}


def _total(response) -> int:
    return _table(_charts(response)["total"])[()][0]


def test_publish_list_get_versions_and_data_round_trip(boss, team, document):
    created = boss.put(f"/dashboards/{BOARD}", board())
    assert created.status_code == 201, created.body
    _check(document, "/dashboards/{name}", "put", created)
    assert created.body["version"] == 1 and created.body["charts"] == 3
    again = boss.put(f"/dashboards/{BOARD}?note=renamed", board(title="Sales board"))
    assert again.status_code == 200 and again.body["version"] == 2
    _check(document, "/dashboards/{name}", "put", again)

    listed = boss.get("/dashboards")
    _check(document, "/dashboards", "get", listed)
    [summary] = listed.body["dashboards"]
    assert summary["name"] == BOARD and summary["title"] == "Sales board"
    assert summary["version"] == 2 and summary["charts"] == 3

    got = boss.get(f"/dashboards/{BOARD}")
    _check(document, "/dashboards/{name}", "get", got)
    assert got.body["definition"] == board(title="Sales board")

    versions = boss.get(f"/dashboards/{BOARD}/versions")
    _check(document, "/dashboards/{name}/versions", "get", versions)
    assert [(v["version"], v["note"]) for v in versions.body["versions"]] == [
        (2, "renamed"),
        (1, None),
    ]

    data = boss.get(f"/dashboards/{BOARD}/data")
    _check(document, "/dashboards/{name}/data", "get", data)
    assert data.body["name"] == BOARD and data.body["version"] == 2
    assert data.body["filters"] == {
        "period": "all",
        "from": None,
        "to": None,
        "department": None,
        "owner": None,
    }
    deals = team.deals()
    by_stage = _table(_charts(data)["by_stage"])
    expected = {}
    for stage in STAGES:
        amounts = [Decimal(str(d["amount"])) for d in deals if d["stage"] == stage]
        expected[(stage,)] = [len(amounts), str(sum(amounts).quantize(Decimal("0.01")))]
    assert by_stage == expected
    assert _total(data) == len(deals) == 40

    one = boss.get(f"/dashboards/{BOARD}/charts/by_stage/data")
    _check(document, "/dashboards/{name}/charts/{chart_id}/data", "get", one)
    assert _table(one.body["chart"]) == expected
    missing = boss.get(f"/dashboards/{BOARD}/charts/nope/data")
    assert missing.status_code == 404
    _check(document, "/dashboards/{name}/charts/{chart_id}/data", "get", missing)
    assert boss.get("/dashboards/shop.none").status_code == 404
    assert boss.get("/dashboards/shop.none/data").status_code == 404


def test_titles_and_labels_are_in_the_callers_language(boss, team, runtime):
    from formflow.people.models import User

    _published(boss)
    assert boss.get("/dashboards").body["dashboards"][0]["title"] == "销售"
    with runtime.write() as work:
        work.session.get(User, team.people["admin"].id).language = "en"
    assert boss.get("/dashboards").body["dashboards"][0]["title"] == "Sales"
    chart = _charts(boss.get(f"/dashboards/{BOARD}/data"))["by_stage"]
    assert chart["rows"][3]["labels"] == ["Won"]
    assert chart["measures"][1]["label"] == "Sum of Amount"


def test_a_rep_sees_only_their_own_numbers_a_manager_their_teams(boss, team):
    _published(boss)
    deals = team.deals()
    ann, mia = team.people["ann"], team.people["mia"]
    mine = boss.as_(ann).get(f"/dashboards/{BOARD}/data")
    assert _total(mine) == sum(1 for d in deals if d["_owner"] == ann.id)
    assert _table(_charts(mine)["by_owner"]).keys() == {(str(ann.id),)}
    east = team.departments["east"]
    managed = boss.as_(mia).get(f"/dashboards/{BOARD}/data")
    owners = Counter(str(d["_owner"]) for d in deals if d["_department"] == east)
    assert _table(_charts(managed)["by_owner"]) == {(k,): [v] for k, v in owners.items()}
    everyone = _table(_charts(boss.get(f"/dashboards/{BOARD}/data"))["by_owner"])
    assert sum(v[0] for v in everyone.values()) == len(deals)
    # filtering by someone else's id never shows more than the caller may see
    bob = team.people["bob"].id
    assert _total(boss.as_(ann).get(f"/dashboards/{BOARD}/data?owner={bob}")) == 0


def test_a_dashboard_for_some_roles_is_hidden_from_everyone_else(boss, team):
    _published(boss, visible_to={"roles": ["manager"]})
    ann, mia = boss.as_(team.people["ann"]), boss.as_(team.people["mia"])
    assert ann.get("/dashboards").body == {"dashboards": []}
    for path in ("", "/data", "/charts/total/data"):
        assert ann.get(f"/dashboards/{BOARD}{path}").status_code == 404
    assert [d["name"] for d in mia.get("/dashboards").body["dashboards"]] == [BOARD]
    assert mia.get(f"/dashboards/{BOARD}/data").status_code == 200


def test_filters_narrow_every_chart_and_are_echoed(boss, team, clock, document):
    _published(boss)
    deals = team.deals()
    east, company = team.departments["east"], team.departments["company"]
    response = boss.get(f"/dashboards/{BOARD}/data?department={east}")
    _check(document, "/dashboards/{name}/data", "get", response)
    assert response.body["filters"]["department"] == east
    assert _total(response) == sum(1 for d in deals if d["_department"] == east)
    below = boss.get(f"/dashboards/{BOARD}/data?department={company}")
    assert _total(below) == len(deals)  # East and West sit under the company

    bob = team.people["bob"].id
    owned = boss.get(f"/dashboards/{BOARD}/data?owner={bob}")
    assert owned.body["filters"]["owner"] == bob
    assert _total(owned) == sum(1 for d in deals if d["_owner"] == bob)

    today = clock.now.astimezone(ZONE).date()
    month = boss.get(f"/dashboards/{BOARD}/data?period=this_month&from=2020-01-01")
    first = today.replace(day=1)
    assert month.body["filters"]["period"] == "this_month"
    assert month.body["filters"]["from"] == first.isoformat()
    created = [d["_created_at"].astimezone(ZONE).date() for d in deals]
    assert _total(month) == sum(1 for day in created if day >= first)

    start, end = dt.date(2026, 4, 1), dt.date(2026, 5, 15)
    custom = boss.get(f"/dashboards/{BOARD}/data?period=custom&from={start}&to={end}")
    assert custom.body["filters"] == {
        "period": "custom",
        "from": "2026-04-01",
        "to": "2026-05-15",
        "department": None,
        "owner": None,
    }
    assert _total(custom) == sum(1 for day in created if start <= day <= end)
    # the dashboard's own period applies when none is asked for
    _published(boss, period="last_30_days")
    recent = boss.get(f"/dashboards/{BOARD}/data")
    assert recent.body["filters"]["period"] == "last_30_days"
    since = today - dt.timedelta(days=29)
    assert _total(recent) == sum(1 for day in created if since <= day <= today)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("period=someday", "period"),
        ("period=custom&to=2026-05-01", "from"),
        ("period=custom&from=2026-05-01&to=May", "to"),
        ("period=custom&from=2026-05-01&to=2026-04-01", "to"),
        ("department=east", "department"),
        ("department=999999", "department"),
        ("owner=-1", "owner"),
        ("owner=99999999999999999999", "owner"),
        ("owner=999999", "owner"),
    ],
)
def test_a_bad_filter_is_refused_naming_its_parameter(boss, team, document, query, parameter):
    _published(boss)
    for path in ("/data", "/charts/total/data"):
        response = boss.get(f"/dashboards/{BOARD}{path}?{query}")
        assert response.status_code == 400, response.body
        assert [e["field"] for e in response.body["errors"]] == [parameter]
    _check(document, "/dashboards/{name}/data", "get", response)


def test_a_filter_the_dashboard_does_not_offer_is_refused(boss, team):
    _published(boss, filters=["period"])
    response = boss.get(f"/dashboards/{BOARD}/data?owner={team.people['bob'].id}")
    assert response.status_code == 400
    assert response.body["errors"][0]["field"] == "owner"
    assert boss.get(f"/dashboards/{BOARD}/data?owner=&department=").status_code == 200


def test_drill_urls_list_exactly_the_records_counted(boss, team):
    _published(boss)
    mia = boss.as_(team.people["mia"])
    east = team.departments["east"]
    for caller, query in ((boss, ""), (mia, f"?period=this_year&department={east}")):
        chart = _charts(caller.get(f"/dashboards/{BOARD}/data{query}"))["by_stage"]
        assert chart["rows"]
        for row in chart["rows"]:
            assert row["drill"].startswith(f"/f/{FORM}/?")
            asked = parse_qs(urlsplit(row["drill"]).query)
            assert len(asked["ff"]) == len(asked["fo"]) == len(asked["fv"])
            filters = [
                {"field": f, "op": o, "value": v}
                for f, o, v in zip(asked["ff"], asked["fo"], asked["fv"], strict=True)
            ]
            assert {"field": "stage", "op": "eq", "value": row["keys"][0]} in filters
            listed = caller.post(f"/forms/{FORM}/records/search?total=true", {"filters": filters})
            assert listed.status_code == 200, listed.body
            assert listed.body["total"] == row["values"][0], row


def test_record_list_url_repeats_a_triple_a_filter():
    url = record_list_url(
        FORM,
        [
            Filter("stage", "in", ["won", "lost"]),
            Filter("region", "is_empty", None),
            Filter("_created_at", "between", "2026-03-01T00:00:00+08:00,2026-03-31T23:59:59+08:00"),
        ],
    )
    assert url.startswith("/f/shop.deal/?ff=stage&fo=in&fv=won%2Clost&ff=region")
    asked = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert asked["fv"] == [
        "won,lost",
        "true",
        "2026-03-01T00:00:00+08:00,2026-03-31T23:59:59+08:00",
    ]
    assert record_list_url(FORM, []) == "/f/shop.deal/"


def test_only_an_admin_publishes_or_lists_versions(boss, team, runtime):
    _published(boss)
    ann = boss.as_(team.people["ann"])
    before = snapshot(runtime)
    refused = ann.put(f"/dashboards/{BOARD}", board(title="Mine"))
    assert refused.status_code == 403
    assert ann.put("/dashboards/shop.other", board(name="shop.other")).status_code == 403
    assert ann.get(f"/dashboards/{BOARD}/versions").status_code == 403
    assert snapshot(runtime) == before


def test_a_wrong_definition_is_refused_with_every_path_and_nothing_stored(
    boss, team, runtime, document
):
    _published(boss)
    before = snapshot(runtime)
    wrong = board(visible_to={"roles": ["nobody"]})
    wrong["charts"][0]["measures"][1]["field"] = "nope"
    wrong["charts"][1]["form"] = "shop.none"
    wrong["charts"][2]["dimensions"] = [{"field": "amount", "bucket": "month"}]
    response = boss.put(f"/dashboards/{BOARD}", wrong)
    assert response.status_code == 422, response.body
    _check(document, "/dashboards/{name}", "put", response)
    fields = {e["field"] for e in response.body["errors"]}
    assert fields == {
        "charts[0].measures[1].field",
        "charts[1].form",
        "charts[2].dimensions[0].bucket",
        "visible_to.roles",
    }
    shape = boss.put(f"/dashboards/{BOARD}", board(period="someday", charts=[{"id": "x"}]))
    assert shape.status_code == 422
    assert {"period", "charts[0]"} <= {e["field"] for e in shape.body["errors"]}
    fresh = boss.put("/dashboards/shop.fresh", {**wrong, "name": "shop.fresh"})
    assert fresh.status_code == 422
    assert snapshot(runtime) == before
    assert boss.get(f"/dashboards/{BOARD}").body["version"] == 1


def test_the_body_must_name_the_dashboard_of_the_url(boss, team, runtime):
    before = snapshot(runtime)
    response = boss.put("/dashboards/shop.other", board())
    assert response.status_code == 400
    assert [e["field"] for e in response.body["errors"]] == ["name"]
    unnamed = {k: v for k, v in board().items() if k != "name"}
    assert boss.put("/dashboards/shop.other", []).status_code == 400
    assert snapshot(runtime) == before
    assert boss.put("/dashboards/shop.other", unnamed).status_code == 201
    assert boss.get("/dashboards/shop.other").body["definition"]["name"] == "shop.other"
