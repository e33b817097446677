"""The nightly regrading in batches (``sales_performance/regrading.py``): each batch commits
on its own, a failed or lost batch is redone and the chain goes on, the end state is the
one grading everyone in one transaction gave, and a rerun writes no revision."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from formflow.automations import runs
from formflow.automations import service as automations
from formflow.automations.functions import Call
from formflow.definitions.service import get_form
from formflow.records import service as records
from formflow.records.models import Record, Revision
from formflow.reminders.models import Reminder, ReminderState
from formflow.reminders.sweep import sweep
from sales_performance import regrading
from sales_performance.functions import grading_rules, regrade, signed_amounts
from tests.platform.automations.world import drain
from tests.plugins.sales_performance.world import APP, Sales, build


@pytest.fixture
def sales(runtime, admin) -> Sales:
    return build(runtime, admin)


@pytest.fixture
def customers(sales, clock) -> list[int]:
    """Seven customers the next nightly run regrades: contracts that age out, a grading
    rule an admin tightened, and two it leaves as they are."""
    made = []
    for index, potential in enumerate(
        ("60000", "60000", "2000000", "400000", "60000", "1000", "75000")
    ):
        customer = sales.customer(name=f"Customer {index}", potential=potential)
        made.append(customer)
        if potential in ("2000000", "400000"):
            sales.create(
                "contract",
                name=f"Deal {index}",
                customer=customer,
                amount="600000",
                signed_on=(clock.now - dt.timedelta(days=360)).date().isoformat(),
            )
    drain(sales.runtime)
    assert [sales.values("customer", c)["grade"] for c in made] == list("CCABCDC")
    with sales.runtime.write() as work:
        rules = get_form(work, f"{APP}.grading_rule")
        [c_rule] = [
            r.id
            for r in work.session.scalars(select(Record).where(Record.form_id == rules.form.id))
            if records.values_of(rules, r)["grade"] == "C"
        ]
        records.change_as_step(work, rules, c_rule, {"min_potential": "70000"}, None)
        # the test starts the nightly run itself, not its schedule
        automations.get_automation(work, f"{APP}.nightly_grading").enabled = False
    clock.advance(days=10)  # the contracts are now more than 12 months old
    drain(sales.runtime)  # the other nightly runs of those days
    return sorted(made)


def start_nightly(runtime: Any, batch: int) -> dict[str, Any]:
    with runtime.write() as work:
        return regrading.regrade_all(
            work, Call("test", 0, "schedule", None, None, {}, {"batch": batch})
        )


def state(runtime: Any, ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """Each customer's amount, grade and revisions (number and what each changed)."""
    with runtime.read() as work:
        return _state_in(work, ids)


def batches(runtime: Any) -> list[Reminder]:
    with runtime.read() as work:
        found = list(
            work.session.scalars(
                select(Reminder).where(Reminder.kind == regrading.KIND).order_by(Reminder.id)
            )
        )
        for reminder in found:
            work.session.expunge(reminder)
        return found


def test_batches_commit_one_by_one_and_a_failed_batch_is_finished_by_its_retry(
    sales, customers, clock, monkeypatch
):
    runtime = sales.runtime
    third = customers[2]
    real = regrading.regrade

    def failing(work: Any, customer: Any, customer_id: int, *args: Any) -> Any:
        if customer_id == third:
            raise RuntimeError("the worker died here")
        return real(work, customer, customer_id, *args)

    monkeypatch.setattr(regrading, "regrade", failing)
    assert start_nightly(runtime, 2)["batches"] == 4
    drain(runtime)
    grades = {c: values[1] for c, values in state(runtime, customers).items()}
    # batch 1 (customers 0 and 1) committed; batch 2 rolled back whole and waits to retry
    assert [grades[c] for c in customers] == list("DDABCDC")
    first, second = batches(runtime)
    assert first.state == ReminderState.DONE and first.payload["result"]["changed"] == 2
    assert second.state == ReminderState.PENDING and "the worker died here" in second.error

    monkeypatch.setattr(regrading, "regrade", real)
    clock.advance(minutes=3)  # its backoff
    drain(runtime)
    grades = {c: values[1] for c, values in state(runtime, customers).items()}
    assert [grades[c] for c in customers] == list("DDCCDDC")
    links = batches(runtime)
    assert [link.state for link in links] == [ReminderState.DONE] * 4
    assert links[-1].payload["finished"] == {"batches": 4, "customers": 7, "changed": 5}


