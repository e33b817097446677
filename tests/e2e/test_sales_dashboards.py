"""The sales plugin's shipped dashboards in Chromium, as the people they are for: a manager
narrows the funnel to their team and clicks a stage to list exactly those opportunities; a
director's team filter narrows the same way; a rep opens their own dashboard on a phone
and reads their own numbers, not a colleague's. Reps see only their dashboard in the list,
managers the managers' ones."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from formflow import Config, Runtime
from formflow.dashboards import service as dashboards
from formflow.dashboards.filters import today
from formflow.definitions.service import get_form
from formflow.migrations import upgrade
from formflow.people import service as people
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.prepare import from_document
from sales_performance import measures
from tests.conftest import EVERYONE_OWN, Person, grant, make_person
from tests.e2e.conftest import DESKTOP, PASSWORD, PHONE, new_page, shoot, sign_in
from tests.platform.automations.world import drain
from tests.plugins.sales_performance.world import APP, Sales, build

TEAM_VIEWS = {"actions": ["view"], "scope": "subtree", "role": "sales_manager"}
NAMES = {
    "victor": "魏总",
    "dora": "杜总监",
    "max": "马经理",
    "rita": "李丽",
    "ron": "罗强",
    "wes": "吴经理",
    "wendy": "王芳",
}
TARGETS = {"rita": "100000", "ron": "80000"}
MANAGERS = {"overview", "funnel", "targets", "leaderboards", "activity", "collections"}
#: (owner, stage, amount); each closes this quarter unless its name says otherwise
OPPORTUNITIES = (
    ("rita", "initial", "12000"),
    ("rita", "needs", "30000"),
    ("rita", "proposal", "45000"),
    ("ron", "proposal", "28000"),
    ("ron", "negotiation", "60000"),
    ("max", "proposal", "90000"),
    ("wendy", "proposal", "33000"),  # West team: another manager's
    ("wendy", "needs", "15000"),
    ("dora", "proposal", "70000"),  # the director's own, in Sales above the teams
    ("victor", "proposal", "99000"),  # the VP's, at the top
)


@pytest.fixture(scope="module")
def sqlite_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine's empty database with the company below seeded once for the module's
    tests (each test's server then runs on a copy)."""
    folder = tmp_path_factory.mktemp("sales-dashboards")
    path = folder / "seeded.db"
    shutil.copy(sqlite_template, path)
    runtime = Runtime(Config(instance_path=folder, database_url=f"sqlite:///{path}"))
    try:
        upgrade(runtime.db.engine)
        seed(runtime)
    finally:
        runtime.close()
    return path


def seed(runtime: Runtime) -> None:
    """The small company of ``world.build`` and a West team beside East under Sales (wes
    heads it, wendy sells in it); reps, managers and the director hold the plugin's roles;
    managers view their subtree's opportunities. This month: targets, contracts and
    follow-ups for rita and ron, and a won deal for rita; this quarter: OPPORTUNITIES, and
    one of rita's at the proposal stage that closes next year."""
    made = build(runtime, make_person(runtime, "admin", admin=True))
    for name in ("wes", "wendy"):
        made.people[name] = make_person(runtime, name)
    ids = {name: person.id for name, person in made.people.items()}
    with runtime.write() as work:
        tree = {d.name: d for ds in people.department_tree(work).values() for d in ds}
        west = people.create_department(
            work, "West team", parent_id=tree["Sales"].id, head_id=ids["wes"]
        )
        for name in ("wes", "wendy"):
            people.set_memberships(work, ids[name], [west.id])
        rep, manager = (people.ensure_role(work, n, n) for n in ("sales_rep", "sales_manager"))
        for name in ("rita", "ron", "wendy"):
            people.set_roles(work, ids[name], [rep.id])
        for name in ("max", "wes", "dora"):
            people.set_roles(work, ids[name], [manager.id])
        password = people.hash_password(PASSWORD)  # once: argon2 is slow on purpose
        for name, display in NAMES.items():
            user = people.get_user(work, name)
            user.display_name = display
            user.password_hash = password
        day = today(work)
        contract_amount = measures.get_measure(work, "contract_amount").record_id
        targets = get_form(work, f"{APP}.sales_target")
        for name, amount in TARGETS.items():
            records.create(
                work,
                targets,
                {
                    "name": f"{name} {day:%Y-%m}",
                    "measure": contract_amount,
                    "period": f"{day:%Y-%m}",
                    "level": "rep",
                    "member": ids[name],
                    "amount": amount,
                },
            )
    grant(runtime, f"{APP}.opportunity", EVERYONE_OWN, TEAM_VIEWS)

    customers = {name: made.customer(f"{NAMES[name]}的客户", as_=name) for name in NAMES}
    closes = day.isoformat()
    for owner, stage, amount in OPPORTUNITIES:
        made.create("opportunity", as_=owner, name=f"{NAMES[owner]} {stage} {amount}",
                    customer=customers[owner], stage=stage, amount=amount,
                    expected_close=closes)  # fmt: skip
    made.create("opportunity", as_="rita", name="next year", customer=customers["rita"],
                stage="proposal", amount="50000",
                expected_close=f"{day.year + 1}-06-30")  # fmt: skip
    for owner, amount in (("rita", "42000"), ("ron", "12000")):
        made.create("contract", as_=owner, name=f"{NAMES[owner]} contract",
                    customer=customers[owner], amount=amount, signed_on=closes)  # fmt: skip
    now = dt.datetime.now(dt.UTC).isoformat()
    for owner, kind in (("rita", "visit"), ("rita", "visit"), ("rita", "call"), ("ron", "call")):
        made.create("follow_up", as_=owner, customer=customers[owner], type=kind,
                    content="谈了二期", visited_at=now)  # fmt: skip
    made.create("opportunity", as_="rita", name="won", customer=customers["rita"],
                stage="won", amount="20000", expected_close=closes)  # fmt: skip
    drain(runtime)  # the plugin's automations keep the stage histories


