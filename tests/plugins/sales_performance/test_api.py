"""The sales REST API (/api/v1/sales/…): targets, KPI scorecards and incentives over HTTP,
each answer checked against the OpenAPI document, each refusal naming its field."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from openapi_spec_validator import validate
from openpyxl import load_workbook

from formflow.api.openapi import build_document
from formflow.definitions.service import get_form
from formflow.errors import Forbidden
from formflow.people import service as people
from formflow.records import service as records
from sales_performance import measures
from sales_performance.incentives import export, statements
from sales_performance.kpi import plans
from tests.conftest import EVERYONE_OWN, Api, grant, make_person
from tests.platform.api.test_openapi import _check
from tests.platform.automations.world import drain
from tests.plugins.sales_performance.test_incentives import commission, contract, plan, rep_target
from tests.plugins.sales_performance.test_kpi import june_for_rita
from tests.plugins.sales_performance.test_targets import department, target
from tests.plugins.sales_performance.world import APP, Sales, build


@pytest.fixture
def sales(runtime, admin) -> Sales:
    world = build(runtime, admin)
    with runtime.write() as work:
        rep = people.ensure_role(work, "sales_rep", "Sales rep")
        manager = people.ensure_role(work, "sales_manager", "Sales manager")
        for name in ("rita", "ron"):
            people.set_roles(work, world.people[name].id, [rep.id])
        people.set_roles(work, world.people["max"].id, [manager.id])
        plans.ensure_defaults(work)
    for form in ("payment", "kpi_appeal", "kpi_manual_score"):
        grant(runtime, f"{APP}.{form}", EVERYONE_OWN)
    grant(runtime, f"{APP}.kpi_result", {"actions": ["view"], "scope": "own"})
    return world


@pytest.fixture
def as_(app, sales) -> Any:
    """The API as one of the sales world's people (CSRF checks stay on: tokens need none)."""
    client = app.test_client()
    return lambda name: Api(client, sales.people[name])


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def fields(response: Any) -> list[str | None]:
    return [error["field"] for error in response.body["errors"]]


def test_the_sales_endpoints_are_in_a_valid_openapi_document(api):
    served = api.get("/openapi.json").body
    validate(served)
    sales_paths = {path: ops for path, ops in served["paths"].items() if path.startswith("/sales")}
    assert set(sales_paths) == {
        "/sales/targets",
        "/sales/targets/{target_id}",
        "/sales/targets/{target_id}/decompose",
        "/sales/targets/{target_id}/override",
        "/sales/targets/progress",
        "/sales/kpi/scorecards",
        "/sales/kpi/scorecards/{member}/{period}/{metric}/records",
        "/sales/kpi/publish",
        "/sales/incentives/runs",
        "/sales/incentives/statements",
        "/sales/incentives/statements/{statement_id}",
        "/sales/incentives/statements/{statement_id}/submit",
        "/sales/incentives/export",
        "/sales/incentives/estimate",
    }
    for ops in sales_paths.values():
        for operation in ops.values():
            assert operation["tags"] == ["sales"]
            assert "401" in operation["responses"]


def test_a_target_is_split_listed_as_a_tree_and_explained(sales, as_, document):
    year = target(sales, "13200000")
    admin = as_("admin")
    split = admin.post(f"/sales/targets/{year}/decompose", {"into": "quarter"})
    assert split.status_code == 200, split.body
    _check(document, "/sales/targets/{target_id}/decompose", "post", split)
    assert [Decimal(c["amount"]) for c in split.body["children"]] == [Decimal(3300000)] * 4
    q1 = split.body["children"][0]["id"]

    listed = admin.get("/sales/targets?period=2026")
    _check(document, "/sales/targets", "get", listed)
    assert [t["id"] for t in listed.body["targets"]] == [year]
    assert len(listed.body["targets"][0]["children"]) == 4
    # a quarter's parent is of another period: the quarter heads its own tree
    quarter = admin.get("/sales/targets?period=2026-q1")
    assert quarter.body["period"] == "2026-Q1"
    assert [t["id"] for t in quarter.body["targets"]] == [q1]
    everything = admin.get("/sales/targets")
    assert [t["id"] for t in everything.body["targets"]] == [year]

    shown = admin.get(f"/sales/targets/{year}")
    _check(document, "/sales/targets/{target_id}", "get", shown)
    assert Decimal(shown.body["amount"]) == Decimal(13200000)
    assert shown.body["explanation"] and all(isinstance(s, str) for s in shown.body["explanation"])

    again = admin.post(f"/sales/targets/{year}/decompose", {"into": "month"})
    assert again.status_code == 400 and fields(again) == ["replace"]
    _check(document, "/sales/targets/{target_id}/decompose", "post", again)
    months = admin.post(
        f"/sales/targets/{year}/decompose",
        {"into": "month", "method": "seasonality", "weights": [1] * 11 + [2], "replace": True},
    )
    assert months.status_code == 200
    assert sum(Decimal(c["amount"]) for c in months.body["children"]) == Decimal(13200000)


