"""The sales dashboards the plugin ships: every file installs (checked whole by the engine),
every chart draws, each data source's numbers agree with the same numbers worked out here
from the raw records, a rep's phone dashboard shows only their own numbers and a manager's
differ from the admin's exactly as their scopes do; and an export gives back the files."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from formflow import jsoncodec
from formflow.dashboards import service as dashboards
from formflow.dashboards.charts import chart_result
from formflow.dashboards.compile import Filters
from formflow.dashboards.periods import Range
from formflow.definitions.service import get_form
from formflow.people import service as people
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.prepare import from_document
from sales_performance import measures, sources
from sales_performance.incentives.compute import compute
from sales_performance.kpi import scorecards
from sales_performance.periods import Period
from tests.conftest import EVERYONE_OWN, START, grant
from tests.platform.automations.world import drain
from tests.plugins.sales_performance.world import APP, Sales, build

SHIPPED = Path(__file__).resolve().parents[3] / "dashboards" / APP
MARCH = Range(dt.date(2026, 3, 1), dt.date(2026, 4, 1))
FEBRUARY = Range(dt.date(2026, 2, 1), dt.date(2026, 3, 1))
ZONE = ZoneInfo("Asia/Shanghai")
TEAM_VIEWS = {"actions": ["view"], "scope": "subtree", "role": "sales_manager"}


def at(day: str, hour: int = 2) -> str:
    return f"2026-{day}T{hour:02d}:00:00Z"


@pytest.fixture
def sales(runtime, admin, clock) -> Sales:
    """The small company with a month of sales: targets for March, contracts (one split
    between rita and ron, one cancelled), payments (one paid, two overdue, one not yet
    due), opportunities with their stage histories (one kept by the plugin's automation),
    customers followed up long ago, lately or never. max heads the East team (rita, ron and
    himself) and sees its records; dora, the director, is in Sales above it."""
    world = build(runtime, admin)
    with runtime.write() as work:
        rep = people.ensure_role(work, "sales_rep", "Sales rep")
        manager = people.ensure_role(work, "sales_manager", "Sales manager")
        for name in ("rita", "ron"):
            people.set_roles(work, world.people[name].id, [rep.id])
        people.set_roles(work, world.people["max"].id, [manager.id])
    for form in ("opportunity", "payment", "customer", "follow_up", "contract"):
        grant(runtime, f"{APP}.{form}", EVERYONE_OWN, TEAM_VIEWS)
    ids = {name: person.id for name, person in world.people.items()}
    with runtime.read() as work:
        departments = {d.name: d.id for ds in people.department_tree(work).values() for d in ds}
        contract_amount = measures.get_measure(work, "contract_amount").record_id
        collected = measures.get_measure(work, "collected").record_id

    def target(name: str, measure: int, amount: str, **more: Any) -> None:
        with runtime.write() as work:
            records.create(
                work,
                get_form(work, f"{APP}.sales_target"),
                {"name": name, "measure": measure, "period": "2026-03", "amount": amount, **more},
            )

    target("Company", contract_amount, "500000", level="company", department=departments["Company"])
    target("East", contract_amount, "300000", level="team", department=departments["East team"])
    target("Rita", contract_amount, "150000", level="rep", member=ids["rita"])
    target("Ron", contract_amount, "100000", level="rep", member=ids["ron"])
    target("Max", contract_amount, "50000", level="rep", member=ids["max"])
    target("Rita collects", collected, "80000", level="rep", member=ids["rita"])

    mine = {
        "rita": world.customer("Acme", as_="rita"),
        "ron": world.customer("Beta", as_="ron"),
        "max": world.customer("Gamma", as_="max"),
        "dora": world.customer("Delta", as_="dora"),
    }

    def contract(owner: str, name: str, amount: str, signed_on: str, **more: Any) -> int:
        return world.create(
            "contract", as_=owner, name=name, customer=mine[owner], amount=amount,
            signed_on=signed_on, **more,
        )  # fmt: skip

    deal = {
        "rita": contract("rita", "Big", "60000.10", "2026-03-05"),
        "ron": contract(
            "ron",
            "Shared",
            "40000",
            "2026-03-10",
            team=[{"member": ids["rita"], "share": 30}, {"member": ids["ron"], "share": 70}],
        ),
        "max": contract("max", "February", "7000", "2026-02-27"),
    }
    contract("ron", "Gone", "9999", "2026-03-11", status="cancelled")
    for owner, planned, planned_on, actual, received_on in (
        ("rita", "50000", "2026-03-10", "50000", "2026-03-09"),
        ("ron", "20000.50", "2026-02-10", None, None),
        ("rita", "10000", "2025-12-01", None, None),
        ("max", "5000", "2026-03-20", None, None),
        ("max", "3000", "2026-01-05", "3000", "2026-03-02"),  # paid late, in March
    ):
        world.create(
            "payment", as_=owner, contract=deal[owner], customer=mine[owner],
            planned_amount=planned, planned_on=planned_on, actual_amount=actual,
            received_on=received_on,
        )  # fmt: skip

    histories = {
        ("rita", "Won deal", "60000"): [("initial", at("03-01")), ("needs", at("03-03", 8)),
                                        ("proposal", at("03-06")), ("won", at("03-10", 14))],
        ("ron", "Lost deal", "25000"): [("initial", at("03-02")), ("needs", at("03-05")),
                                        ("lost", at("03-12"))],
        ("rita", "Skipper", "18000"): [("initial", at("03-04")), ("proposal", at("03-08"))],
        ("max", "Old one", "90000"): [("initial", "2026-02-20T02:00:00Z"),
                                      ("needs", at("03-02")), ("negotiation", at("03-09"))],
        ("ron", "February win", "5000"): [("initial", "2026-01-10T02:00:00Z"),
                                          ("won", "2026-02-25T02:00:00Z")],
        ("dora", "Director's", "70000"): [("initial", at("03-01")), ("won", at("03-15"))],
    }  # fmt: skip
    with runtime.write() as work:
        loaded = get_form(work, f"{APP}.opportunity")
        for (owner, name, amount), history in histories.items():
            records.create_as_step(
                work,
                loaded,
                {
                    "name": name,
                    "customer": mine[owner],
                    "stage": history[-1][0],
                    "amount": amount,
                    "owner": ids[owner],
                    "product_line": "software" if owner == "rita" else "hardware",
                    "expected_close": "2026-03-25",
                    "stage_history": [{"stage": s, "entered_at": e} for s, e in history],
                },
            )
    # and one kept by the plugin's own automations: opened on the 11th, needs on the 13th
    clock.now = dt.datetime(2026, 3, 11, 3, 0, tzinfo=dt.UTC)
    fresh = world.create(
        "opportunity", as_="ron", name="Fresh", customer=mine["ron"], amount="7000"
    )
    drain(runtime)
    clock.now = dt.datetime(2026, 3, 13, 3, 0, tzinfo=dt.UTC)
    with runtime.write(world.user("ron")) as work:
        records.update_record(
            work, get_form(work, f"{APP}.opportunity"), fresh, {"stage": "needs"}, revision=None
        )
    drain(runtime)

    clock.now = dt.datetime(2026, 1, 2, 2, 0, tzinfo=dt.UTC)
    world.customer("Never called", as_="rita")
    world.customer("Long ago", as_="rita")
    world.customer("Gave up", as_="ron", status="lost")
    clock.now = START
    for customer, owner, visited, kind in (
        ("Long ago", "rita", "2026-02-01T03:00:00Z", "visit"),
        ("Beta", "ron", "2026-03-14T03:00:00Z", "call"),
        ("Beta", "ron", "2026-03-02T03:00:00Z", "visit"),
        ("Acme", "rita", "2026-03-12T03:00:00Z", "demo"),
    ):
        world.create(
            "follow_up", as_=owner, customer=customer_id(world, customer), type=kind,
            content="talked", visited_at=visited,
        )  # fmt: skip
    return world


def customer_id(world: Sales, name: str) -> int:
    return next(i for i, row in rows(world, "customer").items() if row["name"] == name)


def rows(world: Sales, form: str) -> dict[int, dict[str, Any]]:
    """Every live record of a form as stored: id → values, owner and department."""
    with world.runtime.read() as work:
        loaded = get_form(work, f"{APP}.{form}")
        found = work.session.execute(
            select(Record.id, Record.data, Record.owner_id, Record.department_id,
                   Record.created_at)
            .where(Record.form_id == loaded.form.id, Record.deleted_at.is_(None))
            .order_by(Record.id)
        ).all()  # fmt: skip
        return {
            i: {**from_document(loaded.spec, data), "_owner": o, "_department": d, "_created": c}
            for i, data, o, d, c in found
        }


def shipped() -> dict[str, dict[str, Any]]:
    return {
        path.stem: jsoncodec.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SHIPPED.glob("*.json"))
    }


def draw(world: Sales, dashboard: str, chart: str, as_: str = "admin", **filters: Any) -> dict:
    """One shipped chart's result for a viewer (the dashboard's default period: March)."""
    with world.runtime.read(world.user(as_)) as work:
        spec = dashboards.spec_of(work, dashboards.get_dashboard(work, f"{APP}.{dashboard}"))
        found = spec.chart(chart)
        assert found is not None, f"{dashboard} has no chart {chart}"
        result = chart_result(
            work, found, Filters(**{"period": MARCH, **filters}), language="en", cache=False
        )
    assert result["error"] is None, result["error"]
    return result


def table(result: dict) -> dict[tuple, list]:
    return {tuple(r["keys"]): r["values"] for r in result["rows"]}


def source_rows(world: Sales, name: str, as_: str = "admin", **filters: Any) -> list[dict]:
    with world.runtime.read(world.user(as_)) as work:
        source = sources.data_sources()[f"{APP}.{name}"]
        return source.rows(work, Filters(**{"period": MARCH, **filters}))


def money(value: Any) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


# -- every dashboard ---------------------------------------------------------------------------


def test_every_shipped_dashboard_installs_and_every_chart_draws(sales):
    files = shipped()
    assert set(files) == {
        "overview", "funnel", "targets", "leaderboards", "activity", "collections", "my",
    }  # fmt: skip
    with sales.runtime.read() as work:
        for stem, document in files.items():
            assert document["name"] == f"{APP}.{stem}"
            dashboards.check(work, document)  # raises naming every problem
            stored = dashboards.get_dashboard(work, f"{APP}.{stem}")
            assert dashboards.definition_text(work, stored) == (SHIPPED / f"{stem}.json").read_text(
                encoding="utf-8"
            )
    assert len(files["overview"]["charts"]) >= 8
    assert files["my"]["phone"] is True
    for stem, document in files.items():
        for chart in document["charts"]:
            for language in ("zh-CN", "en"):
                assert chart["title"][language]
            for as_ in ("admin", "rita", "max"):
                result = draw(sales, stem, chart["id"], as_=as_)
                assert result["type"] == chart["type"]


# -- each source against the raw records ------------------------------------------------------


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def in_march(text: str) -> bool:
    return moment(text).astimezone(ZONE).date().isoformat()[:7] == "2026-03"


def days(later: dt.datetime, earlier: dt.datetime) -> Decimal:
    seconds = Decimal(int((later - earlier).total_seconds()))
    return (seconds / 86400).quantize(Decimal("0.01"))


def stage_odds(world: Sales) -> dict[str, Decimal]:
    """Each stage's win probability: its option's score in the opportunity form."""
    with world.runtime.read() as work:
        options = get_form(work, f"{APP}.opportunity").spec.by_key["stage"].schema["x-options"]
    return {o["value"]: Decimal(str(o["score"])) for o in options}


def stage_entries(world: Sales, owners: set[int] | None = None) -> list[dict[str, Any]]:
    """Every stage an opportunity entered in March, worked out from its stage history and
    the stages' win probabilities (1 won, 0 lost)."""
    odds = stage_odds(world)
    path = [s for s, p in odds.items() if p != 0]
    found = []
    for opportunity in rows(world, "opportunity").values():
        if owners is not None and opportunity["_owner"] not in owners:
            continue
        history = opportunity["stage_history"]
        first = min(moment(e["entered_at"]) for e in history)
        for i, entry in enumerate(history):
            if not in_march(entry["entered_at"]):
                continue
            stage, entered = entry["stage"], moment(entry["entered_at"])
            closed = odds[stage] in (0, 1)
            later = [path.index(e["stage"]) for e in history[i + 1 :] if e["stage"] in path]
            after = moment(history[i + 1]["entered_at"]) if i + 1 < len(history) else START
            found.append(
                {
                    "owner": opportunity["_owner"],
                    "stage": stage,
                    "amount": Decimal(str(opportunity["amount"])),
                    "moved_on": int(stage in path and any(n > path.index(stage) for n in later)),
                    "days": None if closed else days(after, entered),
                    "closed": int(closed),
                    "won": int(odds[stage] == 1),
                    "cycle": days(entered, first) if closed else None,
                }
            )
    return found


