"""V5.1/V5.3.4 input: unknown fields are refused, sizes are bounded, and filter values are
data, never SQL."""

from __future__ import annotations

import pytest

from tests.conftest import snapshot


def test_unknown_fields_and_oversized_values_are_refused_and_nothing_is_stored(api, notes, runtime):
    before = snapshot(runtime)
    unknown = api.post(notes, {"data": {"name": "x", "is_admin": True}})
    assert unknown.status_code in (400, 422)
    assert unknown.body["errors"][0]["field"] == "is_admin"
    too_long = api.post(notes, {"data": {"name": "x" * 21}})
    assert too_long.status_code == 422 and too_long.body["errors"][0]["field"] == "name"
    assert snapshot(runtime) == before


@pytest.mark.parametrize(
    "value", ["' OR '1'='1", "ACME'; DROP TABLE records; --", "ACME\\' OR 1=1 --", "%"]
)
def test_filter_values_are_bound_as_data_never_sql(api, notes, value):
    response = api.get(notes, query_string={"filter": f"name:eq:{value}"})
    assert response.status_code == 200, response.body
    assert response.body["records"] == []
    listed = api.get(notes)  # the table is still there, its row too
    assert [r["data"]["name"] for r in listed.body["records"]] == ["ACME"]
