"""The form builder, driven as an admin's browser drives it: each action posts what the page
holds (the panel's own inputs, read back from the HTML) at the draft's revision."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import pytest

from formflow import jsoncodec
from formflow.definitions import drafts
from formflow.definitions.service import definition_text, ensure_app, get_form, publish
from formflow.people import service as people
from formflow.permissions.service import grants_of
from formflow.records import service as records
from tests.conftest import snapshot
from tests.support.htmlform import form_fields

PASSWORD = "s3cret-passphrase"
DEAL = {
    "title": "Deal",
    "type": "object",
    "properties": {
        "name": {"x-field": "text", "type": "string", "title": "Name"},
        "amount": {"x-field": "money", "type": "number", "title": "Amount"},
        "stage": {
            "x-field": "select",
            "type": "string",
            "title": "Stage",
            "enum": ["open", "won", "lost"],
        },
        "price": {"x-field": "number", "type": "number", "title": "Price"},
        "quantity": {"x-field": "number", "type": "number", "title": "Quantity"},
        "total": {
            "x-field": "formula",
            "type": "number",
            "title": "Total",
            "x-formula": "price * quantity",
        },
    },
    "required": ["name"],
}


@pytest.fixture
def admin_browser(app: Any, runtime: Any) -> Any:
    app.config["WTF_CSRF_ENABLED"] = False
    with runtime.write() as work:
        people.create_user(work, "boss", password=PASSWORD, is_admin=True, language="en")
    client = app.test_client()
    assert client.post("/login", data={"username": "boss", "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def deal(runtime: Any) -> str:
    with runtime.write() as work:
        ensure_app(work, "crm", "CRM")
        publish(work, "crm.deal", DEAL)
    return "crm.deal"


def html(response: Any) -> str:
    return response.get_data(as_text=True)


def revision(page: str) -> str:
    found = re.search(r'id="revision" name="revision" value="(\d+)"', page)
    assert found, "the builder page has no draft revision"
    return found.group(1)


class Builder:
    """One admin's builder page on one form: remembers the revision the page shows."""

    def __init__(self, client: Any, form: str) -> None:
        self.client, self.form = client, form
        self.page = html(client.get(f"/admin/build/{form}"))
        self.status = 200

    def post(self, action: str, data: Any) -> str:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        response = self.client.post(
            f"/admin/build/{self.form}/{action}",
            data=_multi([("revision", revision(self.page)), *fields]),
            headers={"HX-Request": "true"},
        )
        self.status = response.status_code
        self.page = html(response)
        return self.page

    def select(self, key: str, parent: str = "") -> str:
        response = self.client.get(
            f"/admin/build/{self.form}", query_string={"field": key, "parent": parent}
        )
        self.page = html(response)
        return self.page

    def panel(self, **changes: Any) -> str:
        """Post the open field panel with ``changes`` (a list value repeats the name)."""
        fields = [(n, v) for n, v in form_fields(self.page, "field-panel") if n not in changes]
        for name, value in changes.items():
            fields += [(name, v) for v in (value if isinstance(value, list) else [value])]
        return self.post("field", fields)

    def draft(self, runtime: Any) -> dict[str, Any]:
        with runtime.read() as work:
            return drafts.open_draft(work, self.form).definition


def _multi(pairs: list[tuple[str, str]]) -> Any:
    from werkzeug.datastructures import MultiDict

    return MultiDict(pairs)


def published(runtime: Any, form: str) -> dict[str, Any]:
    with runtime.read() as work:
        return jsoncodec.loads(definition_text(work, form))


# -- building a form from nothing --------------------------------------------------------------


