"""``formflow seed-demo``: the same company from the same seed on any database, customers
whose derived values are what the plugin's own rules compute, quotations waiting in the
managers' inboxes, grants that show reps their own records and managers their team's, a
performance half (targets that add up down to every rep, last month's scorecards and bonus
statements) made by the plugin's own services — and a second run that changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import shutil
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from formflow import Config, Runtime
from formflow.automations.functions import Call
from formflow.definitions.service import get_form
from formflow.flows import inbox
from formflow.flows.models import FlowInstance, FlowTask
from formflow.people import service as people
from formflow.people.models import User
from formflow.permissions.models import Action
from formflow.permissions.policy import policy_for
from formflow.records.models import Record
from formflow.records.prepare import from_document
from sales_performance import functions, measures, org, regrading
from sales_performance.demo import AlreadySeeded, Demo, Planner, run_rate_window, seed_demo
from sales_performance.incentives import statements
from sales_performance.kpi import scorecards
from sales_performance.periods import Period
from tests.conftest import START, Clock, snapshot
from tests.plugins.sales_performance.world import APP, install_plugin
from tests.support.postgres import admin_connection

SCALE = 0.02  # 100 customers, 1,000 follow-ups, 60 opportunities, 30 quotations
SEED = 7


@dataclass
class Seeded:
    runtime: Runtime
    demo: Demo
    clock: Clock


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def seeded(request, tmp_path_factory, sqlite_template) -> Iterator[Seeded]:
    """One demo company per database, seeded once for the tests that only read it."""
    folder = tmp_path_factory.mktemp("demo")
    dropped = None
    if request.param == "sqlite":
        shutil.copy(sqlite_template, folder / "formflow.db")
        url = f"sqlite:///{folder / 'formflow.db'}"
    else:
        server = request.getfixturevalue("postgres")
        dropped = "demo_" + uuid.uuid4().hex[:12]
        with admin_connection(server) as connection:
            connection.execute(f"CREATE DATABASE {dropped} TEMPLATE formflow_template")
        url = server.rsplit("/", 1)[0] + "/" + dropped
    clock = Clock()
    runtime = Runtime(Config(instance_path=folder, database_url=url, testing=True), clock=clock)
    install_plugin(runtime)
    yield Seeded(runtime, seed_demo(runtime, scale=SCALE, seed=SEED), clock)
    runtime.close()
    if dropped:
        with admin_connection(server) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {dropped} WITH (FORCE)")


def rows(runtime: Runtime, form: str) -> dict[int, dict[str, Any]]:
    """Every live record of a form: id → values, with its owner and timestamps."""
    with runtime.read() as work:
        loaded = get_form(work, f"{APP}.{form}")
        found = work.session.execute(
            select(Record.id, Record.data, Record.owner_id, Record.created_at)
            .where(Record.form_id == loaded.form.id, Record.deleted_at.is_(None))
            .order_by(Record.id)
        ).all()
        return {
            i: {**from_document(loaded.spec, data), "_owner": owner, "_created": created}
            for i, data, owner, created in found
        }


def digest(runtime: Runtime) -> str:
    """What makes the company this one: every customer's name, grade, status and deal
    amount, how many records of each form there are, how the follow-ups were rated and the
    contracts ended, and everybody's targets, scores and bonuses."""
    parts = []
    for form in ("customer", "contact", "follow_up", "opportunity", "quotation", "payment"):
        parts.append(f"{form}={len(rows(runtime, form))}")
    for customer in sorted(rows(runtime, "customer").values(), key=lambda c: c["name"]):
        amount = Decimal(str(customer["deal_amount_12m"] or 0)).normalize()
        last = customer.get("last_follow_up_at")
        parts.append(f"{customer['name']}|{customer['grade']}|{customer['status']}|{amount}|{last}")
    follow_ups = rows(runtime, "follow_up").values()
    rated = Counter((f["on_time"], f.get("satisfaction")) for f in follow_ups)
    parts.append(str(sorted(rated.items(), key=str)))
    names = usernames(runtime)
    for contract in sorted(rows(runtime, "contract").values(), key=lambda c: c["number"]):
        team = [(names[row["member"]], row["share"]) for row in contract.get("team") or []]
        parts.append(f"{contract['number']}|{contract['status']}|{team}")
    for target in rows(runtime, "sales_target").values():
        parts.append(f"{target['name']}|{target['period']}|{Decimal(str(target['amount']))}")
    for form, fields in (("kpi_result", ("score", "grade")), ("bonus_statement", ("total",))):
        for row in rows(runtime, form).values():
            parts.append(f"{form}|{names[row['member']]}|{[row[f] for f in fields]}")
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()