def test_decompose_refuses_bad_bodies_naming_the_field(sales, as_, document):
    year = target(sales, "1000")
    admin = as_("admin")
    for body, field in (
        ({"into": "month", "method": "seasonality", "weights": [1, 2]}, "weights"),
        ({"into": "month", "weights": "1,2"}, "weights"),
        ({"into": "day"}, "into"),
        ({"by": "galaxy"}, "by"),
        ({"into": "month", "replace": "yes"}, "replace"),
        ({"into": "month", "colour": "red"}, "colour"),
        ({"into": 4}, "into"),
    ):
        refused = admin.post(f"/sales/targets/{year}/decompose", body)
        assert refused.status_code == 400, (body, refused.body)
        assert fields(refused) == [field], body
        _check(document, "/sales/targets/{target_id}/decompose", "post", refused)
    missing = admin.post("/sales/targets/999999/decompose", {"into": "month"})
    assert missing.status_code == 404
    _check(document, "/sales/targets/{target_id}/decompose", "post", missing)
    assert admin.get("/sales/targets/999999").status_code == 404


def test_a_rep_may_not_split_or_override_a_target_but_their_manager_may(sales, as_, document):
    rita = sales.people["rita"].id
    quarter = target(sales, "3000", period="2026-Q1", level="rep", member=rita, name="Rita Q1")
    refused = as_("rita").post(f"/sales/targets/{quarter}/decompose", {"into": "month"})
    assert refused.status_code == 403
    _check(document, "/sales/targets/{target_id}/decompose", "post", refused)
    months = as_("max").post(f"/sales/targets/{quarter}/decompose", {"into": "month"}).body
    first = months["children"][0]["id"]

    before = as_("admin").get(f"/sales/targets/{quarter}").body
    refused = as_("rita").post(f"/sales/targets/{first}/override", {"amount": "2000"})
    assert refused.status_code == 403
    assert "department's head" in refused.body["errors"][0]["message"]
    _check(document, "/sales/targets/{target_id}/override", "post", refused)
    assert as_("admin").get(f"/sales/targets/{quarter}").body == before  # nothing changed

    done = as_("max").post(f"/sales/targets/{first}/override", {"amount": "2000"})
    assert done.status_code == 200, done.body
    _check(document, "/sales/targets/{target_id}/override", "post", done)
    assert [Decimal(c["amount"]) for c in done.body["target"]["children"]] == [2000, 500, 500]
    assert done.body["target"]["children"][0]["locked"] is True

    too_much = as_("max").post(f"/sales/targets/{first}/override", {"amount": "9000"})
    assert too_much.status_code == 400 and fields(too_much) == ["amount"]
    for body, field in (({}, "amount"), ({"amount": "x"}, "amount"), ({"amount": 1, "a": 1}, "a")):
        bad = as_("max").post(f"/sales/targets/{first}/override", body)
        assert bad.status_code == 400 and fields(bad) == [field], body


def test_a_manager_may_split_a_target_again(sales, as_):
    rita = sales.people["rita"].id
    quarter = target(sales, "3000", period="2026-Q1", level="rep", member=rita, name="Rita Q1")
    assert (
        as_("max").post(f"/sales/targets/{quarter}/decompose", {"into": "month"}).status_code == 200
    )
    again = as_("max").post(
        f"/sales/targets/{quarter}/decompose", {"into": "week", "replace": True}
    )
    assert again.status_code == 200, again.body


