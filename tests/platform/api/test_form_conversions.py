"""The API during a background conversion: the publish answers with the conversion to follow,
records read converted, filters on the retyped field wait, and progress is listed and polled
— each response as the OpenAPI document describes it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from formflow.api.openapi import build_document
from formflow.definitions import conversions
from formflow.definitions.service import ensure_app, get_form, publish
from formflow.records import service as records
from formflow.records.models import Record
from tests.platform.api.test_openapi import _check
from tests.platform.conversion_samples import BEFORE, MONEY, background_runtime, sample

COUNT = 24


@pytest.fixture
def runtime(db_url, tmp_path, clock, redis_url):
    """A runtime with a queue of its own: more than 10 changed records go to a worker."""
    yield from background_runtime(db_url, tmp_path / "instance", clock, redis_url)


@pytest.fixture
def deals(runtime) -> list[int]:
    with runtime.write() as work:
        ensure_app(work, "crm", "CRM")
        publish(work, "crm.deals", BEFORE)
    with runtime.write() as work:
        loaded = get_form(work, "crm.deals")
        return [records.create(work, loaded, sample(i, convertible=True)).id for i in range(COUNT)]


def expected_budget(i: int) -> Decimal | None:
    budget = sample(i, convertible=True).get("budget")
    return Decimal(budget) if budget is not None else None


def test_a_big_publish_answers_with_its_conversion_and_reads_stay_converted(api, deals, runtime):
    document = build_document()

    published = api.put("/forms/crm.deals", MONEY)

    assert published.status_code == 200, published.body
    _check(document, "/forms/{form}", "put", published)
    conversion = published.body["conversion"]
    assert (conversion["from_version"], conversion["to_version"]) == (1, 2)
    assert conversion["state"] == "pending" and conversion["done"] == 0
    assert conversion["total"] == sum(1 for i in range(COUNT) if expected_budget(i) is not None)

    # nothing converted yet, and every record already reads as money
    record = api.get(f"/forms/crm.deals/records/{deals[1]}")
    assert record.body["data"]["budget"] == Decimal("100.50")
    assert record.body["form_version"] == 2  # the version its values follow
    with runtime.read() as work:  # while the table still holds the old value
        assert work.session.get(Record, deals[1]).form_version == 1
    listed = api.get("/forms/crm.deals/records?limit=100&sort=_id").body["records"]
    assert [r["data"].get("budget") for r in listed] == [expected_budget(i) for i in range(COUNT)]

    waiting = api.get("/forms/crm.deals/records?filter=budget:gt:100")
    assert waiting.status_code == 409
    _check(document, "/forms/{form}/records", "get", waiting)
    assert waiting.body["errors"][0]["field"] == "budget"
    refused = api.put("/forms/crm.deals", {**MONEY, "title": "Deals"})
    assert refused.status_code == 409
    assert "still being converted to version 2" in refused.body["errors"][0]["message"]

    listing = api.get("/forms/crm.deals/conversions")
    _check(document, "/forms/{form}/conversions", "get", listing)
    assert [c["id"] for c in listing.body["conversions"]] == [conversion["id"]]

    conversions.convert(runtime, conversion["id"])

    polled = api.get(f"/forms/crm.deals/conversions/{conversion['id']}")
    _check(document, "/forms/{form}/conversions/{conversion_id}", "get", polled)
    assert polled.body["state"] == "finished"
    assert polled.body["done"] == polled.body["total"] == conversion["total"]
    found = api.get("/forms/crm.deals/records?filter=budget:gt:1000&limit=100").body["records"]
    assert sorted(r["id"] for r in found) == [
        deals[i] for i in range(COUNT) if (expected_budget(i) or 0) > 1000
    ]


def test_conversions_are_for_admins_and_belong_to_their_form(api, deals, runtime, rep):
    conversion = api.put("/forms/crm.deals", MONEY).body["conversion"]
    assert api.as_(rep).get("/forms/crm.deals/conversions").status_code == 403
    assert api.as_(rep).get(f"/forms/crm.deals/conversions/{conversion['id']}").status_code == 403
    with runtime.write() as work:
        publish(work, "crm.other", {**BEFORE, "title": "Other"})
    assert api.get(f"/forms/crm.other/conversions/{conversion['id']}").status_code == 404
    assert api.get("/forms/crm.other/conversions").body == {"conversions": []}


def test_a_small_publish_converts_in_place_and_says_so(api, runtime):
    with runtime.write() as work:
        ensure_app(work, "crm", "CRM")
        publish(work, "crm.few", BEFORE)
    with runtime.write() as work:
        loaded = get_form(work, "crm.few")
        record = records.create(work, loaded, sample(1)).id
    published = api.put("/forms/crm.few", MONEY)
    assert published.status_code == 200
    assert published.body["conversion"] is None
    assert api.get(f"/forms/crm.few/records/{record}").body["form_version"] == 2
