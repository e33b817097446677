"""Publishing new versions never loses stored data."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from tests.conftest import snapshot


def form(**properties):
    return {"title": "Lead", "type": "object", "properties": properties}


NAME = {"x-field": "text", "type": "string", "title": "Name"}
BUDGET_TEXT = {"x-field": "text", "type": "string", "title": "Budget"}


@pytest.fixture
def lead(api, make_app):
    make_app("crm")

    def publish(definition, status=(200, 201)):
        response = api.put("/forms/crm.lead", definition)
        assert response.status_code in status, response.body
        return response

    return publish


def add(api, **data):
    response = api.post("/forms/crm.lead/records", {"data": data})
    assert response.status_code == 201, response.body
    return response.body["id"]


def read(api, record_id):
    return api.get(f"/forms/crm.lead/records/{record_id}").body


def test_each_publish_makes_a_version_and_identical_publish_does_not(api, lead):
    lead(form(name=NAME))
    lead(form(name=NAME, budget=BUDGET_TEXT))
    lead(form(name=NAME, budget=BUDGET_TEXT))
    versions = api.get("/forms/crm.lead/versions").body["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    old = api.get("/forms/crm.lead?version=1").body
    assert list(old["definition"]["properties"]) == ["name"]


def test_renamed_field_keeps_its_values_through_its_stable_id(api, lead):
    lead(form(name=NAME))
    record = add(api, name="ACME")
    renamed = {**NAME, "x-id": "name", "title": "Company"}
    lead(form(company=renamed))
    data = read(api, record)["data"]
    assert data == {"company": "ACME"}
    listed = api.get("/forms/crm.lead/records?filter=company:eq:ACME").body["records"]
    assert [r["id"] for r in listed] == [record]


def test_removed_field_data_stays_and_returns_when_the_field_is_restored(api, lead):
    lead(form(name=NAME, budget=BUDGET_TEXT))
    record = add(api, name="ACME", budget="big")
    lead(form(name=NAME))
    assert read(api, record)["data"] == {"name": "ACME"}
    # an update while the field is gone keeps the hidden value
    updated = api.patch(
        f"/forms/crm.lead/records/{record}", {"revision": 1, "data": {"name": "ACME Co"}}
    )
    assert updated.status_code == 200
    lead(form(name=NAME, budget=BUDGET_TEXT))
    assert read(api, record)["data"] == {"name": "ACME Co", "budget": "big"}


def test_type_change_converts_stored_values(api, lead):
    lead(form(name=NAME, budget=BUDGET_TEXT))
    first = add(api, name="a", budget="1200.50")
    second = add(api, name="b")
    lead(form(name=NAME, budget={"x-field": "money", "type": "number", "title": "Budget"}))
    assert read(api, first)["data"]["budget"] == Decimal("1200.50")
    assert "budget" not in read(api, second)["data"]
    history = api.get(f"/forms/crm.lead/records/{first}/revisions").body["revisions"]
    assert history[-1]["action"] == "convert"
    assert history[-1]["changes"][0]["before"] == "1200.50"
    # and it is now a number in SQL too
    found = api.get("/forms/crm.lead/records?filter=budget:gt:1000").body["records"]
    assert [r["id"] for r in found] == [first]


def test_type_change_that_cannot_convert_is_refused_with_a_report(api, lead, runtime):
    lead(form(name=NAME, budget=BUDGET_TEXT))
    add(api, name="a", budget="1200")
    bad = add(api, name="b", budget="about a million")
    before = snapshot(runtime)
    response = api.put(
        "/forms/crm.lead", form(name=NAME, budget={"x-field": "number", "type": "number"})
    )
    assert response.status_code == 422
    (error,) = response.body["errors"]
    assert error["field"] == "/properties/budget"
    assert error["message"] == f"1 record(s) cannot convert: #{bad} (must be a number)"
    assert snapshot(runtime) == before


def test_subform_sub_field_type_change_converts_each_row(api, lead):
    def lines(qty):
        return {
            "x-field": "subform",
            "type": "array",
            "items": {"type": "object", "properties": {"qty": qty}},
        }

    lead(form(name=NAME, lines=lines({"x-field": "text", "type": "string"})))
    record = add(api, name="a", lines=[{"qty": "2"}, {"qty": "3"}])
    lead(form(name=NAME, lines=lines({"x-field": "number", "type": "integer"})))
    assert read(api, record)["data"]["lines"] == [{"qty": 2}, {"qty": 3}]


def test_publish_with_a_stale_if_match_is_a_conflict(api, lead):
    lead(form(name=NAME))
    response = api.put(
        "/forms/crm.lead", form(name=NAME, budget=BUDGET_TEXT), headers={"If-Match": "7"}
    )
    assert response.status_code == 409


def test_adding_a_unique_field_over_duplicates_is_refused(api, lead, runtime):
    lead(form(name=NAME))
    add(api, name="same")
    add(api, name="same")
    before = snapshot(runtime)
    unique = copy.deepcopy(NAME)
    unique["x-unique"] = True
    response = api.put("/forms/crm.lead", form(name=unique))
    assert response.status_code == 422
    assert response.body["errors"][0]["field"] == "/properties/name/x-unique"
    assert "'same' (2 records)" in response.body["errors"][0]["message"]
    assert snapshot(runtime) == before