def usernames(runtime: Runtime) -> dict[int, str]:
    with runtime.read() as work:
        return dict(work.session.execute(select(User.id, User.username)).all())


def fresh_sqlite_runtime(tmp_path: Path, template: Path, clock: Clock) -> Runtime:
    path = tmp_path / "other" / "formflow.db"
    path.parent.mkdir()
    shutil.copy(template, path)
    return Runtime(
        Config(instance_path=path.parent, database_url=f"sqlite:///{path}", testing=True),
        clock=clock,
    )


def test_the_same_seed_makes_the_same_company_on_any_database_all_day(
    seeded, tmp_path, sqlite_template
):
    demo = seeded.demo
    later = Clock(START + dt.timedelta(hours=6))  # 16:00 in Shanghai, the same day
    other = fresh_sqlite_runtime(tmp_path, sqlite_template, later)
    try:
        install_plugin(other)
        again = seed_demo(other, scale=SCALE, seed=SEED)
        assert digest(other) == digest(seeded.runtime)
        assert again.counts == demo.counts
        assert [(p.username, p.name) for _, p, _ in again.logins] == [
            (p.username, p.name) for _, p, _ in demo.logins
        ]
    finally:
        other.close()
    assert demo.counts["customer"] == 100 and demo.counts["follow_up"] == 1000


def test_another_seed_makes_another_company():
    def company(seed: int) -> list[str]:
        planner = Planner(random.Random(seed), START, ZoneInfo("Asia/Shanghai"))
        reps = [person for person in planner.people() if person.kind == "rep"]
        return [customer.name for customer in planner.customers(20, reps)]

    assert company(SEED) == company(SEED)
    assert company(SEED) != company(SEED + 1)


def test_customers_last_and_next_follow_up_are_their_follow_ups(seeded):
    runtime, clock = seeded.runtime, seeded.clock
    customers = rows(runtime, "customer")
    visits: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for follow_up in rows(runtime, "follow_up").values():
        visits[follow_up["customer"]].append(
            (follow_up["visited_at"], follow_up.get("next_follow_up_at"))
        )
        assert follow_up["visited_at"] <= clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    soon = overdue = 0
    for customer_id, customer in customers.items():
        mine = sorted(visits.get(customer_id, []))
        if not mine:
            assert customer["status"] == "prospect"
            assert customer.get("last_follow_up_at") is None
            continue
        latest = mine[-1]
        assert customer["last_follow_up_at"] == latest[0]
        # the latest follow-up's plan, as the follow_up_saved automation keeps it
        assert customer.get("next_follow_up_at") == latest[1]
        assert customer["status"] in ("following", "customer", "lost")
        planned = customer.get("next_follow_up_at")
        if planned and customer["status"] != "lost":
            moment = dt.datetime.fromisoformat(planned.replace("Z", "+00:00"))
            soon += clock.now < moment <= clock.now + dt.timedelta(days=14)
            overdue += moment < clock.now
    assert soon > 0 and overdue > 0