def test_overriding_a_top_target_files_an_adjustment_for_approval(sales, as_, document):
    year = target(sales, "1000")
    # rita may not even see the company's target: she may not ask to change it either
    assert (
        as_("rita").post(f"/sales/targets/{year}/override", {"amount": "2000"}).status_code == 403
    )
    assert as_("rita").get(f"/sales/targets/{year}").status_code == 403
    no_reason = as_("admin").post(f"/sales/targets/{year}/override", {"amount": "2000"})
    assert no_reason.status_code == 400 and fields(no_reason) == ["reason"]
    filed = as_("admin").post(
        f"/sales/targets/{year}/override", {"amount": "2000", "reason": "a bigger market"}
    )
    assert filed.status_code == 202, filed.body
    _check(document, "/sales/targets/{target_id}/override", "post", filed)
    assert sales.values("target_adjustment", filed.body["adjustment"])["new_amount"] == 2000


def test_each_person_sees_the_targets_and_progress_they_may(sales, as_, document):
    east = department(sales, "East team")
    team = target(sales, "90000", period="2026-06", level="team", department=east, name="East")
    as_("admin").post(f"/sales/targets/{team}/decompose", {"by": "org"})
    rita, ron = sales.people["rita"].id, sales.people["ron"].id

    mine = as_("rita").get("/sales/targets?period=2026-06")
    assert [t["member"] for t in mine.body["targets"]] == [rita]  # the team's is not hers
    managed = as_("max").get("/sales/targets?period=2026-06")
    assert [t["id"] for t in managed.body["targets"]] == [team]
    assert len(managed.body["targets"][0]["children"]) == 3

    progress = as_("rita").get("/sales/targets/progress?period=2026-06")
    assert progress.status_code == 200
    _check(document, "/sales/targets/progress", "get", progress)
    assert [row["member"] for row in progress.body["progress"]] == [rita]
    everyone = as_("admin").get("/sales/targets/progress?period=2026-06&level=rep")
    _check(document, "/sales/targets/progress", "get", everyone)
    assert {row["member"] for row in everyone.body["progress"]} == {
        rita,
        ron,
        sales.people["max"].id,
    }
    assert all(row["level"] == "rep" for row in everyone.body["progress"])
    teams = as_("max").get("/sales/targets/progress?period=2026-06&level=team")
    assert [row["target"] for row in teams.body["progress"]] == [team]


def test_a_missing_or_malformed_period_is_a_400_naming_it(sales, as_, document):
    rita = as_("rita")
    for path, documented in (
        ("/sales/targets/progress", "/sales/targets/progress"),
        ("/sales/targets/progress?period=2026-Q5", "/sales/targets/progress"),
        ("/sales/targets/progress?period=", "/sales/targets/progress"),
        ("/sales/targets?period=next-year", "/sales/targets"),
        ("/sales/kpi/scorecards", "/sales/kpi/scorecards"),
        ("/sales/kpi/scorecards?period=2026-13", "/sales/kpi/scorecards"),
    ):
        refused = rita.get(path)
        assert refused.status_code == 400, path
        assert fields(refused) == ["period"], path
        _check(document, documented, "get", refused)
    assert "2026-Q1" in rita.get("/sales/targets/progress").body["errors"][0]["message"]
    level = rita.get("/sales/targets/progress?period=2026-06&level=galaxy")
    assert level.status_code == 400 and fields(level) == ["level"]
    member = rita.get("/sales/kpi/scorecards?period=2026-06&member=me")
    assert member.status_code == 400 and fields(member) == ["member"]
    live = rita.get("/sales/kpi/scorecards?period=2026-06&live=perhaps")
    assert live.status_code == 400 and fields(live) == ["live"]
    bad_path = rita.get(f"/sales/kpi/scorecards/{sales.people['rita'].id}/June/visits/records")
    assert bad_path.status_code == 400 and fields(bad_path) == ["period"]


def test_a_member_that_is_no_user_id_is_a_400_naming_it(sales, as_, document):
    """Found by the API fuzzer: ``²`` passed ``isdigit`` and crashed ``int``; a number past
    64 bits reached the database; both answered 500."""
    for member in ("²", "1" + "0" * 30, "0"):
        for path in ("/sales/kpi/scorecards", "/sales/incentives/statements"):
            refused = as_("max").get(f"{path}?period=2026-06&member={member}")
            assert refused.status_code == 400 and fields(refused) == ["member"], refused.body
            _check(document, path, "get", refused)


