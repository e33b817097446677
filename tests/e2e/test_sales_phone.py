"""A rep's day on a phone, in Chromium: adds a customer, logs a visit with a photo and the
place, quotes 18 % off; the manager and then the director approve from their inboxes on
their phones; the rep sees it approved on the sales home."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from formflow.people import service as people
from tests.conftest import EVERYONE_OWN, grant, make_person
from tests.e2e.conftest import PASSWORD, PHONE, new_page, shoot, sign_in
from tests.platform.automations.world import drain
from tests.platform.files.test_uploads import png
from tests.plugins.sales_performance.world import APP, Sales, build

SHANGHAI = ZoneInfo("Asia/Shanghai")
WHERE = {"latitude": 31.2304, "longitude": 121.4737, "accuracy": 15}
NAMES = {"rita": "李丽", "max": "马明", "dora": "杜娟", "victor": "王伟", "fay": "方芳"}


@pytest.fixture
def sales(site) -> Sales:
    """The sales app installed in a small company (tests/plugins/sales_performance/world.py),
    its people able to sign in, with Chinese names; two of the rep's customers are due today
    and one is overdue, so the home has a day's work on it."""
    made = build(site.runtime, make_person(site.runtime, "admin", admin=True))
    grant(site.runtime, f"{APP}.payment", EVERYONE_OWN)
    with site.runtime.write() as work:
        for name, display in NAMES.items():
            user = people.get_user(work, name)
            user.display_name = display
            people.set_password(work, user, PASSWORD)
    now = dt.datetime.now(dt.UTC)
    for name, when in (
        ("上海远景科技", _later_today(now, 2)),
        ("杭州云帆网络", _later_today(now, 3)),
        ("苏州恒达物流", now - dt.timedelta(days=2)),
    ):
        customer = made.customer(name, industry="it", region="east", potential="300000")
        made.create(
            "follow_up",
            customer=customer,
            type="call",
            visited_at=(now - dt.timedelta(days=7)).isoformat(),
            content="电话沟通需求",
            next_follow_up_at=when.isoformat(),
        )
    drain(site.runtime)
    return made


def _later_today(now: dt.datetime, hours: int) -> dt.datetime:
    """A moment ``hours`` away that is still today in Shanghai (earlier when it would not be)."""
    today = now.astimezone(SHANGHAI).date()
    later = now + dt.timedelta(hours=hours)
    return later if later.astimezone(SHANGHAI).date() == today else now - dt.timedelta(hours=hours)


def phone(browser: Any, site: Any, name: str, **extra: Any) -> Any:
    page = new_page(browser, site, PHONE, **extra)
    sign_in(page, name)
    return page


def test_a_rep_logs_a_visit_quotes_18_percent_off_and_sees_it_approved(browser, site, sales):
    rep = phone(browser, site, "rita", geolocation=WHERE, permissions=["geolocation"])

    # a new customer, through the engine's form
    rep.goto(f"/f/{APP}.customer/new")
    rep.fill("#name", "华东精密制造")
    rep.select_option("#industry", "manufacturing")
    rep.select_option("#region", "east")
    rep.fill("#potential", "1200000")
    rep.get_by_role("button", name=re.compile("^(提交|Submit)$")).click()
    rep.wait_for_url(re.compile(rf"/f/{APP}\.customer/(\d+)$"))
    customer = int(rep.url.rsplit("/", 1)[1])
    drain(site.runtime)

    # the visit: picked from the home, a photo from the camera, the place from the phone
    rep.goto("/sales/")
    assert rep.locator("#today .item").count() == 2 and rep.locator("#overdue .item").count() == 1
    rep.locator("[data-jump-log]").click()
    rep.select_option("#qa-customer", str(customer))
    rep.locator("label[for=qa-type-visit]").click()
    rep.fill("#qa-content", "拜访采购部王经理，确认 10 台路由器需求，下周出方案")
    rep.set_input_files(
        "#qa-photo", files=[{"name": "门店.png", "mimeType": "image/png", "buffer": png(8, 8)}]
    )
    assert rep.locator("[data-picked] img").count() == 1  # the photo shows at once
    rep.click("[data-capture-location]")
    rep.locator("[data-where]").filter(has_text="31.23").wait_for()
    rep.get_by_role("button", name="明天").click()
    tomorrow = (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)).isoformat()
    assert rep.locator("#qa-next").input_value() == tomorrow
    rep.get_by_role("button", name="保存跟进").click()
    rep.locator(".notice").filter(has_text="已保存 华东精密制造 的跟进").wait_for()
    drain(site.runtime)
    assert sales.values("customer", customer)["next_follow_up_at"].startswith(tomorrow[:8])

    # a contact and an opportunity, then a quotation at 18 % off through the engine's form
    sales.create(
        "contact", customer=customer, name="王建国", position="采购经理", phone="13800138000"
    )
    sales.create(
        "opportunity", customer=customer, name="路由器更新项目", stage="proposal", amount="10000"
    )
    rep.goto(f"/f/{APP}.quotation/new")
    rep.select_option("#customer", label="华东精密制造")
    rep.click("[data-add-row]")
    rep.select_option("[name='lines-0-product']", label="Router")
    rep.fill("[name='lines-0-unit_price']", "1000")
    rep.fill("[name='lines-0-quantity']", "10")
    rep.fill("#overall_discount", "18")
    rep.get_by_role("button", name=re.compile("^(提交|Submit)$")).click()
    rep.wait_for_url(re.compile(rf"/f/{APP}\.quotation/\d+$"))
    quote = int(rep.url.rsplit("/", 1)[1])
    drain(site.runtime)  # priced, then sent for approval
    rep.goto("/sales/")
    item = rep.locator(f"[data-quotation='{quote}']")
    assert "审批中" in item.inner_text() and "等待审批：马明（销售经理）" in item.inner_text()
    assert "18%" in item.inner_text()
    shoot(rep, "sales-phone-home")

    rep.goto(f"/sales/customers/{customer}")
    page = rep.locator("main").inner_text()
    for said in ("华东精密制造", "王建国", "拜访采购部王经理", "路由器更新项目", "审批中"):
        assert said in page, said
    assert rep.locator("#follow-ups .thumbs img").count() == 1
    shoot(rep, "sales-customer-page")

    # the manager, then the director, approve from their inboxes
    for name in ("max", "dora"):
        approver = phone(browser, site, name)
        approver.goto("/approvals/")
        approver.locator(".inbox-link").filter(has_text="报价").first.click()
        approver.get_by_role("button", name=re.compile("^同意$")).click()
        approver.locator(".notice").filter(has_text="已同意").wait_for()
        approver.context.close()
        drain(site.runtime)

    rep.goto("/sales/")
    item = rep.locator(f"[data-quotation='{quote}']")
    assert "已批准" in item.inner_text() and "等待" not in item.inner_text()
    shoot(rep, "sales-quote-approved", full_page=False)  # what the phone shows on opening
    rep.context.close()
