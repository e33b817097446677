"""Records through the REST API, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from tests.conftest import EVERYONE_OWN, grant, make_person, snapshot
from tests.platform.definitions_samples import QUOTE

LINES = [
    {"product": "A", "unit_price": "100.50", "quantity": 3},
    {"product": "B", "unit_price": 20, "quantity": "2"},
]


@pytest.fixture
def quote(api, make_app):
    make_app("demo")
    response = api.put("/forms/demo.quote", QUOTE)
    assert response.status_code == 201, response.body
    return "/forms/demo.quote"


def create(api, form, **data):
    body = {"customer": "ACME", "lines": LINES, **data}
    response = api.post(f"{form}/records", {"data": body})
    assert response.status_code == 201, response.body
    return response.body


def test_create_computes_formulas_serials_and_defaults(api, quote):
    record = create(api, quote, discount="10%")
    data = record["data"]
    assert data["number"] == "QT-202603-0001"
    assert data["status"] == "draft"
    assert data["lines"][0]["line_total"] == Decimal("301.50")
    assert data["subtotal"] == Decimal("341.50")
    assert data["total"] == Decimal("307.35")
    assert data["discount"] == Decimal("0.1")
    assert record["revision"] == 1
    assert "lost_reason" not in data  # hidden by its rule, so neither required nor stored


def test_money_is_exact_on_the_wire(api, quote):
    record = create(api, quote, lines=[{"product": "x", "unit_price": "0.10", "quantity": 3}])
    raw = api.get(f"{quote}/records/{record['id']}").get_data(as_text=True)
    assert '"subtotal":0.30' in raw


def test_read_list_and_revision_history(api, quote):
    record = create(api, quote)
    got = api.get(f"{quote}/records/{record['id']}")
    assert got.status_code == 200
    assert got.body["data"] == record["data"]
    listed = api.get(f"{quote}/records")
    assert [r["id"] for r in listed.body["records"]] == [record["id"]]
    changed = api.patch(
        f"{quote}/records/{record['id']}", {"revision": 1, "data": {"customer": "ACME Ltd"}}
    )
    assert changed.status_code == 200, changed.body
    assert changed.body["revision"] == 2
    history = api.get(f"{quote}/records/{record['id']}/revisions").body["revisions"]
    assert [h["action"] for h in history] == ["create", "update"]
    update = history[1]["changes"]
    assert update == [
        {
            "field": "customer",
            "field_id": "customer",
            "label": "客户",
            "before": "ACME",
            "after": "ACME Ltd",
        }
    ]


def test_patch_keeps_other_fields_and_put_replaces(api, quote):
    record = create(api, quote, discount="0.2")
    patched = api.patch(
        f"{quote}/records/{record['id']}", {"revision": 1, "data": {"status": "sent"}}
    ).body
    assert patched["data"]["discount"] == Decimal("0.2")
    assert patched["data"]["status"] == "sent"
    replaced = api.put(
        f"{quote}/records/{record['id']}",
        {"revision": 2, "data": {"customer": "New", "lines": LINES}},
    )
    assert replaced.status_code == 200, replaced.body
    assert "discount" not in replaced.body["data"]
    assert replaced.body["data"]["number"] == "QT-202603-0001"  # serials never change


def test_echoing_computed_values_back_is_accepted_but_changing_them_is_not(api, quote):
    record = create(api, quote)
    data = copy.deepcopy(record["data"])
    data["customer"] = "Echo"
    ok = api.put(f"{quote}/records/{record['id']}", {"revision": 1, "data": data})
    assert ok.status_code == 200, ok.body
    data["total"] = 1
    data.pop("lines")
    bad = api.patch(f"{quote}/records/{record['id']}", {"revision": 2, "data": {"total": 1}})
    assert bad.status_code == 422
    assert bad.body["errors"][0]["field"] == "total"


def test_stale_revision_update_is_rejected_and_loses_nothing(api, quote, runtime):
    record = create(api, quote)
    first = api.patch(f"{quote}/records/{record['id']}", {"revision": 1, "data": {"customer": "A"}})
    assert first.status_code == 200
    before = snapshot(runtime)
    stale = api.patch(f"{quote}/records/{record['id']}", {"revision": 1, "data": {"customer": "B"}})
    assert stale.status_code == 409
    assert stale.body["errors"][0]["field"] == "revision"
    assert snapshot(runtime) == before
    assert api.get(f"{quote}/records/{record['id']}").body["data"]["customer"] == "A"


def test_soft_delete_and_restore(api, quote):
    record = create(api, quote)
    gone = api.delete(f"{quote}/records/{record['id']}")
    assert gone.status_code == 200
    assert gone.body["deleted_at"] is not None
    assert api.get(f"{quote}/records/{record['id']}").status_code == 404
    assert api.get(f"{quote}/records").body["records"] == []
    binned = api.get(f"{quote}/records?deleted=true").body["records"]
    assert [r["id"] for r in binned] == [record["id"]]
    back = api.post(f"{quote}/records/{record['id']}/restore")
    assert back.status_code == 200, back.body
    assert back.body["data"] == record["data"]
    actions = [
        h["action"] for h in api.get(f"{quote}/records/{record['id']}/revisions").body["revisions"]
    ]
    assert actions == ["create", "delete", "restore"]


def test_unique_value_is_enforced_by_the_database(api, make_app, runtime):
    make_app("crm")
    definition = {
        "title": "Customer",
        "type": "object",
        "properties": {"name": {"x-field": "text", "type": "string", "x-unique": True}},
    }
    assert api.put("/forms/crm.customer", definition).status_code == 201
    first = api.post("/forms/crm.customer/records", {"data": {"name": "ACME"}})
    assert first.status_code == 201
    before = snapshot(runtime)
    duplicate = api.post("/forms/crm.customer/records", {"data": {"name": " ACME "}})
    assert duplicate.status_code == 409
    assert duplicate.body["errors"] == [
        {
            "field": "name",
            "message": "this value is already used by another record",
            "code": "unique",
        }
    ]
    assert snapshot(runtime) == before
    # a deleted record frees its value; restoring it while the value is taken is refused
    api.delete(f"/forms/crm.customer/records/{first.body['id']}")
    second = api.post("/forms/crm.customer/records", {"data": {"name": "ACME"}})
    assert second.status_code == 201
    refused = api.post(f"/forms/crm.customer/records/{first.body['id']}/restore")
    assert refused.status_code == 409
    assert refused.body["errors"][0]["field"] == "name"


def test_relation_must_point_at_a_live_record_of_the_right_form(api, make_app, runtime):
    make_app("crm")
    customer = {
        "title": "Customer",
        "type": "object",
        "properties": {"name": {"x-field": "text", "type": "string"}},
    }
    contact = {
        "title": "Contact",
        "type": "object",
        "properties": {
            "name": {"x-field": "text", "type": "string"},
            "customer": {
                "x-field": "relation",
                "type": "integer",
                "x-relation": {"form": "customer", "display": "name"},
            },
        },
    }
    assert api.put("/forms/crm.customer", customer).status_code == 201
    assert api.put("/forms/crm.contact", contact).status_code == 201
    acme = api.post("/forms/crm.customer/records", {"data": {"name": "ACME"}}).body
    other = api.post("/forms/crm.contact/records", {"data": {"name": "x"}}).body
    ok = api.post("/forms/crm.contact/records", {"data": {"name": "Li", "customer": acme["id"]}})
    assert ok.status_code == 201
    before = snapshot(runtime)
    for bad_id in (999, other["id"]):
        wrong = api.post(
            "/forms/crm.contact/records", {"data": {"name": "Wang", "customer": bad_id}}
        )
        assert wrong.status_code == 422
        assert wrong.body["errors"][0]["field"] == "customer"
    assert snapshot(runtime) == before


CUSTOMER = {
    "title": "Customer",
    "type": "object",
    "properties": {"name": {"x-field": "text", "type": "string"}},
}
CONTACT = {
    "title": "Contact",
    "type": "object",
    "x-form": {"owner_field": "owner"},
    "properties": {
        "name": {"x-field": "text", "type": "string"},
        "customer": {"x-field": "relation", "type": "integer", "x-relation": {"form": "customer"}},
        "owner": {"x-field": "member", "type": "integer"},
        "visits": {
            "x-field": "subform",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "at": {
                        "x-field": "relation",
                        "type": "integer",
                        "x-relation": {"form": "customer"},
                    }
                },
            },
        },
    },
}


@pytest.fixture
def crm(api, make_app, runtime, rep):
    """Customers and their contacts, each rep seeing only their own; the rep owns ACME, a
    second rep owns Globex."""
    make_app("crm")
    assert api.put("/forms/crm.customer", CUSTOMER).status_code == 201
    assert api.put("/forms/crm.contact", CONTACT).status_code == 201
    grant(runtime, "crm.customer", EVERYONE_OWN)
    grant(runtime, "crm.contact", EVERYONE_OWN)
    other = make_person(runtime, "rep_b")
    acme = api.as_(rep).post("/forms/crm.customer/records", {"data": {"name": "ACME"}}).body
    globex = api.as_(other).post("/forms/crm.customer/records", {"data": {"name": "Globex"}}).body
    return {"rep": rep, "other": other, "acme": acme["id"], "globex": globex["id"]}


def test_a_rep_may_not_link_a_record_they_cannot_see(api, crm, runtime):
    rep, acme, globex = crm["rep"], crm["acme"], crm["globex"]
    contacts = "/forms/crm.contact/records"
    mine = api.as_(rep).post(contacts, {"data": {"name": "Li", "customer": acme}})
    assert mine.status_code == 201, mine.body
    before = snapshot(runtime)
    theirs = api.as_(rep).post(contacts, {"data": {"name": "Wang", "customer": globex}})
    assert theirs.status_code == 403
    assert theirs.body["errors"] == [
        {
            "field": "customer",
            "message": f"you may not link customer record #{globex}",
            "code": "link_forbidden",
        }
    ]
    in_a_row = api.as_(rep).post(
        contacts, {"data": {"name": "Wang", "visits": [{"at": acme}, {"at": globex}]}}
    )
    assert in_a_row.status_code == 403
    assert [e["field"] for e in in_a_row.body["errors"]] == ["visits[1].at"]
    relinked = api.as_(rep).patch(
        f"{contacts}/{mine.body['id']}", {"revision": 1, "data": {"customer": globex}}
    )
    assert relinked.status_code == 403
    assert relinked.body["errors"][0]["field"] == "customer"
    assert snapshot(runtime) == before
    # The record is there all the same: an admin links it.
    assert api.post(contacts, {"data": {"name": "Wang", "customer": globex}}).status_code == 201


def test_a_link_the_record_already_holds_does_not_stop_an_edit(api, crm):
    rep, globex = crm["rep"], crm["globex"]
    # An admin gives the rep a contact of a customer the rep cannot see.
    given = api.post(
        "/forms/crm.contact/records",
        {"data": {"name": "Zhao", "customer": globex, "owner": rep.id, "visits": [{"at": globex}]}},
    )
    assert given.status_code == 201, given.body
    url = f"/forms/crm.contact/records/{given.body['id']}"
    renamed = api.as_(rep).patch(url, {"revision": 1, "data": {"name": "Zhao Lei"}})
    assert renamed.status_code == 200, renamed.body
    replaced = api.as_(rep).put(
        url,
        {
            "revision": 2,
            "data": {"name": "Zhao Lei", "customer": globex, "visits": [{"at": globex}] * 2},
        },
    )
    assert replaced.status_code == 200, replaced.body


def test_process_steps_link_whatever_the_acting_user_sees(crm, runtime):
    """Flows' and automations' writes (an automation acts as its owner) are no person's own
    choice of link: no grant applies to them, links included."""
    from formflow.definitions.service import get_form
    from formflow.people.models import User
    from formflow.records import service as records

    with runtime.write() as work:
        work.actor = work.session.get(User, crm["rep"].id)
        contact = get_form(work, "crm.contact")
        row = records.create_as_step(work, contact, {"name": "Sun", "customer": crm["globex"]})
        _, changes = records.change_as_step(
            work, contact, row.id, {"visits": [{"at": crm["globex"]}]}, None
        )
    assert changes


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ('{"data": {"customer": ', 400, None),  # malformed JSON
        ({"data": []}, 400, "data"),
        ({"data": {"customer": 12, "lines": LINES}}, 422, "customer"),  # wrong type... accepted?
        ({"data": {"customer": "x", "lines": LINES, "colour": "red"}}, 422, "colour"),
        ({"data": {"customer": "x" * 101, "lines": LINES}}, 422, "customer"),
        ({"data": {"customer": "x", "lines": LINES * 11}}, 422, "lines"),
        (
            {
                "data": {
                    "customer": "x",
                    "lines": [{"product": "p", "unit_price": "abc", "quantity": 1}],
                }
            },
            422,
            "lines[0].unit_price",
        ),
        ({"data": {"customer": "x", "lines": LINES, "status": "maybe"}}, 422, "status"),
        (
            {"data": {"customer": "x", "lines": LINES, "valid_until": "31/03/2026"}},
            422,
            "valid_until",
        ),
        ({"data": {"customer": "x", "lines": LINES, "discount": 2}}, 422, "discount"),
        ({"data": {"customer": "x", "lines": LINES, "number": "QT-1"}}, 422, "number"),
        ({"data": {"lines": LINES}}, 422, "customer"),
        ({"data": {"customer": "x", "lines": LINES, "status": "lost"}}, 422, "lost_reason"),
        ({"data": {"customer": "x"}, "extra": 1}, 400, "extra"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    api, quote, runtime, body, status, field
):
    create(api, quote)
    before = snapshot(runtime)
    response = api.post(f"{quote}/records", body)
    if field == "customer" and status == 422 and body["data"].get("customer") == 12:
        # numbers are accepted as text for text fields (a form posts text anyway)
        assert response.status_code == 201
        return
    assert response.status_code == status, response.body
    assert response.body["errors"][0]["field"] == field
    assert response.body["errors"][0]["message"]
    assert snapshot(runtime) == before


def test_missing_and_unknown_things_get_404_and_401(api, quote, app):
    assert api.get("/forms/demo.nope/records").status_code == 404
    assert api.get(f"{quote}/records/12345").status_code == 404
    assert api.get("/no/such/route").status_code == 404
    anonymous = app.test_client().get(f"/api/v1{quote}/records")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    bad_token = app.test_client().get(
        f"/api/v1{quote}/records", headers={"Authorization": "Bearer ff_wrong"}
    )
    assert bad_token.status_code == 401


def test_only_admins_publish_definitions(api, quote, rep):
    response = api.as_(rep).put("/forms/demo.quote", QUOTE)
    assert response.status_code == 403


def test_history_reconstructs_the_values_a_record_was_created_with(api, quote, runtime):
    from formflow.definitions.service import get_form
    from formflow.records.service import document_at, get, revisions

    record = create(api, quote, discount="0.1")
    api.patch(f"{quote}/records/{record['id']}", {"revision": 1, "data": {"customer": "B"}})
    api.patch(
        f"{quote}/records/{record['id']}",
        {"revision": 2, "data": {"discount": None, "status": "sent"}},
    )
    with runtime.read() as work:
        loaded = get_form(work, "demo.quote")
        stored = get(work, record["id"], form_id=loaded.form.id)
        history = revisions(work, stored)
        first = document_at(stored, history, 1)
        second = document_at(stored, history, 2)
    assert first["customer"] == "ACME" and first["discount"] == Decimal("0.1")
    assert "status" in first and first["status"] == "draft"
    assert second["customer"] == "B" and second["discount"] == Decimal("0.1")
    assert document_at(stored, history, 3) == stored.data


BEYOND_64_BITS = "1" + "0" * 30


def test_ids_and_revisions_no_database_can_hold_are_refused_not_crashed_on(api, quote):
    """Found by the API fuzzer: a number past 64 bits in the path or the revision reached
    SQLite ("Python int too large to convert to SQLite INTEGER") and answered 500."""
    record = create(api, quote)
    path = f"{quote}/records/{record['id']}"
    assert api.get(f"{quote}/records/{BEYOND_64_BITS}").status_code == 404
    assert api.post(f"{quote}/records/{BEYOND_64_BITS}/restore").status_code == 404
    for missing in (BEYOND_64_BITS, "0"):
        patched = api.patch(f"{quote}/records/{missing}", {"revision": 1, "data": {}})
        assert patched.status_code == 404 and patched.body["errors"], missing  # not an HTML 405
    for answer in (
        api.patch(path, f'{{"revision": {BEYOND_64_BITS}, "data": {{}}}}'),
        api.delete(f"{path}?revision={BEYOND_64_BITS}"),
    ):
        assert answer.status_code == 400, answer.body
        assert answer.body["errors"][0]["field"] == "revision"
    assert api.get(f"{quote}?version={BEYOND_64_BITS}").body["errors"][0]["field"] == "version"


def test_numbers_too_large_to_write_back_are_refused_as_unreadable(api, quote):
    """Found by the API fuzzer: ``1e999999999`` was read, and writing it back out would have
    spelled a billion digits; a whole number past 64 bits made the JSON writer fail (500)."""
    line = '{"product": "A", "unit_price": %s, "quantity": 1}'
    huge = api.post(f"{quote}/records", '{"data": {"lines": [%s]}}' % (line % "1e999999999"))
    assert huge.status_code == 400 and huge.body["errors"][0]["code"] == "json"
    assert "out of range" in huge.body["errors"][0]["message"]
    wide = api.post(f"{quote}/records", '{"data": {"lines": [%s]}}' % (line % BEYOND_64_BITS))
    assert wide.status_code in (201, 422), wide.body
