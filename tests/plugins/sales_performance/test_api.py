"""The sales REST API (/api/v1/sales/…): targets and KPI scorecards over HTTP, each answer
checked against the OpenAPI document, each refusal naming its field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from openapi_spec_validator import validate

from formflow.api.openapi import build_document
from formflow.definitions.service import get_form
from formflow.people import service as people
from formflow.records import service as records
from sales_performance import measures
from sales_performance.kpi import plans
from tests.conftest import EVERYONE_OWN, Api, grant
from tests.platform.api.test_openapi import _check
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