def test_deal_amounts_and_grades_are_what_the_nightly_regrading_computes(seeded):
    runtime = seeded.runtime
    customers = rows(runtime, "customer")
    with runtime.read() as work:
        amounts = functions.signed_amounts(work, work.now.date())
        rules = functions.grading_rules(work)
    assert amounts, "some customers signed in the last 12 months"
    for customer_id, customer in customers.items():
        amount = Decimal(str(customer["deal_amount_12m"] or 0))
        assert amount == amounts.get(customer_id, Decimal(0))
        assert customer["grade"] == functions.grade_of(rules, customer["potential"], amount)
    # and running the plugin's own rules over the demo finds nothing to change
    with runtime.write() as work:
        # every customer in one batch (the nightly run's batches, taken at once)
        regraded = regrading.regrade_batch(work, functions.local_today(work), 0, len(customers))
        flagged = functions.flag_stale_customers(
            work, call("sales_performance.stale_customers", days=30)
        )
    assert regraded == {
        "customers": len(customers),
        "changed": 0,
        "last": max(customers),
        "more": False,
    }
    assert flagged["changed"] == 0 and flagged["flagged"] > 0


def call(automation: str, **arguments: Any) -> Call:
    return Call(automation, 0, "schedule", None, None, {}, arguments)


def test_the_history_reads_in_order(seeded):
    runtime, clock = seeded.runtime, seeded.clock
    contracts = rows(runtime, "contract")
    products = rows(runtime, "product")
    zone = ZoneInfo(runtime.config.timezone)
    for opportunity in rows(runtime, "opportunity").values():
        history = opportunity["stage_history"]
        assert history[0]["stage"] == "initial" and history[-1]["stage"] == opportunity["stage"]
        entered = [row["entered_at"] for row in history]
        assert entered == sorted(set(entered)), opportunity["name"]
    for quotation in rows(runtime, "quotation").values():
        assert 1 <= len(quotation["lines"]) <= 4
        for line in quotation["lines"]:
            product = products[line["product"]]
            assert (line["list_price"], line["min_price"]) == (
                product["list_price"],
                product["min_price"],
            )
        month = quotation["_created"].astimezone(zone).strftime("%Y%m")
        assert quotation["number"].startswith(f"QT-{month}-"), "numbered when it was made"
    today = clock.now.astimezone(zone).date().isoformat()
    planned: dict[int, Decimal] = defaultdict(Decimal)
    for payment in rows(runtime, "payment").values():
        planned[payment["contract"]] += payment["planned_amount"]
        # written today, so its overdue formula is right today
        late = payment.get("received_on") is None and payment["planned_on"] < today
        assert payment["overdue"] == (1 if late else 0)
        assert payment["_created"] < clock.now
        if contracts[payment["contract"]]["status"] == "refunded":
            assert payment.get("received_on") is not None, "what was not paid is not due"
    signed = {i: c["amount"] for i, c in contracts.items() if c["status"] == "signed"}
    assert {i: a for i, a in planned.items() if i in signed} == signed
    cancelled = {i for i, c in contracts.items() if c["status"] == "cancelled"}
    assert not cancelled & set(planned), "a cancelled contract's payment plan is void"


def test_quotations_in_approval_wait_in_the_reps_managers_inbox(seeded):
    runtime, demo = seeded.runtime, seeded.demo
    waiting = {i: q for i, q in rows(runtime, "quotation").items() if q["status"] == "in_approval"}
    assert len(waiting) == demo.details["quotations"]["in_approval"] >= 1
    with runtime.read() as work:
        for quotation_id, quotation in waiting.items():
            instance = work.session.scalar(
                select(FlowInstance).where(FlowInstance.record_id == quotation_id)
            )
            assert instance is not None and instance.state == "running"
            assert instance.initiator_id == quotation["owner"]
            pending = work.session.scalars(
                select(FlowTask.assignee_id).where(
                    FlowTask.instance_id == instance.id, FlowTask.state == "pending"
                )
            ).all()
            assert pending == [people.manager_of(work, quotation["owner"], 1)]
        manager = people.get_user(work, demo.logins[1][1].username)
    with runtime.read(manager) as work:
        todo = inbox.tasks(work, inbox.Box.PENDING, form=f"{APP}.quotation")
    assert {item.instance.record_id for item in todo} <= set(waiting)
    assert todo, "the manager to sign in as has an approval to do"