def test_ids_past_64_bits_in_sales_paths_are_no_such_thing(sales, as_):
    huge = "1" + "0" * 30
    for path in (f"/sales/targets/{huge}", f"/sales/incentives/statements/{huge}"):
        assert as_("max").get(path).status_code == 404, path


def test_a_rep_sees_only_their_own_scorecard_and_its_records(sales, as_, document):
    june_for_rita(sales)
    rita, ron, max_ = (sales.people[n].id for n in ("rita", "ron", "max"))

    own = as_("rita").get("/sales/kpi/scorecards?period=2026-06")
    assert own.status_code == 200
    _check(document, "/sales/kpi/scorecards", "get", own)
    assert [card["member"] for card in own.body["scorecards"]] == [rita]
    assert own.body["scorecards"][0]["score"] == "71.89"
    assert own.body["scorecards"][0]["status"] == "live"
    refused = as_("rita").get(f"/sales/kpi/scorecards?period=2026-06&member={ron}")
    assert refused.status_code == 403
    _check(document, "/sales/kpi/scorecards", "get", refused)
    team = as_("max").get("/sales/kpi/scorecards?period=2026-06")
    assert {card["member"] for card in team.body["scorecards"]} == {rita, ron, max_}
    one = as_("max").get(f"/sales/kpi/scorecards?period=2026-06&member={rita}")
    assert [card["member"] for card in one.body["scorecards"]] == [rita]

    path = "/sales/kpi/scorecards/{member}/{period}/{metric}/records"
    behind = as_("rita").get(f"/sales/kpi/scorecards/{rita}/2026-06/visits/records")
    assert behind.status_code == 200
    _check(document, path, "get", behind)
    assert len(behind.body["records"]) == 10
    assert {row["form"] for row in behind.body["records"]} == {f"{APP}.follow_up"}
    contracts = as_("max").get(f"/sales/kpi/scorecards/{rita}/2026-06/contract_amount/records")
    assert [Decimal(row["value"]) for row in contracts.body["records"]] == [Decimal(60000)]
    other = as_("ron").get(f"/sales/kpi/scorecards/{rita}/2026-06/visits/records")
    assert other.status_code == 403
    _check(document, path, "get", other)
    unknown = as_("rita").get(f"/sales/kpi/scorecards/{rita}/2026-06/charisma/records")
    assert unknown.status_code == 404 and fields(unknown) == ["metric"]
    _check(document, path, "get", unknown)


def test_only_an_admin_publishes_and_published_scorecards_stay_frozen(sales, as_, document):
    june_for_rita(sales)
    refused = as_("max").post("/sales/kpi/publish", {"period": "2026-06"})
    assert refused.status_code == 403
    _check(document, "/sales/kpi/publish", "post", refused)
    still = as_("rita").get("/sales/kpi/scorecards?period=2026-06").body["scorecards"]
    assert still[0]["status"] == "live"  # nothing was published

    missing = as_("admin").post("/sales/kpi/publish", {})
    assert missing.status_code == 400 and fields(missing) == ["period"]
    published = as_("admin").post("/sales/kpi/publish", {"period": "2026-06"})
    assert published.status_code == 200, published.body
    _check(document, "/sales/kpi/publish", "post", published)
    assert len(published.body["published"]) == 3
    again = as_("admin").post("/sales/kpi/publish", {"period": "2026-06"}).body
    assert again["published"] == [] and again["already_published"] == 3

    sales.create(
        "contract", name="late", customer=sales.customer("Late"), amount="40000",
        signed_on="2026-06-30",
    )  # fmt: skip
    frozen = as_("rita").get("/sales/kpi/scorecards?period=2026-06").body["scorecards"][0]
    assert (frozen["status"], frozen["score"]) == ("published", "71.89")
    live = as_("rita").get("/sales/kpi/scorecards?period=2026-06&live=true").body["scorecards"][0]
    assert live["status"] == "live" and Decimal(live["score"]) > Decimal("71.89")


