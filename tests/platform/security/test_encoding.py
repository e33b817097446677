"""V5.3 output encoding: what people type is shown as text in pages, in JSON inside pages,
and in spreadsheet exports (never run as a formula)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from formflow.people import service as people
from formflow.people.models import User
from formflow.records.transfer import FORMULA_TRIGGERS, neutralise

SCRIPT = '<script>alert("x")</script>'
IMAGE = "<img src=x onerror=alert(1)>"
PASSWORD = "admin passphrase"


@pytest.fixture
def note(api, make_app, runtime, admin, app):
    app.config["WTF_CSRF_ENABLED"] = False
    make_app("crm")
    definition = {
        "title": SCRIPT,
        "type": "object",
        "properties": {
            "intro": {"x-field": "description", "x-content": IMAGE},
            "body": {"x-field": "text", "type": "string", "title": IMAGE},
        },
    }
    assert api.put("/forms/crm.note", definition).status_code == 201
    created = api.post("/forms/crm.note/records", {"data": {"body": SCRIPT}})
    assert created.status_code == 201, created.body
    with runtime.write() as work:
        people.set_password(work, work.session.get(User, admin.id), PASSWORD)
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    return client, created.body["id"]


def test_typed_values_titles_and_descriptions_are_shown_as_text(note):
    client, record_id = note
    for url in (f"/f/crm.note/{record_id}", "/f/crm.note/", "/f/crm.note/new"):
        page = client.get(url)
        assert page.status_code == 200, url
        text = page.get_data(as_text=True)
        assert SCRIPT not in text and IMAGE not in text, url
        assert "&lt;script&gt;" in text or "&lt;img" in text, url


def test_json_inside_a_page_cannot_close_its_script_tag(app):
    source = '<script type="application/json">{{ v | tojson }}</script>'
    template = app.jinja_env.from_string(source)
    with app.test_request_context():
        out = template.render(v={"title": "</script><script>alert(1)</script>", "q": "'&"})
    assert out.count("</script>") == 1
    assert "\\u003c/script\\u003e" in out and "\\u0027\\u0026" in out


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_every_formula_trigger_is_neutralised(trigger):
    assert neutralise(trigger + "HYPERLINK(1)") == "'" + trigger + "HYPERLINK(1)"
    assert neutralise("plain") == "plain"


def test_dashboard_exports_neutralise_formulas(app, runtime, clock):
    """(record exports: tests/platform/records/test_transfer.py::
    test_exports_neutralise_formulas_in_csv_and_xlsx)"""
    from formflow.dashboards import service as dashboards
    from tests.platform.dashboards.world import build
    from tests.platform.web.test_dashboard_pages import BOARD, sign_in
    from tests.platform.web.test_dashboard_pages import PASSWORD as BOARD_PASSWORD

    app.config["WTF_CSRF_ENABLED"] = False
    build(runtime, clock)
    evil = '=HYPERLINK("http://evil.example","x")'
    with runtime.write() as work:
        for name in ("ann", "boss"):
            user = people.get_user(work, name)
            people.set_password(work, user, BOARD_PASSWORD)
        people.get_user(work, "ann").display_name = evil
        dashboards.publish(work, BOARD)
    client = sign_in(app, "boss")
    response = client.get("/dashboards/shop.overview/charts/by_owner.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    labels = [row[0] for row in rows[1:]]
    assert "'" + evil in labels and evil not in labels
    book = load_workbook(
        io.BytesIO(client.get("/dashboards/shop.overview/charts/by_owner.xlsx").data)
    )
    cells = [row[0].value for row in book.active.iter_rows(min_row=2)]
    assert "'" + evil in cells and evil not in cells
