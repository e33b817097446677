"""Customers as the shipped automations keep them: follow-ups move the last and next
follow-up, reminders and escalation follow the next follow-up, grading by the admins'
rules on edge values, stage history — and an admin changing the forms breaks nothing
silently."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from formflow import jsoncodec
from formflow.definitions.service import definition_text, get_form, publish
from formflow.records import service as records
from tests.platform.automations.world import drain
from tests.plugins.sales_performance.world import APP, Sales, build


@pytest.fixture
def sales(runtime, admin) -> Sales:
    return build(runtime, admin)


def at(clock, **delta) -> str:
    return (clock.now + dt.timedelta(**delta)).isoformat()


def test_a_follow_up_moves_the_customers_last_and_next_follow_up(sales, clock):
    customer = sales.customer()
    sales.create(
        "follow_up",
        customer=customer,
        type="visit",
        visited_at=at(clock, hours=-2),
        content="Met the buyer",
        next_follow_up_at=at(clock, days=3),
    )
    drain(sales.runtime)
    values = sales.values("customer", customer)
    assert values["last_follow_up_at"].startswith(at(clock, hours=-2)[:16])
    assert values["next_follow_up_at"].startswith(at(clock, days=3)[:16])
    assert values["status"] == "following"
    # a follow-up entered late, for an earlier visit, does not move them back
    sales.create(
        "follow_up",
        customer=customer,
        type="call",
        visited_at=at(clock, days=-5),
        content="(entered late)",
        next_follow_up_at=at(clock, days=1),
    )
    drain(sales.runtime)
    assert sales.values("customer", customer)["next_follow_up_at"] == values["next_follow_up_at"]


def test_the_owner_is_reminded_before_and_the_manager_told_after_a_missed_follow_up(sales, clock):
    customer = sales.customer()
    sales.create(
        "follow_up",
        customer=customer,
        type="visit",
        visited_at=at(clock, hours=-1),
        content="First visit",
        next_follow_up_at=at(clock, days=2),
    )
    drain(sales.runtime)
    clock.advance(days=2, minutes=-59)  # 59 minutes before the planned follow-up
    drain(sales.runtime)
    assert [t for t, _ in sales.inbox("rita")] == ["1 小时后跟进 Acme"]
    assert sales.inbox("max") == []
    clock.advance(days=1, minutes=60)  # a day after it, and nobody followed up
    drain(sales.runtime)
    assert [t for t, _ in sales.inbox("max")] == ["Acme 的跟进已逾期一天"]


def test_a_new_follow_up_in_time_cancels_the_escalation(sales, clock):
    customer = sales.customer()
    for visited, planned in ((-1, 2), (1, 9)):
        sales.create(
            "follow_up",
            customer=customer,
            type="call",
            visited_at=at(clock, days=visited) if visited < 0 else at(clock, hours=1),
            content="call",
            next_follow_up_at=at(clock, days=planned),
        )
        drain(sales.runtime)
    clock.advance(days=4)
    drain(sales.runtime)
    assert sales.inbox("max") == []


@pytest.mark.parametrize(
    ("potential", "signed", "grade"),
    [
        ("1000000", "500000", "A"),  # both thresholds met exactly
        ("999999.99", "500000", "B"),
        ("1000000", "499999.99", "B"),
        ("300000", "100000", "B"),
        ("300000", "99999.99", "C"),
        ("50000", "0", "C"),
        ("49999.99", "0", "D"),
    ],
)
def test_grading_by_the_rules_on_edge_values(sales, clock, potential, signed, grade):
    customer = sales.customer(potential=potential)
    if signed != "0":
        sales.create(
            "contract",
            name="Deal",
            customer=customer,
            amount=signed,
            signed_on=(clock.now - dt.timedelta(days=30)).date().isoformat(),
        )
    drain(sales.runtime)
    assert sales.values("customer", customer)["grade"] == grade


def test_an_admin_edits_a_grading_rule_and_customers_follow(sales, clock):
    customer = sales.customer(potential="60000")
    drain(sales.runtime)
    assert sales.values("customer", customer)["grade"] == "C"
    with sales.runtime.write() as work:
        from sqlalchemy import select

        from formflow.records import service as records
        from formflow.records.models import Record

        rules = get_form(work, f"{APP}.grading_rule")
        c_rule = next(
            r
            for r in work.session.scalars(select(Record).where(Record.form_id == rules.form.id))
            if records.values_of(rules, r)["grade"] == "C"
        )
        records.change_as_step(work, rules, c_rule.id, {"min_potential": "100000"}, None)
    sales.create("customer", name="Trigger", potential="1")  # any run; the nightly one too
    with sales.runtime.write() as work:
        from formflow.automations.functions import Call
        from sales_performance.regrading import regrade_all

        regrade_all(work, Call("test", 0, "schedule", None, None, {}))
    drain(sales.runtime)  # its batches
    assert sales.values("customer", customer)["grade"] == "D"


def test_a_rep_cannot_set_the_grade_the_rules_keep(sales):
    from formflow.errors import Forbidden

    with pytest.raises(Forbidden, match="grade"):
        sales.customer(name="Cheat", grade="A")


def test_an_opportunity_keeps_its_stage_history(sales, clock):
    customer = sales.customer()
    opportunity = sales.create(
        "opportunity", name="Fleet", customer=customer, stage="initial", amount="50000"
    )
    drain(sales.runtime)
    for stage in ("needs", "proposal"):
        clock.advance(days=3)
        with sales.runtime.write(sales.user("rita")) as work:
            from formflow.records import service as records

            records.update_record(
                work,
                get_form(work, f"{APP}.opportunity"),
                opportunity,
                {"stage": stage},
                revision=None,
            )
        drain(sales.runtime)
    history = sales.values("opportunity", opportunity)["stage_history"]
    assert [row["stage"] for row in history] == ["initial", "needs", "proposal"]


def test_an_admin_renames_a_stage_and_adds_a_quotation_field_and_the_plugin_works(sales):
    with sales.runtime.write() as work:
        for name, change in (
            ("opportunity", _relabel_stage),
            ("quotation", _add_delivery_field),
        ):
            document = jsoncodec.loads(definition_text(work, f"{APP}.{name}"))
            change(document)
            publish(work, f"{APP}.{name}", document)
    quote = sales.quote(("Router", "850", 4), delivery="7 天内 within 7 days")
    assert sales.approvers_until_done(quote) == [["max"], ["dora"]]
    assert sales.values("quotation", quote)["delivery"] == "7 天内 within 7 days"


def test_a_removed_field_the_plugin_needs_fails_its_run_with_a_clear_message(sales, clock):
    with sales.runtime.write() as work:
        document = jsoncodec.loads(definition_text(work, f"{APP}.opportunity"))
        del document["properties"]["stage_history"]
        publish(work, f"{APP}.opportunity", copy.deepcopy(document))
    customer = sales.customer()
    sales.create("opportunity", name="Fleet", customer=customer, stage="initial", amount="1")
    for _ in range(6):
        drain(sales.runtime)
        clock.advance(hours=1)
    [run] = sales.runs("opportunity_opened")
    assert run.state == "failed"
    assert "has no field 'stage_history' any more" in run.error


def _relabel_stage(document):
    for option in document["properties"]["stage"]["x-options"]:
        if option["value"] == "proposal":
            option["label"] = {"zh-CN": "方案与报价", "en": "Proposal and quote"}


def _add_delivery_field(document):
    document["properties"]["delivery"] = {
        "x-field": "text",
        "type": "string",
        "maxLength": 100,
        "title": "交付周期",
    }


def test_customers_nobody_followed_up_are_flagged_for_owner_and_manager(sales, clock):
    quiet = sales.customer(name="Quiet")
    busy = sales.customer(name="Busy")
    clock.advance(days=20)
    sales.create("follow_up", customer=busy, type="call", visited_at=at(clock), content="call")
    clock.advance(days=15)  # Quiet: 35 days without a follow-up; Busy: 15
    drain(sales.runtime)  # the daily 08:00 run came and went
    assert sales.values("customer", quiet)["stale"] is True
    assert sales.values("customer", busy).get("stale") in (False, None)
    assert any("1 个客户超过 30 天未跟进" in t for t, _ in sales.inbox("rita"))
    assert any("团队有 1 个客户超过 30 天未跟进" in t for t, _ in sales.inbox("max"))


def test_a_payment_falls_overdue_overnight(sales, clock):
    customer = sales.customer()
    contract = sales.create(
        "contract",
        name="Deal",
        customer=customer,
        amount="10000",
        signed_on=clock.now.date().isoformat(),
    )
    payment = sales.create(
        "payment",
        as_="admin",
        contract=contract,
        customer=customer,
        planned_amount="10000",
        planned_on=(clock.now + dt.timedelta(days=2)).date().isoformat(),
    )
    assert str(sales.values("payment", payment)["overdue"]) == "0"
    clock.advance(days=4)
    drain(sales.runtime)
    assert str(sales.values("payment", payment)["overdue"]) == "1"


def test_a_customers_contacts_follow_its_contact_records(sales):
    acme, other = sales.customer("Acme"), sales.customer("Other")
    first = sales.create("contact", customer=acme, name="王建国")
    second = sales.create("contact", customer=acme, name="李娜")
    drain(sales.runtime)
    assert sales.values("customer", acme)["contacts"] == [first, second]
    with sales.runtime.write(sales.user("rita")) as work:
        loaded = get_form(work, f"{APP}.contact")
        records.update_record(work, loaded, second, {"customer": other}, revision=None)
    drain(sales.runtime)
    assert sales.values("customer", acme)["contacts"] == [first]
    assert sales.values("customer", other)["contacts"] == [second]
    with sales.runtime.write(sales.user("rita")) as work:
        records.delete(work, get_form(work, f"{APP}.contact"), first)
    drain(sales.runtime)
    assert not sales.values("customer", acme).get("contacts")
