"""Defaults computed by a formula (``x-default-formula``): filled when left empty."""

from __future__ import annotations

from decimal import Decimal

import pytest

VISIT = {
    "title": "Visit",
    "type": "object",
    "properties": {
        "customer": {"x-field": "text", "type": "string"},
        "visited_on": {"x-field": "date", "type": "string", "format": "date"},
        "follow_up_on": {
            "x-field": "date",
            "type": "string",
            "format": "date",
            "x-default-formula": "IF(ISBLANK(visited_on), TODAY(), visited_on) + 7",
        },
        "subject": {
            "x-field": "text",
            "type": "string",
            "x-default-formula": "IF(ISBLANK(customer), '', 'Visit to ' & customer)",
        },
        "lines": {
            "x-field": "subform",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "product": {"x-field": "text", "type": "string"},
                    "price": {"x-field": "number", "type": "number"},
                    "quantity": {
                        "x-field": "number",
                        "type": "number",
                        "x-default-formula": "IF(price > 1000, 1, 10)",
                    },
                },
            },
        },
    },
    "required": ["subject"],
}


@pytest.fixture
def visits(api, make_app):
    make_app("demo")
    response = api.put("/forms/demo.visit", VISIT)
    assert response.status_code == 201, response.body
    return "/forms/demo.visit/records"


def test_empty_fields_take_their_formula_default_from_the_other_fields(api, visits):
    created = api.post(
        visits,
        {
            "data": {
                "customer": "ACME",
                "visited_on": "2026-03-20",
                "lines": [{"product": "A", "price": 5000}, {"product": "B", "price": 3}],
            }
        },
    )
    assert created.status_code == 201, created.body
    data = created.body["data"]
    assert data["follow_up_on"] == "2026-03-27"
    assert data["subject"] == "Visit to ACME"
    assert [row["quantity"] for row in data["lines"]] == [Decimal(1), Decimal(10)]


def test_a_value_given_wins_and_today_is_the_organisations_date(api, visits):
    created = api.post(
        visits, {"data": {"customer": "Beta", "subject": "Demo", "lines": [{"price": 1}]}}
    )
    data = created.body["data"]
    assert data["subject"] == "Demo"
    assert data["follow_up_on"] == "2026-03-23"  # the test clock's Monday 16 March + 7
    assert data["lines"][0]["quantity"] == Decimal(10)


def test_an_update_keeps_what_was_stored(api, visits):
    created = api.post(visits, {"data": {"customer": "Gamma"}}).body
    record = f"{visits}/{created['id']}"
    patched = api.patch(record, {"revision": created["revision"], "data": {"follow_up_on": None}})
    assert patched.status_code == 200, patched.body
    assert "follow_up_on" not in patched.body["data"]  # cleared on purpose stays cleared
    assert patched.body["data"]["subject"] == "Visit to Gamma"


def test_a_default_that_gives_nothing_leaves_a_required_field_to_say_so(api, visits):
    refused = api.post(visits, {"data": {}})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.body["errors"]] == ["subject"]


def test_a_default_formula_is_checked_like_any_formula(api, make_app):
    make_app("demo")
    broken = {
        "title": "Broken",
        "type": "object",
        "properties": {
            "a": {"x-field": "text", "type": "string", "x-default-formula": "missing & a"},
            "total": {
                "x-field": "formula",
                "type": "number",
                "x-formula": "1",
                "x-default-formula": "2",
            },
        },
    }
    refused = api.put("/forms/demo.broken", broken)
    assert refused.status_code == 422
    messages = {(e["field"], e["message"]) for e in refused.body["errors"]}
    assert ("/properties/a/x-default-formula", "refers to unknown field 'missing'") in messages
    assert ("/properties/a/x-default-formula", "a field's default cannot depend on itself") in (
        messages
    )
    assert (
        "/properties/total/x-default-formula",
        "only a field people fill in can have a default",
    ) in messages
