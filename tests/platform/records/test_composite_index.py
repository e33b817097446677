"""``x-index-with``: a composite index, e.g. each customer's latest visit in one seek."""

from __future__ import annotations

import copy
import datetime as dt
import random

from sqlalchemy import func, insert, literal_column, select, text

from formflow.definitions.service import get_form
from formflow.records.indexes import existing_indexes
from formflow.records.models import Record
from formflow.records.projection import field_sql
from formflow.records.query import explain, form_rows
from tests.conftest import snapshot

VISIT = {
    "type": "object",
    "title": "Visit",
    "properties": {
        "customer": {"type": "string", "x-field": "text", "x-index-with": ["visited_at"]},
        "visited_at": {"type": "string", "x-field": "datetime"},
        "tags": {
            "type": "array",
            "x-field": "multi-select",
            "items": {"type": "string", "enum": ["a", "b"]},
        },
        "lines": {
            "type": "array",
            "x-field": "subform",
            "items": {
                "type": "object",
                "properties": {"note": {"type": "string", "x-field": "text"}},
            },
        },
    },
}


def _latest_visit(work, loaded):  # type: ignore[no-untyped-def]
    """Each customer's latest visit, as the sales plugin's follow-up gaps ask it."""
    spec = loaded.spec
    visited = field_sql(spec.by_key["visited_at"], work.dialect)
    return (
        select(func.max(visited))
        .where(
            *form_rows(loaded.form.id),
            field_sql(spec.by_key["customer"], work.dialect) == literal_column("'c7'"),
        )
        .scalar_subquery()
    )


def test_the_composite_index_is_built_and_answers_the_latest_visit(api, make_app, runtime):
    make_app("field")
    assert api.put("/forms/field.visit", VISIT).status_code == 201
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rng = random.Random(5)
    with runtime.write() as work:
        loaded = get_form(work, "field.visit")
        spec = loaded.spec
        ids = {k: spec.by_key[k].id for k in ("customer", "visited_at")}
        names = existing_indexes(work, loaded.form.id)
        work.session.execute(
            insert(Record),
            [
                {
                    "form_id": loaded.form.id,
                    "form_version": 1,
                    "revision": 1,
                    "created_at": work.now,
                    "updated_at": work.now,
                    "data": {
                        ids["customer"]: f"c{i % 200}",
                        ids["visited_at"]: (
                            start + dt.timedelta(minutes=rng.randint(0, 500_000))
                        ).isoformat(),
                    },
                }
                for i in range(4000)
            ],
        )
        work.session.execute(text("ANALYZE" if work.dialect == "postgresql" else "ANALYZE records"))
    assert any(
        name.startswith(f"ix_rf_{loaded.form.id}_{ids['customer']}_".lower()) for name in names
    )
    with runtime.read() as work:
        statement = select(_latest_visit(work, loaded))
        plan = explain(work, statement)
        assert "ix_rf_" in plan, plan
        if work.dialect == "sqlite":
            assert "USE TEMP B-TREE" not in plan and "SCAN records" not in plan, plan
        latest = work.session.scalar(statement)
        spec = loaded.spec
        every = work.session.scalars(
            select(field_sql(spec.by_key["visited_at"], work.dialect)).where(
                *form_rows(loaded.form.id),
                field_sql(spec.by_key["customer"], work.dialect) == literal_column("'c7'"),
            )
        ).all()
    assert len(every) == 20 and latest == max(every)


def test_removing_it_drops_the_index(api, make_app, runtime):
    make_app("field")
    assert api.put("/forms/field.visit", VISIT).status_code == 201
    with runtime.read() as work:
        loaded = get_form(work, "field.visit")
        before = existing_indexes(work, loaded.form.id)
    changed = copy.deepcopy(VISIT)
    del changed["properties"]["customer"]["x-index-with"]
    assert api.put("/forms/field.visit", changed).status_code == 200
    with runtime.read() as work:
        after = existing_indexes(work, loaded.form.id)
    assert len(after) == len(before) - 1


def _with(target: str, value) -> dict:  # type: ignore[no-untyped-def]
    definition = copy.deepcopy(VISIT)
    del definition["properties"]["customer"]["x-index-with"]
    if target == "lines.note":
        definition["properties"]["lines"]["items"]["properties"]["note"]["x-index-with"] = value
    else:
        definition["properties"][target]["x-index-with"] = value
    return definition


def test_a_wrong_composite_index_is_refused_naming_where(api, make_app, runtime):
    make_app("field")
    before = snapshot(runtime)
    cases = [
        (_with("customer", ["nope"]), "/properties/customer/x-index-with/0", "unknown field"),
        (_with("customer", ["customer"]), "/properties/customer/x-index-with/0", "itself"),
        (_with("customer", ["tags"]), "/properties/customer/x-index-with/0", "cannot be indexed"),
        (_with("tags", ["customer"]), "/properties/tags/x-index-with", "cannot be indexed"),
        (_with("customer", []), "/properties/customer/x-index-with", ""),
        (_with("customer", "visited_at"), "/properties/customer/x-index-with", ""),
    ]
    for definition, pointer, words in cases:
        response = api.put("/forms/field.visit", definition)
        assert response.status_code == 422, (pointer, response.json)
        errors = response.json["errors"]
        assert any(e["field"].startswith(pointer) and words in e["message"] for e in errors), (
            pointer,
            errors,
        )
    assert snapshot(runtime) == before