def test_the_sales_api_asks_for_a_token(app, sales):
    client = app.test_client()
    for method, path in (
        ("GET", "/api/v1/sales/targets"),
        ("GET", "/api/v1/sales/kpi/scorecards?period=2026-06"),
        ("POST", "/api/v1/sales/kpi/publish"),
        ("POST", "/api/v1/sales/incentives/runs"),
        ("GET", "/api/v1/sales/incentives/statements?period=2026-06"),
        ("GET", "/api/v1/sales/incentives/export?period=2026-06"),
        ("POST", "/api/v1/sales/incentives/estimate"),
    ):
        response = client.open(path, method=method, json={"period": "2026-06"})
        assert response.status_code == 401, path
        assert response.json["errors"][0]["field"] is None
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_scorecards_work_on_a_fresh_install_where_no_plan_exists_yet(runtime, admin, app):
    """The shipped plans are made on first use by the system, not by the rep who asks."""
    world = build(runtime, admin)
    with runtime.write() as work:
        rep = people.ensure_role(work, "sales_rep", "Sales rep")
        people.set_roles(work, world.people["rita"].id, [rep.id])
    rita = Api(app.test_client(), world.people["rita"])
    cards = rita.get("/sales/kpi/scorecards?period=2026-06")
    assert cards.status_code == 200, cards.body
    assert [card["member"] for card in cards.body["scorecards"]] == [world.people["rita"].id]


# -- incentives ------------------------------------------------------------------------------


@pytest.fixture
def paid(runtime, admin) -> Sales:
    """The sales world paying by incentive plans (as test_incentives sets it up): rita and
    ron hold the role ``closer``, fay ``finance``, hana ``hr``."""
    world = build(runtime, admin)
    world.people["hana"] = make_person(runtime, "hana")
    with runtime.write() as work:
        closer = people.ensure_role(work, "closer", "Closer")
        hr = people.ensure_role(work, "hr", "HR")
        finance = people.ensure_role(work, "finance", "Finance")
        for name in ("rita", "ron"):
            people.set_roles(work, world.people[name].id, [closer.id])
        people.set_roles(work, world.people["hana"].id, [hr.id])
        people.set_roles(work, world.people["fay"].id, [finance.id])
        plans.ensure_defaults(work)
    grant(runtime, f"{APP}.payment", EVERYONE_OWN)
    return world


@pytest.fixture
def paid_as(app, paid) -> Any:
    client = app.test_client()
    return lambda name: Api(client, paid.people[name])


def june(sales: Sales) -> None:
    """rita: 1,300,000 signed against 1,000,000 (2/4/6/8 % marginal: 44,000); ron: 50,000
    against 100,000 (2 %: 1,000)."""
    plan(sales, commission())
    rep_target(sales, "rita", "1000000")
    rep_target(sales, "ron", "100000")
    contract(sales, "1000000")
    contract(sales, "300000")
    contract(sales, "50000", as_="ron")


def test_finance_runs_a_period_and_each_person_sees_the_statements_they_may(
    paid, paid_as, document
):
    june(paid)
    rita, ron = paid.people["rita"].id, paid.people["ron"].id
    for name in ("rita", "max"):
        refused = paid_as(name).post("/sales/incentives/runs", {"period": "2026-06"})
        assert refused.status_code == 403, name
        _check(document, "/sales/incentives/runs", "post", refused)
    assert paid_as("admin").get("/sales/incentives/statements?period=2026-06").body == {
        "period": "2026-06",
        "statements": [],
    }  # nothing was run

    done = paid_as("fay").post("/sales/incentives/runs", {"period": "2026-06"})
    assert done.status_code == 200, done.body
    _check(document, "/sales/incentives/runs", "post", done)
    assert len(done.body["drafts"]) == 2
    assert done.body["adjustments"] == done.body["unchanged"] == done.body["in_approval"] == []
    again = paid_as("hana").post("/sales/incentives/runs", {"period": "2026-06"}).body
    assert again["drafts"] == done.body["drafts"]  # rewritten in place, not duplicated

    everyone = paid_as("admin").get("/sales/incentives/statements?period=2026-06")
    _check(document, "/sales/incentives/statements", "get", everyone)
    assert {s["member"] for s in everyone.body["statements"]} == {rita, ron}
    managed = paid_as("max").get("/sales/incentives/statements?period=2026-06").body
    assert {s["member"] for s in managed["statements"]} == {rita, ron}
    mine = paid_as("rita").get("/sales/incentives/statements?period=2026-06")
    _check(document, "/sales/incentives/statements", "get", mine)
    [statement] = mine.body["statements"]
    assert (statement["member"], statement["status"]) == (rita, "draft")
    [line] = statement["lines"]
    assert (line["rule"], line["kind"], line["amount"]) == ("commission", "commission", "44000.00")
    assert (line["base"], line["attainment"], line["rate"]) == ("1300000", "1.3000", None)
    assert statement["total"] == "44000.00"
    assert "44,000" in line["explanation"] and line["records"].startswith("contract:")
    only = paid_as("max").get(f"/sales/incentives/statements?period=2026-06&member={ron}")
    assert [s["member"] for s in only.body["statements"]] == [ron]
    refused = paid_as("rita").get(f"/sales/incentives/statements?period=2026-06&member={ron}")
    assert refused.status_code == 403
    _check(document, "/sales/incentives/statements", "get", refused)

    path = "/sales/incentives/statements/{statement_id}"
    shown = paid_as("rita").get(f"/sales/incentives/statements/{statement['id']}")
    assert shown.status_code == 200
    _check(document, path, "get", shown)
    assert shown.body == statement
    other = paid_as("ron").get(f"/sales/incentives/statements/{statement['id']}")
    assert other.status_code == 403
    _check(document, path, "get", other)
    missing = paid_as("admin").get("/sales/incentives/statements/999999")
    assert missing.status_code == 404
    _check(document, path, "get", missing)


