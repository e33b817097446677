"""The dashboard pages as browsers use them: the list, a dashboard with its filters (each
viewer's numbers cut to their scope), chart exports, and the designer's save, import and
export (refused definitions save nothing; an export imports back byte for byte)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook

from formflow import jsoncodec
from formflow.dashboards import service as dashboards
from formflow.people import service as people
from tests.conftest import snapshot
from tests.platform.dashboards.world import FORM, build

PASSWORD = "s3cret-passphrase"
BOARD: dict[str, Any] = {
    "name": "shop.overview",
    "title": {"zh-CN": "概览", "en": "Overview"},
    "filters": ["period", "department", "owner"],
    "period": "all",
    "charts": [
        {
            "id": "total",
            "type": "number",
            "title": {"en": "Deals", "zh-CN": "商机数"},
            "form": FORM,
            "measures": [{"key": "n", "agg": "count"}],
            "layout": {"x": 0, "y": 0, "w": 3, "h": 2},
        },
        {
            "id": "by_stage",
            "type": "funnel",
            "title": {"en": "By stage", "zh-CN": "阶段"},
            "form": FORM,
            "dimensions": [{"field": "stage"}],
            "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
            "layout": {"x": 3, "y": 0, "w": 9, "h": 4},
        },
        {
            "id": "by_owner",
            "type": "bar",
            "form": FORM,
            "dimensions": [{"field": "_owner"}],
            "measures": [{"key": "n", "agg": "count"}],
        },
    ],
}


@pytest.fixture
def app(app: Any) -> Any:
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def team(runtime, clock):
    team = build(runtime, clock)
    with runtime.write() as work:
        for name in ("mia", "ann", "boss"):
            user = people.get_user(work, name)
            people.set_password(work, user, PASSWORD)
            user.language = "en"  # the engine's own words
        dashboards.publish(work, BOARD)
    return team


def sign_in(app: Any, username: str) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def charts_on(page: str) -> dict[str, Any]:
    found = re.findall(r'<script type="application/json">(.*?)</script>', page, re.S)
    return {chart["id"]: chart for chart in map(jsoncodec.loads, found)}


def test_each_viewer_sees_the_numbers_of_their_scope(app, team):
    deals = team.deals()
    east = team.departments["east"]
    expected = {
        "ann": sum(1 for d in deals if d["_owner"] == team.people["ann"].id),
        "mia": sum(1 for d in deals if d["_department"] == east),
        "boss": len(deals),
    }
    for user, count in expected.items():
        client = sign_in(app, user)
        assert "Overview" in client.get("/dashboards/").get_data(as_text=True)
        page = client.get("/dashboards/shop.overview").get_data(as_text=True)
        charts = charts_on(page)
        assert charts["total"]["rows"][0]["values"] == [count], user
        assert charts["by_stage"]["rows"][0]["drill"].startswith(f"/f/{FORM}/?")


def test_filters_department_owner_and_period_apply_to_every_chart(app, team):
    deals = team.deals()
    client = sign_in(app, "boss")
    west = team.departments["west"]
    page = client.get(f"/dashboards/shop.overview?department={west}").get_data(as_text=True)
    assert charts_on(page)["total"]["rows"][0]["values"] == [
        sum(1 for d in deals if d["_department"] == west)
    ]
    bob = team.people["bob"].id
    page = client.get(f"/dashboards/shop.overview?owner={bob}").get_data(as_text=True)
    assert charts_on(page)["total"]["rows"][0]["values"] == [
        sum(1 for d in deals if d["_owner"] == bob)
    ]
    bad = client.get("/dashboards/shop.overview?period=someday")
    assert "period" in bad.get_data(as_text=True)


def test_a_dashboard_limited_to_a_role_is_not_found_by_others(app, team, runtime):
    with runtime.write() as work:
        dashboards.publish(work, {**BOARD, "visible_to": {"roles": ["manager"]}})
    assert sign_in(app, "ann").get("/dashboards/shop.overview").status_code == 404
    assert sign_in(app, "mia").get("/dashboards/shop.overview").status_code == 200
    assert "Overview" not in sign_in(app, "ann").get("/dashboards/").get_data(as_text=True)


def test_chart_exports_csv_and_xlsx(app, team):
    client = sign_in(app, "boss")
    response = client.get("/dashboards/shop.overview/charts/by_stage.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Stage", "Sum of Amount"]
    assert [r[0] for r in rows[1:]] == ["Lead", "Qualified", "Proposal", "Won", "Lost"]
    book = load_workbook(
        io.BytesIO(client.get("/dashboards/shop.overview/charts/by_stage.xlsx").data)
    )
    sheet = book.active
    assert sheet.cell(2, 1).value == "Lead"
    assert float(sheet.cell(2, 2).value) == float(rows[1][1])  # a number, not text
    assert client.get("/dashboards/shop.overview/charts/nope.csv").status_code == 404


def test_designer_saves_refuses_and_round_trips(app, team, runtime):
    client = sign_in(app, "boss")
    assert client.get("/admin/dashboards/").status_code == 200
    page = client.get("/admin/dashboards/shop.overview")
    assert page.status_code == 200 and "designer-catalog" in page.get_data(as_text=True)
    bad = dict(BOARD, charts=[dict(BOARD["charts"][1], dimensions=[{"field": "nope"}])])
    before = snapshot(runtime)
    refused = client.post(
        "/admin/dashboards/shop.overview", data={"definition": jsoncodec.dumps(bad)}
    )
    assert refused.status_code == 422
    assert "charts[0].dimensions[0].field" in refused.get_data(as_text=True)
    assert snapshot(runtime) == before
    saved = client.post(
        "/admin/dashboards/shop.overview",
        data={"definition": jsoncodec.dumps(dict(BOARD, charts=BOARD["charts"][:2]))},
    )
    assert saved.status_code == 302
    exported = client.get("/admin/dashboards/shop.overview/export.json").data
    assert len(jsoncodec.loads(exported)["charts"]) == 2
    imported = client.post(
        "/admin/dashboards/import",
        data={"file": (io.BytesIO(exported), "overview.json")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302
    assert client.get("/admin/dashboards/shop.overview/export.json").data == exported
    with runtime.read() as work:
        assert dashboards.get_dashboard(work, "shop.overview").current_version == 3


def test_designer_preview_and_admin_only(app, team):
    client = sign_in(app, "boss")
    result = client.post("/admin/dashboards/preview", json=BOARD["charts"][1]).get_json()
    assert result["error"] is None and len(result["rows"]) == 5
    broken = client.post("/admin/dashboards/preview", json={"id": "x"}).get_json()
    assert broken["error"]
    assert sign_in(app, "ann").get("/admin/dashboards/").status_code in (302, 403)