def test_reps_see_their_own_records_and_managers_their_teams(seeded):
    runtime, demo = seeded.runtime, seeded.demo
    customers = rows(runtime, "customer")
    contacts = rows(runtime, "contact")
    rep, manager, director, vp = (person for _, person, _ in demo.logins[:4])
    mine = {i for i, c in customers.items() if c["_owner"] == rep.id}
    assert mine
    assert visible(runtime, rep, "customer") == len(mine)
    # a contact has no owner field: it is the rep's because the rep entered it
    assert visible(runtime, rep, "contact") == sum(c["customer"] in mine for c in contacts.values())
    for head in (manager, director):
        with runtime.read() as work:
            below = people.departments_below(work, set(people.user_departments(work, head.id)))
            team = {
                owner
                for owner in {c["_owner"] for c in customers.values()}
                if people.user_departments(work, owner)[0] in below
            }
        expected = sum(c["_owner"] in team for c in customers.values())
        assert len(mine) < visible(runtime, head, "customer") == expected
    assert visible(runtime, vp, "customer") == len(customers)


def visible(runtime: Runtime, person: Any, form: str) -> int:
    """How many records of the form the person's grants let them see."""
    with runtime.read() as work:
        user = people.get_user(work, person.username)
        work.session.expunge(user)
    with runtime.read(user) as work:
        loaded = get_form(work, f"{APP}.{form}")
        clause = policy_for(work, loaded).rows(Action.VIEW, work.dialect)
        query = select(func.count()).select_from(Record).where(Record.form_id == loaded.form.id)
        if clause is not None:
            query = query.where(clause)
        return work.session.scalar(query)


def months(seeded: Seeded) -> tuple[Period, Period]:
    """Last month and this month, in the organisation's time zone."""
    zone = ZoneInfo(seeded.runtime.config.timezone)
    month = Period.containing("month", seeded.clock.now.astimezone(zone).date())
    return month.previous(), month


