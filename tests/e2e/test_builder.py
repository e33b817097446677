"""An admin builds, publishes and changes a form in the builder; a rep fills it on a phone.

The builder saves every change on the server and re-renders the canvas and panel, so each
step waits for the draft's revision on the page to move on: that is the change saved.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from formflow import jsoncodec
from formflow.definitions import drafts
from formflow.definitions.service import definition_text, ensure_app, get_form, publish
from formflow.people import service as people
from formflow.permissions.service import grants_of
from formflow.records import service as records
from tests.conftest import grant
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, new_page, shoot, sign_in

#: What the admin builds in the first test; the other tests start from it published.
DEAL: dict[str, Any] = {
    "title": "商机",
    "type": "object",
    "properties": {
        "customer": {"x-field": "text", "type": "string", "maxLength": 200, "title": "客户"},
        "phone": {"x-field": "phone", "type": "string", "title": "电话"},
        "stage": {
            "x-field": "select",
            "type": "string",
            "enum": ["open", "won", "lost"],
            "title": "阶段",
            "x-options": [
                {"value": "open", "label": "跟进中"},
                {"value": "won", "label": "赢单"},
                {"value": "lost", "label": "丢单"},
            ],
        },
        "lost_reason": {
            "x-field": "textarea",
            "type": "string",
            "maxLength": 2000,
            "title": "丢单原因",
            "x-visible-when": 'stage = "lost"',
        },
        "visit_date": {"x-field": "date", "type": "string", "format": "date", "title": "拜访日期"},
        "price": {"x-field": "money", "type": "number", "x-currency": "CNY", "title": "单价"},
        "quantity": {"x-field": "number", "type": "number", "title": "数量"},
        "total": {
            "x-field": "formula",
            "type": "number",
            "x-formula": "price * quantity",
            "title": "合计",
            "x-result": "money",
        },
        "lines": {
            "x-field": "subform",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "product": {
                        "x-field": "text",
                        "type": "string",
                        "maxLength": 200,
                        "title": "产品",
                    },
                    "qty": {"x-field": "number", "type": "number", "title": "件数"},
                },
            },
            "maxItems": 50,
            "title": "明细",
        },
        "note": {"x-field": "textarea", "type": "string", "maxLength": 2000, "title": "备注"},
    },
    "required": ["customer"],
}
STAGES = (("open", "跟进中"), ("won", "赢单"), ("lost", "丢单"))
SUBMIT = re.compile("^(提交|Submit)$")
PUBLISH = re.compile("^(发布|Publish)$")


# -- driving the builder -------------------------------------------------------------------------


def revision(page: Any) -> int:
    return int(page.locator("#revision").input_value())


def saved(page: Any, before: int) -> None:
    """Wait until the builder shows a draft newer than ``before``: the change was saved."""
    page.wait_for_function(
        "r => Number(document.getElementById('revision').value) > r"
        " && document.querySelector('[data-builder]').dataset.saveState === 'saved'",
        arg=before,
    )


def add_field(page: Any, type_name: str) -> None:
    before = revision(page)
    page.locator(f"[data-palette] li[data-type='{type_name}'] button").click()
    saved(page, before)


def card(page: Any, key: str, parent: str = "") -> Any:
    return page.locator(f".field-card[data-key='{key}'][data-parent='{parent}']")


def keys(page: Any, parent: str = "") -> list[str]:
    return page.locator(f"[data-list][data-parent='{parent}'] > .field-card").evaluate_all(
        "cards => cards.map(c => c.dataset.key)"
    )


def open_field(page: Any, key: str, parent: str = "") -> None:
    card(page, key, parent).locator(".card-main").first.click()
    page.locator(f"#field-panel input[name=field][value='{key}']").wait_for(state="attached")
    # the panel may have shown that field already: wait for the click's own answer too
    page.wait_for_function(
        "() => document.querySelector('[data-builder]').dataset.saveState === 'saved'"
    )


def type_in(page: Any, *entries: tuple[str, str]) -> None:
    """Type into panel inputs one after another and leave the last, as an admin does; the
    panel saves them together (it waits for a pause) — wait until they are saved."""
    before = revision(page)
    for selector, value in entries:
        page.fill(selector, value)
    page.press(entries[-1][0], "Tab")
    saved(page, before)


def name_field(page: Any, key: str, label: str) -> None:
    type_in(page, ("#p-title", label), ("#p-key", key))
    assert card(page, key).count() + page.locator(f".field-card[data-key='{key}']").count() > 0


def drag(page: Any, source: Any, target: Any) -> None:
    """Press on ``source``, move in steps onto the top edge of ``target`` and let go, as a
    hand does (SortableJS follows the browser's own drag events). SortableJS ignores a card
    while it animates, so the hand lingers — small moves — until the dragged item shows in
    its place, then lets go."""
    before = revision(page)
    # both in view and away from the window's edges, where SortableJS would scroll the page
    page.evaluate(
        "([a, b]) => { const r = [a, b].map(e => e.getBoundingClientRect());"
        " window.scrollBy(0, (Math.min(r[0].top, r[1].top) + Math.max(r[0].bottom, r[1].bottom)"
        " - window.innerHeight) / 2); }",
        [source.element_handle(), target.element_handle()],
    )
    start = source.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    goal = target.bounding_box()
    x, y = goal["x"] + goal["width"] / 2, goal["y"] + 6
    page.mouse.move(x, y, steps=10)
    for wiggle in range(20):
        page.wait_for_function(
            "() => ![...document.querySelectorAll('[data-list] > li')].some(e => e.animated)"
        )
        if target.evaluate(
            "t => !!t.previousElementSibling"
            " && t.previousElementSibling.matches('.sortable-chosen')"
        ):
            break
        page.mouse.move(x, y + 1 + wiggle % 2)
    page.mouse.up()
    saved(page, before)


def published(site: Any, name: str = "sales.deal") -> dict[str, Any]:
    with site.runtime.read() as work:
        return jsoncodec.loads(definition_text(work, name))


def without_ids(definition: Any) -> Any:
    if isinstance(definition, dict):
        return {k: without_ids(v) for k, v in definition.items() if k != "x-id"}
    if isinstance(definition, list):
        return [without_ids(v) for v in definition]
    return definition


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def people_(site):
    return {
        "admin": site.user("admin", admin=True, display="管理员"),
        "rep": site.user("li", display="李雷"),
    }


@pytest.fixture
def deal(site, people_):
    """The form of the first test, published, open to every signed-in user for their own."""
    with site.runtime.write() as work:
        ensure_app(work, "sales", "销售")
        publish(work, "sales.deal", DEAL)
    grant(site.runtime, "sales.deal", {"actions": ["view", "create", "edit"], "scope": "own"})
    return "sales.deal"


@pytest.fixture
def visit(site, deal):
    """A record the rep saved with the first version of the form."""
    with site.runtime.read() as work:
        rep = people.get_user(work, "li")
    with site.runtime.write(rep) as work:
        created = records.create(
            work,
            get_form(work, deal),
            {
                "customer": "上海远景科技",
                "stage": "open",
                "price": "1299.50",
                "quantity": 2,
                "note": "首次拜访，客户关心交期",
                "lines": [{"product": "智能门锁 X1", "qty": 2}],
            },
        )
    return created.id


@pytest.fixture
def admin(browser, site, people_):
    page = new_page(browser, site, DESKTOP)
    sign_in(page, "admin")
    yield page
    page.context.close()


@pytest.fixture
def rep(browser, site, people_):
    page = new_page(browser, site, PHONE)
    sign_in(page, "li")
    yield page
    page.context.close()


# -- the tests -----------------------------------------------------------------------------------


def test_admin_builds_a_ten_field_form_from_an_empty_app_and_publishes_it(admin, site):
    page = admin
    page.goto("/admin/build/")
    page.fill("#app-title", "销售")
    page.fill("#app-name", "sales")
    page.get_by_role("button", name=re.compile("创建应用|Create the app")).click()
    page.locator(".notice").wait_for()
    page.get_by_text(re.compile("^(新建表单|New form)$")).click()
    page.get_by_label(re.compile("^(标题|Title)$")).first.fill("商机")
    page.get_by_label(re.compile("^(名称|Name)")).first.fill("deal")
    page.get_by_role("button", name=re.compile("创建并打开表单设计|Create and open")).click()
    page.wait_for_url("**/admin/build/sales.deal")
    assert page.locator(".field-card").count() == 0

    add_field(page, "text")
    name_field(page, "customer", "客户")
    before = revision(page)
    page.locator("#field-panel input[name=required]").check()
    saved(page, before)
    assert card(page, "customer").locator(".req").is_visible()

    # a select with three options: two renamed, one added
    add_field(page, "select")
    name_field(page, "stage", "阶段")
    page.locator("[data-add-option]").click()
    options = page.locator("[data-option]")
    type_in(
        page,
        *(
            (f"[data-option]:nth-child({row + 1}) input[name={name}]", text)
            for row, (value, label) in enumerate(STAGES)
            for name, text in (("option", value), ("option_label", label))
        ),
    )
    assert options.locator("input[name=option]").evaluate_all("i => i.map(e => e.value)") == [
        "open",
        "won",
        "lost",
    ]

    # shown only when the stage is lost, built with the condition builder
    add_field(page, "textarea")
    name_field(page, "lost_reason", "丢单原因")
    page.get_by_text(re.compile("仅在以下情况显示此字段|Show this field only when")).click()
    before = revision(page)
    page.locator("[data-condition] select[name=vw_field]").first.select_option("stage")
    saved(page, before)
    type_in(page, ("[data-condition] >> nth=0 >> input[name=vw_value]", "lost"))
    assert page.locator("#field-panel code").filter(has_text='stage = "lost"').is_visible()
    badges = card(page, "lost_reason").locator(".badge")
    assert badges.filter(has_text=re.compile("规则|rule")).count()

    add_field(page, "money")
    name_field(page, "price", "单价")
    add_field(page, "number")
    name_field(page, "quantity", "数量")

    # the formula editor checks as the admin types, and says where a formula breaks
    add_field(page, "formula")
    name_field(page, "total", "合计")
    page.fill("#p-formula", "price * (quantity")
    problem = page.locator("#field-panel #formula-check .field-error")
    problem.wait_for()
    assert re.search(r"expected '\)'.*(line|行) 1.*(column|列) 18", problem.inner_text())
    page.fill("#p-formula", "price * quantty")
    page.locator("#formula-check .field-error").filter(has_text="quantty").wait_for()
    page.fill("#p-formula", "price * quantity")
    page.locator("#formula-check .ok").wait_for()
    before = revision(page)
    page.press("#p-formula", "Tab")
    saved(page, before)
    before = revision(page)
    page.select_option("#p-result", "money")
    saved(page, before)
    assert page.locator("#p-formula").input_value() == "price * quantity"

    # a subform with two sub-fields, one a number
    add_field(page, "subform")
    name_field(page, "lines", "明细")
    for type_name, key, label in (("text", "product", "产品"), ("number", "qty", "件数")):
        before = revision(page)
        card(page, "lines").locator(".add-child select").select_option(type_name)
        card(page, "lines").locator(".add-child button").click()
        saved(page, before)
        type_in(page, ("#p-title", label), ("#p-key", key))
    assert keys(page, "lines") == ["product", "qty"]

    add_field(page, "textarea")
    name_field(page, "note", "备注")
    add_field(page, "date")
    name_field(page, "visit_date", "拜访日期")

    # drag the date up before the price; drag a phone field in from the palette
    drag(page, card(page, "visit_date").locator(".handle"), card(page, "price"))
    assert keys(page)[2:5] == ["lost_reason", "visit_date", "price"]
    drag(page, page.locator("[data-palette] li[data-type='phone']"), card(page, "stage"))
    assert keys(page)[1] == "phone"
    open_field(page, "phone")
    name_field(page, "phone", "电话")
    assert keys(page) == list(DEAL["properties"])

    open_field(page, "total")
    page.locator("#formula-check .ok").wait_for()
    shoot(page, "builder-desktop")

    # the preview is the form as a rep will see it, live
    preview = page.frame_locator("[data-preview]")
    preview.locator("#price").fill("12.5")
    preview.locator("#quantity").fill("4")
    preview.locator("#out-total").filter(has_text="50.00").wait_for()
    page.locator(".preview").screenshot(path=str(SCREENSHOTS / "builder-preview-phone.png"))

    page.get_by_role("link", name=re.compile("检查并发布|Review and publish")).click()
    page.wait_for_url("**/publish")
    changes = page.locator(".changes").inner_text()
    assert all(key in changes for key in DEAL["properties"])
    page.get_by_role("button", name=PUBLISH).click()
    page.wait_for_url("**/admin/build/sales.deal")
    assert "1" in page.locator(".builder-status").inner_text()
    assert without_ids(published(site)) == DEAL

    # who may submit: everyone signed in
    before = revision(page)
    page.get_by_label(re.compile("所有已登录用户|everyone signed in")).check()
    saved(page, before)
    with site.runtime.read() as work:
        assert any(g["role"] is None for g in grants_of(work, get_form(work, "sales.deal")))


def test_rep_fills_the_published_form_on_a_phone(rep, deal):
    page = rep
    page.goto("/")
    page.get_by_role("link", name=re.compile("(新建|New) 商机")).click()
    page.wait_for_url("**/f/sales.deal/new")
    page.fill("#customer", "上海远景科技")
    page.fill("#phone", "13800138000")
    # the rule shows the reason only for a lost deal
    assert not page.locator("#fld-lost_reason").is_visible()
    page.select_option("#stage", "lost")
    page.locator("#fld-lost_reason").wait_for(state="visible")
    page.fill("#lost_reason", "预算不够")
    page.select_option("#stage", "open")
    page.locator("#fld-lost_reason").wait_for(state="hidden")
    page.fill("#visit_date", "2026-11-20")
    # the formula follows what the rep types
    page.fill("#price", "1299.5")
    page.fill("#quantity", "2")
    page.locator("#out-total").filter(has_text="2,599.00").wait_for()
    page.fill("#quantity", "3")
    page.locator("#out-total").filter(has_text="3,898.50").wait_for()
    # subform rows come and go
    for product, qty in (("智能门锁 X1", "3"), ("网关", "1")):
        page.click("[data-add-row]")
        row = page.locator("[data-row]").last
        row.locator("input[name$='-product']").fill(product)
        row.locator("input[name$='-qty']").fill(qty)
    assert page.locator("[data-row]").count() == 2
    page.locator("[data-row]").last.locator("[data-remove-row]").click()
    assert page.locator("[data-row]").count() == 1
    page.fill("#note", "首次拜访")
    page.get_by_role("button", name=SUBMIT).click()
    page.wait_for_url(re.compile(r"/f/sales\.deal/\d+$"))
    body = page.locator("main").inner_text()
    for shown in ("上海远景科技", "13800138000", "跟进中", "2026-11-20", "¥3,898.50"):
        assert shown in body, shown
    assert "智能门锁 X1" in body
    assert "网关" not in body and "预算不够" not in body  # a removed row; a hidden field


def test_renaming_a_field_and_remapping_an_option_keeps_old_records_right(admin, rep, site, visit):
    page = admin
    page.goto("/admin/build/sales.deal")
    open_field(page, "note")
    name_field(page, "remark", "跟进备注")
    open_field(page, "stage")
    type_in(
        page,
        ("[data-option]:nth-child(1) input[name=option]", "active"),
        ("[data-option]:nth-child(1) input[name=option_label]", "进行中"),
    )
    page.get_by_role("link", name=re.compile("检查并发布|Review and publish")).click()
    page.wait_for_url("**/publish")
    changes = page.locator(".changes").inner_text()
    assert "note" in changes and "remark" in changes
    impact = page.locator(".impact.needs-fix")
    assert "open" in impact.inner_text() and re.search(r"\b1\b", impact.inner_text())
    impact.locator("select").select_option("=active")
    shoot(page, "builder-publish")
    page.get_by_role("button", name=PUBLISH).click()
    page.wait_for_url("**/admin/build/sales.deal")
    after = published(site)["properties"]
    assert "remark" in after and "note" not in after
    assert after["stage"]["enum"] == ["active", "won", "lost"]

    rep.goto(f"/f/sales.deal/{visit}")
    body = rep.locator("main").inner_text()
    assert "跟进备注" in body and "首次拜访，客户关心交期" in body
    assert "进行中" in body and "跟进中" not in body


def test_publishing_is_refused_until_a_removed_option_in_use_is_mapped(admin, site, visit):
    with site.runtime.write() as work:
        draft = drafts.open_draft(work, "sales.deal")
        definition = copy.deepcopy(draft.definition)
        definition["properties"]["stage"]["enum"] = ["active", "won", "lost"]
        definition["properties"]["stage"]["x-options"][0] = {"value": "active", "label": "进行中"}
        drafts.save_draft(work, "sales.deal", definition, draft.revision)
    page = admin
    page.goto("/admin/build/sales.deal/publish")
    assert page.locator(".impact.needs-fix").is_visible()
    mapping = page.locator(".impact.needs-fix select")
    assert mapping.input_value() == ""  # nothing chosen for the admin
    page.get_by_role("button", name=PUBLISH).click()
    # the browser asks for the mapping; nothing was published, the record keeps its stage
    assert mapping.evaluate("s => !s.validity.valid")
    assert page.url.endswith("/publish")
    with site.runtime.read() as work:
        loaded = get_form(work, "sales.deal")
        kept = records.values_of(loaded, records.get(work, visit))
        assert loaded.form.current_version == 1
    assert kept["stage"] == "open"


def test_a_duplicate_key_is_refused_in_the_panel_and_the_form_is_untouched(admin, site, deal):
    page = admin
    page.goto("/admin/build/sales.deal")
    open_field(page, "note")
    before = revision(page)
    with page.expect_response(lambda r: r.url.endswith("/field")) as answer:
        page.fill("#p-key", "customer")
        page.press("#p-key", "Tab")
    assert answer.value.status == 422
    # the refusal sits right under the key, in the panel of the field being edited
    message = page.locator("#p-key + .hint + .field-error")
    message.wait_for()
    assert message.inner_text().strip()
    assert page.locator("#p-key").get_attribute("aria-invalid") == "true"
    assert page.locator("#builder > .error-box").count() == 0  # said once, where it happened
    assert revision(page) == before
    assert keys(page) == list(DEAL["properties"])
    assert without_ids(published(site)) == DEAL
    page.goto("/f/sales.deal/new")
    assert page.locator("#note").is_visible() and page.locator("#customer").is_visible()
