"""A rep fills a form on a phone; a manager filters the team's records; an outsider is refused."""

from __future__ import annotations

import re

import pytest

from formflow.definitions.service import ensure_app, publish
from formflow.people import service as people
from tests.conftest import grant
from tests.e2e.conftest import DESKTOP, PHONE, new_page, shoot, sign_in
from tests.platform.files.test_uploads import png

VISIT = {
    "title": "拜访记录",
    "x-label": {"zh-CN": "拜访记录", "en": "Visit"},
    "type": "object",
    "properties": {
        "customer": {
            "x-field": "text",
            "type": "string",
            "title": "客户",
            "x-label": {"zh-CN": "客户", "en": "Customer"},
            "x-index": True,
        },
        "kind": {
            "x-field": "select",
            "type": "string",
            "title": "方式",
            "enum": ["visit", "call", "other"],
            "x-label": {"zh-CN": "方式", "en": "Kind"},
            "default": "visit",
            "x-options": [
                {"value": "visit", "label": {"zh-CN": "上门拜访", "en": "Visit"}},
                {"value": "call", "label": {"zh-CN": "电话", "en": "Call"}},
                {"value": "other", "label": {"zh-CN": "其他", "en": "Other"}},
            ],
        },
        "other": {
            "x-field": "text",
            "type": "string",
            "title": "其他方式",
            "x-label": {"zh-CN": "其他方式", "en": "Which other way"},
            "x-visible-when": 'kind = "other"',
        },
        "lines": {
            "x-field": "subform",
            "type": "array",
            "title": "演示产品",
            "x-label": {"zh-CN": "演示产品", "en": "Products shown"},
            "maxItems": 10,
            "items": {
                "type": "object",
                "properties": {
                    "product": {
                        "x-field": "text",
                        "type": "string",
                        "title": "产品",
                        "x-label": {"zh-CN": "产品", "en": "Product"},
                    },
                    "price": {
                        "x-field": "money",
                        "type": "number",
                        "title": "报价",
                        "x-label": {"zh-CN": "报价", "en": "Price"},
                        "minimum": 0,
                    },
                    "qty": {
                        "x-field": "number",
                        "type": "integer",
                        "title": "数量",
                        "x-label": {"zh-CN": "数量", "en": "Quantity"},
                        "minimum": 1,
                    },
                    "subtotal": {
                        "x-field": "formula",
                        "type": "number",
                        "x-result": "money",
                        "title": "小计",
                        "x-label": {"zh-CN": "小计", "en": "Subtotal"},
                        "x-formula": "price * qty",
                    },
                },
                "required": ["product", "price", "qty"],
            },
        },
        "total": {
            "x-field": "formula",
            "type": "number",
            "x-result": "money",
            "title": "合计",
            "x-label": {"zh-CN": "合计", "en": "Total"},
            "x-formula": "SUM(lines.subtotal)",
            "x-index": True,
        },
        "photo": {
            "x-field": "image",
            "type": "array",
            "title": "现场照片",
            "x-label": {"zh-CN": "现场照片", "en": "Photo"},
        },
        "where": {
            "x-field": "location",
            "type": "object",
            "title": "定位",
            "x-label": {"zh-CN": "定位", "en": "Location"},
        },
        "owner": {
            "x-field": "member",
            "type": "integer",
            "title": "负责人",
            "x-label": {"zh-CN": "负责人", "en": "Owner"},
        },
    },
    "required": ["customer", "lines"],
    "x-form": {"owner_field": "owner", "list_columns": ["customer", "kind", "total", "owner"]},
}


@pytest.fixture
def crm(site):
    admin = site.user("admin", admin=True, display="管理员")
    rep = site.user("li", display="李雷")
    manager = site.user("han", display="韩梅梅")
    site.user("outsider", display="路人")
    with site.runtime.write() as work:
        ensure_app(work, "crm", "客户关系 CRM")
        publish(work, "crm.visit", VISIT)
        team = people.create_department(work, "华东销售部", head_id=manager)
        rep_role = people.ensure_role(work, "sales_rep", "销售代表")
        manager_role = people.ensure_role(work, "sales_manager", "销售经理")
        people.set_memberships(work, rep, [team.id])
        people.set_memberships(work, manager, [team.id])
        people.set_roles(work, rep, [rep_role.id])
        people.set_roles(work, manager, [manager_role.id])
    grant(
        site.runtime,
        "crm.visit",
        {
            "role": "sales_rep",
            "actions": ["view", "create", "edit"],
            "scope": "own",
            "fields": {"owner": "read"},
        },
        {"role": "sales_manager", "actions": ["view", "edit", "export"], "scope": "subtree"},
    )
    return {"admin": admin, "rep": rep, "manager": manager}