def moment(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def holders(runtime: Runtime, role: str) -> set[int]:
    with runtime.read() as work:
        return set(org.holders_of(work, role))


def test_follow_ups_are_flagged_on_time_as_the_automation_would_and_some_are_rated(seeded):
    runtime = seeded.runtime
    zone = ZoneInfo(runtime.config.timezone)
    by_customer: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for follow_up in rows(runtime, "follow_up").values():
        by_customer[follow_up["customer"]].append(follow_up)
    late = 0
    for mine in by_customer.values():
        planned = None  # what the customer's record said when the follow-up was saved
        for follow_up in sorted(mine, key=lambda f: f["visited_at"]):
            visited = moment(follow_up["visited_at"]).astimezone(zone).date()
            due = moment(planned).astimezone(zone).date() if planned else None
            assert follow_up["on_time"] is (due is None or visited <= due)
            late += not follow_up["on_time"]
            planned = follow_up.get("next_follow_up_at")
    ratings = Counter(
        (f["type"], f.get("satisfaction")) for f in rows(runtime, "follow_up").values()
    )
    rated = {kind: n for (kind, score), n in ratings.items() if score is not None}
    assert late > 0 and set(rated) == {"visit", "demo"}
    assert {score for _, score in ratings if score is not None} <= {1, 2, 3, 4, 5}


def test_a_few_contracts_are_called_off_and_some_share_their_credit(seeded):
    runtime = seeded.runtime
    contracts = rows(runtime, "contract").values()
    statuses = Counter(contract["status"] for contract in contracts)
    assert statuses["cancelled"] + statuses["refunded"] >= 1
    assert statuses["signed"] > 20 * (statuses["cancelled"] + statuses["refunded"])
    shared = [contract for contract in contracts if contract.get("team")]
    assert shared
    with runtime.read() as work:
        for contract in shared:
            signer, mate = (row["member"] for row in contract["team"])
            assert signer == contract["owner"] != mate
            assert sum(Decimal(str(row["share"])) for row in contract["team"]) == 100
            team = people.user_departments(work, signer)
            assert people.user_departments(work, mate) == team, "a teammate"


def test_targets_add_up_from_every_rep_to_the_company(seeded):
    runtime = seeded.runtime
    previous, current = months(seeded)
    targets = rows(runtime, "sales_target")
    children: dict[int, list[int]] = defaultdict(list)
    for target_id, target in targets.items():
        if target.get("parent"):
            children[target["parent"]].append(target_id)
    assert children
    for parent, below in children.items():
        total = sum(Decimal(str(targets[child]["amount"])) for child in below)
        assert total == Decimal(str(targets[parent]["amount"])), targets[parent]["name"]
    reps = holders(runtime, "sales_rep")
    year = current.start.year
    for key in ("contract_amount", "collected"):
        with runtime.read() as work:
            measure = measures.get_measure(work, key)
            window = run_rate_window(previous)
            last = measures.actuals(work, measure, window[0].start, window[-1].end)
        mine = {i: t for i, t in targets.items() if t["measure"] == measure.record_id}
        [(root, company)] = [(i, t) for i, t in mine.items() if t["period"] == str(year)]
        # the last three months' run rate × 4 × 1.20, to the 10,000
        expected = (sum(last.values()) * 4 * Decimal("1.2") / 10000).quantize(
            Decimal(1), ROUND_HALF_UP
        )
        assert Decimal(str(company["amount"])) == expected * 10000 > 0
        quarters = children[root]
        assert [targets[q]["period"] for q in quarters] == [f"{year}-Q{n}" for n in range(1, 5)]
        in_months = [targets[m]["period"] for q in quarters for m in children[q]]
        assert in_months == [f"{year}-{n:02d}" for n in range(1, 13)]
        for period in (previous, current):
            at_reps = [
                t for t in mine.values() if t["period"] == period.key and t["level"] == "rep"
            ]
            assert sorted(t["member"] for t in at_reps) == sorted(reps), "every rep, once"
            assert all(Decimal(str(t["amount"])) > 0 for t in at_reps)
            [month] = [
                t for t in mine.values() if t["period"] == period.key and t["level"] == "company"
            ]
            assert sum(Decimal(str(t["amount"])) for t in at_reps) == Decimal(str(month["amount"]))


def test_in_january_last_decembers_targets_stand_beside_this_years(tmp_path, sqlite_template):
    january = Clock(dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC))
    runtime = fresh_sqlite_runtime(tmp_path, sqlite_template, january)
    try:
        install_plugin(runtime)
        demo = seed_demo(runtime, scale=0.01, seed=SEED)
        assert demo.details["performance"]["months"] == ["2025-12", "2026-01"]
        with runtime.read() as work:
            measure = measures.get_measure(work, "contract_amount").record_id
        targets = [t for t in rows(runtime, "sales_target").values() if t["measure"] == measure]
        [december] = [t for t in targets if t["period"] == "2025-12" and t["level"] == "company"]
        [this] = [t for t in targets if t["period"] == "2026-01" and t["level"] == "company"]
        assert december.get("parent") is None and this["parent"]
        assert december["amount"] == this["amount"]
        at_reps = [t["member"] for t in targets if t["period"] == "2025-12" and t["level"] == "rep"]
        assert sorted(at_reps) == sorted(holders(runtime, "sales_rep"))
        bonuses = rows(runtime, "bonus_statement").values()
        assert bonuses and {s["period"] for s in bonuses} == {"2025-12"}
    finally:
        runtime.close()