def test_an_admin_builds_a_form_from_an_empty_app_and_publishes_it(admin_browser, runtime):
    client = admin_browser
    made = client.post("/admin/build/", data={"name": "sales", "title": "Sales"})
    assert made.status_code == 302
    opened = client.post("/admin/build/apps/sales/forms", data={"name": "visit", "title": "Visit"})
    assert opened.headers["Location"].endswith("/admin/build/sales.visit")
    builder = Builder(client, "sales.visit")
    assert "not published yet" in builder.page
    for field_type in ("text", "select", "number", "number", "formula", "subform"):
        builder.post("add", {"type": field_type})
        assert builder.status == 200, builder.page
    definition = builder.draft(runtime)
    keys = list(definition["properties"])
    assert len(keys) == 6 and len(set(keys)) == 6
    # A sub-field inside the subform, then labels and keys through the side panel.
    lines = keys[5]
    builder.post("add", {"type": "number", "parent": lines})
    child = next(iter(builder.draft(runtime)["properties"][lines]["items"]["properties"]))
    builder.select(keys[0])
    builder.panel(key="customer", **{"label:zh-CN": "客户", "label:en": "Customer"}, required="1")
    assert builder.status == 200, builder.page
    builder.select(keys[2])
    builder.panel(key="price")
    builder.select(keys[3])
    builder.panel(key="quantity")
    builder.select(keys[4])
    builder.panel(key="total", formula="price * quantity")
    builder.select(keys[1])
    builder.panel(
        key="stage",
        option=["open", "won", "lost"],
        option_label=["进行中", "赢单", "输单"],
        option_label_en=["Open", "Won", "Lost"],
        option_color=["", "#2e7d32", "#c62828"],
        option_score=["0.5", "1", "0"],
    )
    builder.select(child, lines)
    builder.panel(key="qty")
    definition = builder.draft(runtime)
    props = definition["properties"]
    assert list(props)[:5] == ["customer", "stage", "price", "quantity", "total"]
    assert props["customer"]["x-label"] == {"zh-CN": "客户", "en": "Customer"}
    assert definition["required"] == ["customer"]
    assert props["total"]["x-formula"] == "price * quantity"
    assert props["stage"]["enum"] == ["open", "won", "lost"]
    assert props["stage"]["x-options"][1] == {
        "value": "won",
        "label": {"zh-CN": "赢单", "en": "Won"},
        "color": "#2e7d32",
        "score": 1,
    }
    assert props["stage"]["x-options"][0]["score"] == 0.5
    assert list(props[lines]["items"]["properties"]) == ["qty"]
    # Reorder: quantity before price.
    builder.post("move", {"field": "quantity", "index": "2"})
    assert list(builder.draft(runtime)["properties"])[2:4] == ["quantity", "price"]
    review = client.get("/admin/build/sales.visit/publish")
    assert "Added" in html(review) and "customer" in html(review)
    done = client.post(
        "/admin/build/sales.visit/publish", data={"revision": revision(builder.page)}
    )
    assert done.status_code == 302, html(done)
    assert published(runtime, "sales.visit") == builder.draft(runtime)
    with runtime.write() as work:
        loaded = get_form(work, "sales.visit")
        created = records.create(work, loaded, {"customer": "ACME", "price": 3, "quantity": 4})
        assert records.values_of(loaded, records.get(work, created.id))["total"] == 12


def test_the_palette_offers_every_registered_field_type(admin_browser, deal, runtime):
    page = Builder(admin_browser, deal).page
    offered = set(re.findall(r'data-type="([a-z-]+)"', page))
    assert offered == {t.name for t in runtime.field_types}


def test_duplicate_and_remove(admin_browser, deal, runtime):
    builder = Builder(admin_browser, deal)
    builder.post("duplicate", {"field": "stage"})
    props = builder.draft(runtime)["properties"]
    copy_key = list(props)[3]
    assert props[copy_key]["enum"] == ["open", "won", "lost"]
    assert props[copy_key]["x-id"] != props["stage"].get("x-id", "stage")
    builder.post("remove", {"field": copy_key})
    assert copy_key not in builder.draft(runtime)["properties"]


# -- renames keep data; publishing shows the impact and refuses losing data --------------------


