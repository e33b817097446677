"""An admin builds an automation in Chromium — an hour before a customer's next visit,
notify its owner and tell the ERP — saves it, watches its runs in the run log, and retries
the one that failed once the ERP is back."""

from __future__ import annotations

import copy
import datetime as dt
import re
import time
from typing import Any

import pytest
from sqlalchemy import update

from formflow.automations import functions
from formflow.definitions.service import ensure_app, get_form, publish
from formflow.people import service as people
from formflow.records import service as records
from formflow.reminders.models import Reminder
from tests.conftest import EVERYONE_OWN, grant
from tests.e2e.conftest import DESKTOP, new_page, shoot, sign_in
from tests.platform.automations.world import CUSTOMER, drain

CHINESE_TITLES = {
    "name": "客户名称",
    "grade": "等级",
    "potential": "潜在金额",
    "visits": "拜访次数",
    "owner": "负责人",
    "next_visit": "下次拜访",
    "renewal": "续约日期",
}


@pytest.fixture
def crm(site) -> dict[str, Any]:
    ids = {
        "admin": site.user("admin", admin=True, display="管理员"),
        "rita": site.user("rita", display="李丽"),
    }
    customer = copy.deepcopy(CUSTOMER)
    customer["title"] = "客户"
    for key, title in CHINESE_TITLES.items():
        customer["properties"][key]["title"] = title
    with site.runtime.write() as work:
        ensure_app(work, "crm", "客户管理")
        publish(work, "crm.customer", customer)
    grant(site.runtime, "crm.customer", EVERYONE_OWN)
    return ids


@pytest.fixture
def erp() -> dict[str, bool]:
    """The ERP a plugin function talks to: it refuses customer Beta while it is down."""
    state = {"down": True}

    def sync(work, call):
        if state["down"] and call.values.get("name") == "Beta":
            raise RuntimeError("ERP 接口超时（Beta）")
        return {"synced": call.values.get("name"), **call.arguments}

    functions.register("crm.sync_erp", sync)
    return state


def customer(site, owner: int, name: str, potential: str, visit_in: dt.timedelta) -> int:
    visit = dt.datetime.now(dt.UTC) + visit_in
    data = {"name": name, "potential": potential, "owner": owner, "next_visit": visit.isoformat()}
    with site.runtime.write(_user(site, "rita")) as work:
        return records.create(work, get_form(work, "crm.customer"), data).id


def _user(site, name: str) -> Any:
    with site.runtime.read() as work:
        user = people.get_user(work, name)
        work.session.expunge(user)
        return user


def retries_come(site) -> None:
    """A failed run's backoff passes: its next attempt is delivered."""
    with site.runtime.write() as work:
        work.session.execute(
            update(Reminder)
            .where(Reminder.state == "pending", Reminder.kind == "automation")
            .values(due_at=work.now - dt.timedelta(seconds=1))
        )
    drain(site.runtime)


def refreshing(page: Any, selector: str, value: str) -> None:
    """Choose an option that brings the page back with the inputs it needs."""
    with page.expect_navigation():
        page.select_option(selector, value)


def test_an_automation_built_in_the_browser_runs_and_a_failed_run_is_retried(
    browser, site, crm, erp
):
    page = new_page(browser, site, DESKTOP)
    sign_in(page, "admin")
    page.goto("/admin/automations/")
    page.get_by_role("link", name=re.compile("新建智能助手")).click()
    page.wait_for_url("**/admin/automations/new")

    page.fill("#f-name", "crm.visit_reminder")
    page.fill("#f-title-zh-CN", "拜访前提醒")
    page.fill("#f-title-en", "Visit reminder")
    refreshing(page, "#f-trigger", "date_field")
    refreshing(page, "#f-trigger-form", "crm.customer")
    assert page.input_value("#f-name") == "crm.visit_reminder"  # kept across round trips
    page.select_option("#f-trigger-field", "next_visit")
    page.fill("input[name=offset_amount]", "1")
    page.select_option("select[name=offset_unit]", "H")
    page.select_option("select[name=offset_when]", "before")
    row = page.locator("#condition [data-condition]").first
    row.locator("select[name=condition_field]").select_option("potential")
    row.locator("select[name=condition_op]").select_option("gte")
    row.locator("input[name=condition_value]").fill("10000")

    notify = page.locator("#action-0")
    notify.locator("select[name=a0_to_kind]").select_option("field")
    notify.locator("input[name=a0_to_value]").fill("owner")
    notify.locator("#f-actions-0-title-zh-CN").fill("{{ name }} 一小时后拜访")
    notify.locator("#f-actions-0-title-en").fill("Visit {{ name }} in an hour")
    notify.locator("#f-actions-0-body-zh-CN").fill("潜在金额 {{ potential }}，请准备好资料。")
    page.select_option("#f-new-action", "function")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("添加动作")).click()
    call = page.locator("#action-1")
    call.locator("select[name=a1_function]").select_option("crm.sync_erp")
    call.locator("textarea[name=a1_arguments]").fill('{"system": "erp"}')
    assert "下次拜访前 1 小时" in page.locator("[data-trigger-words]").inner_text()

    with page.expect_navigation():
        page.locator(".form-actions").get_by_role("button", name="保存").click()
    page.wait_for_url("**/admin/automations/crm.visit_reminder")
    page.locator(".notice").filter(has_text="已保存版本 1").wait_for()
    assert page.input_value("#f-actions-0-title-zh-CN") == "{{ name }} 一小时后拜访"
    assert page.locator("#condition code").inner_text() == "potential >= 10000"
    shoot(page, "automation-editor")

    # three visits an hour and two seconds away: Acme's owner is notified, Tiny is below
    # the condition, and the ERP refuses Beta until its attempts run out
    soon = dt.timedelta(hours=1, seconds=2)
    for name, potential in (("Acme", "50000"), ("Tiny", "500"), ("Beta", "80000")):
        customer(site, crm["rita"], name, potential, soon)
    time.sleep(2.5)
    drain(site.runtime)
    for _ in range(5):
        retries_come(site)

    page.goto("/admin/automations/")
    listed = page.locator("tr[data-automation='crm.visit_reminder']")
    assert "下次拜访前 1 小时" in listed.locator("[data-trigger]").inner_text()
    assert listed.locator("[data-failed]").inner_text() == "1"
    listed.get_by_role("link", name="运行日志").click()
    page.wait_for_url("**/admin/automations/crm.visit_reminder/runs")
    states = page.locator("article[data-run]").evaluate_all(
        "runs => runs.map(r => r.dataset.state)"
    )
    assert states == ["failed", "skipped", "done"]
    failed = page.locator("article[data-state=failed]")
    assert "ERP 接口超时（Beta）" in failed.inner_text() and "已回滚" in failed.inner_text()
    assert "已通知 1 人" in page.locator("article[data-state=done]").inner_text()
    shoot(page, "automation-runs")

    erp["down"] = False
    failed.get_by_role("button", name="重试").click()
    page.locator(".notice").filter(has_text="将从第一个动作重新执行").wait_for()
    assert page.locator("article[data-state=pending]").count() == 1
    drain(site.runtime)
    page.reload()
    assert page.locator("article[data-state=done]").count() == 2
    assert "erp" in page.locator("article[data-state=done]").first.inner_text()