def test_last_months_scorecards_are_published_and_its_bonuses_wait_for_approval(seeded):
    runtime, demo = seeded.runtime, seeded.demo
    previous, _ = months(seeded)
    reps = holders(runtime, "sales_rep")
    assessed = reps | holders(runtime, "sales_manager")
    with runtime.read() as work:
        cards = scorecards.scorecards(work, previous.key)
    assert sorted(card.member for card in cards) == sorted(assessed)
    assert {card.status for card in cards} == {"published"}
    for card in cards:
        lines = {line.item.metric.key: line for line in card.lines}
        manual = lines["collaboration" if card.member in reps else "coaching"]
        assert manual.score is not None, "the manager's score went into the scorecard"
        if card.member in reps:
            assert lines["contract_amount"].result.target, "scored against the rep's target"
    bonuses = {i: s for i, s in rows(runtime, "bonus_statement").items()}
    assert sorted(s["member"] for s in bonuses.values()) == sorted(assessed)
    assert {s["period"] for s in bonuses.values()} == {previous.key}
    assert {s["status"] for s in bonuses.values()} == {"draft", "in_approval"}
    waiting = {i for i, s in bonuses.items() if s["status"] == "in_approval"}
    assert len(waiting) == demo.details["performance"]["in_approval"] == 8
    assert {bonuses[i]["member"] for i in waiting} <= reps
    manager = demo.logins[1][1]
    with runtime.read() as work:
        user = people.get_user(work, manager.username)
    with runtime.read(user) as work:
        todo = inbox.tasks(work, inbox.Box.PENDING, form=f"{APP}.bonus_statement")
    assert len(todo) == 2 and {item.instance.record_id for item in todo} <= waiting


def test_a_rep_sees_only_their_own_statement_and_finance_and_hr_all(seeded):
    runtime, demo = seeded.runtime, seeded.demo
    previous, _ = months(seeded)
    rep, manager, _, _, finance, hr = (person for _, person, _ in demo.logins)
    assert hr.kind == "hr"
    everybody = len(rows(runtime, "bonus_statement"))
    seen = {}
    for person in (rep, manager, finance, hr):
        with runtime.read() as work:
            user = people.get_user(work, person.username)
            work.session.expunge(user)
        with runtime.read(user) as work:
            listed = statements.list_statements(work, previous.key)
        seen[person.kind] = {statement["member"] for statement in listed}
    assert seen["rep"] == {rep.id}
    with runtime.read() as work:
        team = org.members_of(work, people.user_departments(work, manager.id)[0])
    assert seen["manager"] == team
    assert len(seen["finance"]) == len(seen["hr"]) == everybody
    # and the records' grants say the same on every list and API
    assert visible(runtime, rep, "bonus_statement") == 1
    assert visible(runtime, rep, "kpi_result") == 1
    assert visible(runtime, rep, "sales_target") == 4  # 2 measures × 2 months
    assert visible(runtime, rep, "kpi_plan") == 2
    assert visible(runtime, manager, "bonus_statement") == len(team)
    assert visible(runtime, finance, "bonus_statement") == everybody
    assert visible(runtime, hr, "kpi_result") == everybody
    assert visible(runtime, finance, "kpi_result") == 0


def test_a_second_run_refuses_and_changes_nothing(seeded):
    runtime = seeded.runtime
    before = snapshot(runtime)
    with pytest.raises(AlreadySeeded, match="already has 100 customers"):
        seed_demo(runtime, scale=SCALE, seed=SEED)
    assert snapshot(runtime) == before


def formflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "formflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_command_seeds_a_fresh_instance_once(tmp_path):
    env = dict(os.environ, FORMFLOW_INSTANCE=str(tmp_path / "instance"))
    env.pop("DATABASE_URL", None)
    formflow(env, "init-db")
    formflow(env, "install-app")
    out = formflow(env, "seed-demo", "--scale", "0.01", "--seed", "3").stdout
    assert "Demo data ready" in out
    assert "customers           50" in out
    assert "'formflow-demo'" in out and "manager" in out and "director" in out
    assert "HR " in out and "scorecards" in out and "bonus statements" in out
    again = formflow(env, "seed-demo", "--scale", "0.01").stdout
    assert "already has 50 customers" in again and "nothing was changed" in again