@pytest.fixture
def sales(site) -> Sales:
    """The seeded company, served by this test's server."""
    with site.runtime.read() as work:
        found = {
            name: Person(people.get_user(work, name).id, name, "", name == "admin")
            for name in ("admin", "fay", *NAMES)
        }
    return Sales(site.runtime, found, {})


# -- what the database holds, read without the dashboards' or the record list's queries -------


def opportunities(sales: Sales) -> list[dict[str, Any]]:
    """Every live opportunity as stored, with its id and department."""
    with sales.runtime.read() as work:
        loaded = get_form(work, f"{APP}.opportunity")
        found = work.session.execute(
            select(Record.id, Record.data, Record.department_id).where(
                Record.form_id == loaded.form.id, Record.deleted_at.is_(None)
            )
        ).all()
        return [
            {**from_document(loaded.spec, data), "id": i, "department": d} for i, data, d in found
        ]


def this_quarter(sales: Sales) -> tuple[dt.date, dt.date]:
    with sales.runtime.read() as work:
        day = today(work)
    first = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    after = dt.date(first.year + (first.month == 10), (first.month + 2) % 12 + 1, 1)
    return first, after - dt.timedelta(days=1)


def departments_below(sales: Sales, name: str) -> set[int]:
    with sales.runtime.read() as work:
        tree = {d.name: d.id for ds in people.department_tree(work).values() for d in ds}
        return set(people.departments_below(work, {tree[name]}))


def in_stage(sales: Sales, stage: str, departments: set[int]) -> set[int]:
    first, last = this_quarter(sales)
    return {
        o["id"]
        for o in opportunities(sales)
        if o["stage"] == stage
        and first <= dt.date.fromisoformat(str(o["expected_close"])) <= last
        and o["department"] in departments
    }


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


# -- the pages ---------------------------------------------------------------------------------


def listed(page: Any) -> set[int]:
    """The record ids the record list shows."""
    hrefs = page.locator("table.records tbody td.main a").evaluate_all(
        "links => links.map((a) => a.getAttribute('href'))"
    )
    return {int(re.search(r"/(\d+)(?:\?|$)", h).group(1)) for h in hrefs}