def test_the_end_state_is_what_one_transaction_gave(sales, customers):
    runtime = sales.runtime
    before = state(runtime, customers)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), runtime.write() as work:
        # the old nightly run: everyone in the run's one unit of work
        loaded = get_form(work, f"{APP}.customer")
        rules = grading_rules(work)
        amounts = signed_amounts(work, regrading.local_today(work))
        for customer_id in customers:
            regrade(work, loaded, customer_id, rules, amounts.get(customer_id, 0))
        work.flush()
        expected = _state_in(work, customers)
        raise Undo
    assert state(runtime, customers) == before  # undone

    start_nightly(runtime, 3)
    drain(runtime)
    after = state(runtime, customers)
    assert after == expected
    assert after != before


def test_a_rerun_changes_nothing_and_writes_no_revision(sales, customers):
    runtime = sales.runtime
    start_nightly(runtime, 1000)
    drain(runtime)
    graded = state(runtime, customers)
    with runtime.read() as work:
        revisions = work.session.scalar(select(func.count()).select_from(Revision))
    start_nightly(runtime, 2)
    drain(runtime)
    assert state(runtime, customers) == graded
    with runtime.read() as work:
        assert work.session.scalar(select(func.count()).select_from(Revision)) == revisions
    assert batches(runtime)[-1].payload["finished"] == {
        "batches": 4,
        "customers": 7,
        "changed": 0,
    }


def test_a_chain_ends_with_its_last_customer_not_with_an_empty_batch(sales, customers):
    assert start_nightly(sales.runtime, 7)["batches"] == 1
    drain(sales.runtime)
    [link] = batches(sales.runtime)
    assert link.payload["finished"] == {"batches": 1, "customers": 7, "changed": 5}


def test_a_batch_whose_worker_was_killed_is_handed_out_again_after_its_lease(
    sales, customers, clock
):
    runtime = sales.runtime
    start_nightly(runtime, 4)
    [first] = batches(runtime)
    assert sweep(runtime, ids=[first.id]) == [first.id]  # claimed, then its worker died
    assert drain(runtime) == 0  # still leased to the dead worker
    clock.advance(seconds=runtime.config.reminder_lease_seconds + 1)
    drain(runtime)
    links = batches(runtime)
    assert [link.state for link in links] == [ReminderState.DONE] * 2
    assert links[-1].payload["finished"]["customers"] == 7
    assert [values[1] for values in state(runtime, customers).values()] == list("DDCCDDC")


def test_the_shipped_nightly_run_reports_its_batches_and_acts_as_its_owner(sales, customers):
    runtime = sales.runtime
    with runtime.write() as work:
        nightly = automations.get_automation(work, f"{APP}.nightly_grading")
        nightly.enabled = True
        runs.start_run(work, nightly.id, nightly.current_version, "schedule")
    drain(runtime)
    [run] = sales.runs("nightly_grading")
    assert run.state == "done"
    result = run.log[0]["result"]["result"]
    assert result["customers"] == 7 and result["batches"] == 1
    assert batches(runtime)[-1].payload["finished"]["changed"] == 5
    graded = state(runtime, customers)
    for customer in customers[:5]:  # the ones it changed
        assert graded[customer][2][-1][1] == nightly.owner_id


def _state_in(work: Any, ids: list[int]) -> dict[int, tuple[Any, ...]]:
    loaded = get_form(work, f"{APP}.customer")
    out = {}
    for customer_id in ids:
        values = records.values_of(loaded, work.session.get(Record, customer_id))
        revisions = work.session.execute(
            select(Revision.revision, Revision.actor_id, Revision.changes)
            .where(Revision.record_id == customer_id)
            .order_by(Revision.revision)
        ).all()
        out[customer_id] = (
            values.get("deal_amount_12m"),
            values["grade"],
            [tuple(r) for r in revisions],
        )
    return out
