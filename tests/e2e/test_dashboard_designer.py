"""An admin builds a dashboard in the designer — three charts and a filter — in a real
browser, and opens it: the charts are drawn, a bar drills down to its records, and on a
phone the charts stack."""

from __future__ import annotations

from typing import Any

import pytest

from formflow.dashboards import service as dashboards
from formflow.people import service as people
from tests.conftest import Clock
from tests.e2e.conftest import DESKTOP, PASSWORD, PHONE, new_page, shoot, sign_in
from tests.platform.dashboards.world import FORM, build


@pytest.fixture
def team(site) -> Any:
    team = build(site.runtime, Clock())
    with site.runtime.write() as work:
        for name in ("boss", "ann"):
            people.set_password(work, people.get_user(work, name), PASSWORD)
    return team


def errors_of(page: Any) -> list[str]:
    found: list[str] = []
    page.on("pageerror", lambda error: found.append(str(error)))
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    return found


def pick(page: Any, selector: str, value: str) -> None:
    page.select_option(f"[data-panel] {selector}", value)


def test_an_admin_builds_a_dashboard_with_three_charts_and_a_filter(browser, site, team):
    page = new_page(browser, site, DESKTOP)
    problems = errors_of(page)
    sign_in(page, "boss")
    page.goto("/admin/dashboards/")
    page.fill("[data-new-dashboard] input[name=name]", "shop.board")
    page.fill("[data-new-dashboard] input[name=title]", "销售看板")
    page.click("[data-new-dashboard] button[type=submit]")
    page.wait_for_selector("[data-designer]")
    page.check("[data-filter=owner]")  # maybe before the designer's script has started
    page.wait_for_selector("[data-designer][data-ready]")

    page.click("[data-add-chart]")  # 1: deals by stage, a bar
    pick(page, '[data-chart-key="data"]', f"form:{FORM}")
    pick(page, '[data-chart-key="type"]', "bar")
    pick(page, "[data-dimension='0'] [data-dim-field]", "stage")
    page.wait_for_selector("[data-panel] [data-preview-chart] canvas")

    page.click("[data-add-chart]")  # 2: deals by region, a pie
    pick(page, '[data-chart-key="type"]', "pie")
    pick(page, "[data-dimension='0'] [data-dim-field]", "region")

    page.click("[data-add-chart]")  # 3: the total amount, a number card
    pick(page, '[data-chart-key="type"]', "number")
    page.select_option("[data-panel] [data-measures] [data-m=agg]", "sum")
    page.select_option("[data-panel] [data-measures] [data-m=field]", "amount")
    page.wait_for_function(
        "document.querySelector('[data-panel] [data-preview-chart]').textContent.includes(',')"
    )
    assert page.locator(".grid-stack-item").count() == 3
    page.wait_for_selector(".grid-stack-item[gs-id=chart1] canvas")
    page.wait_for_timeout(1500)
    shoot(page, "dashboard-designer")
    page.click("[data-save]")
    page.wait_for_selector(".notice")

    with site.runtime.read() as work:
        spec = dashboards.spec_of(work, dashboards.get_dashboard(work, "shop.board"))
    assert [c.type for c in spec.charts] == ["bar", "pie", "number"]
    assert spec.filters == ("period", "owner")
    assert spec.charts[0].dimensions[0].field == "stage"

    page.goto("/dashboards/shop.board")
    page.wait_for_selector("[data-chart-card=chart1] canvas")
    page.wait_for_selector("[data-chart-card=chart2] canvas")
    page.wait_for_timeout(1500)
    shoot(page, "dashboard-desktop")
    total = page.inner_text("[data-chart-card=chart3]")
    expected = sum(float(d["amount"]) for d in team.deals())
    assert f"{expected:,.2f}" in total
    # a click on the 'Won' bar lists the won deals
    chart = page.locator("[data-chart-card=chart1] [data-chart]")
    box = chart.bounding_box()
    page.evaluate(
        """() => { const el = document.querySelector('[data-chart-card=chart1] [data-chart]');
        el._chart.dispatchAction({type: 'highlight', dataIndex: 3});
        el._chart.trigger('click', {dataIndex: 3, componentType: 'series', seriesIndex: 0}); }"""
    )
    assert box
    page.wait_for_url(lambda url: f"/f/{FORM}/" in url, timeout=5000)
    assert "fv=won" in page.url
    won = sum(1 for d in team.deals() if d["stage"] == "won")
    assert page.locator("table.records tbody tr").count() == won
    assert problems == []

    phone = new_page(browser, site, PHONE)
    sign_in(phone, "boss")
    phone.goto("/dashboards/shop.board")
    phone.wait_for_selector("[data-chart-card=chart2] canvas")
    phone.wait_for_timeout(1500)  # the charts' entry animation
    boxes = [phone.locator(f"[data-chart-card=chart{i}]").bounding_box() for i in (1, 2, 3)]
    assert all(b and b["width"] > 300 for b in boxes)  # stacked, each the phone's width
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
    shoot(phone, "dashboard-phone")


def test_what_is_ticked_before_the_designer_starts_is_kept(browser, site, team):
    """The designer's script starts after the chart libraries have loaded; a setting
    changed before then is read from the page, not reset to the saved one."""
    with site.runtime.write() as work:
        dashboards.publish(
            work, {"name": "shop.slow", "title": "慢", "filters": ["period"], "charts": []}
        )
    page = new_page(browser, site, DESKTOP)
    sign_in(page, "boss")
    page.route("**/designer.js*", lambda route: route.abort())
    page.goto("/admin/dashboards/shop.slow")
    assert page.is_checked("[data-filter=period]")  # drawn in its saved state
    assert page.input_value("[data-setting='title.zh-CN']") == "慢"
    page.check("[data-filter=owner]")
    page.fill("[data-setting='title.en']", "Slow")
    page.unroute("**/designer.js*")
    source = page.get_attribute("script[src*='designer.js']", "src")
    page.add_script_tag(url=source)
    page.wait_for_selector("[data-designer][data-ready]")
    assert page.is_checked("[data-filter=owner]")
    page.click("[data-save]")
    page.wait_for_selector(".notice")
    with site.runtime.read() as work:
        spec = dashboards.spec_of(work, dashboards.get_dashboard(work, "shop.slow"))
    assert spec.filters == ("period", "owner")
    assert spec.title == {"zh-CN": "慢", "en": "Slow"}