def mean(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def test_stage_flow_agrees_with_the_opportunities_stage_histories(sales):
    entries = stage_entries(sales)
    assert len(entries) == 15  # the automation kept the fresh one's two stages too
    conversion = draw(sales, "funnel", "conversion")
    open_stages = ["initial", "needs", "proposal", "negotiation"]
    expected = {}
    for stage in open_stages:
        mine = [e for e in entries if e["stage"] == stage]
        moved = sum(e["moved_on"] for e in mine)
        expected[(stage,)] = [
            len(mine),
            str(moved),
            str((Decimal(moved) / len(mine)).quantize(Decimal("0.0001"))),
        ]
    assert table(conversion) == expected
    assert [r["keys"][0] for r in conversion["rows"]] == open_stages  # the stages' order
    assert conversion["rows"][0]["labels"] == ["First contact"]
    in_stage = table(draw(sales, "funnel", "days_in_stage"))
    for stage in open_stages:
        spent = mean([e["days"] for e in entries if e["stage"] == stage])
        assert Decimal(in_stage[(stage,)][0]) == spent.quantize(Decimal("0.0001")), stage
    closed = [e for e in entries if e["closed"]]
    assert table(draw(sales, "funnel", "win_rate")) == {
        (k,): [v] for k, v in Counter(e["stage"] for e in closed).items()
    }
    won = [e for e in closed if e["won"]]
    cycle = table(draw(sales, "funnel", "cycle"))[()]
    assert Decimal(cycle[0]) == mean([e["cycle"] for e in won]).quantize(Decimal("0.0001"))
    assert cycle[1:] == [len(won), money(sum(e["amount"] for e in won))]
    by_rep = table(draw(sales, "funnel", "win_rate_by_rep"))
    for owner in {e["owner"] for e in closed}:
        mine = [e for e in closed if e["owner"] == owner]
        wins = sum(e["won"] for e in mine)
        rate = (Decimal(wins) / len(mine)).quantize(Decimal("0.0001"))
        assert by_rep[(str(owner),)] == [len(mine), str(wins), str(rate)]


def test_target_progress_agrees_with_the_contracts_targets_and_open_pipeline(sales):
    credited: dict[int, Decimal] = defaultdict(Decimal)
    for contract in rows(sales, "contract").values():
        if contract["status"] != "signed" or contract["signed_on"][:7] != "2026-03":
            continue
        amount = Decimal(str(contract["amount"]))
        for part in contract.get("team") or [{"member": contract["owner"], "share": 100}]:
            credited[part["member"]] += amount * Decimal(str(part["share"])) / 100
    # open stages weigh by their win probability (the stage options' scores in the form)
    odds = {k: p for k, p in stage_odds(sales).items() if 0 < p < 1}
    piped: dict[int, Decimal] = defaultdict(Decimal)
    for opportunity in rows(sales, "opportunity").values():
        close = opportunity.get("expected_close") or ""
        if opportunity["stage"] in odds and close[:7] == "2026-03":
            piped[opportunity["owner"]] += (
                Decimal(str(opportunity["amount"])) * odds[opportunity["stage"]]
            )
    elapsed = Decimal(16) / 31  # 16 March, 10:00 in Shanghai
    ids = {name: p.id for name, p in sales.people.items()}
    east = {ids["rita"], ids["ron"], ids["max"]}
    expected = {}
    for name, people_of, amount in (
        ("Company", set(credited) | set(piped), "500000"),
        ("East", east, "300000"),
        ("Rita", {ids["rita"]}, "150000"),
        ("Ron", {ids["ron"]}, "100000"),
        ("Max", {ids["max"]}, "50000"),
    ):
        actual = sum((credited[p] for p in people_of), Decimal(0))
        forecast = actual + sum((piped[p] for p in people_of), Decimal(0))
        attainment = actual / Decimal(amount)
        expected[name] = (actual, forecast, attainment, attainment < elapsed - Decimal("0.1"))
    found = {
        row["name"]: row
        for row in source_rows(sales, "target_progress")
        if row["measure"] == "contract_amount"
    }
    assert set(found) == set(expected)
    for name, (actual, forecast, attainment, trailing) in expected.items():
        row = found[name]
        assert (row["actual"], row["forecast"]) == (actual, forecast), name
        assert row["attainment"] == attainment, name
        assert row["elapsed"] == elapsed and row["gap"] == attainment - elapsed
        assert row["trailing"] == int(trailing), name
    numbers = table(draw(sales, "targets", "company_numbers"))[()]
    company = expected["Company"]
    assert numbers[:3] == [
        money(company[0]),
        "500000.00",
        str(company[2].quantize(Decimal("0.0001"))),
    ]
    assert numbers[4] == money(company[1])
    reps = table(draw(sales, "targets", "reps"))
    assert set(reps) == {(str(ids[n]),) for n in ("rita", "ron", "max")}
    trailing = table(draw(sales, "targets", "trailing"))
    assert set(trailing) == {
        (str(ids[n.lower()]),) for n in ("Rita", "Ron", "Max") if expected[n][3]
    }
    collected = draw(sales, "targets", "reps_collected")
    four = Decimal("0.0001")
    assert table(collected) == {
        (str(ids["rita"]),): [
            str((Decimal(50000) / 80000).quantize(four)),
            str(elapsed.quantize(four)),
        ]
    }


def test_overdue_receivables_are_what_stood_at_the_end_of_the_period(sales):
    payments = list(rows(sales, "payment").values())

    def overdue(day: dt.date) -> list[tuple[int, int, Decimal]]:
        found = []
        for p in payments:
            planned = dt.date.fromisoformat(p["planned_on"])
            received = p.get("received_on")
            if planned < day and (not received or dt.date.fromisoformat(received) > day):
                found.append((p["_owner"], (day - planned).days, Decimal(str(p["planned_amount"]))))
        return found

    def age(late: int) -> str:
        return "91+" if late > 90 else "61-90" if late > 60 else "31-60" if late > 30 else "1-30"

    for period, day in (
        (MARCH, dt.date(2026, 3, 16)),  # this month: as of today
        (FEBRUARY, dt.date(2026, 2, 28)),
    ):
        due = overdue(day)
        assert due, "each period has some"
        ages: dict[str, list] = defaultdict(lambda: [Decimal(0), 0])
        for _, late, amount in due:
            ages[age(late)][0] += amount
            ages[age(late)][1] += 1
        result = draw(sales, "collections", "ages", period=period)
        assert table(result) == {(k,): [money(v[0]), v[1]] for k, v in ages.items()}
        keys = [r["keys"][0] for r in result["rows"]]
        assert keys == sorted(keys, key=lambda k: int(k.split("-")[0].rstrip("+")))
        by_rep = table(draw(sales, "collections", "overdue_by_rep", period=period))
        for owner in {o for o, _, _ in due}:
            mine = [(late, amount) for o, late, amount in due if o == owner]
            assert by_rep[(str(owner),)] == [
                money(sum(a for _, a in mine)),
                str(max(late for late, _ in mine)),
            ]
    # February: max's January payment, paid only on 2 March, was overdue then and is not now
    february = source_rows(sales, "receivables", period=FEBRUARY)
    assert (sales.people["max"].id, 54) in {(r["owner"], r["days_overdue"]) for r in february}
    assert sales.people["max"].id not in {r["owner"] for r in source_rows(sales, "receivables")}


def test_customers_without_follow_up_count_from_their_last_follow_up(sales):
    customers = rows(sales, "customer")
    last: dict[int, dt.datetime] = {}
    for follow_up in rows(sales, "follow_up").values():
        when = moment(follow_up["visited_at"])
        if when < START:
            last[follow_up["customer"]] = max(when, last.get(follow_up["customer"], when))
    gone = {
        i: int((START - last.get(i, c["_created"])).total_seconds() // 86400)
        for i, c in customers.items()
        if c.get("status") != "lost"
    }
    assert sorted(gone.values()) == [0, 0, 1, 3, 42, 73]

    def gap(n: int) -> str:
        spans = ((61, "61+"), (31, "31-60"), (15, "15-30"), (8, "08-14"), (0, "00-07"))
        return next(key for low, key in spans if n >= low)

    assert table(draw(sales, "activity", "gaps")) == {
        (k,): [v] for k, v in Counter(gap(n) for n in gone.values()).items()
    }
    stale = Counter(str(customers[i]["_owner"]) for i, n in gone.items() if n >= 30)
    assert table(draw(sales, "activity", "stale_by_rep")) == {(k,): [v] for k, v in stale.items()}
    assert table(draw(sales, "activity", "stale")) == {(): [sum(stale.values())]}


def test_measures_by_person_credit_splits_and_count_follow_ups(sales):
    ids = {name: p.id for name, p in sales.people.items()}
    signed = table(draw(sales, "leaderboards", "signed"))
    assert signed == {
        (str(ids["rita"]),): ["72000.10"],  # 60,000.10 + 30 % of 40,000
        (str(ids["ron"]),): ["28000.00"],
        (str(ids["max"]),): ["0.00"],  # February's contract is not March's
    }  # the people a KPI plan assesses and those who signed: not dora, the director
    follow_ups = Counter(
        f["_owner"] for f in rows(sales, "follow_up").values() if in_march(f["visited_at"])
    )
    timeliness = table(draw(sales, "activity", "timeliness"))
    for owner, count in follow_ups.items():
        assert timeliness[(str(owner),)][0] == str(count)
    visits = Counter(
        f["_owner"]
        for f in rows(sales, "follow_up").values()
        if f["type"] == "visit" and in_march(f["visited_at"])
    )
    ranked = table(draw(sales, "leaderboards", "visits"))
    assert {k[0]: v[0] for k, v in ranked.items() if v[0] != "0"} == {
        str(k): str(v) for k, v in visits.items()
    }


def test_scorecards_and_payouts_are_the_performance_pages_numbers(sales):
    with sales.runtime.read() as work:
        cards = {c.member: c for c in scorecards.scorecards(work, "2026-03")}
        paid = {s.member: s for s in compute(work, Period.parse("2026-03"))}
    found = {row["member"]: row for row in source_rows(sales, "scorecards")}
    assert set(found) == set(cards) and found
    for member, card in cards.items():
        row = found[member]
        assert (row["score"], row["grade"], row["status"]) == (card.total, card.grade, "live")
        points = row["result"] + row["process"] + row["capability"]
        assert points.quantize(Decimal("0.01")) == card.total
    payouts = {row["member"]: row for row in source_rows(sales, "payout_estimate")}
    assert set(payouts) == set(paid) and payouts
    for member, statement in paid.items():
        row = payouts[member]
        assert row["payout"] == statement.total
        parts = ("commission", "manager_override", "team_award", "spif", "honours", "clawback")
        assert sum(row[k] for k in parts) == statement.total
    honours = table(draw(sales, "leaderboards", "honours"))
    assert honours == {
        (str(m),): [money(r["honours"])] for m, r in payouts.items() if r["honours"] > 0
    }


# -- who sees what -----------------------------------------------------------------------------


def test_a_reps_phone_dashboard_shows_only_their_own_numbers(sales):
    rita = sales.people["rita"].id
    with sales.runtime.read() as work:
        card = next(c for c in scorecards.scorecards(work, "2026-03") if c.member == rita)
        [statement] = compute(work, Period.parse("2026-03"), members={rita})
    progress = table(draw(sales, "my", "progress", as_="rita"))[()]
    assert progress[:2] == ["72000.10", "150000.00"]
    assert Decimal(table(draw(sales, "my", "score", as_="rita"))[()][0]) == card.total
    assert table(draw(sales, "my", "payout", as_="rita"))[()][0] == money(statement.total)
    assert table(draw(sales, "my", "stale", as_="rita")) == {(): [2]}
    assert table(draw(sales, "my", "won", as_="rita"))[()][:2] == [1, "60000.00"]
    for name in ("target_progress", "scorecards", "payout_estimate", "actuals"):
        found = source_rows(sales, name, as_="rita")
        assert found and {row["member"] for row in found} == {rita}, name
        assert {row["me"] for row in found} == {1}
    for name in ("stage_flow", "receivables", "follow_up_gaps"):
        found = source_rows(sales, name, as_="rita")
        assert found and {row["owner"] for row in found} == {rita}, name


def test_a_managers_numbers_differ_from_the_admins_as_their_scopes_do(sales):
    ids = {name: p.id for name, p in sales.people.items()}
    team = {ids["rita"], ids["ron"], ids["max"]}
    admin = source_rows(sales, "target_progress")
    manager = source_rows(sales, "target_progress", as_="max")
    assert {r["name"] for r in admin} - {r["name"] for r in manager} == {"Company"}
    assert [r for r in admin if r["name"] != "Company"] == [
        {**r, "me": 0} for r in manager
    ]  # the same numbers, none of them the admin's own
    assert table(draw(sales, "targets", "forecast", as_="max")).keys() == {("East",)}
    # the manager's "my" is his own target, not his team's
    assert table(draw(sales, "my", "progress", as_="max"))[()][:2] == ["0.00", "50000.00"]
    # records: the team's opportunities, not the director's
    everyone = stage_entries(sales)
    mine = stage_entries(sales, team)
    assert len(mine) < len(everyone)
    for as_, entries in (("admin", everyone), ("max", mine)):
        closed = Counter(e["stage"] for e in entries if e["closed"])
        assert table(draw(sales, "funnel", "win_rate", as_=as_)) == {
            (k,): [v] for k, v in closed.items()
        }
    for name in ("scorecards", "payout_estimate", "actuals"):
        members = {row["member"] for row in source_rows(sales, name, as_="max")}
        assert members and members <= team, name
    everybody = {row["member"] for row in source_rows(sales, "actuals")}
    assert ids["dora"] in everybody and ids["dora"] not in team  # her new customer counts


def test_the_dashboard_filters_narrow_every_source(sales):
    ids = {name: p.id for name, p in sales.people.items()}
    with sales.runtime.read() as work:
        tree = {d.name: d.id for ds in people.department_tree(work).values() for d in ds}
    ron = source_rows(sales, "target_progress", owner=ids["ron"])
    assert {r["name"] for r in ron} == {"Ron"}
    east = source_rows(sales, "target_progress", departments=(tree["East team"],))
    assert {r["name"] for r in east} == {"East", "Rita", "Ron", "Max", "Rita collects"}
    for name in ("stage_flow", "receivables", "follow_up_gaps"):
        assert {r["owner"] for r in source_rows(sales, name, owner=ids["ron"])} <= {ids["ron"]}
    sales_only = source_rows(sales, "stage_flow", departments=(tree["Sales"],))
    assert {r["owner"] for r in sales_only} == {ids["dora"]}


# -- files -------------------------------------------------------------------------------------


def formflow(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "formflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_install_app_then_export_gives_back_the_dashboard_files_byte_for_byte(tmp_path):
    env = dict(os.environ, FORMFLOW_INSTANCE=str(tmp_path / "instance"))
    env.pop("DATABASE_URL", None)
    formflow(env, "init-db")
    assert "7 dashboard(s) published" in formflow(env, "install-app", APP)
    assert "0 dashboard(s) published, 7 unchanged" in formflow(env, "install-app", APP)
    out = tmp_path / "dashboards"
    formflow(env, "export-app", APP, str(tmp_path / "forms"), "--dashboards", str(out))
    exported = sorted(p.name for p in out.glob("*.json"))
    assert exported == sorted(p.name for p in SHIPPED.glob("*.json"))
    for name in exported:
        assert (out / name).read_bytes() == (SHIPPED / name).read_bytes(), name
