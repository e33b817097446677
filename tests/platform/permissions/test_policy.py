"""Data permissions through the API: rows by scope, fields by access, union over roles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from formflow.people import service as people
from tests.conftest import grant, snapshot
from tests.platform.permissions.org import DEAL, REP_GRANTS, build


@pytest.fixture
def org(api, make_app, runtime, admin):
    make_app("crm")
    assert api.put("/forms/crm.deal", DEAL).status_code == 201
    org = build(runtime, admin)
    grant(runtime, "crm.deal", *REP_GRANTS)
    return org


def add(api, person, **data):
    response = api.as_(person).post("/forms/crm.deal/records", {"data": data})
    assert response.status_code == 201, response.body
    return response.body


def names(api, person, query=""):
    response = api.as_(person).get(f"/forms/crm.deal/records?sort=name{query}")
    assert response.status_code == 200, response.body
    return [r["data"]["name"] for r in response.body["records"]]


def test_reps_see_their_own_rows_managers_their_subtree_admins_all(api, org):
    add(api, org.rep_a, name="a1", amount=10)
    add(api, org.rep_b, name="b1", amount=20)
    add(api, org.rep_c, name="c1", amount=30)
    assert names(api, org.rep_a) == ["a1"]
    assert names(api, org.rep_b) == ["b1"]
    assert names(api, org.manager) == ["a1", "c1"]  # North and North-East, not South
    assert names(api, org.admin) == ["a1", "b1", "c1"]
    assert api.as_(org.outsider).get("/forms/crm.deal/records").status_code == 403


def test_hidden_fields_are_absent_and_read_only_fields_cannot_change(api, org):
    created = add(api, org.rep_a, name="a1", amount=10)
    assert "margin" not in created["data"]
    assert created["data"]["owner"] == org.rep_a.id  # read-only for reps: defaulted to the owner
    refused = api.as_(org.rep_a).post(
        "/forms/crm.deal/records", {"data": {"name": "x", "margin": "0.5"}}
    )
    assert refused.status_code == 403
    assert refused.body["errors"] == [
        {"field": "margin", "message": "you may not change this field", "code": "forbidden"}
    ]
    record = f"/forms/crm.deal/records/{created['id']}"
    managed = api.as_(org.manager).patch(record, {"revision": 1, "data": {"margin": "0.25"}})
    assert managed.status_code == 200 and managed.body["data"]["margin"] == Decimal("0.25")
    seen = api.as_(org.rep_a).get(record).body
    assert "margin" not in seen["data"]
    raw = api.as_(org.rep_a).get(record).get_data(as_text=True)
    assert "margin" not in raw and "0.25" not in raw
    history = api.as_(org.rep_a).get(record + "/revisions").get_data(as_text=True)
    assert "margin" not in history and "0.25" not in history
    echo = api.as_(org.rep_a).patch(
        record, {"revision": 2, "data": {"name": "a2", "owner": org.rep_a.id}}
    )
    assert echo.status_code == 200, echo.body  # repeating a read-only value is fine
    moved = api.as_(org.rep_a).patch(record, {"revision": 3, "data": {"owner": org.rep_b.id}})
    assert moved.status_code == 403


def test_a_full_replace_keeps_what_the_person_may_not_change(api, org):
    created = add(api, org.rep_a, name="a1", amount=10)
    record = f"/forms/crm.deal/records/{created['id']}"
    api.as_(org.manager).patch(record, {"revision": 1, "data": {"margin": "0.3"}})
    replaced = api.as_(org.rep_a).put(record, {"revision": 2, "data": {"name": "a1b"}})
    assert replaced.status_code == 200, replaced.body
    full = api.get(record).body["data"]
    assert full["margin"] == Decimal("0.3") and full["owner"] == org.rep_a.id
    assert "amount" not in full  # the rep may edit amount, and a replace without it clears it


def test_other_peoples_records_are_not_found_and_changes_are_refused(api, org, runtime):
    theirs = add(api, org.rep_b, name="b1")
    record = f"/forms/crm.deal/records/{theirs['id']}"
    before = snapshot(runtime)
    assert api.as_(org.rep_a).get(record).status_code == 404
    assert (
        api.as_(org.rep_a).patch(record, {"revision": 1, "data": {"name": "x"}}).status_code == 404
    )
    assert api.as_(org.rep_a).delete(record).status_code == 404
    assert api.as_(org.outsider).get(record).status_code == 404
    mine = add(api, org.rep_a, name="a1")
    before = snapshot(runtime)
    cannot = api.as_(org.rep_a).delete(f"/forms/crm.deal/records/{mine['id']}")
    assert cannot.status_code == 403  # they see it, but reps may not delete
    assert snapshot(runtime) == before


def test_filters_and_search_on_hidden_fields_are_refused(api, org):
    add(api, org.rep_a, name="a1")
    for query in ("&filter=margin:gt:0.1", ",-margin", "&filter=margin:is_empty:true"):
        response = api.as_(org.rep_a).get(f"/forms/crm.deal/records?sort=name{query}")
        assert response.status_code == 400, query
        assert response.body["errors"][0]["field"] == "margin"


def test_union_of_roles_and_conditions(api, org, runtime):
    with runtime.write() as work:
        auditor = people.ensure_role(work, "auditor", "Auditor")
        people.set_roles(work, org.rep_b.id, [auditor.id, *people.roles_of(work, org.rep_b.id)])
    grant(
        runtime,
        "crm.deal",
        *REP_GRANTS,
        {
            "role": "auditor",
            "actions": ["view"],
            "scope": "all",
            "conditions": [{"field": "stage", "op": "eq", "value": "won"}],
        },
    )
    add(api, org.rep_a, name="a-open", stage="open")
    add(api, org.rep_a, name="a-won", stage="won")
    add(api, org.rep_b, name="b-open", stage="open")
    assert names(api, org.rep_b) == ["a-won", "b-open"]
    # the won deal is reached only through the auditor grant, which hides nothing
    found = api.as_(org.rep_b).get("/forms/crm.deal/records?filter=stage:eq:won").body["records"]
    assert [r["data"]["name"] for r in found] == ["a-won"]


def test_forms_list_and_definition_follow_permissions(api, org):
    assert [f["name"] for f in api.as_(org.outsider).get("/forms").body["forms"]] == []
    assert api.as_(org.outsider).get("/forms/crm.deal").status_code == 404
    definition = api.as_(org.rep_a).get("/forms/crm.deal").body["definition"]
    assert "margin" not in definition["properties"]
    assert "margin" in api.get("/forms/crm.deal").body["definition"]["properties"]


def test_grant_editor_validates_everything_before_saving(api, org, runtime):
    before = snapshot(runtime)
    response = api.put(
        "/forms/crm.deal/permissions",
        {
            "grants": [
                {"role": "nobody", "actions": ["view"], "scope": "all"},
                {
                    "actions": ["fly"],
                    "scope": "galaxy",
                    "fields": {"nope": "edit", "name": "maybe"},
                    "conditions": [{"field": "amount", "op": "gt", "value": "x"}],
                },
            ]
        },
    )
    assert response.status_code == 422
    fields = [e["field"] for e in response.body["errors"]]
    assert fields == [
        "grants[0].role",
        "grants[1].actions",
        "grants[1].scope",
        "grants[1].conditions[0]",
        "grants[1].fields.nope",
        "grants[1].fields.name",
    ]
    assert snapshot(runtime) == before
    assert api.as_(org.rep_a).get("/forms/crm.deal/permissions").status_code == 403
    current = api.get("/forms/crm.deal/permissions").body["grants"]
    assert current[0]["fields"] == {"margin": "hidden", "owner": "read"}


def test_managers_are_heads_of_the_department_or_the_one_above(runtime, org):
    with runtime.read() as work:
        assert people.manager_of(work, org.rep_a.id) == org.manager.id
        assert people.manager_of(work, org.rep_c.id) == org.manager.id  # North-East has no head
        assert people.manager_of(work, org.manager.id) is None  # heads North, nothing above
        assert people.manager_of(work, org.rep_b.id) is None