def test_a_rename_keeps_values_and_rewrites_the_formula(admin_browser, deal, runtime):
    with runtime.write() as work:
        old = records.create(
            work, get_form(work, deal), {"name": "Big", "price": 2, "quantity": 5}
        ).id
    builder = Builder(admin_browser, deal)
    builder.select("price")
    builder.panel(key="unit_price", title="Unit price")
    assert builder.status == 200, builder.page
    props = builder.draft(runtime)["properties"]
    assert props["total"]["x-formula"] == "unit_price * quantity"
    assert "problem" not in builder.page.lower() or "problems keep" not in builder.page
    review = html(admin_browser.get(f"/admin/build/{deal}/publish"))
    assert "Renamed" in review
    done = admin_browser.post(
        f"/admin/build/{deal}/publish", data={"revision": revision(builder.page)}
    )
    assert done.status_code == 302
    with runtime.read() as work:
        record = records.get(work, old)
        loaded = get_form(work, deal)
        assert loaded.spec.by_key["unit_price"].id == "price"
        assert record.data["price"] == 2  # stored by the stable id: nothing was rewritten
    shown = html(admin_browser.get(f"/f/{deal}/{old}"))
    assert re.search(r"<dt>Unit price</dt>\s*<dd>\s*2\s*</dd>", shown)
    assert re.search(r"<dt>Total</dt>\s*<dd>\s*10\s*</dd>", shown)


def test_removing_an_option_in_use_is_refused_until_the_admin_maps_it(admin_browser, deal, runtime):
    with runtime.write() as work:
        form = get_form(work, deal)
        lost = [records.create(work, form, {"name": f"L{i}", "stage": "lost"}).id for i in (1, 2)]
        records.create(work, form, {"name": "W", "stage": "won"})
    builder = Builder(admin_browser, deal)
    builder.select("stage")
    builder.panel(option=["open", "won", "closed_lost"], option_label=["", "", "Closed (lost)"])
    assert builder.draft(runtime)["properties"]["stage"]["enum"] == ["open", "won", "closed_lost"]
    review = html(admin_browser.get(f"/admin/build/{deal}/publish"))
    assert "2 records with “lost” become" in review
    before = snapshot(runtime)
    assert "Closed (lost)" in review  # the new options by their labels
    for unchosen in ({}, {"map:stage:lost": ""}):  # "Choose…" left as it is
        refused = admin_browser.post(
            f"/admin/build/{deal}/publish", data={"revision": revision(builder.page), **unchosen}
        )
        assert refused.status_code == 422
        assert "Nothing was published" in html(refused)
        assert snapshot(runtime) == before
    done = admin_browser.post(
        f"/admin/build/{deal}/publish",
        data={"revision": revision(builder.page), "map:stage:lost": "=closed_lost"},
    )
    assert done.status_code == 302, html(done)
    with runtime.read() as work:
        assert {records.get(work, i).data["stage"] for i in lost} == {"closed_lost"}


def test_leaving_the_records_empty_is_a_choice_the_admin_makes(admin_browser, deal, runtime):
    with runtime.write() as work:
        lost = records.create(work, get_form(work, deal), {"name": "L", "stage": "lost"}).id
    builder = Builder(admin_browser, deal)
    builder.select("stage")
    builder.panel(option=["open", "won"], option_label=["", ""])
    review = html(admin_browser.get(f"/admin/build/{deal}/publish"))
    assert '<option value="empty">(leave empty)</option>' in review
    done = admin_browser.post(
        f"/admin/build/{deal}/publish",
        data={"revision": revision(builder.page), "map:stage:lost": "empty"},
    )
    assert done.status_code == 302, html(done)
    with runtime.read() as work:
        assert "stage" not in records.get(work, lost).data


def test_a_required_field_added_offers_a_fill_value(admin_browser, deal, runtime):
    with runtime.write() as work:
        old = records.create(work, get_form(work, deal), {"name": "Old"}).id
    builder = Builder(admin_browser, deal)
    builder.select("amount")
    builder.panel(required="1")
    review = html(admin_browser.get(f"/admin/build/{deal}/publish"))
    assert "1 records have no value yet" in review
    done = admin_browser.post(
        f"/admin/build/{deal}/publish",
        data={"revision": revision(builder.page), "fix:amount:default": "0"},
    )
    assert done.status_code == 302
    with runtime.read() as work:
        assert records.get(work, old).data["amount"] == 0


def test_undo_goes_back_to_the_previous_version(admin_browser, deal, runtime):
    builder = Builder(admin_browser, deal)
    builder.post("remove", {"field": "amount"})
    admin_browser.post(f"/admin/build/{deal}/publish", data={"revision": revision(builder.page)})
    assert "amount" not in published(runtime, deal)["properties"]
    undone = admin_browser.post(f"/admin/build/{deal}/undo")
    assert undone.status_code == 302
    assert published(runtime, deal) == DEAL
    with runtime.read() as work:
        assert get_form(work, deal).form.current_version == 3


