"""Incentives end to end: plans as records, statements computed from the records, approved,
locked, rerun into adjustments, clawed back, exported and estimated."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from formflow.definitions.service import get_form
from formflow.errors import BadRequest, Forbidden, ValidationFailed
from formflow.people import service as people
from formflow.people.models import Department
from formflow.records import service as records
from sales_performance import measures
from sales_performance.incentives import estimate, export, statements
from sales_performance.incentives.compute import compute, parse_records
from sales_performance.kpi import plans as kpi_plans
from sales_performance.periods import Period
from tests.conftest import EVERYONE_OWN, grant, make_person
from tests.platform.automations.world import drain
from tests.plugins.sales_performance.world import APP, Sales, build

TIERS = "0-80:2%, 80-100:4%, 100-120:6%, 120-:8%"


@pytest.fixture
def sales(runtime, admin) -> Sales:
    world = build(runtime, admin)
    world.people["hana"] = make_person(runtime, "hana")
    with runtime.write() as work:
        closer = people.ensure_role(work, "closer", "Closer")
        hr = people.ensure_role(work, "hr", "HR")
        finance = people.ensure_role(work, "finance", "Finance")
        for name in ("rita", "ron"):
            people.set_roles(work, world.people[name].id, [closer.id])
        people.set_roles(work, world.people["hana"].id, [hr.id])
        people.set_roles(work, world.people["fay"].id, [finance.id])
        kpi_plans.ensure_defaults(work)
    grant(runtime, f"{APP}.payment", EVERYONE_OWN)
    return world


def plan(sales: Sales, *rules: dict, effective_from: str = "2026-01-01", name: str = "P") -> int:
    with sales.runtime.write() as work:
        measures.ensure_defaults(work)
        return records.create(
            work,
            get_form(work, f"{APP}.incentive_plan"),
            {
                "name": name,
                "role": "closer",
                "effective_from": effective_from,
                "period_kind": "month",
                "rules": list(rules),
            },
        ).id


def commission(**more) -> dict:
    return {"key": "commission", "name": "提成", "kind": "commission",
            "measure": "contract_amount", "tiers": TIERS, "mode": "marginal", **more}  # fmt: skip


def rep_target(sales: Sales, name: str, amount: str, period: str = "2026-06") -> None:
    with sales.runtime.write() as work:
        records.create(
            work,
            get_form(work, f"{APP}.sales_target"),
            {
                "name": f"{name} {period}",
                "measure": measures.get_measure(work, "contract_amount").record_id,
                "period": period,
                "level": "rep",
                "member": sales.people[name].id,
                "amount": amount,
            },
        )


def contract(sales: Sales, amount: str, signed_on: str = "2026-06-10", as_="rita", **more) -> int:
    customer = sales.customer(f"C {amount} {signed_on} {as_} {more}", as_=as_)
    return sales.create(
        "contract", as_=as_, name="d", customer=customer, amount=amount, signed_on=signed_on, **more
    )


def run(sales: Sales, period: str = "2026-06", as_: str = "admin") -> dict:
    with sales.runtime.write(sales.user(as_)) as work:
        return statements.run_period(work, period)


def statement_of(sales: Sales, name: str, period: str = "2026-06") -> list[dict]:
    with sales.runtime.read() as work:
        return statements.list_statements(work, period, member=sales.people[name].id)


def lines(statement: dict) -> dict[str, Decimal]:
    return {line["rule"]: Decimal(line["amount"]) for line in statement["lines"]}


def test_marginal_and_retroactive_commission_on_the_worked_example(sales):
    plan(sales, commission())
    rep_target(sales, "rita", "1000000")
    contract(sales, "1000000")
    contract(sales, "300000")
    run(sales)
    [mine] = statement_of(sales, "rita")
    assert lines(mine) == {"commission": Decimal("44000.00")}
    assert "44,000" in mine["lines"][0]["explanation"]
    assert mine["lines"][0]["records"].startswith("contract:")
    plan(sales, commission(mode="retroactive"), name="P2", effective_from="2026-02-01")
    run(sales)  # the draft is replaced, by the plan in effect now
    [mine] = statement_of(sales, "rita")
    assert lines(mine) == {"commission": Decimal("104000.00")}


def test_the_cap_and_the_kpi_gate(sales):
    plan(sales, commission(cap_amount="30000", gate_score=60, gate_factor="0.5"))
    rep_target(sales, "rita", "1000000")
    contract(sales, "1300000")
    with sales.runtime.write() as work:
        records.create(
            work,
            get_form(work, f"{APP}.kpi_plan"),
            {"name": "closers", "role": "closer", "period_kind": "month",
             "metrics": [{"key": "judgement", "name": "J", "dimension": "result",
                          "weight": 100, "source": "manual"}]},
        )  # fmt: skip
        score = records.create(
            work,
            get_form(work, f"{APP}.kpi_manual_score"),
            {"member": sales.people["rita"].id, "period": "2026-06", "metric": "judgement",
             "score": 60, "comment": "exactly the gate"},
        )  # fmt: skip
    run(sales)
    [mine] = statement_of(sales, "rita")
    assert lines(mine) == {"commission": Decimal("30000.00")}  # 44,000 capped; 60 passes
    assert "capped" in mine["lines"][0]["explanation"]
    assert "≥ gate 60" in mine["lines"][0]["explanation"]
    with sales.runtime.write() as work:
        records.change_as_step(
            work, get_form(work, f"{APP}.kpi_manual_score"), score.id, {"score": "59.99"}, None
        )
    run(sales)
    [mine] = statement_of(sales, "rita")
    assert lines(mine) == {"commission": Decimal("15000.00")}  # below the gate: × 50 %


def test_credit_splits_with_odd_cents(sales):
    plan(sales, commission(tiers="0-:10%", mode="retroactive"))
    rep_target(sales, "rita", "100")
    rep_target(sales, "ron", "100")
    rita, ron = sales.people["rita"].id, sales.people["ron"].id
    contract(sales, "1000.01", team=[{"member": rita, "share": 60}, {"member": ron, "share": 40}])
    run(sales)
    assert lines(statement_of(sales, "rita")[0]) == {"commission": Decimal("60.00")}  # 60.0006
    assert lines(statement_of(sales, "ron")[0]) == {"commission": Decimal("40.00")}  # 40.0004
    bad = {"member": rita, "share": 60}, {"member": ron, "share": 30}
    with pytest.raises(BadRequest) as refused:
        contract(sales, "10.00", team=list(bad))
    assert refused.value.errors[0].field == "team"
    assert "sum to 90" in refused.value.errors[0].message


def test_a_commission_base_is_the_sum_of_the_records_it_lists(sales):
    plan(sales, commission(tiers="0-:10%", mode="retroactive"))
    rep_target(sales, "rita", "100")
    rep_target(sales, "ron", "100")
    rita, ron = sales.people["rita"].id, sales.people["ron"].id
    contract(sales, "1000.01", team=[{"member": rita, "share": 60}, {"member": ron, "share": 40}])
    contract(sales, "333.33")
    contract(
        sales, "0.07", as_="ron", team=[{"member": ron, "share": 50}, {"member": rita, "share": 50}]
    )
    period = Period.parse("2026-06")
    with sales.runtime.read() as work:
        bases = {s.member: s.lines[0] for s in compute(work, period)}
        by_sql = measures.actuals(
            work, measures.get_measure(work, "contract_amount"), period.start, period.end
        )
    for person in (rita, ron):
        line = bases[person]
        _, listed = parse_records(line.records[0])
        assert line.base == by_sql[person] == sum(listed.values())
    assert bases[rita].base == Decimal("600.006") + Decimal("333.33") + Decimal("0.035")


def test_team_award_spif_and_honours(sales):
    plan(
        sales,
        {"key": "team", "name": "团队奖", "kind": "team_award", "measure": "contract_amount",
         "amount": "20000"},
        {"key": "visits", "name": "拜访奖", "kind": "spif", "measure": "visits", "amount": "50"},
    )  # fmt: skip
    with sales.runtime.write() as work:
        east = work.session.scalar(select(Department.id).where(Department.name == "East team"))
        records.create(
            work,
            get_form(work, f"{APP}.sales_target"),
            {"name": "East June",
             "measure": measures.get_measure(work, "contract_amount").record_id,
             "period": "2026-06", "level": "team", "department": east,
             "member": sales.people["max"].id, "amount": "100000"},
        )  # fmt: skip
    contract(sales, "60000")
    contract(sales, "50000", as_="ron")
    customer = sales.customer("Visited")
    for day in (1, 2, 3):
        sales.create("follow_up", customer=customer, type="visit", content="v",
                     visited_at=f"2026-06-0{day}T02:00:00Z")  # fmt: skip
    run(sales)
    rita = lines(statement_of(sales, "rita")[0])
    ron = lines(statement_of(sales, "ron")[0])
    # 20,000 × 60/110 = 10,909.0909…, × 50/110 = 9,090.9090…: the odd cent to the larger rest
    assert rita["team"] == Decimal("10909.09")
    assert ron["team"] == Decimal("9090.91")
    assert rita["team"] + ron["team"] == Decimal(20000)
    assert rita["visits"] == Decimal("150.00")
    assert ron["visits"] == Decimal("0.00")


def test_honours_go_to_the_top_kpi_score(sales):
    plan(sales, {"key": "star", "name": "销售之星", "kind": "honours", "top_n": 1,
                 "title": "销售之星", "amount": "1000"})  # fmt: skip
    with sales.runtime.write() as work:
        records.create(
            work,
            get_form(work, f"{APP}.kpi_plan"),
            {"name": "closers", "role": "closer", "period_kind": "month",
             "metrics": [{"key": "judgement", "name": "J", "dimension": "result",
                          "weight": 100, "source": "manual"}]},
        )  # fmt: skip
        for name, score in (("rita", 70), ("ron", 90)):
            records.create(
                work,
                get_form(work, f"{APP}.kpi_manual_score"),
                {"member": sales.people[name].id, "period": "2026-06", "metric": "judgement",
                 "score": score, "comment": "-"},
            )  # fmt: skip
    run(sales)
    assert lines(statement_of(sales, "ron")[0]) == {"star": Decimal("1000.00")}
    assert lines(statement_of(sales, "rita")[0]) == {}
    assert "销售之星" in statement_of(sales, "ron")[0]["lines"][0]["explanation"]


def approve(sales: Sales, statement_id: int) -> None:
    with sales.runtime.write(sales.user("fay")) as work:
        statements.submit(work, statement_id)
    drain(sales.runtime)
    asked = sales.approvers_until_done(statement_id)
    assert asked == [["max"], ["fay", "hana"]]  # the manager, then finance and HR


def test_approval_locks_a_statement_and_a_rerun_adjusts_and_claws_back(sales):
    claw = {"key": "clawback", "name": "追回", "kind": "clawback", "measure": "contract_amount"}
    plan(sales, commission(tiers="0-:10%", mode="retroactive"), claw)
    rep_target(sales, "rita", "100000")
    rep_target(sales, "rita", "100000", period="2026-07")
    first = contract(sales, "10000")
    drafted = run(sales)["drafts"]
    rerun = run(sales)["drafts"]
    assert rerun == drafted  # before approval the draft is replaced, not duplicated
    [mine] = statement_of(sales, "rita")
    approve(sales, mine["id"])
    [mine] = statement_of(sales, "rita")
    assert mine["status"] == "approved"
    with pytest.raises(Forbidden), sales.runtime.write() as work:
        records.update_record(
            work, get_form(work, f"{APP}.bonus_statement"), mine["id"], {"note": "x"},
            revision=mine["revision"],
        )  # fmt: skip
    # a late June contract: the rerun makes an adjustment, the approved statement stays
    contract(sales, "2000", signed_on="2026-06-29")
    report = run(sales)
    [adjustment] = report["adjustments"]
    june = {s["id"]: s for s in statement_of(sales, "rita")}
    assert lines(june[mine["id"]]) == {"commission": Decimal("1000.00")}
    assert june[adjustment]["adjusts"] == mine["id"]
    assert lines(june[adjustment]) == {"commission": Decimal("200.00")}
    # the first contract is cancelled after payout: July claws its commission back
    with sales.runtime.write() as work:
        records.change_as_step(
            work, get_form(work, f"{APP}.contract"), first, {"status": "cancelled"}, None
        )
    contract(sales, "5000", signed_on="2026-07-03")
    run(sales, "2026-07")
    [july] = statement_of(sales, "rita", "2026-07")
    assert lines(july) == {"commission": Decimal("500.00"), "clawback": Decimal("-1000.00")}
    claw = next(line for line in july["lines"] if line["rule"] == "clawback")
    assert f"contract #{first} no longer counts" in claw["explanation"]
    run(sales, "2026-07")  # taken back once, not twice
    [july] = statement_of(sales, "rita", "2026-07")
    assert lines(july)["clawback"] == Decimal("-1000.00")


def test_approved_statements_export_for_payroll(sales):
    plan(sales, commission(tiers="0-:10%", mode="retroactive"))
    rep_target(sales, "rita", "100000")
    contract(sales, "12345.67")
    run(sales)
    [mine] = statement_of(sales, "rita")
    with sales.runtime.read(sales.user("fay")) as work:
        content, _, name = export.export(work, "2026-06", "csv")
    assert list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")))) == []  # not approved
    approve(sales, mine["id"])
    with sales.runtime.read(sales.user("fay")) as work:
        content, _, name = export.export(work, "2026-06", "csv")
        book, _, _ = export.export(work, "2026-06", "xlsx")
    [row] = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert (row["username"], row["approved_total"]) == ("rita", "1234.57")
    assert name == "bonus-2026-06.csv"
    sheets = load_workbook(io.BytesIO(book))
    assert sheets["Payroll"]["D2"].value == Decimal("1234.57") or float(
        sheets["Payroll"]["D2"].value
    ) == pytest.approx(1234.57)
    assert sheets["Lines"]["E2"].value == "commission"


def test_a_plan_changed_mid_year_pays_later_periods_only(sales):
    plan(sales, commission(tiers="0-:2%", mode="retroactive"), name="old")
    plan(sales, commission(tiers="0-:5%", mode="retroactive"), name="new",
         effective_from="2026-06-15")  # fmt: skip
    rep_target(sales, "rita", "100000")
    rep_target(sales, "rita", "100000", period="2026-07")
    contract(sales, "10000")
    contract(sales, "10000", signed_on="2026-07-10")
    run(sales)
    run(sales, "2026-07")
    assert lines(statement_of(sales, "rita")[0]) == {"commission": Decimal("200.00")}
    assert lines(statement_of(sales, "rita", "2026-07")[0]) == {"commission": Decimal("500.00")}


def test_the_what_if_estimator(sales):
    plan(sales, commission())
    rep_target(sales, "rita", "1000000")
    contract(sales, "700000")
    customer = sales.customer("Prospect")
    big = sales.create("opportunity", name="big", customer=customer, stage="negotiation",
                       amount="600000", expected_close="2026-06-25")  # fmt: skip
    with sales.runtime.read(sales.user("rita")) as work:
        result = estimate.estimate(work, sales.people["rita"].id, "2026-06", [big])
    assert Decimal(result["current"]) == Decimal("14000.00")  # 700,000 × 2 %
    assert Decimal(result["estimated"]) == Decimal("44000.00")  # as if 1,300,000
    assert Decimal(result["difference"]) == Decimal("30000.00")
    with pytest.raises(Forbidden), sales.runtime.read(sales.user("ron")) as work:
        estimate.estimate(work, sales.people["rita"].id, "2026-06", [big])


def test_a_bad_plan_is_refused_naming_the_rule_and_field(sales):
    with pytest.raises(ValidationFailed) as refused:
        plan(sales, commission(tiers="0-80:2%, 90-:4%"))
    assert refused.value.errors[0].field == "rules[0].tiers"
    with pytest.raises(ValidationFailed) as refused:
        plan(sales, commission(measure="nope"))
    assert refused.value.errors[0].field == "rules[0].measure"


def test_only_finance_hr_or_admins_run_incentives(sales):
    with pytest.raises(Forbidden):
        run(sales, as_="max")
