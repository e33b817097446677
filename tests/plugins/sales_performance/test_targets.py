"""Targets: split top-down to the cent, overridden with rebalancing or approval, measured
bottom-up with progress, forecast and warnings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from formflow.definitions.service import get_form
from formflow.errors import BadRequest, Forbidden
from formflow.people import service as people
from formflow.people.models import Department
from formflow.records import service as records
from sales_performance import measures
from sales_performance.targets import progress, tree
from tests.platform.automations.world import drain
from tests.plugins.sales_performance.world import APP, Sales, build


@pytest.fixture
def sales(runtime, admin) -> Sales:
    return build(runtime, admin)


def department(sales: Sales, name: str) -> int:
    with sales.runtime.read() as work:
        return work.session.scalar(select(Department.id).where(Department.name == name))


def target(
    sales: Sales, amount: str, period: str = "2026", measure: str = "contract_amount", **data
) -> int:
    with sales.runtime.write() as work:
        measures.ensure_defaults(work)
        measure_id = measures.get_measure(work, measure).record_id
        loaded = get_form(work, f"{APP}.sales_target")
        values = {
            "name": f"Company {period}",
            "measure": measure_id,
            "period": period,
            "level": "company",
            "amount": amount,
            **data,
        }
        return records.create(work, loaded, values).id


def split(sales: Sales, target_id: int, as_: str = "admin", **how) -> tree.Target:
    with sales.runtime.write(sales.user(as_)) as work:
        return tree.decompose(work, target_id, **how)


def amounts(node: tree.Target) -> list[Decimal]:
    return [child.amount for child in node.children]


def test_a_year_splits_into_quarters_and_months_to_the_cent(sales):
    # 12,000,000 last year × 1.10 = 13,200,000
    year = target(sales, "13200000")
    quarters = split(sales, year, into="quarter")
    assert amounts(quarters) == [Decimal(3300000)] * 4
    assert [c.period.key for c in quarters.children] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    months = split(sales, quarters.children[0].id, into="month")
    assert amounts(months) == [Decimal(1100000)] * 3
    assert [c.parent for c in months.children] == [quarters.children[0].id] * 3


def test_odd_cents_and_seasonality_still_sum_exactly(sales):
    year = target(sales, "1000000.01")
    weights = [5, 5, 8, 8, 8, 9, 9, 9, 10, 10, 9, 10]
    months = split(sales, year, into="month", method="seasonality", weights=weights)
    assert sum(amounts(months)) == Decimal("1000000.01")
    assert months.children[0].amount < months.children[11].amount
    with pytest.raises(BadRequest) as refused:
        split(sales, year, into="month", method="seasonality", weights=[1, 2], replace=True)
    assert refused.value.errors[0].field == "weights"
    with pytest.raises(BadRequest) as again:
        split(sales, year, into="quarter")
    assert again.value.errors[0].field == "replace"


def test_weeks_that_straddle_a_month_take_their_days_share(sales):
    # June 2026: Mon 1 June … Tue 30 June; W27 (29 June – 5 July) has 2 days in June.
    month = target(sales, "30000", period="2026-06")
    weeks = split(sales, month, into="week")
    keys = [c.period.key for c in weeks.children]
    assert keys == ["2026-W23", "2026-W24", "2026-W25", "2026-W26", "2026-W27"]
    assert amounts(weeks) == [Decimal(7000)] * 4 + [Decimal(2000)]


def test_visits_split_in_whole_visits(sales):
    year = target(sales, "100", measure="visits")
    months = split(sales, year, into="quarter")
    assert amounts(months) == [Decimal(25)] * 4
    months = split(sales, year, into="month", replace=True)
    assert sum(amounts(months)) == 100
    assert all(a == a.to_integral_value() for a in amounts(months))


def test_a_department_splits_over_its_teams_then_its_reps(sales):
    sales_dept = department(sales, "Sales")
    with sales.runtime.write() as work:
        west = people.create_department(work, "West team", parent_id=sales_dept)
        wes = people.create_user(work, "wes")
        people.set_memberships(work, wes.id, [west.id])
    top = target(sales, "1000000.00", period="2026-Q3", level="region", department=sales_dept)
    teams = split(sales, top, by="org")
    assert [c.name for c in teams.children] == ["East team 2026-Q3", "West team 2026-Q3"]
    assert [c.level for c in teams.children] == ["team", "team"]
    assert amounts(teams) == [Decimal("500000.00")] * 2
    east = teams.children[0]
    assert east.member == sales.people["max"].id  # the team's head owns the team target
    reps = split(sales, east.id, by="org", as_="dora")
    assert {c.member for c in reps.children} == {sales.people[n].id for n in ("rita", "ron", "max")}
    assert sum(amounts(reps)) == Decimal("500000.00")
    assert amounts(reps) == [Decimal("166666.67"), Decimal("166666.67"), Decimal("166666.66")]
    with pytest.raises(Forbidden):
        split(sales, east.id, by="org", as_="rita", replace=True)


def test_overriding_a_child_rebalances_its_unlocked_siblings(sales):
    quarter = target(sales, "3000000", period="2026-Q1")
    months = split(sales, quarter, into="month").children
    with sales.runtime.write() as work:
        tree.override(work, months[0].id, "1500000")
    with sales.runtime.read() as work:
        after = tree.tree(work, quarter)
    assert amounts(after) == [Decimal(1500000), Decimal(750000), Decimal(750000)]
    assert after.children[0].locked
    with sales.runtime.write() as work:
        tree.override(work, months[1].id, "1000000")
    with sales.runtime.read() as work:
        after = tree.tree(work, quarter)
    # the first month is locked: only the third one gives way
    assert amounts(after) == [Decimal(1500000), Decimal(1000000), Decimal(500000)]
    with pytest.raises(BadRequest) as refused, sales.runtime.write() as work:
        tree.override(work, months[2].id, "600000")
    assert refused.value.errors[0].field == "amount"
    assert "more than the parent's total leaves" in refused.value.errors[0].message
    with pytest.raises(BadRequest) as refused, sales.runtime.write() as work:
        tree.override(work, months[2].id, "400000")
    assert "every sibling is locked" in refused.value.errors[0].message
    with sales.runtime.read() as work:
        assert amounts(tree.tree(work, quarter)) == [
            Decimal(1500000),
            Decimal(1000000),
            Decimal(500000),
        ]


def test_a_changed_target_rescales_its_own_children(sales):
    year = target(sales, "1200")
    quarters = split(sales, year, into="quarter").children
    split(sales, quarters[0].id, into="month")
    with sales.runtime.write() as work:
        tree.override(work, quarters[0].id, "600")
    with sales.runtime.read() as work:
        whole = tree.tree(work, year)
    assert amounts(whole) == [Decimal(600), Decimal(200), Decimal(200), Decimal(200)]
    assert amounts(whole.children[0]) == [Decimal(200)] * 3


def test_an_override_through_approval_changes_the_parents_when_approved(sales):
    sales_dept = department(sales, "Sales")
    top = target(
        sales, "900", period="2026-Q1", level="team", department=sales_dept, on_override="approval"
    )
    months = split(sales, top, into="month").children
    with sales.runtime.write(sales.user("admin")) as work:
        result = tree.override(work, months[0].id, "500", reason="big deal expected")
    drain(sales.runtime)
    adjustment = result["adjustment"]
    with sales.runtime.read() as work:
        assert amounts(tree.tree(work, top)) == [Decimal(300)] * 3  # nothing yet
    sales.approvers_until_done(adjustment)
    with sales.runtime.read() as work:
        after = tree.tree(work, top)
    assert after.amount == Decimal(1100)
    assert amounts(after) == [Decimal(500), Decimal(300), Decimal(300)]
    assert sales.values("target_adjustment", adjustment)["status"] == "applied"


def test_a_joiner_on_day_17_has_a_prorated_target(sales):
    rita = sales.people["rita"].id
    june = target(
        sales, "30000", period="2026-06", level="rep", member=rita, active_from="2026-06-17"
    )
    with sales.runtime.read() as work:
        effective, how = tree.load(work, june).effective()
    assert effective == Decimal(14000)
    assert "14 of 30 days" in how


def contract(sales: Sales, amount: str, signed_on: str, as_: str) -> None:
    customer = sales.customer(f"C {amount} {signed_on} {as_}", as_=as_)
    sales.create(
        "contract", as_=as_, name="d", customer=customer, amount=amount, signed_on=signed_on
    )


def test_progress_rolls_up_actuals_and_forecasts_the_pipeline(sales, clock):
    east = department(sales, "East team")
    rita, ron = sales.people["rita"].id, sales.people["ron"].id
    team = target(sales, "100000", period="2026-06", level="team", department=east, tolerance="0.1")
    reps = split(sales, team, by="org").children
    contract(sales, "20000", "2026-06-03", "rita")
    contract(sales, "5000", "2026-06-04", "ron")
    contract(sales, "9999", "2026-05-30", "ron")  # May: not June's
    customer = sales.customer("Pipeline")
    sales.create(
        "opportunity",
        name="big",
        customer=customer,
        stage="negotiation",  # 70 %
        amount="10000",
        expected_close="2026-06-20",
    )
    sales.create(
        "opportunity",
        name="later",
        customer=customer,
        stage="proposal",
        amount="50000",
        expected_close="2026-07-20",  # closes in July: not June's forecast
    )
    with sales.runtime.read() as work:
        rows = {
            p.target.id: p for p in progress.progress(work, "2026-06", today=dt.date(2026, 6, 15))
        }
    team_row = rows[team]
    assert team_row.actual == Decimal(25000)
    assert team_row.actual == sum(rows[r.id].actual for r in reps)
    assert team_row.attainment == Decimal("0.25")
    assert team_row.elapsed == Decimal(15) / 30
    assert team_row.pipeline == Decimal(7000)
    assert team_row.forecast == Decimal(32000)
    assert team_row.trailing  # 25 % done, 50 % of the month gone, tolerance 10 %
    by_member = {rows[r.id].target.member: rows[r.id] for r in reps}
    assert by_member[rita].actual == Decimal(20000)
    assert by_member[ron].actual == Decimal(5000)
    assert any("stage probability" in line for line in team_row.explanation)


def test_a_rep_sees_only_their_own_progress(sales):
    east = department(sales, "East team")
    team = target(sales, "100000", period="2026-06", level="team", department=east)
    split(sales, team, by="org")
    with sales.runtime.read(sales.user("rita")) as work:
        rows = progress.progress(work, "2026-06", today=dt.date(2026, 6, 15))
    assert [r.target.member for r in rows] == [sales.people["rita"].id]
    with sales.runtime.read(sales.user("max")) as work:
        rows = progress.progress(work, "2026-06", today=dt.date(2026, 6, 15))
    assert len(rows) == 4  # the team's and its three reps'


def test_trailing_reps_and_their_manager_are_warned(sales, clock):
    east = department(sales, "East team")
    team = target(sales, "90000", period="2026-06", level="team", department=east)
    split(sales, team, by="org")
    contract(sales, "30000", "2026-06-02", "rita")  # rita: 30000 of 30000, on track
    clock.now = dt.datetime(2026, 6, 22, 1, 0, tzinfo=dt.UTC)
    with sales.runtime.write() as work:
        result = progress.warn_trailing(work)
    assert result["period"] == "2026-06"
    assert len(result["warned"]) == 2  # ron and max are at 0 % with 73 % of June gone
    assert any("Behind target" in title for title, _ in sales.inbox("ron"))
    assert not any("Behind target" in title for title, _ in sales.inbox("rita"))
    assert any("Behind target" in title for title, _ in sales.inbox("dora"))  # max's manager
