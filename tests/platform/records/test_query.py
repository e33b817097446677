"""Filters, sorts and cursor pagination, compared with a computation in Python."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlalchemy import insert, text

from formflow.definitions.service import get_form
from formflow.records.models import Record
from formflow.records.query import (
    Filter,
    Query,
    Sort,
    explain,
    list_records,
    record_page_statement,
)

DEAL = {
    "title": "Deal",
    "type": "object",
    "properties": {
        "name": {"x-field": "text", "type": "string"},
        "amount": {"x-field": "money", "type": "number", "x-index": True},
        "stage": {
            "x-field": "select",
            "type": "string",
            "enum": ["new", "won", "lost"],
            "x-index": True,
        },
        "close": {"x-field": "date", "type": "string", "format": "date", "x-index": True},
        "hot": {"x-field": "boolean", "type": "boolean"},
        "tags": {
            "x-field": "multi-select",
            "type": "array",
            "items": {"type": "string", "enum": ["vip", "gov", "smb"]},
        },
        "score": {"x-field": "number", "type": "integer"},
    },
}


@pytest.fixture
def deals(api, make_app):
    make_app("crm")
    assert api.put("/forms/crm.deal", DEAL).status_code == 201
    rows = [
        {
            "name": "Alpha",
            "amount": "1000.00",
            "stage": "new",
            "close": "2026-03-01",
            "hot": True,
            "tags": ["vip"],
            "score": 5,
        },
        {
            "name": "beta 100%",
            "amount": "250.50",
            "stage": "won",
            "close": "2026-04-15",
            "hot": False,
            "tags": ["gov", "vip"],
            "score": 3,
        },
        {"name": "Gamma", "amount": "0.10", "stage": "lost", "tags": ["smb"]},
        {"name": "Delta_x", "stage": "new", "close": "2026-03-31", "score": 5},
        {"name": "Epsilon", "amount": "99999.99", "stage": "won", "close": "2025-12-31"},
    ]
    ids = []
    for row in rows:
        response = api.post("/forms/crm.deal/records", {"data": row})
        assert response.status_code == 201, response.body
        ids.append(response.body["id"])
    return ids


def names(api, query: str) -> list[str]:
    response = api.get(f"/forms/crm.deal/records?{query}")
    assert response.status_code == 200, response.body
    return [r["data"]["name"] for r in response.body["records"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("filter=stage:eq:won&sort=name", ["Epsilon", "beta 100%"]),
        ("filter=stage:ne:won&sort=name", ["Alpha", "Delta_x", "Gamma"]),
        ("filter=amount:gt:250.5&sort=amount", ["Alpha", "Epsilon"]),
        ("filter=amount:gte:250.50&sort=amount", ["beta 100%", "Alpha", "Epsilon"]),
        ("filter=amount:lt:1000&sort=-amount", ["beta 100%", "Gamma"]),
        ("filter=amount:lte:0.1", ["Gamma"]),
        ("filter=amount:between:0.1,1000&sort=amount", ["Gamma", "beta 100%", "Alpha"]),
        ("filter=stage:in:new,lost&sort=name", ["Alpha", "Delta_x", "Gamma"]),
        ("filter=name:contains:ALP", ["Alpha"]),
        ("filter=name:contains:100%25", ["beta 100%"]),
        ("filter=name:contains:a_x", ["Delta_x"]),
        ("filter=amount:is_empty:true", ["Delta_x"]),
        (
            "filter=close:is_empty:false&filter=close:lt:2026-04-01&sort=close",
            ["Epsilon", "Alpha", "Delta_x"],
        ),
        ("filter=hot:eq:true", ["Alpha"]),
        ("filter=hot:eq:false", ["beta 100%"]),
        ("filter=tags:contains:vip&sort=name", ["Alpha", "beta 100%"]),
        ("filter=tags:in:gov,smb&sort=name", ["Gamma", "beta 100%"]),
        ("filter=tags:is_empty:true&sort=name", ["Delta_x", "Epsilon"]),
        ("filter=score:eq:5&sort=-_id", ["Delta_x", "Alpha"]),
        ("q=gam", ["Gamma"]),
        ("sort=-score,name", ["Alpha", "Delta_x", "beta 100%", "Epsilon", "Gamma"]),
        ("sort=score,-name", ["Gamma", "Epsilon", "beta 100%", "Delta_x", "Alpha"]),
    ],
)
def test_each_operator(api, deals, query, expected):
    assert names(api, query) == expected


def test_system_fields_filter_and_sort(api, deals, admin):
    assert names(api, f"filter=_owner:eq:{admin.id}&filter=_id:gt:{deals[2]}&sort=_id") == [
        "Delta_x",
        "Epsilon",
    ]
    assert len(names(api, "filter=_created_at:gte:2026-03-16T00:00:00Z")) == 5
    assert names(api, "filter=_created_at:lt:2026-03-16T00:00:00Z") == []


@pytest.mark.parametrize(
    ("query", "field", "fragment"),
    [
        ("filter=amount:gt:abc", "amount", "must be a number"),
        ("filter=amount:contains:1", "amount", "cannot use 'contains'"),
        ("filter=nope:eq:1", "nope", "is not a field"),
        ("filter=stage:like:x", "stage", "unknown operator"),
        ("filter=amount:between:1", "amount", "two values"),
        ("filter=broken", "filter", "field:operator:value"),
        ("sort=tags", "tags", "cannot sort"),
        ("limit=0", "limit", "between 1 and 500"),
        ("cursor=garbage", "cursor", "not a cursor"),
        ("filter=close:gt:yesterday", "close", "must be a date"),
    ],
)
def test_bad_queries_are_400_naming_the_field(api, deals, query, field, fragment):
    response = api.get(f"/forms/crm.deal/records?{query}")
    assert response.status_code == 400, response.body
    assert response.body["errors"][0]["field"] == field
    assert fragment in response.body["errors"][0]["message"]


def test_search_body_is_the_same_language(api, deals):
    response = api.post(
        "/forms/crm.deal/records/search?total=true",
        {
            "filters": [
                {"field": "stage", "op": "in", "value": ["new", "won"]},
                {"field": "amount", "op": "gte", "value": 250.5},
            ],
            "sort": [{"field": "amount", "desc": True}],
            "limit": 1,
        },
    )
    assert response.status_code == 200, response.body
    assert [r["data"]["name"] for r in response.body["records"]] == ["Epsilon"]
    assert response.body["total"] == 3
    following = api.post(
        "/forms/crm.deal/records/search",
        {
            "filters": [
                {"field": "stage", "op": "in", "value": ["new", "won"]},
                {"field": "amount", "op": "gte", "value": 250.5},
            ],
            "sort": "-amount",
            "limit": 5,
            "cursor": response.body["next_cursor"],
        },
    )
    assert [r["data"]["name"] for r in following.body["records"]] == ["Alpha", "beta 100%"]
    assert following.body["next_cursor"] is None


def _key(value, descending):
    # NULLs are the smallest value, ascending and descending alike.
    return (value is not None, value)


def test_cursor_pages_walk_every_sort_exactly_once(api, make_app, runtime):
    make_app("crm")
    assert api.put("/forms/crm.deal", DEAL).status_code == 201
    rng = random.Random(7)
    expected_rows = []
    for i in range(45):
        data = {"name": f"n{i:02d}"}
        if rng.random() < 0.75:
            data["amount"] = str(Decimal(rng.choice([5, 10, 10, 20, 35])) / 10)
        if rng.random() < 0.7:
            data["stage"] = rng.choice(["new", "won", "lost"])
        if rng.random() < 0.8:
            data["score"] = rng.choice([1, 2, 2, 3])
        record = api.post("/forms/crm.deal/records", {"data": data}).body
        expected_rows.append((record["id"], data))
    for sort in (
        ["amount"],
        ["-amount"],
        ["stage", "-amount"],
        ["-score", "amount"],
        ["-stage", "score", "-amount"],
        ["_id"],
        ["-_id"],
    ):

        def key(row, sort=sort):
            out = []
            for item in sort:
                field = item.lstrip("-")
                value = row[0] if field == "_id" else row[1].get(field)
                if field == "amount" and value is not None:
                    value = Decimal(value)
                present = value is not None
                if item.startswith("-"):
                    out.append((not present, _neg(value) if present else 0))
                else:
                    out.append((present, value if present else 0))
            # ties are broken by id, in the direction of the last sort key
            tie = -row[0] if sort[-1].startswith("-") else row[0]
            return (*out, tie)

        expected = [row_id for row_id, _ in sorted(expected_rows, key=key)]
        seen, cursor = [], None
        for _ in range(50):
            query = f"sort={','.join(sort)}&limit=7" + (f"&cursor={cursor}" if cursor else "")
            page = api.get(f"/forms/crm.deal/records?{query}").body
            seen += [r["id"] for r in page["records"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, sort


def _neg(value):
    return -value if not isinstance(value, str) else _Desc(value)


class _Desc:
    def __init__(self, value):
        self.value = value

    def __lt__(self, other):
        return self.value > other.value

    def __eq__(self, other):
        return self.value == other.value


def test_indexed_filter_and_sort_use_the_expression_index(api, make_app, runtime):
    make_app("crm")
    assert api.put("/forms/crm.deal", DEAL).status_code == 201
    with runtime.write() as work:
        loaded = get_form(work, "crm.deal")
        rng = random.Random(3)
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
                        "name": f"n{i}",
                        "amount": Decimal(rng.randint(0, 10**6)) / 100,
                        "stage": rng.choice(["new", "won", "lost"]),
                        "close": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    },
                }
                for i in range(3000)
            ],
        )
        work.session.execute(text("ANALYZE" if work.dialect == "postgresql" else "ANALYZE records"))
    with runtime.read() as work:
        spec = loaded.spec
        for item, sort in (
            (Filter("amount", "gt", "9990"), Sort("amount", True)),
            (Filter("stage", "eq", "won"), Sort("close")),
            (Filter("close", "between", "2026-03-01,2026-03-02"), Sort("close")),
        ):
            plan = explain(
                work,
                record_page_statement(
                    work, spec, loaded.form.id, Query(filters=[item], sort=[sort], limit=50)
                ),
            )
            # the filter's index or the sort's: either is a range scan, never the whole table
            used = (
                f"ix_rf_{loaded.form.id}_{item.field}_",
                f"ix_rf_{loaded.form.id}_{sort.field}_",
            )
            assert any(name in plan for name in used), plan
            page = list_records(work, spec, loaded.form.id, Query(filters=[item], sort=[sort]))
            assert page.records


def test_filtered_sorted_page_walks_the_sort_index_once_statistics_exist(api, make_app, runtime):
    """With statistics (formflow analyze), a common filter with a sort on another indexed
    field reads the sort's index in order instead of sorting every match."""
    from formflow.db import refresh_statistics

    make_app("crm")
    assert api.put("/forms/crm.deal", DEAL).status_code == 201
    with runtime.write() as work:
        loaded = get_form(work, "crm.deal")
        rng = random.Random(5)
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
                        "name": f"n{i}",
                        "amount": Decimal(rng.randint(0, 10**6)) / 100,
                        "stage": rng.choice(["new", "won", "lost"]),
                    },
                }
                for i in range(4000)
            ],
        )
    refresh_statistics(runtime.db)
    runtime.db.engine.dispose()  # connections load the new statistics when they open
    with runtime.read() as work:
        query = Query(filters=[Filter("stage", "eq", "won")], sort=[Sort("amount", True)])
        plan = explain(work, record_page_statement(work, loaded.spec, loaded.form.id, query))
    assert f"ix_rf_{loaded.form.id}_amount_" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort Key" not in plan, plan