def test_rep_fills_a_visit_on_a_phone(browser, site, crm):
    page = new_page(
        browser,
        site,
        PHONE,
        geolocation={"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12},
        permissions=["geolocation"],
    )
    page.goto("/login")
    shoot(page, "phone-login", full_page=False)
    sign_in(page, "li")
    page.get_by_role("link", name=re.compile("新建|New")).first.click()
    page.wait_for_url("**/f/crm.visit/new")
    # a rule shows a field only for "other"
    assert not page.locator("#fld-other").is_visible()
    page.select_option("#kind", "other")
    page.locator("#fld-other").wait_for(state="visible")
    page.select_option("#kind", "visit")
    page.locator("#fld-other").wait_for(state="hidden")
    # two product rows; formulas update as the rep types
    page.click("[data-add-row]")
    page.fill("[name='lines-0-product']", "智能门锁 X1")
    page.fill("[name='lines-0-price']", "1299")
    page.fill("[name='lines-0-qty']", "2")
    page.click("[data-add-row]")
    page.fill("[name='lines-1-product']", "网关")
    page.fill("[name='lines-1-price']", "199.50")
    page.fill("[name='lines-1-qty']", "1")
    page.locator("#out-total").filter(has_text="2,797.50").wait_for()
    assert page.locator("#out-lines-0-subtotal").inner_text() == "¥2,598.00"
    page.set_input_files(
        "input[name='photo__upload']",
        files=[{"name": "门店.png", "mimeType": "image/png", "buffer": png(8, 8)}],
    )
    page.click("[data-capture-location]")
    page.locator("[data-where]").filter(has_text="31.23").wait_for()
    shoot(page, "phone-form")
    # forgot the customer: the error sits beside it and nothing typed is lost
    page.get_by_role("button", name=re.compile("^(提交|Submit)$")).click()
    page.locator("#err-customer").wait_for()
    assert page.locator("[name='lines-1-product']").input_value() == "网关"
    assert page.locator(".files .file").count() == 1  # the photo was kept
    shoot(page, "phone-form-error")
    page.fill("#customer", "上海远景科技")
    page.get_by_role("button", name=re.compile("^(提交|Submit)$")).click()
    page.wait_for_url(re.compile(r"/f/crm\.visit/\d+$"))
    body = page.locator("main").inner_text()
    assert "上海远景科技" in body and "¥2,797.50" in body and "31.2304" in body
    assert page.locator(".files img").count() == 1
    assert "李雷" in body  # the owner defaults to whoever submits
    shoot(page, "phone-record")
    page.context.close()


def test_manager_filters_the_team_list_on_a_desktop(browser, site, crm):
    rep_page = new_page(browser, site, PHONE)
    sign_in(rep_page, "li")
    for customer, price in (("甲公司", "100"), ("乙公司", "5000"), ("丙公司", "800")):
        rep_page.goto("/f/crm.visit/new")
        rep_page.fill("#customer", customer)
        rep_page.click("[data-add-row]")
        rep_page.fill("[name='lines-0-product']", "门锁")
        rep_page.fill("[name='lines-0-price']", price)
        rep_page.fill("[name='lines-0-qty']", "1")
        rep_page.get_by_role("button", name=re.compile("^(提交|Submit)$")).click()
        rep_page.wait_for_url(re.compile(r"/f/crm\.visit/\d+$"))
    rep_page.context.close()

    page = new_page(browser, site, DESKTOP)
    sign_in(page, "han")
    page.goto("/f/crm.visit/")
    assert page.locator("table.records tbody tr").count() == 3
    page.locator("details summary").first.click()
    page.select_option("[data-filter-row] select[name=ff]", "total")
    page.select_option("[data-filter-row] select[name=fo]", "gte")
    page.fill("[data-filter-row] input[name=fv]", "500")
    page.select_option("select[name=sort]", "-total")
    page.get_by_role("button", name=re.compile("确定|Apply")).click()
    page.wait_for_url("**fv=500**")
    rows = page.locator("table.records tbody tr")
    assert rows.count() == 2
    assert "乙公司" in rows.nth(0).inner_text() and "丙公司" in rows.nth(1).inner_text()
    shoot(page, "desktop-list")
    # …and exports exactly what the filter shows, as a real spreadsheet
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("导出 Excel|Export to Excel")).click()
    assert download.value.suggested_filename.endswith(".xlsx")
    import io

    from openpyxl import load_workbook

    with open(download.value.path(), "rb") as saved:
        sheet = load_workbook(io.BytesIO(saved.read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3  # a header and the two matching visits
    assert {rows[1][1], rows[2][1]} == {"乙公司", "丙公司"}
    page.context.close()


def test_an_outsider_is_refused(browser, site, crm):
    page = new_page(browser, site, PHONE)
    sign_in(page, "outsider")
    assert "拜访记录" not in page.locator("main").inner_text()
    response = page.goto("/f/crm.visit/")
    assert response.status == 403
    response = page.goto("/f/crm.visit/new")
    assert response.status == 403
    page.context.close()
