"""A discount approval end to end in Chromium: an admin designs it, a rep submits on a
phone, the manager approves on a phone, the director returns it, the rep changes it and
resubmits, the director approves — and the history tells all of it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from formflow.definitions.service import ensure_app, publish
from formflow.people import service as people
from tests.conftest import EVERYONE_OWN, grant
from tests.e2e.conftest import DESKTOP, PHONE, new_page, shoot, sign_in
from tests.platform.flows.world import QUOTE

ZH_QUOTE: dict[str, Any] = {
    **QUOTE,
    "title": "报价单",
    "properties": {
        **QUOTE["properties"],
        "title": {**QUOTE["properties"]["title"], "title": "标题"},
        "amount": {**QUOTE["properties"]["amount"], "title": "金额"},
        "discount": {**QUOTE["properties"]["discount"], "title": "折扣"},
    },
}


@pytest.fixture
def org(site):
    ids = {
        "admin": site.user("admin", admin=True, display="管理员"),
        "li": site.user("li", display="李雷"),
        "han": site.user("han", display="韩梅梅"),
        "zhou": site.user("zhou", display="周总"),
    }
    with site.runtime.write() as work:
        ensure_app(work, "sales", "销售")
        publish(work, "sales.quote", ZH_QUOTE)
        company = people.create_department(work, "公司", head_id=ids["zhou"])
        team = people.create_department(
            work, "华东销售部", parent_id=company.id, head_id=ids["han"]
        )
        people.set_memberships(work, ids["li"], [team.id])
        people.set_memberships(work, ids["han"], [team.id])
        director = people.ensure_role(work, "director", "总监")
        people.set_roles(work, ids["zhou"], [director.id])
    grant(site.runtime, "sales.quote", EVERYONE_OWN)
    return ids


def page_for(browser, site, name, device):
    page = new_page(browser, site, device)
    sign_in(page, name)
    return page


def panel(page):
    return page.locator("#step-panel")


def add_step(page, after: str, kind: str) -> None:
    form = page.locator(f"li[data-node='{after}'] form.add-step")
    form.locator("select[name=kind]").select_option(kind)
    form.locator("button").click()
    panel(page).locator("h2").filter(has_text=f"{kind}_1").wait_for()


def save_step(page) -> None:
    with page.expect_response(lambda r: r.url.endswith("/edit")):
        panel(page).get_by_role("button", name=re.compile("保存节点|Save step")).click()


def test_a_discount_approval_designed_submitted_returned_resubmitted_and_approved(
    browser, site, org
):
    # the admin designs it: manager, then directors for a discount over 10 %
    admin = page_for(browser, site, "admin", DESKTOP)
    admin.goto("/admin/flows/")
    admin.select_option("#flow-form", "sales.quote")
    admin.fill("#flow-title", "报价折扣审批")
    admin.fill("#flow-name", "discount")
    admin.get_by_role("button", name=re.compile("创建并打开流程设计")).click()
    admin.wait_for_url("**/admin/flows/sales.discount")
    add_step(admin, "manager", "approval")
    panel(admin).locator("#p-title").fill("总监审批")
    rule = panel(admin).locator("[data-rule]").first
    rule.locator("select").select_option("role")
    rule.locator("input").fill("director")
    save_step(admin)
    admin.locator("li[data-node='approval_1']").filter(has_text="角色 director").wait_for()
    add_step(admin, "manager", "branch")
    row = panel(admin).locator("[data-condition]").first
    row.locator("select[name=b0_field]").select_option("discount")
    row.locator("select[name=b0_op]").select_option("gt")
    row.locator("input[name=b0_value]").fill("0.1")
    panel(admin).locator("select[name=b0_next]").select_option("approval_1")
    panel(admin).locator("select[name=else]").select_option("approved")
    save_step(admin)
    admin.locator("li[data-node='branch_1'] code").filter(has_text="discount > 0.1").wait_for()
    shoot(admin, "flow-designer")
    admin.get_by_role("button", name=re.compile("^发布$")).click()
    admin.locator(".notice").filter(has_text="已发布版本 1").wait_for()

    # the rep submits a quote with 20 % off on a phone
    rep = page_for(browser, site, "li", PHONE)
    rep.goto("/f/sales.quote/new")
    rep.fill("#title", "智能门锁 200 套")
    rep.fill("#amount", "240000")
    rep.fill("#discount", "20")
    rep.get_by_role("button", name=re.compile("^(提交|Submit)$")).click()
    rep.wait_for_url(re.compile(r"/f/sales\.quote/\d+$"))
    assert "审批中" in rep.locator("main").inner_text()
    assert rep.get_by_role("link", name="编辑").count() == 0  # locked while approved

    # the manager sees it counted, opens it and approves with one tap
    manager = page_for(browser, site, "han", PHONE)
    assert manager.locator("[data-inbox] .count").inner_text() == "1"
    manager.goto("/approvals/")
    manager.locator(".inbox-link").filter(has_text="智能门锁 200 套").click()
    manager.fill("#comment", "同意，客户是老客户")
    shoot(manager, "phone-approval-task")
    manager.get_by_role("button", name=re.compile("^同意$")).click()
    manager.locator(".notice").filter(has_text="已同意").wait_for()

    # the director returns it to the rep
    director = page_for(browser, site, "zhou", PHONE)
    director.goto("/approvals/")
    director.locator(".inbox-link").first.click()
    director.locator("details.more-actions summary").click()
    director.fill("#comment", "折扣太大，请降到 15%")
    director.get_by_role("button", name=re.compile("^退回$")).click()
    director.locator(".notice").filter(has_text="已退回").wait_for()

    # the rep changes the discount and resubmits
    rep.goto("/approvals/?box=started")
    rep.locator(".inbox-link").first.click()
    assert "折扣太大" in rep.locator("main").inner_text()
    rep.get_by_role("link", name=re.compile("修改记录")).click()
    rep.fill("#discount", "15")
    rep.get_by_role("button", name=re.compile("^(保存|Save)$")).click()
    rep.wait_for_url(re.compile(r"/f/sales\.quote/\d+$"))
    rep.locator(".approvals-status a").first.click()
    rep.get_by_role("button", name=re.compile("^重新提交$")).click()
    rep.locator(".notice").filter(has_text="已重新提交").wait_for()

    # the director approves; the history tells the whole story
    director.goto("/approvals/")
    director.locator(".inbox-link").first.click()
    director.get_by_role("button", name=re.compile("^同意$")).click()
    director.locator(".notice").filter(has_text="已同意").wait_for()
    rep.goto("/approvals/?box=started")
    rep.locator(".inbox-link").first.click()
    story = rep.locator("main").inner_text()
    for said in ("提交", "已同意", "已退回", "折扣太大", "重新提交", "流程结束", "韩梅梅", "周总"):
        assert said in story, said
    assert "15%" in story and "20%" not in story  # the record as resubmitted
    shoot(rep, "phone-approval-history")