def test_incentive_requests_refuse_a_missing_or_unknown_field_naming_it(paid, paid_as, document):
    admin = paid_as("admin")
    for body, field in (
        ({}, "period"),
        ({"period": "June"}, "period"),
        ({"period": "2026-06", "dry_run": True}, "dry_run"),
    ):
        refused = admin.post("/sales/incentives/runs", body)
        assert refused.status_code == 400 and fields(refused) == [field], body
        _check(document, "/sales/incentives/runs", "post", refused)
    for path, field in (
        ("/sales/incentives/statements", "period"),
        ("/sales/incentives/statements?period=2026-13", "period"),
        ("/sales/incentives/statements?period=2026-06&member=me", "member"),
    ):
        refused = admin.get(path)
        assert refused.status_code == 400 and fields(refused) == [field], path
        _check(document, "/sales/incentives/statements", "get", refused)


def test_a_draft_is_sent_to_approval_once_by_finance_hr_or_an_admin(paid, paid_as, document):
    june(paid)
    paid_as("admin").post("/sales/incentives/runs", {"period": "2026-06"})
    [mine] = paid_as("rita").get("/sales/incentives/statements?period=2026-06").body["statements"]
    path = "/sales/incentives/statements/{statement_id}/submit"
    url = f"/sales/incentives/statements/{mine['id']}/submit"
    for name in ("rita", "max"):
        refused = paid_as(name).post(url)
        assert refused.status_code == 403, name
        _check(document, path, "post", refused)
    extra = paid_as("hana").post(url, {"comment": "please"})
    assert extra.status_code == 400 and fields(extra) == ["comment"]
    assert paid_as("rita").get(f"/sales/incentives/statements/{mine['id']}").body == mine

    sent = paid_as("hana").post(url)
    assert sent.status_code == 200, sent.body
    _check(document, path, "post", sent)
    assert (sent.body["statement"], sent.body["status"]) == (mine["id"], "in_approval")
    twice = paid_as("fay").post(url)
    assert twice.status_code == 400 and fields(twice) == ["status"]
    assert "in_approval" in twice.body["errors"][0]["message"]
    _check(document, path, "post", twice)
    assert paid_as("admin").post("/sales/incentives/statements/999999/submit").status_code == 404

    drain(paid.runtime)
    assert paid.approvers_until_done(mine["id"]) == [["max"], ["fay", "hana"]]
    approved = paid_as("rita").get(f"/sales/incentives/statements/{mine['id']}").body
    assert approved["status"] == "approved"


