"""KPI scorecards: the shipped plan scored from records in SQL, explained, published, appealed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from formflow.definitions.service import get_form
from formflow.errors import BadRequest, FormflowError, ValidationFailed
from formflow.people import service as people
from formflow.records import service as records
from formflow.records.models import Record
from sales_performance import measures
from sales_performance.kpi import plans, scorecards
from tests.conftest import EVERYONE_OWN, grant
from tests.platform.automations.world import drain
from tests.plugins.sales_performance.world import APP, Sales, build


@pytest.fixture
def sales(runtime, admin) -> Sales:
    world = build(runtime, admin)
    with runtime.write() as work:
        rep = people.ensure_role(work, "sales_rep", "Sales rep")
        manager = people.ensure_role(work, "sales_manager", "Sales manager")
        for name in ("rita", "ron"):
            people.set_roles(work, world.people[name].id, [rep.id])
        people.set_roles(work, world.people["max"].id, [manager.id])
        plans.ensure_defaults(work)
    for form in ("payment", "kpi_appeal", "kpi_manual_score"):
        grant(runtime, f"{APP}.{form}", EVERYONE_OWN)
    grant(runtime, f"{APP}.kpi_result", {"actions": ["view"], "scope": "own"})
    return world


def rep_target(sales: Sales, name: str, measure: str, amount: str, period: str = "2026-06") -> int:
    with sales.runtime.write() as work:
        return records.create(
            work,
            get_form(work, f"{APP}.sales_target"),
            {
                "name": f"{name} {measure}",
                "measure": measures.get_measure(work, measure).record_id,
                "period": period,
                "level": "rep",
                "member": sales.people[name].id,
                "amount": amount,
            },
        ).id


def june_for_rita(sales: Sales) -> None:
    rep_target(sales, "rita", "contract_amount", "100000")
    rep_target(sales, "rita", "collected", "50000")
    customer = sales.customer("Acme")
    signed = sales.create(
        "contract", name="deal", customer=customer, amount="60000", signed_on="2026-06-08"
    )
    sales.create(
        "payment",
        contract=signed,
        customer=customer,
        planned_amount="50000",
        planned_on="2026-06-20",
        actual_amount="50000",
        received_on="2026-06-18",
    )
    days = [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        12,
    ]  # each plans the next for the day after: the 12th is late
    for day in days:
        sales.create(
            "follow_up",
            customer=customer,
            type="visit",
            content="visit",
            visited_at=f"2026-06-{day:02d}T02:00:00Z",
            next_follow_up_at=f"2026-06-{day + 1:02d}T02:00:00Z",
            satisfaction=4,
        )
        drain(sales.runtime)
    with sales.runtime.write(sales.user("max")) as work:
        records.create(
            work,
            get_form(work, f"{APP}.kpi_manual_score"),
            {
                "member": sales.people["rita"].id,
                "period": "2026-06",
                "metric": "collaboration",
                "score": 80,
                "comment": "helped the west team",
            },
        )


def card_of(sales: Sales, name: str, as_: str = "admin", period: str = "2026-06"):
    with sales.runtime.read(sales.user(as_)) as work:
        return scorecards.scorecard(work, period, sales.people[name].id).as_dict()


def test_the_shipped_plan_scores_a_rep_from_the_records(sales):
    june_for_rita(sales)
    card = card_of(sales, "rita")
    lines = {line["metric"]: line for line in card["lines"]}
    assert Decimal(lines["contract_amount"]["actual"]) == 60000
    assert Decimal(lines["contract_amount"]["score"]) == 60  # 60 % of 100,000
    assert Decimal(lines["collected"]["score"]) == 100
    assert Decimal(lines["visits"]["actual"]) == 10
    assert Decimal(lines["visits"]["score"]) == Decimal(100) / 3  # 10 of 30, linear
    assert Decimal(lines["timeliness"]["actual"]) == Decimal("0.9")  # 9 of 10 on time
    assert Decimal(lines["timeliness"]["score"]) == 100  # 0.9 / 0.9 reaches the 100 % band
    assert Decimal(lines["satisfaction"]["actual"]) == 4
    assert Decimal(lines["collaboration"]["score"]) == 80
    # 40×60 + 20×100 + 15×(10/30×100) + 10×100 + 10×(4/4.5×100) + 5×80, over 100
    expected = (
        Decimal(2400)
        + 2000
        + Decimal(15) * Decimal(10) / 30 * 100
        + 1000
        + Decimal(10) * Decimal(4) / Decimal("4.5") * 100
        + 400
    ) / 100
    assert Decimal(card["score"]) == expected.quantize(Decimal("0.01"))
    assert card["score"] == "71.89"
    assert card["grade"] == "B"
    assert "target from rita contract_amount" in lines["contract_amount"]["explanation"]
    assert card["explanation"][-1].startswith("grade: 71.89 ≥ 70")


def test_scorecards_scored_without_explanations_have_the_same_numbers(sales):
    june_for_rita(sales)
    with sales.runtime.read() as work:
        explained = scorecards.scorecards(work, "2026-06", everyone=True)
        quiet = scorecards.scorecards(work, "2026-06", everyone=True, explain=False)

    def numbers(card):
        return (
            card.member,
            card.total,
            [
                (line.result.actual, line.result.target, line.result.attainment, line.score)
                for line in card.lines
            ],
        )

    assert [numbers(card) for card in quiet] == [numbers(card) for card in explained]
    assert {card.total for card in quiet} != {Decimal(0)}
    computed = [line for card in quiet for line in card.lines if line.item.source != "manual"]
    assert computed and all(line.result.explanation == "" for line in computed)


def test_a_rep_sees_their_own_scorecard_and_the_records_behind_it(sales):
    june_for_rita(sales)
    with sales.runtime.read(sales.user("rita")) as work:
        cards = scorecards.scorecards(work, "2026-06")
        behind = scorecards.counted_records(work, "2026-06", sales.people["rita"].id, "visits")
    assert [c.member for c in cards] == [sales.people["rita"].id]
    assert len(behind) == 10
    assert all(row["link"].startswith(f"/f/{APP}.follow_up/") for row in behind)
    with sales.runtime.read(sales.user("max")) as work:
        seen = {c.member for c in scorecards.scorecards(work, "2026-06")}
    assert seen == {sales.people[n].id for n in ("rita", "ron", "max")}


def test_a_team_metric_adds_up_the_team(sales):
    june_for_rita(sales)
    sales.create(
        "contract",
        as_="ron",
        name="ron's",
        customer=sales.customer("Ron's", as_="ron"),
        amount="15000",
        signed_on="2026-06-09",
    )
    card = card_of(sales, "max")
    lines = {line["metric"]: line for line in card["lines"]}
    assert Decimal(lines["team_contract_amount"]["actual"]) == 75000
    assert lines["team_contract_amount"]["score"] is None  # no team target yet
    assert "no sales target" in lines["team_contract_amount"]["explanation"]


def test_a_plan_whose_weights_do_not_sum_to_100_is_refused_and_nothing_is_saved(sales):
    with sales.runtime.read() as work:
        loaded = get_form(work, f"{APP}.kpi_plan")
        before = work.session.scalar(
            select(func.count()).select_from(Record).where(Record.form_id == loaded.form.id)
        )
    bad = {
        "name": "broken",
        "role": "sales_rep",
        "period_kind": "month",
        "metrics": [
            {"key": "a", "name": "A", "weight": 60, "source": "measure", "measure": "visits",
             "target": 10},
            {"key": "b", "name": "B", "weight": 35, "source": "measure", "measure": "nope",
             "target": 10},
        ],
    }  # fmt: skip
    with pytest.raises(ValidationFailed) as refused, sales.runtime.write() as work:
        records.create(work, get_form(work, f"{APP}.kpi_plan"), bad)
    messages = [(e.field, e.message) for e in refused.value.errors]
    assert ("metrics", "weights sum to 95, not 100") in messages
    with sales.runtime.read() as work:
        after = work.session.scalar(
            select(func.count()).select_from(Record).where(Record.form_id == loaded.form.id)
        )
    assert after == before
    bad["metrics"][1]["weight"] = 40
    with pytest.raises(ValidationFailed) as refused, sales.runtime.write() as work:
        records.create(work, get_form(work, f"{APP}.kpi_plan"), bad)
    assert refused.value.errors[0].field == "metrics[1].measure"
    assert "no measure 'nope'" in refused.value.errors[0].message


def test_published_scorecards_are_frozen_and_an_accepted_appeal_is_recorded(sales):
    june_for_rita(sales)
    with sales.runtime.write() as work:
        published = scorecards.publish(work, "2026-06")
    assert len(published["published"]) == 3
    # a late contract no longer changes the published scorecard
    sales.create(
        "contract", name="late", customer=sales.customer("Late"), amount="40000",
        signed_on="2026-06-30",
    )  # fmt: skip
    card = card_of(sales, "rita")
    assert card["status"] == "published"
    assert card["score"] == "71.89"
    result = card["result"]
    appeal = sales.create(
        "kpi_appeal", result=result, metric="visits", comment="two visits were logged late",
        proposed_score=70,
    )  # fmt: skip
    drain(sales.runtime)
    assert sales.pending(appeal) == [("manager", "max")]
    sales.act("max", appeal, data={"decided_score": 70})
    card = card_of(sales, "rita")
    lines = {line["metric"]: line for line in card["lines"]}
    assert Decimal(lines["visits"]["score"]) == Decimal("33.3333")
    assert Decimal(lines["visits"]["adjustment"]) == Decimal("36.6667")
    assert f"appeal #{appeal} accepted" in lines["visits"]["explanation"]
    assert card["score"] == "77.39"  # visits now 70: 15 × 70 / 100 instead of 15 × 33.33 / 100
    assert sales.values("kpi_appeal", appeal)["status"] == "accepted"


def test_an_appeal_on_someone_elses_scorecard_is_refused(sales):
    june_for_rita(sales)
    with sales.runtime.write() as work:
        scorecards.publish(work, "2026-06")
    result = card_of(sales, "rita")["result"]
    with pytest.raises(FormflowError) as refused:  # ron may not even see it
        sales.create("kpi_appeal", as_="ron", result=result, metric="visits", comment="mine?")
    assert refused.value.errors[0].field == "result"
    grant(sales.runtime, f"{APP}.kpi_result", {"actions": ["view"], "scope": "all"})
    with pytest.raises(BadRequest) as refused:  # now he sees it, but it is not his
        sales.create("kpi_appeal", as_="ron", result=result, metric="visits", comment="mine?")
    assert refused.value.errors[0].field == "result"
    assert "your own scorecard" in refused.value.errors[0].message
    with pytest.raises(BadRequest) as refused:
        sales.create("kpi_appeal", result=result, metric="nope", comment="?")
    assert refused.value.errors[0].field == "metric"
