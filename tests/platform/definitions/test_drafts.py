"""The builder's drafts: concurrent edits, changes in words, impact, fixes, undo."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from formflow.definitions import drafts
from formflow.definitions.service import ensure_app, get_form
from formflow.errors import Conflict, ValidationFailed
from formflow.records import service as records
from tests.conftest import snapshot

LEAD = {
    "title": "Lead",
    "type": "object",
    "properties": {
        "name": {"x-field": "text", "type": "string", "title": "Name"},
        "stage": {
            "x-field": "select",
            "type": "string",
            "title": "Stage",
            "enum": ["new", "hot", "cold"],
        },
        "budget": {"x-field": "text", "type": "string", "title": "Budget"},
        "region": {"x-field": "text", "type": "string", "title": "Region"},
    },
}


@pytest.fixture
def lead(runtime):
    with runtime.write() as work:
        ensure_app(work, "crm", "CRM")
        draft = drafts.create_form(work, "crm.lead", "Lead")
        drafts.save_draft(work, "crm.lead", LEAD, draft.revision)
        drafts.publish_draft(work, "crm.lead", draft.revision + 1)
    return "crm.lead"


def add(runtime, **data):
    with runtime.write() as work:
        return records.create(work, get_form(work, "crm.lead"), data).id


def values(runtime, record_id):
    with runtime.read() as work:
        loaded = get_form(work, "crm.lead")
        return records.values_of(loaded, records.get(work, record_id))


def edit(runtime, change):
    with runtime.write() as work:
        draft = drafts.open_draft(work, "crm.lead")
        definition = copy.deepcopy(draft.definition)
        change(definition)
        return drafts.save_draft(work, "crm.lead", definition, draft.revision)


def test_a_second_editor_with_a_stale_revision_gets_a_conflict_and_what_changed(runtime, lead):
    with runtime.read() as work:
        started = drafts.open_draft(work, "crm.lead")
    edit(runtime, lambda d: d["properties"]["name"].update(title="Company"))
    mine = copy.deepcopy(started.definition)
    mine["properties"]["region"]["title"] = "Area"
    with pytest.raises(Conflict) as conflict, runtime.write() as work:
        drafts.save_draft(work, "crm.lead", mine, started.revision)
    messages = [f"{e.field}: {e.message}" for e in conflict.value.errors]
    assert messages[0] == "revision: someone else saved this draft meanwhile"
    assert "name: changed: label: Name → Company" in messages
    with runtime.read() as work:  # the first editor's save is intact
        assert (
            drafts.open_draft(work, "crm.lead").definition["properties"]["name"]["title"]
            == "Company"
        )


def test_changes_in_words(runtime, lead):
    def change(d):
        props = d["properties"]
        props["company"] = {**props.pop("name"), "x-id": "name"}
        props["stage"]["enum"] = ["new", "hot", "warm"]
        props["budget"] = {"x-field": "number", "type": "number", "title": "Budget"}
        del props["region"]
        props["phone"] = {"x-field": "phone", "type": "string", "title": "Phone"}
        d["required"] = ["company"]

    edit(runtime, change)
    with runtime.read() as work:
        found = drafts.preview(work, drafts.open_draft(work, "crm.lead"))
    words = {(c.kind, c.key): c.details for c in found.changes}
    assert words[("renamed", "company")] == ["key: name → company", "now required"]
    assert words[("changed", "stage")] == ["options added: warm", "options removed: cold"]
    assert words[("changed", "budget")] == ["type: text → number"]
    assert ("added", "phone") in words and ("removed", "region") in words


def test_impact_counts_the_records_each_change_touches(runtime, lead):
    add(runtime, name="a", stage="cold", budget="1200")
    add(runtime, name="b", stage="hot", budget="lots")
    add(runtime, stage="cold")

    def change(d):
        d["properties"]["stage"]["enum"] = ["new", "hot"]
        d["properties"]["budget"] = {"x-field": "number", "type": "number", "title": "Budget"}
        d["properties"]["name"]["x-unique"] = True
        d["required"] = ["name"]

    edit(runtime, change)
    with runtime.read() as work:
        found = drafts.preview(work, drafts.open_draft(work, "crm.lead"))
    by_kind = {i.kind: i for i in found.impacts}
    assert by_kind["options"].options == {"cold": 2} and by_kind["options"].needs_fix
    assert (by_kind["type"].affected, by_kind["type"].failing) == (2, 1)
    assert by_kind["type"].samples[0][1] == "must be a number"
    assert by_kind["required"].affected == 1 and not by_kind["required"].needs_fix
    assert by_kind["unique"].duplicates == [] and not by_kind["unique"].needs_fix


def test_publish_refuses_what_would_lose_data_until_the_admin_fixes_it(runtime, lead):
    cold = add(runtime, name="a", stage="cold", budget="about 1k")
    empty = add(runtime, stage="hot", budget="15")

    def change(d):
        d["properties"]["stage"]["enum"] = ["new", "hot", "warm"]
        d["properties"]["budget"] = {"x-field": "money", "type": "number", "title": "Budget"}
        d["required"] = ["name"]

    draft = edit(runtime, change)
    before = snapshot(runtime)
    with pytest.raises(ValidationFailed) as refused, runtime.write() as work:
        drafts.publish_draft(work, "crm.lead", draft.revision)
    messages = sorted(e.message for e in refused.value.errors)
    assert messages[0].startswith("1 record(s) cannot convert: #")
    assert "use options that were removed" in messages[1]
    assert snapshot(runtime) == before
    fixes = {
        "stage": {"map": {"cold": "warm"}},
        "budget": {"default": "1000"},
        "name": {"default": "(unnamed)"},
    }
    with runtime.write() as work:
        drafts.publish_draft(work, "crm.lead", draft.revision, fixes)
    assert values(runtime, cold) == {"name": "a", "stage": "warm", "budget": Decimal("1000.00")}
    assert values(runtime, empty) == {
        "name": "(unnamed)",
        "stage": "hot",
        "budget": Decimal("15.00"),
    }
    with runtime.read() as work:  # the old values are in the history
        history = records.revisions(work, records.get(work, cold))
    assert history[-1].action == "convert"
    assert history[-1].changes["stage"] == ["cold", "warm"]


def test_undo_publish_goes_back_one_version_and_keeps_records_readable(runtime, lead):
    record = add(runtime, name="a", budget="12")
    draft = edit(
        runtime,
        lambda d: d["properties"].update(
            budget={"x-field": "number", "type": "number", "title": "Budget"}
        ),
    )
    with runtime.write() as work:
        drafts.publish_draft(work, "crm.lead", draft.revision)
    assert values(runtime, record)["budget"] == 12
    with runtime.write() as work:
        loaded = drafts.undo_publish(work, "crm.lead")
    assert loaded.form.current_version == 3
    assert loaded.spec.by_key["budget"].type.name == "text"
    assert values(runtime, record)["budget"] == "12"


def test_undo_needs_an_earlier_version(runtime):
    with runtime.write() as work:
        ensure_app(work, "crm", "CRM")
        draft = drafts.create_form(work, "crm.once", "Once")
        drafts.save_draft(work, "crm.once", LEAD, draft.revision)
        drafts.publish_draft(work, "crm.once", draft.revision + 1)
    with pytest.raises(Conflict), runtime.write() as work:
        drafts.undo_publish(work, "crm.once")


def test_an_invalid_draft_is_saved_but_cannot_be_published(runtime, lead):
    draft = edit(
        runtime,
        lambda d: d["properties"].update(
            total={"x-field": "formula", "type": "number", "x-formula": "budget +"}
        ),
    )
    with runtime.read() as work:
        found = drafts.preview(work, drafts.open_draft(work, "crm.lead"))
    assert found.blocked
    assert found.problems[0].field == "/properties/total/x-formula"
    with pytest.raises(ValidationFailed), runtime.write() as work:
        drafts.publish_draft(work, "crm.lead", draft.revision)
