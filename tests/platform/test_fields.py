"""Every field type: its input coercion, stored form, schema rules and display."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from formflow.definitions.spec import compile_spec
from formflow.fields import FieldValueError, field_types
from formflow.records.prepare import schema_errors

FILE = "0123456789abcdef0123456789abcdef"

PROPERTIES = {
    "text": {"x-field": "text", "type": "string", "maxLength": 5},
    "textarea": {"x-field": "textarea", "type": "string"},
    "number": {"x-field": "number", "type": "number", "x-precision": 2, "minimum": 0},
    "integer": {"x-field": "number", "type": "integer"},
    "money": {"x-field": "money", "type": "number"},
    "percent": {"x-field": "percent", "type": "number"},
    "date": {"x-field": "date", "type": "string", "format": "date"},
    "datetime": {"x-field": "datetime", "type": "string", "format": "date-time"},
    "select": {
        "x-field": "select",
        "type": "string",
        "enum": ["a", "b"],
        "x-options": [{"value": "a", "label": {"zh-CN": "甲", "en": "A"}}],
    },
    "radio": {"x-field": "radio", "type": "string", "enum": ["x", "y"]},
    "multi": {
        "x-field": "multi-select",
        "type": "array",
        "items": {"type": "string", "enum": ["r", "g", "b"]},
    },
    "checks": {
        "x-field": "checkbox",
        "type": "array",
        "items": {"type": "string", "enum": ["r", "g"]},
    },
    "flag": {"x-field": "boolean", "type": "boolean"},
    "phone": {"x-field": "phone", "type": "string"},
    "email": {"x-field": "email", "type": "string"},
    "url": {"x-field": "url", "type": "string"},
    "address": {"x-field": "address", "type": "object"},
    "location": {"x-field": "location", "type": "object"},
    "image": {"x-field": "image", "type": "array", "maxItems": 2},
    "attachment": {"x-field": "attachment", "type": "array"},
    "signature": {"x-field": "signature", "type": "string"},
    "rating": {"x-field": "rating", "type": "integer", "x-max": 5},
    "member": {"x-field": "member", "type": "integer"},
    "members": {"x-field": "members", "type": "array"},
    "department": {"x-field": "department", "type": "integer"},
    "link": {"x-field": "relation", "type": "integer", "x-relation": {"form": "other"}},
    "links": {
        "x-field": "relation",
        "type": "array",
        "x-relation": {"form": "other", "multiple": True},
    },
    "rows": {
        "x-field": "subform",
        "type": "array",
        "maxItems": 2,
        "items": {"type": "object", "properties": {"q": {"x-field": "number", "type": "integer"}}},
    },
    "formula": {"x-field": "formula", "type": "number", "x-formula": "integer * 2"},
    "serial": {"x-field": "serial", "type": "string", "x-serial": {"pattern": "N-{0000}"}},
    "note": {"x-field": "description", "x-content": "Read me"},
    "line": {"x-field": "divider"},
}

SPEC = compile_spec({"title": "All", "type": "object", "properties": PROPERTIES}, field_types)


def field(key):
    return SPEC.by_key[key]


def test_every_registered_type_is_exercised_here():
    assert {p["x-field"] for p in PROPERTIES.values()} == set(field_types.names())


@pytest.mark.parametrize(
    ("key", "raw", "stored"),
    [
        ("text", "  hi  ", "hi"),
        ("text", "", None),
        ("text", 12, "12"),
        ("textarea", "line 1\nline 2", "line 1\nline 2"),
        ("number", "1,234.5", Decimal("1234.5")),
        ("number", 7, 7),
        ("integer", "12", 12),
        ("money", "¥12.5", Decimal("12.50")),
        ("money", 3, Decimal("3.00")),
        ("percent", "18%", Decimal("0.18")),
        ("percent", "0.18", Decimal("0.18")),
        ("date", "2026/3/9".replace("3/9", "03/09"), "2026-03-09"),
        ("date", dt.date(2026, 1, 2), "2026-01-02"),
        ("datetime", "2026-03-09T10:30:00+08:00", "2026-03-09T02:30:00Z"),
        ("datetime", "2026-03-09 10:30", "2026-03-09T02:30:00Z"),  # naive: Shanghai time
        ("select", "a", "a"),
        ("multi", ["r", "b"], ["r", "b"]),
        ("multi", "g", ["g"]),
        ("multi", [], None),
        ("flag", "on", True),
        ("flag", "否", False),
        ("flag", 0, False),
        ("phone", "+86 138-0013-8000", "+86 138-0013-8000"),
        ("email", "li@example.com", "li@example.com"),
        ("url", "https://example.com/a", "https://example.com/a"),
        (
            "address",
            {"province": "广东", "city": "深圳", "detail": " 南山区 1号 "},
            {"province": "广东", "city": "深圳", "detail": "南山区 1号"},
        ),
        (
            "location",
            {"lat": "22.54", "lng": 113.95, "accuracy": 15},
            {"lat": Decimal("22.54"), "lng": Decimal("113.95"), "accuracy": 15},
        ),
        ("image", [FILE, {"id": FILE}], [FILE]),
        ("attachment", FILE, [FILE]),
        ("signature", FILE, FILE),
        ("rating", "4", 4),
        ("member", "3", 3),
        ("member", {"id": 5}, 5),
        ("members", [1, "2", 2], [1, 2]),
        ("department", 9, 9),
        ("link", 10, 10),
        ("links", [10, 11], [10, 11]),
        ("rows", [{"q": 1}], [{"q": 1}]),
    ],
)
def test_coerce_to_stored_form(key, raw, stored):
    value = field(key).type.coerce(raw, field(key))
    assert value == stored
    assert type(value) is type(stored) or stored is None
    if value is not None and not field(key).has_rows:
        assert schema_errors(SPEC, {key: value}) == []


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("text", ["x"], "must be text"),
        ("text", True, "must be text"),
        ("number", "12abc", "must be a number"),
        ("number", "1.234", "must have at most 2 decimal places"),
        ("number", "NaN", "must be a finite number"),
        ("number", "1e30", "is too large"),
        ("integer", "1.5", "must be a whole number"),
        ("money", "1.005", "must have at most 2 decimal places"),
        ("money", True, "must be a number"),
        ("date", "2026-02-30", "must be a date"),
        ("date", 20260101, "must be a date"),
        ("datetime", "yesterday", "must be a date and time"),
        ("multi", {"r": 1}, "must be a list"),
        ("flag", "maybe", "must be true or false"),
        ("address", {"street": "x"}, "unknown address part"),
        ("location", {"lat": 1}, "needs both lat and lng"),
        ("location", "here", "must be a location"),
        ("image", ["../../etc/passwd"], "must name an uploaded file"),
        ("rating", "4.5", "must be a whole number"),
        ("member", "-3", "must be a user id"),
        ("member", "alice", "must be a user id"),
        ("link", 1.5, "must be a record id"),
        ("rows", {"q": 1}, "must be a list of rows"),
        ("rows", [{}, {}, {}], "must have at most 2 rows"),
        ("formula", 1, "is computed by the server"),
        ("serial", "N-1", "is numbered by the server"),
        ("note", "x", "is display-only"),
    ],
)
def test_bad_values_are_refused_with_a_message(key, raw, message):
    with pytest.raises(FieldValueError) as error:
        field(key).type.coerce(raw, field(key))
    assert message in error.value.message


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("text", "toolong", "must be at most 5 characters"),
        ("number", Decimal("-1"), "must be at least 0"),
        ("select", "c", "must be one of: a, b"),
        ("multi", ["r", "x"], "must be one of: r, g, b"),
        ("multi", ["r", "r"], "must not contain duplicates"),
        ("phone", "12", "is not in the expected format"),
        ("email", "not-an-email", "must be an email address"),
        ("url", "ftp://example.com", "is not in the expected format"),
        ("location", {"lat": Decimal(91), "lng": 0}, "must be at most 90"),
        ("image", [FILE, "f" * 32, "e" * 32], "must have at most 2 items"),
        ("rating", 6, "must be at most 5"),
    ],
)
def test_schema_rules_apply_to_stored_values(key, value, message):
    errors = schema_errors(SPEC, {key: value})
    assert [e.message for e in errors if e.field == key or e.field.startswith(key)] == [message]


@pytest.mark.parametrize(
    ("key", "stored", "text"),
    [
        ("money", Decimal("1234567.5"), "¥1,234,567.50"),
        ("percent", Decimal("0.185"), "18.5%"),
        ("number", Decimal("1234.5"), "1,234.50"),
        ("select", "a", "甲"),
        ("select", "b", "b"),
        ("multi", ["r", "g"], "r, g"),
        ("flag", True, "是"),
        ("datetime", "2026-03-09T02:30:00Z", "2026-03-09 10:30"),
        ("address", {"province": "广东", "city": "深圳"}, "广东 深圳"),
        ("location", {"lat": 1, "lng": 2}, "1, 2"),
        ("rating", 3, "★★★☆☆"),
        ("member", 3, "#3"),
        ("rows", [{"q": 1}], "1 row(s)"),
    ],
)
def test_display(key, stored, text):
    assert field(key).type.display(stored, field(key)) == text


def test_every_type_declares_sql_projection_and_label():
    for field_type in field_types:
        assert field_type.label["zh-CN"] and field_type.label["en"]
        assert field_type.sql_kind in (
            None,
            "text",
            "number",
            "integer",
            "boolean",
            "multi_text",
            "multi_integer",
        )


def test_type_conversion_between_types():
    number = field("number")
    text = field("text")
    assert number.type.convert("12.5", text, number) == Decimal("12.5")
    assert text.type.convert(Decimal("12.50"), number, text) == "12.50"
    with pytest.raises(FieldValueError):
        number.type.convert("twelve", text, number)
    multi = field("multi")
    assert multi.type.convert("r", field("select"), multi) == ["r"]