def click_stage(page: Any, stage: str) -> None:
    """A real mouse click in the middle of the funnel's trapezoid for ``stage``."""
    selector = "[data-chart-card=by_stage] [data-chart]"
    page.wait_for_selector(f"{selector} canvas")
    page.wait_for_timeout(600)  # the entry animation
    point = page.evaluate(
        """([selector, stage]) => {
          const element = document.querySelector(selector);
          const rows = element._chartData.rows;
          const index = rows.findIndex((row) => row.keys[0] === stage);
          const shape = element._chart.getModel().getSeriesByIndex(0).getData()
            .getItemGraphicEl(index).shape.points;
          const box = element.querySelector("canvas").getBoundingClientRect();
          const mean = (k) => shape.reduce((sum, p) => sum + p[k], 0) / shape.length;
          return {x: box.left + mean(0), y: box.top + mean(1)};
        }""",
        [selector, stage],
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(re.compile(rf"/f/{re.escape(APP)}\.opportunity/\?"))
    page.wait_for_selector("table.records")


def choose_team(page: Any, team: str) -> None:
    page.select_option("[data-dashboard-filters] select[name=department]", label=team)
    page.click("[data-dashboard-filters] button[type=submit]")
    page.wait_for_url(re.compile(r"department=\d+"))


def dashboards_listed(page: Any) -> set[str]:
    page.goto("/dashboards/")
    names = page.locator("[data-dashboard]").evaluate_all(
        "items => items.map((li) => li.dataset.dashboard)"
    )
    return {name.removeprefix(f"{APP}.") for name in names}


def errors_of(page: Any) -> list[str]:
    found: list[str] = []
    page.on("pageerror", lambda error: found.append(str(error)))
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    return found


def test_a_manager_filters_the_funnel_to_their_team_and_lists_one_stage(browser, site, sales):
    east = departments_below(sales, "East team")
    expected = in_stage(sales, "proposal", east)
    assert len(expected) == 3  # rita's, ron's and max's; not next year's
    everywhere = in_stage(sales, "proposal", {o["department"] for o in opportunities(sales)})
    assert len(everywhere - expected) == 3  # West's, the director's and the VP's

    with site.runtime.read(sales.user("fay")) as work:  # finance: the money only
        assert {d.name for d, _ in dashboards.visible(work)} == {f"{APP}.collections"}

    page = new_page(browser, site, DESKTOP)
    problems = errors_of(page)
    sign_in(page, "max")
    assert dashboards_listed(page) == MANAGERS | {"my"}
    page.goto(f"/dashboards/{APP}.funnel")
    choose_team(page, "East team")
    page.wait_for_selector("[data-chart-card=by_stage] canvas")
    page.wait_for_timeout(1500)  # the charts' entry animation
    shoot(page, "sales-dashboard-manager")
    click_stage(page, "proposal")
    assert listed(page) == expected
    assert problems == []

    # the director heads both teams: the same filter narrows her wider view to East's
    director = new_page(browser, site, DESKTOP)
    sign_in(director, "dora")
    director.goto(f"/dashboards/{APP}.funnel")
    click_stage(director, "proposal")
    assert listed(director) == in_stage(sales, "proposal", departments_below(sales, "Sales"))
    director.go_back()
    choose_team(director, "East team")
    click_stage(director, "proposal")
    assert listed(director) == expected
    page.context.close()
    director.context.close()


def test_a_rep_reads_only_their_own_numbers_on_a_phone(browser, site, sales):
    rows = {
        form: [
            {**sales.values(form, i), "_owner": o}
            for i, o in _owned(sales, form)
        ]
        for form in ("contract", "follow_up", "opportunity")
    }  # fmt: skip

    def own(name: str) -> dict[str, str]:
        me = sales.people[name].id
        signed = sum(
            (Decimal(str(c["amount"])) for c in rows["contract"] if c["_owner"] == me), Decimal(0)
        )
        target = Decimal(TARGETS[name])
        calls = [f for f in rows["follow_up"] if f["_owner"] == me]
        won = [o for o in rows["opportunity"] if o["_owner"] == me and o["stage"] == "won"]
        return {
            "progress": money(signed),
            "target": money(target),
            "attainment": f"{signed / target * 100:.1f}%",
            "visits": str(sum(1 for f in calls if f["type"] == "visit")),
            "follow_ups": str(len(calls)),
            "won": str(len(won)),
        }

    rita, ron = own("rita"), own("ron")
    assert rita["progress"] != ron["progress"] and rita["visits"] != ron["visits"]

    page = new_page(browser, site, PHONE)
    sign_in(page, "rita")
    assert dashboards_listed(page) == {"my"}
    assert page.goto(f"/dashboards/{APP}.funnel").status == 404
    problems = errors_of(page)
    page.goto(f"/dashboards/{APP}.my")
    page.wait_for_selector("[data-chart-card=target] canvas")
    page.wait_for_timeout(1500)

    def card(chart: str) -> tuple[str, list[str]]:
        found = page.locator(f"[data-chart-card={chart}]")
        more = found.locator(".number-more").all_inner_texts()
        return found.locator(".number-value").inner_text(), more

    value, more = card("progress")
    assert value == rita["progress"]
    assert f"目标：{rita['target']}" in more and f"达成率：{rita['attainment']}" in more
    value, more = card("activity")
    assert value == rita["visits"] and f"跟进次数：{rita['follow_ups']}" in more
    assert card("won")[0] == rita["won"]
    shown = page.locator("main").inner_text()
    assert ron["progress"] not in shown and ron["target"] not in shown
    assert page.locator("select[name=owner], select[name=department]").count() == 0
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    shoot(page, "sales-dashboard-phone")
    assert problems == []
    page.context.close()


def _owned(sales: Sales, form: str) -> list[tuple[int, int]]:
    with sales.runtime.read() as work:
        loaded = get_form(work, f"{APP}.{form}")
        return list(
            work.session.execute(
                select(Record.id, Record.owner_id).where(
                    Record.form_id == loaded.form.id, Record.deleted_at.is_(None)
                )
            ).all()
        )