def test_last_months_statements_agree_with_an_independent_calculation(seeded):
    """The period run on the demo data against the plan's arithmetic done here by hand,
    from the raw records: signed contracts of the month credited by their splits, each rep's
    target, the published KPI score, marginal tiers 2/4/6/8 %, the cap of 3 × on-target
    pay, the gate at 60, and 500 per new grade-A customer."""
    runtime = seeded.runtime
    previous, _ = months(seeded)
    zone = ZoneInfo(runtime.config.timezone)
    measure_ids = {m["key"]: i for i, m in rows(runtime, "sales_measure").items()}
    credited: dict[int, Decimal] = {}
    for contract in rows(runtime, "contract").values():
        if contract["status"] != "signed" or not previous.contains(
            dt.date.fromisoformat(contract["signed_on"])
        ):
            continue
        amount = Decimal(str(contract["amount"]))
        team = contract.get("team") or [{"member": contract["owner"], "share": 100}]
        for row in team:
            share = amount * Decimal(str(row["share"])) / 100
            credited[row["member"]] = credited.get(row["member"], Decimal(0)) + share
    targets = {
        t["member"]: Decimal(str(t["amount"]))
        for t in rows(runtime, "sales_target").values()
        if t["period"] == previous.key
        and t["level"] == "rep"
        and t["measure"] == measure_ids["contract_amount"]
    }
    scores = {
        r["member"]: Decimal(str(r["score"]))
        for r in rows(runtime, "kpi_result").values()
        if r["period"] == previous.key
    }
    grade_a: dict[int, int] = {}
    for customer in rows(runtime, "customer").values():
        created = customer["_created"]
        created = created if created.tzinfo else created.replace(tzinfo=dt.UTC)
        if customer["grade"] == "A" and previous.contains(created.astimezone(zone).date()):
            grade_a[customer["owner"]] = grade_a.get(customer["owner"], 0) + 1
    cent = Decimal("0.01")
    rates = ("0.02", "0.04", "0.06", "0.08")
    edges = (Decimal(0), Decimal("0.8"), Decimal(1), Decimal("1.2"), None)
    tiers = [(edges[i], edges[i + 1], Decimal(rate)) for i, rate in enumerate(rates)]

    def marginal(base: Decimal, target: Decimal) -> Decimal:
        paid = Decimal(0)
        for low, high, rate in tiers:
            top = base if high is None else min(base, high * target)
            if top > low * target:
                paid += (top - low * target) * rate
        return paid

    checked = 0
    for statement in rows(runtime, "bonus_statement").values():
        member = statement["member"]
        if member not in holders(runtime, "sales_rep"):
            continue
        lines = {line["rule"]: line for line in statement["lines"]}
        base = credited.get(member, Decimal(0))
        target = targets[member]
        expected = marginal(base, target).quantize(cent, ROUND_HALF_UP)
        on_target = marginal(target, target).quantize(cent, ROUND_HALF_UP)  # a pay: in cents
        expected = min(expected, (3 * on_target).quantize(cent, ROUND_HALF_UP))
        if scores.get(member, Decimal(0)) < 60:
            expected = Decimal("0.00")
        assert Decimal(str(lines["commission"]["amount"])) == expected, (member, base, target)
        assert Decimal(str(lines["commission"]["base"])) == base
        assert Decimal(str(lines["grade_a"]["amount"])) == 500 * grade_a.get(member, 0)
        total = sum(Decimal(str(line["amount"])) for line in statement["lines"])
        assert Decimal(str(statement["total"])) == total
        checked += 1
    assert checked == len(holders(runtime, "sales_rep"))


def test_every_customer_lists_its_contacts(seeded):
    listed = {i: c.get("contacts") or [] for i, c in rows(seeded.runtime, "customer").items()}
    expected: dict[int, list[int]] = {i: [] for i in listed}
    for contact_id, contact in sorted(rows(seeded.runtime, "contact").items()):
        expected[contact["customer"]].append(contact_id)
    assert listed == expected
    assert any(listed.values())


def test_the_demo_people_sign_straight_in_without_changing_a_password(seeded):
    from formflow.people.models import UserSetting
    from formflow.people.service import PASSWORD_CHANGE_DUE

    with seeded.runtime.read() as work:
        due = work.session.scalars(
            select(UserSetting.user_id).where(UserSetting.key == PASSWORD_CHANGE_DUE)
        ).all()
    assert due == []