def test_discarding_a_never_published_form_starts_it_over(admin_browser, runtime):
    admin_browser.post("/admin/build/", data={"name": "sales", "title": "Sales"})
    admin_browser.post("/admin/build/apps/sales/forms", data={"name": "visit", "title": "Visit"})
    builder = Builder(admin_browser, "sales.visit")
    builder.post("add", {"type": "text"})
    assert admin_browser.post("/admin/build/sales.visit/discard").status_code == 302
    page = html(admin_browser.get("/admin/build/sales.visit"))
    assert "Add fields from the palette" in page
    assert builder.draft(runtime)["properties"] == {}


# -- settings ------------------------------------------------------------------------------------


def test_form_settings_and_who_may_submit(admin_browser, deal, runtime):
    with runtime.write() as work:
        people.ensure_role(work, "sales", "Sales")
    builder = Builder(admin_browser, deal)
    fields = [
        (n, v)
        for n, v in form_fields(builder.page, "settings-panel")
        if n not in ("title", "submit:en", "list_columns", "submitters")
    ]
    fields += [
        ("title", "Deals"),
        ("submit:en", "Send"),
        ("list_columns", "name"),
        ("list_columns", "amount"),
        ("submitters", "sales"),
    ]
    builder.post("settings", fields)
    assert builder.status == 200, builder.page
    definition = builder.draft(runtime)
    assert definition["title"] == "Deals"
    assert definition["x-form"]["submit_text"] == {"en": "Send"}
    assert definition["x-form"]["list_columns"] == ["name", "amount"]
    with runtime.read() as work:
        grants = grants_of(work, get_form(work, deal))
    assert [(g["role"], g["actions"]) for g in grants] == [("sales", ["view", "create"])]


def test_the_preview_is_the_record_form_of_the_draft(admin_browser, deal):
    builder = Builder(admin_browser, deal)
    builder.post("add", {"type": "date"})
    preview = html(admin_browser.get(f"/admin/build/{deal}/preview"))
    assert 'type="date"' in preview and f"/admin/build/{deal}/preview/live" in preview
    live = admin_browser.post(
        f"/admin/build/{deal}/preview/live", data={"price": "3", "quantity": "4"}
    )
    assert live.status_code == 200 and "12" in html(live)


# -- bad input: a clear message where it happened, and the published form untouched ----------


def test_a_formula_with_a_syntax_error_reports_its_position(admin_browser, deal, runtime):
    checked = admin_browser.post(
        f"/admin/build/{deal}/check", data={"source": "price * (quantity", "field": "total"}
    )
    assert "column" in html(checked) and "syntax error" in html(checked)
    unknown = admin_browser.post(
        f"/admin/build/{deal}/check", data={"source": "price * qty", "field": "total"}
    )
    assert "refers to unknown fields: qty" in html(unknown)
    fine = admin_browser.post(
        f"/admin/build/{deal}/check",
        data={"source": "ROUND(price * quantity, 2)", "field": "total"},
    )
    assert 'class="check ok"' in html(fine) or "ok" in html(fine).lower()


def test_a_formula_cycle_is_shown_on_the_field_and_blocks_publishing(admin_browser, deal, runtime):
    before = published(runtime, deal)
    builder = Builder(admin_browser, deal)
    builder.post("add", {"type": "formula"})
    added = list(builder.draft(runtime)["properties"])[-1]
    builder.select(added)
    builder.panel(key="a", formula="b + 1")
    builder.post("add", {"type": "formula"})
    builder.select(list(builder.draft(runtime)["properties"])[-1])
    builder.panel(key="b", formula="a + 1")
    assert "circular formula" in builder.page
    review = admin_browser.get(f"/admin/build/{deal}/publish")
    assert "circular formula" in html(review) and "disabled" in html(review)
    refused = admin_browser.post(
        f"/admin/build/{deal}/publish", data={"revision": revision(builder.page)}
    )
    assert refused.status_code == 422
    assert published(runtime, deal) == before