def test_finance_exports_the_approved_statements_for_payroll(paid, paid_as, document):
    plan(paid, commission(tiers="0-:10%", mode="retroactive"))
    rep_target(paid, "rita", "100000")
    contract(paid, "12345.67")
    paid_as("fay").post("/sales/incentives/runs", {"period": "2026-06"})
    [mine] = paid_as("rita").get("/sales/incentives/statements?period=2026-06").body["statements"]
    paid_as("fay").post(f"/sales/incentives/statements/{mine['id']}/submit")
    drain(paid.runtime)
    paid.approvers_until_done(mine["id"])
    documented = document["paths"]["/sales/incentives/export"]["get"]["responses"]["200"]

    as_csv = paid_as("fay").get("/sales/incentives/export?period=2026-06&format=csv")
    assert as_csv.status_code == 200
    assert as_csv.mimetype in documented["content"]
    assert 'filename="bonus-2026-06.csv"' in as_csv.headers["Content-Disposition"]
    [row] = csv.DictReader(io.StringIO(as_csv.get_data().decode("utf-8-sig")))
    assert (row["username"], row["approved_total"], row["statements"]) == (
        "rita",
        "1234.57",
        str(mine["id"]),
    )
    assert paid_as("hana").get("/sales/incentives/export?period=2026-06").mimetype == "text/csv"

    as_xlsx = paid_as("admin").get("/sales/incentives/export?period=2026-06&format=xlsx")
    assert as_xlsx.status_code == 200
    assert as_xlsx.mimetype in documented["content"]
    assert 'filename="bonus-2026-06.xlsx"' in as_xlsx.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(as_xlsx.get_data()))
    assert [cell.value for cell in book["Payroll"][2]][:2] == ["rita", "rita"]
    assert Decimal(str(book["Payroll"]["D2"].value)) == Decimal("1234.57")
    assert (book["Lines"]["E2"].value, book["Lines"]["F2"].value) == ("commission", "commission")

    for name in ("rita", "max"):
        refused = paid_as(name).get("/sales/incentives/export?period=2026-06&format=xlsx")
        assert refused.status_code == 403, name
        _check(document, "/sales/incentives/export", "get", refused)
    for path, field in (
        ("/sales/incentives/export?format=csv", "period"),
        ("/sales/incentives/export?period=2026-06&format=pdf", "format"),
    ):
        refused = paid_as("fay").get(path)
        assert refused.status_code == 400 and fields(refused) == [field], path
        _check(document, "/sales/incentives/export", "get", refused)


def test_the_payroll_export_refuses_everyone_but_finance_hr_and_admins_itself(paid):
    """The rule is the service's, not only the API's: every caller of it gets it."""
    for name in ("rita", "max"):
        with pytest.raises(Forbidden), paid.runtime.read(paid.user(name)) as work:
            export.export(work, "2026-06", "csv")
    with paid.runtime.read(paid.user("hana")) as work:
        content, mimetype, _ = export.export(work, "2026-06", "csv")
    assert mimetype == "text/csv" and content.decode("utf-8-sig").startswith("username,")


