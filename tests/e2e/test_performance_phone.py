"""A rep's month on a phone, in Chromium: their target progress, live scorecard and payout;
what closing an opportunity would pay; finance runs last month, the manager and then
finance and HR approve the bonus from their inboxes; the rep reads the approved statement
line by line and opens the contract behind it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from formflow.people import service as people
from sales_performance.kpi import plans as kpi_plans
from sales_performance.periods import Period
from tests.conftest import EVERYONE_OWN, grant, make_person
from tests.e2e.conftest import PASSWORD, PHONE, new_page, shoot, sign_in
from tests.platform.automations.world import drain
from tests.plugins.sales_performance.test_incentives import commission, contract, plan, rep_target
from tests.plugins.sales_performance.world import APP, Sales, build

NAMES = {"rita": "李丽", "max": "马明", "fay": "方芳", "hana": "韩娜"}


@pytest.fixture
def sales(site) -> Sales:
    made = build(site.runtime, make_person(site.runtime, "admin", admin=True))
    made.people["hana"] = make_person(site.runtime, "hana")
    with site.runtime.write() as work:
        roles = {
            name: people.ensure_role(work, name, name)
            for name in ("closer", "sales_rep", "finance", "hr")
        }
        people.set_roles(work, made.people["rita"].id, [roles["closer"].id, roles["sales_rep"].id])
        people.set_roles(work, made.people["fay"].id, [roles["finance"].id])
        people.set_roles(work, made.people["hana"].id, [roles["hr"].id])
        for name, display in NAMES.items():
            user = people.get_user(work, name)
            user.display_name = display
            people.set_password(work, user, PASSWORD)
        kpi_plans.ensure_defaults(work)
    for form in ("opportunity", "payment"):
        grant(site.runtime, f"{APP}.{form}", EVERYONE_OWN)
    grant(site.runtime, f"{APP}.kpi_result", {"actions": ["view"], "scope": "own"})
    return made


def phone(browser: Any, site: Any, name: str) -> Any:
    page = new_page(browser, site, PHONE)
    sign_in(page, name)
    return page


def test_a_rep_follows_their_month_and_reads_an_approved_bonus(browser, site, sales):
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    month = Period.containing("month", today)
    last = month.previous()
    closers = plan(
        sales, commission(), effective_from=(last.start - dt.timedelta(days=31)).isoformat()
    )
    for period in (month, last):
        rep_target(sales, "rita", "1000000", period=period.key)
    contract(sales, "600000", signed_on=month.start.isoformat())
    deal = contract(sales, "900000", signed_on=last.start.isoformat())
    customer = sales.customer("远景科技")
    closes = (month.end - dt.timedelta(days=1)).isoformat()
    sales.create("opportunity", name="远景二期", customer=customer, stage="negotiation",
                 amount="500000", expected_close=closes)  # fmt: skip

    rep = phone(browser, site, "rita")
    rep.goto("/sales/")
    rep.locator("[data-performance]").click()
    rep.wait_for_url(re.compile("/sales/performance"))
    body = rep.locator("main").inner_text()
    assert "600,000.00" in body and "达成率 60 %" in body
    # 600,000 × 2 % as a closer, and 销售之星 as the only sales rep with a KPI score
    assert "¥13,000.00" in rep.locator("[data-payout]").inner_text()
    shoot(rep, "performance-phone")

    # what closing 远景二期 would pay: 1,100,000 → 16,000 + 8,000 + 6,000
    rep.locator(".jump a.primary").click()
    rep.locator("label.pick").filter(has_text="远景二期").locator("input").check()
    rep.get_by_role("button", name="估算").click()
    assert "¥31,000.00" in rep.locator("[data-estimated]").inner_text()  # + 销售之星
    shoot(rep, "performance-estimate")

    # finance runs last month and sends rita's statement for approval
    finance = phone(browser, site, "fay")
    finance.goto(f"/sales/bonus?period={last.key}")
    finance.get_by_role("button", name="计算本期奖金").click()
    finance.locator(f"[data-plan='{closers}']").first.locator("a").click()
    finance.get_by_role("button", name="提交审批").click()
    finance.locator("[data-status=in_approval]").wait_for()
    statement = int(finance.url.rsplit("/", 1)[1])
    drain(site.runtime)

    # the manager, then finance and HR, approve from their inboxes
    for names in (("max",), ("fay", "hana")):
        for name in names:
            approver = finance if name == "fay" else phone(browser, site, name)
            approver.goto("/approvals/")
            approver.locator(".inbox-link").filter(has_text="奖金").first.click()
            approver.get_by_role("button", name=re.compile("^同意$")).click()
            approver.locator(".notice").filter(has_text="已同意").wait_for()
            if approver is not finance:
                approver.context.close()
            drain(site.runtime)

    rep.goto(f"/sales/bonus/{statement}")
    assert rep.locator("[data-status]").inner_text() == "已批准"
    assert "¥20,000.00" in rep.locator("[data-total]").inner_text()  # 16,000 + 4,000
    how = rep.locator("[data-rule=commission]").inner_text()
    assert "900,000" in how
    shoot(rep, "performance-statement")
    rep.locator("[data-rule=commission] .links a").first.click()
    rep.wait_for_url(re.compile(rf"/f/{APP}\.contract/{deal}$"))
    rep.context.close()
    finance.context.close()
