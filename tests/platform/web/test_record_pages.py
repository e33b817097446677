"""Record pages in the browser's terms: every field type renders and posts back; tampered or
stale input is refused and nothing typed is lost."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from formflow.definitions.service import get_form
from formflow.people import service as people
from formflow.records import service as records
from tests.conftest import EVERYONE_OWN, grant, snapshot
from tests.platform.files.test_uploads import PDF, png
from tests.platform.test_fields import PROPERTIES
from tests.support.htmlform import form_fields

PASSWORD = "page tests password"
EVERY = {key: prop for key, prop in PROPERTIES.items()}
EVERY["link"] = {"x-field": "relation", "type": "integer", "x-relation": {"form": "other"}}
EVERY["links"] = {
    "x-field": "relation",
    "type": "array",
    "x-relation": {"form": "other", "multiple": True},
}


@pytest.fixture
def site(app, runtime, make_app, api, admin):
    app.config["WTF_CSRF_ENABLED"] = False
    make_app("demo")
    other = {
        "title": "Other",
        "type": "object",
        "properties": {"name": {"x-field": "text", "type": "string"}},
    }
    assert api.put("/forms/demo.other", other).status_code == 201
    assert (
        api.put(
            "/forms/demo.every", {"title": "Every", "type": "object", "properties": EVERY}
        ).status_code
        == 201
    )
    target = api.post("/forms/demo.other/records", {"data": {"name": "Target"}}).body["id"]
    with runtime.write() as work:
        from formflow.people.models import User

        people.set_password(work, work.session.get(User, admin.id), PASSWORD)
        department = people.create_department(work, "Sales")
    client = app.test_client()
    assert (
        client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    )
    return {"client": client, "target": target, "department": department.id}


def test_every_field_type_renders_with_a_labelled_input(site):
    page = site["client"].get("/f/demo.every/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for key, prop in EVERY.items():
        kind = prop["x-field"]
        if kind in ("formula", "serial", "description", "divider"):
            assert f'id="fld-{key}"' in html, key
            continue
        names = {
            "address": f'name="{key}-province"',
            "location": f'name="{key}-lat"',
            "image": f'name="{key}__upload"',
            "attachment": f'name="{key}__upload"',
            "signature": f'name="{key}__drawn"',
            "rows": 'name="rows-__i__-q"',
        }
        expected = names.get(kind) or names.get(key) or f'name="{key}"'
        assert expected in html, (key, expected)
    assert 'type="number"' in html and 'type="date"' in html and 'type="datetime-local"' in html
    assert 'type="tel"' in html and 'type="email"' in html and 'capture="environment"' in html
    assert '<canvas id="signature"' in html


def test_every_field_type_posts_back_through_the_engine(site, runtime, admin):
    client = site["client"]
    form = {
        "text": "hello",
        "textarea": "two\nlines",
        "number": "12.5",
        "integer": "7",
        "money": "1234.5",
        "percent": "18",
        "date": "2026-03-09",
        "datetime": "2026-03-09T10:30",
        "select": "a",
        "radio": "x",
        "multi": ["r", "b"],
        "checks": ["g"],
        "flag": "true",
        "phone": "+86 138-0013-8000",
        "email": "li@example.com",
        "url": "https://example.com",
        "address-province": "广东",
        "address-city": "深圳",
        "address-detail": "科技园 1 号",
        "location-lat": "22.54",
        "location-lng": "113.95",
        "location-accuracy": "12",
        "rating": "4",
        "member": str(admin.id),
        "members": [str(admin.id)],
        "department": str(site["department"]),
        "link": str(site["target"]),
        "links": [str(site["target"])],
        "rows-0-q": "3",
        "rows-1-q": "4",
        "image__upload": (io.BytesIO(png()), "photo.png"),
        "attachment__upload": (io.BytesIO(PDF), "offer.pdf"),
        "signature__drawn": "data:image/png;base64,"
        + __import__("base64").b64encode(png()).decode(),
    }
    response = client.post("/f/demo.every/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with runtime.read() as work:
        loaded = get_form(work, "demo.every")
        values = records.values_of(loaded, records.get(work, record_id))
    assert values["money"] == Decimal("1234.50") and values["percent"] == Decimal("0.18")
    assert values["datetime"] == "2026-03-09T02:30:00Z"
    assert values["multi"] == ["r", "b"] and values["flag"] is True
    assert values["address"] == {"province": "广东", "city": "深圳", "detail": "科技园 1 号"}
    assert values["location"]["lat"] == Decimal("22.54")
    assert values["rows"] == [{"q": 3}, {"q": 4}] and values["formula"] == 14
    assert len(values["image"]) == 1 and len(values["attachment"]) == 1
    assert len(values["signature"]) == 32 and values["serial"] == "N-0001"
    # and the detail page shows them as people read them
    page = client.get(f"/f/demo.every/{record_id}").get_data(as_text=True)
    assert "¥1,234.50" in page and "18%" in page and "2026-03-09 10:30" in page
    assert "★★★★☆" in page


def test_bad_uploads_and_values_are_shown_beside_their_fields_and_typed_values_kept(site, runtime):
    before = snapshot(runtime)
    form = {
        "text": "toolong text",
        "number": "-3",
        "integer": "2",
        "image__upload": (io.BytesIO(PDF), "photo.png"),
    }
    response = site["client"].post(
        "/f/demo.every/new", data=form, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="err-image"' in html
    assert 'value="toolong text"' in html and 'value="-3"' in html
    after = snapshot(runtime)
    assert after["records"] == before["records"] and after["files"] == before["files"]


def test_read_only_fields_cannot_be_changed_by_a_tampered_post(app, runtime, api, make_app):
    app.config["WTF_CSRF_ENABLED"] = False
    make_app("crm")
    deal = {
        "title": "Deal",
        "type": "object",
        "x-form": {"owner_field": "owner"},
        "properties": {
            "name": {"x-field": "text", "type": "string"},
            "owner": {"x-field": "member", "type": "integer"},
        },
    }
    assert api.put("/forms/crm.deal", deal).status_code == 201
    grant(
        runtime,
        "crm.deal",
        {"actions": ["view", "create", "edit"], "scope": "own", "fields": {"owner": "read"}},
    )
    with runtime.write() as work:
        rep = people.create_user(work, "rep", password=PASSWORD, language="en")
        other = people.create_user(work, "other", password=PASSWORD, language="en")
    client = app.test_client()
    client.post("/login", data={"username": "rep", "password": PASSWORD})
    created = client.post("/f/crm.deal/new", data={"name": "mine", "owner": str(other.id)})
    assert created.status_code == 302
    record_id = int(created.headers["Location"].rsplit("/", 1)[1])
    with runtime.read() as work:
        stored = records.values_of(get_form(work, "crm.deal"), records.get(work, record_id))
    assert stored["owner"] == rep.id  # the posted owner was not the rep's to set
    edit = client.post(
        f"/f/crm.deal/{record_id}/edit",
        data={"_revision": "1", "name": "still mine", "owner": str(other.id)},
    )
    assert edit.status_code == 302
    with runtime.read() as work:
        stored = records.values_of(get_form(work, "crm.deal"), records.get(work, record_id))
    assert stored == {"name": "still mine", "owner": rep.id}


OFFER = {
    "title": "Offer",
    "type": "object",
    "x-form": {"owner_field": "owner"},
    "required": ["name", "owner"],
    "properties": {
        "name": {"x-field": "text", "type": "string"},
        "status": {
            "x-field": "select",
            "type": "string",
            "enum": ["pricing", "sent"],
            "default": "pricing",
            "x-readonly": True,
        },
        "owner": {"x-field": "member", "type": "integer", "x-default": "current_user"},
        "team": {"x-field": "department", "type": "integer", "x-default": "current_department"},
    },
}


@pytest.fixture
def offers(app, runtime, api, make_app):
    """A form with a system-kept status and fields defaulting to the person and their
    department; a rep in Sales may add and edit their own."""
    app.config["WTF_CSRF_ENABLED"] = False
    make_app("crm")
    assert api.put("/forms/crm.offer", OFFER).status_code == 201
    grant(runtime, "crm.offer", EVERYONE_OWN)
    with runtime.write() as work:
        from formflow.people.models import User

        rep = people.create_user(work, "rep", password=PASSWORD, language="en")
        sales = people.create_department(work, "Sales")
        people.set_memberships(work, rep.id, [sales.id])
        people.set_password(work, work.session.get(User, api.person.id), PASSWORD)

    def signed_in(username: str):
        client = app.test_client()
        client.post("/login", data={"username": username, "password": PASSWORD})
        return client

    return {"rep": rep.id, "sales": sales.id, "signed_in": signed_in}


def _stored(runtime, record_id):
    with runtime.read() as work:
        return records.values_of(get_form(work, "crm.offer"), records.get(work, record_id))


@pytest.mark.parametrize("username", ["rep", "admin"])
def test_a_read_only_field_shows_its_value_and_is_never_posted(offers, runtime, username):
    client = offers["signed_in"](username)
    page = client.get("/f/crm.offer/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="status"' not in html  # shown, not an input
    assert '<output class="computed">pricing</output>' in html
    posted = dict(form_fields(html, "record-form"))
    assert "status" not in posted
    posted.update(name="mine", status="sent")  # a tampered post: the form takes no status
    created = client.post("/f/crm.offer/new", data=posted)
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    record_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert _stored(runtime, record_id)["status"] == "pricing"  # its default, set on create
    edit = client.get(f"/f/crm.offer/{record_id}/edit").get_data(as_text=True)
    assert 'name="status"' not in edit and '<output class="computed">pricing</output>' in edit
    posted = dict(form_fields(edit, "record-form"))
    posted.update(name="still mine", status="sent")
    saved = client.post(f"/f/crm.offer/{record_id}/edit", data=posted)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    stored = _stored(runtime, record_id)
    assert stored["name"] == "still mine" and stored["status"] == "pricing"


def test_a_new_record_form_presets_the_person_and_their_department(offers, runtime):
    client = offers["signed_in"]("rep")
    html = client.get("/f/crm.offer/new").get_data(as_text=True)
    posted = dict(form_fields(html, "record-form"))
    assert posted["owner"] == str(offers["rep"]) and posted["team"] == str(offers["sales"])
    created = client.post("/f/crm.offer/new", data={**posted, "name": "untouched"})
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    stored = _stored(runtime, int(created.headers["Location"].rsplit("/", 1)[1]))
    assert stored["owner"] == offers["rep"] and stored["team"] == offers["sales"]


def test_a_stale_edit_is_refused_and_keeps_what_was_typed(site):
    client = site["client"]
    created = client.post("/f/demo.every/new", data={"text": "first", "integer": "1"})
    record_id = int(created.headers["Location"].rsplit("/", 1)[1])
    url = f"/f/demo.every/{record_id}/edit"
    second = client.post(url, data={"_revision": "1", "text": "two", "integer": "1"})
    assert second.status_code == 302, [
        line for line in second.get_data(as_text=True).splitlines() if "field-error" in line
    ]
    stale = client.post(url, data={"_revision": "1", "text": "mine", "integer": "1"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert 'value="mine"' in html and 'class="error-box"' in html