def test_the_what_if_estimate_of_closing_an_opportunity(paid, paid_as, document):
    plan(paid, commission())
    rep_target(paid, "rita", "1000000")
    contract(paid, "700000")
    rita = paid.people["rita"].id
    prospect = paid.customer("Prospect")
    big = paid.create("opportunity", name="big", customer=prospect, stage="negotiation",
                      amount="600000", expected_close="2026-06-25")  # fmt: skip
    won = paid.create("opportunity", name="won", customer=prospect, stage="won",
                      amount="1000", expected_close="2026-06-02")  # fmt: skip
    rons = paid.create("opportunity", as_="ron", name="ron's", stage="negotiation",
                       customer=paid.customer("Ron's", as_="ron"), amount="5000",
                       expected_close="2026-06-20")  # fmt: skip

    path = "/sales/incentives/estimate"
    mine = paid_as("rita").post(path, {"period": "2026-06", "opportunities": [big]})
    assert mine.status_code == 200, mine.body
    _check(document, path, "post", mine)
    # now 700,000 × 2 % = 14,000; with 1,300,000 of 1,000,000, marginally:
    # 800,000 × 2 % + 200,000 × 4 % + 200,000 × 6 % + 100,000 × 8 % = 44,000
    assert (mine.body["member"], mine.body["added"]) == (rita, "600000.00")
    assert [Decimal(mine.body[k]) for k in ("current", "estimated", "difference")] == [
        Decimal(14000),
        Decimal(44000),
        Decimal(30000),
    ]
    assert mine.body["opportunities"] == [{"id": big, "name": "big", "amount": "600000.00"}]
    assert [line["amount"] for line in mine.body["estimated_lines"]] == ["44000.00"]
    managed = paid_as("max").post(
        path, {"member": rita, "period": "2026-06", "opportunities": [big]}
    )
    assert managed.status_code == 200 and managed.body["estimated"] == mine.body["estimated"]

    refused = paid_as("ron").post(path, {"member": rita, "period": "2026-06", "opportunities": []})
    assert refused.status_code == 403
    _check(document, path, "post", refused)
    for body, field in (
        ({"period": "2026-06", "opportunities": [big, "x"]}, "opportunities[1]"),
        ({"period": "2026-06", "opportunities": [big, True]}, "opportunities[1]"),
        ({"period": "2026-06", "opportunities": [999999]}, "opportunities[0]"),
        ({"period": "2026-06", "opportunities": [big, won]}, "opportunities[1]"),
        ({"period": "2026-06", "opportunities": [rons]}, "opportunities[0]"),
        ({"period": "2026-06", "opportunities": big}, "opportunities"),
        ({"period": "2026-06"}, "opportunities"),
        ({"opportunities": [big]}, "period"),
        ({"period": "2026-06", "opportunities": [], "member": "me"}, "member"),
        ({"period": "2026-06", "opportunities": [], "amount": 5}, "amount"),
    ):
        bad = paid_as("rita").post(path, body)
        assert bad.status_code == 400, (body, bad.body)
        assert fields(bad) == [field], body
        _check(document, path, "post", bad)
    unpaid = paid_as("fay").post(path, {"period": "2026-06", "opportunities": []})
    assert unpaid.status_code == 400 and fields(unpaid) == ["member"]  # no plan pays finance


# -- for the permission matrix (tests/platform/permissions/test_matrix.py) -----------------


def sales_api(world: Any, path: str) -> str:
    """A sales API URL in the permission matrix's organisation, with the sales app installed
    (through the plugin pages' helper), its measures and KPI plans made, and rep_a's target."""
    matrix_target(world, "read")
    return f"/api/v1/sales{path}"


def matrix_target(world: Any, purpose: str = "read") -> int:
    """A 2026-Q1 target of rep_a's, split into months (one per ``purpose``, since some cases
    change theirs): rep_a and the manager heading rep_a's department see it, only the
    manager (and an admin) may split or re-weigh it."""
    made = world.__dict__.setdefault("sales_targets", {})
    if purpose not in made:
        from sales_performance.targets import tree

        made[purpose] = unsplit_matrix_target(world)
        with world.runtime.write() as work:
            tree.decompose(work, made[purpose], into="month")
    return made[purpose]


def unsplit_matrix_target(world: Any) -> int:
    """A new 2026-Q1 target of rep_a's, not split yet (the sales app installed through the
    plugin pages' helper, its measures and KPI plans made)."""
    from tests.plugins.sales_performance.test_pages import matrix_customer

    matrix_customer(world)
    with world.runtime.write() as work:
        measures.ensure_defaults(work)
        plans.ensure_defaults(work)
        return records.create(
            work,
            get_form(work, f"{APP}.sales_target"),
            {
                "name": "rep_a 2026-Q1",
                "measure": measures.get_measure(work, "contract_amount").record_id,
                "period": "2026-Q1",
                "level": "rep",
                "member": world.org.rep_a.id,
                "amount": "3000",
            },
        ).id


def matrix_month(world: Any) -> int:
    """The first month of rep_a's quarter (of its own: overriding it changes the tree)."""
    from sales_performance.targets import tree

    quarter = matrix_target(world, "override")
    with world.runtime.read() as work:
        return tree.children_of(work, quarter)[0].id


def matrix_draft(world: Any) -> int:
    """A new draft April bonus statement of rep_a's (one per call: submitting it uses it
    up), under the plan that pays rep_a's March statement."""
    from tests.plugins.sales_performance.test_performance_pages import matrix_performance

    march = matrix_performance(world)["statement"]
    with world.runtime.write() as work:
        paying = statements.get_statement(work, march)["plan"]
        return records.create_as_step(
            work,
            statements.statement_form(work),
            {"member": world.org.rep_a.id, "period": "2026-04", "plan": paying, "status": "draft"},
        ).id
