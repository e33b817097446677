"""The performance pages as a rep, a manager and finance use them: numbers that match the
services, click-through to the records, appeals, the run, approval and the payroll export,
the estimator — and nobody seeing what is not theirs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from formflow.definitions.service import get_form
from formflow.people import service as people
from formflow.records import service as records
from sales_performance.incentives import statements
from sales_performance.kpi import plans as kpi_plans
from tests.conftest import EVERYONE_OWN, grant
from tests.plugins.sales_performance.test_incentives import commission, contract, plan, rep_target
from tests.plugins.sales_performance.test_pages import Browser, matrix_customer
from tests.plugins.sales_performance.world import APP, Sales, build


@pytest.fixture
def sales(runtime, admin, clock) -> Sales:
    clock.now = dt.datetime(2026, 6, 20, 2, 0, tzinfo=dt.UTC)
    world = build(runtime, admin)
    with runtime.write() as work:
        closer = people.ensure_role(work, "closer", "Closer")
        rep = people.ensure_role(work, "sales_rep", "Sales rep")
        finance = people.ensure_role(work, "finance", "Finance")
        for name in ("rita", "ron"):
            people.set_roles(work, world.people[name].id, [closer.id, rep.id])
        people.set_roles(work, world.people["fay"].id, [finance.id])
        kpi_plans.ensure_defaults(work)
    grant(runtime, f"{APP}.kpi_appeal", EVERYONE_OWN)
    grant(runtime, f"{APP}.kpi_result", {"actions": ["view"], "scope": "own"})
    grant(runtime, f"{APP}.opportunity", EVERYONE_OWN)
    return world


@pytest.fixture
def browser(app, sales):
    app.config["WTF_CSRF_ENABLED"] = False
    return Browser(app, sales)


def test_my_performance_shows_target_progress_score_and_payout(browser, sales):
    plan(sales, commission(tiers="0-:10%", mode="retroactive"))
    rep_target(sales, "rita", "100000")
    contract(sales, "25000", signed_on="2026-06-05")
    page = browser.page("rita", "/sales/performance")
    assert "25,000.00" in page  # actual
    assert "Attainment 25 %" in page
    assert "Time gone 66.67 %" in page  # 20 of 30 June days
    assert "¥2,500.00" in page  # 10 % of 25,000
    assert "Trailing" in page
    home = browser.page("rita", "/sales/")
    assert 'href="/sales/performance"' in home


def test_a_scorecard_clicks_through_to_its_records_and_takes_an_appeal(browser, sales):
    customer = sales.customer("Visited")
    for day in (1, 2):
        sales.create("follow_up", customer=customer, type="visit", content="v",
                     visited_at=f"2026-05-0{day}T02:00:00Z")  # fmt: skip
    rita = sales.people["rita"].id
    with sales.runtime.write() as work:
        from sales_performance.kpi import scorecards

        scorecards.publish(work, "2026-05")
    page = browser.page("rita", f"/sales/kpi/2026-05/{rita}")
    assert 'data-metric="visits"' in page
    records = browser.page("rita", f"/sales/kpi/2026-05/{rita}/visits")
    assert len(re.findall(r'data-record="\d+"', records)) == 2
    result = int(re.search(r'name="result" value="(\d+)"', page).group(1))
    sent = browser.as_("rita").post(
        f"/sales/kpi/2026-05/{rita}",
        data={"result": result, "metric": "visits", "comment": "a visit is missing"},
    )
    assert sent.status_code == 302
    assert browser.as_("ron").get(f"/sales/kpi/2026-05/{rita}").status_code == 403


def test_finance_runs_the_period_sends_for_approval_and_exports(browser, sales):
    plan(sales, commission(tiers="0-:10%", mode="retroactive"))
    rep_target(sales, "rita", "100000", period="2026-05")
    contract(sales, "10000", signed_on="2026-05-05")
    assert (
        browser.as_("rita").post("/sales/bonus/run", data={"period": "2026-05"}).status_code == 403
    )
    with sales.runtime.read() as work:
        assert statements.list_statements(work, "2026-05") == []  # rita may not run it
    browser.as_("fay").post("/sales/bonus/run", data={"period": "2026-05"})
    listing = browser.page("fay", "/sales/bonus?period=2026-05")
    shown = [int(i) for i in re.findall(r'data-statement="(\d+)"', listing)]
    with sales.runtime.read() as work:  # rita is also a sales rep: paid by that plan too
        [statement] = [
            s["id"] for s in statements.list_statements(work, "2026-05") if s["total"] == 1000
        ]
    assert statement in shown
    detail = browser.page("rita", f"/sales/bonus/{statement}")
    assert "1,000.00" in detail and "retroactive" in detail
    assert "/f/sales_performance.contract/" in detail  # the records behind the line
    assert browser.as_("ron").get(f"/sales/bonus/{statement}").status_code == 403
    browser.as_("fay").post(f"/sales/bonus/{statement}")
    assert 'data-status="in_approval"' in browser.page("fay", f"/sales/bonus/{statement}")
    exported = browser.as_("fay").get("/sales/bonus/export?period=2026-05&format=xlsx")
    assert exported.status_code == 200
    assert exported.data[:2] == b"PK"
    assert browser.as_("rita").get("/sales/bonus/export?period=2026-05").status_code == 403


def test_the_estimator_on_the_phone(browser, sales):
    plan(sales, commission(tiers="0-:10%", mode="retroactive"))
    rep_target(sales, "rita", "100000")
    customer = sales.customer("Prospect")
    big = sales.create("opportunity", name="big deal", customer=customer, stage="proposal",
                       amount="50000", expected_close="2026-06-28")  # fmt: skip
    page = browser.page("rita", "/sales/estimate")
    assert "big deal" in page
    response = browser.as_("rita").post("/sales/estimate", data={"opportunity": [str(big)]})
    text = response.get_data(as_text=True)
    assert "data-estimated>¥5,000.00" in text
    assert "data-current>¥0.00" in text


def test_a_manager_splits_a_target_on_its_page(browser, sales):
    from tests.plugins.sales_performance.test_targets import target

    year = target(sales, "1200000")
    response = browser.as_("admin").post(
        f"/sales/targets/{year}", data={"action": "decompose", "by": "period", "into": "quarter"}
    )
    assert response.status_code == 302
    page = browser.page("admin", f"/sales/targets/{year}")
    assert page.count("data-child=") == 4
    assert "300,000.00" in page
    refused = browser.as_("rita").post(
        f"/sales/targets/{year}",
        data={"action": "decompose", "by": "period", "into": "month", "replace": "1"},
    )
    assert refused.status_code == 403  # and she may not even see it
    assert browser.page("admin", f"/sales/targets/{year}").count("data-child=") == 4


def matrix_performance(world: Any) -> dict[str, int]:
    """In the permission matrix's organisation: rep_a holds the rep role, has a published
    March scorecard (a visit in it) and a draft March bonus statement."""
    made = world.__dict__.get("sales_performance")
    if made is not None:
        return made
    from sales_performance.kpi import scorecards
    from tests.plugins.sales_performance.test_api import matrix_target

    matrix_target(world, "read")
    customer = matrix_customer(world)
    for form in ("kpi_appeal",):
        grant(world.runtime, f"{APP}.{form}", EVERYONE_OWN)
    grant(world.runtime, f"{APP}.kpi_result", {"actions": ["view"], "scope": "own"})
    with world.runtime.write() as work:
        rep = people.ensure_role(work, "sales_rep", "Sales rep")
        people.set_roles(work, world.org.rep_a.id, [rep.id])
    with world.runtime.write(world._as("rep_a")) as work:
        records.create(
            work,
            get_form(work, f"{APP}.follow_up"),
            {"customer": customer, "type": "visit", "content": "v",
             "visited_at": "2026-03-03T02:00:00Z"},
        )  # fmt: skip
    with world.runtime.write() as work:
        published = scorecards.publish(work, "2026-03")["published"]
        statements.run_period(work, "2026-03")
    with world.runtime.read() as work:
        [statement] = statements.list_statements(work, "2026-03", member=world.org.rep_a.id)
    made = {"result": published[0], "statement": statement["id"]}
    world.sales_performance = made
    return made