def test_a_duplicate_key_is_refused_in_the_panel(admin_browser, deal, runtime):
    builder = Builder(admin_browser, deal)
    builder.select("amount")
    before = builder.draft(runtime)
    builder.panel(key="name")
    assert builder.status == 422
    assert "another field already uses the key &#39;name&#39;" in builder.page or (
        "another field already uses the key 'name'" in builder.page
    )
    assert 'id="p-key"' in builder.page  # the message sits in the panel of that field
    assert builder.draft(runtime) == before
    assert published(runtime, deal) == DEAL


def test_a_relation_to_a_missing_form_is_a_problem_of_that_field(admin_browser, deal, runtime):
    builder = Builder(admin_browser, deal)
    builder.post("add", {"type": "relation"})
    key = list(builder.draft(runtime)["properties"])[-1]
    builder.select(key)
    builder.panel(relation_form="nowhere")
    assert "keeps this draft from being published" in builder.page
    assert "no form named &#39;nowhere&#39;" in builder.page
    assert published(runtime, deal) == DEAL


def test_a_rule_naming_a_deleted_field_is_reported(admin_browser, deal, runtime):
    builder = Builder(admin_browser, deal)
    builder.select("amount")
    builder.panel(vw_field=["stage"], vw_op=["eq"], vw_value=["won"])
    assert builder.draft(runtime)["properties"]["amount"]["x-visible-when"] == 'stage = "won"'
    builder.post("remove", {"field": "stage"})
    assert "refers to unknown field &#39;stage&#39;" in builder.page or (
        "refers to unknown field 'stage'" in builder.page
    )
    assert published(runtime, deal) == DEAL


def test_two_admins_on_one_draft_the_second_gets_a_conflict_and_the_diff(
    admin_browser, deal, runtime, app
):
    with runtime.write() as work:
        people.create_user(work, "other", password=PASSWORD, is_admin=True, language="en")
    other_client = app.test_client()
    other_client.post("/login", data={"username": "other", "password": PASSWORD})
    mine = Builder(admin_browser, deal)
    theirs = Builder(other_client, deal)
    theirs.post("add", {"type": "email"})
    assert theirs.status == 200
    kept = mine.draft(runtime)
    mine.post("remove", {"field": "amount"})
    assert mine.status == 409
    assert "Someone else changed this draft" in mine.page
    assert "added" in mine.page.lower()
    assert mine.draft(runtime) == kept  # their change stays; mine was not applied
    assert published(runtime, deal) == DEAL


# -- export and import ---------------------------------------------------------------------------


def test_export_and_import_round_trip_exactly(admin_browser, deal, runtime):
    exported = admin_browser.get(f"/admin/build/{deal}/export")
    assert exported.mimetype == "application/json"
    text = exported.get_data()
    assert text.decode() == jsoncodec.dumps_pretty(DEAL)  # the format of the shipped files
    archive = admin_browser.get("/admin/build/apps/crm/export")
    with zipfile.ZipFile(io.BytesIO(archive.get_data())) as z:
        assert z.namelist() == ["crm/deal.json"]
        assert z.read("crm/deal.json") == text
    admin_browser.post("/admin/build/", data={"name": "copy", "title": "Copy"})
    imported = admin_browser.post(
        "/admin/build/apps/copy/import",
        data={"file": (io.BytesIO(archive.get_data()), "crm.zip")},
    )
    assert imported.status_code == 302
    again = admin_browser.get("/admin/build/copy.deal/export")
    assert again.get_data() == text


def test_a_broken_import_names_the_problem_and_publishes_nothing(admin_browser, deal, runtime):
    bad = json.dumps({**DEAL, "properties": {"x": {"x-field": "nope"}}}).encode()
    before = snapshot(runtime)
    refused = admin_browser.post(
        "/admin/build/apps/crm/import",
        data={"file": (io.BytesIO(bad), "deal.json")},
        follow_redirects=True,
    )
    assert "Nothing was imported" in html(refused) and "/properties/x" in html(refused)
    assert snapshot(runtime) == before


def test_non_admins_cannot_open_the_builder(app, runtime, deal):
    app.config["WTF_CSRF_ENABLED"] = False
    with runtime.write() as work:
        people.create_user(work, "rep", password=PASSWORD, language="en")
    client = app.test_client()
    client.post("/login", data={"username": "rep", "password": PASSWORD})
    assert client.get(f"/admin/build/{deal}").status_code == 403
