"""Automations end to end on a real database: triggers, conditions, each action, the run
log, retries, loop protection, schedules and date fields, and what is refused at save."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from formflow.automations import functions, runs
from formflow.automations import service as automations
from formflow.errors import ValidationFailed
from formflow.reminders.models import Reminder
from tests.conftest import snapshot
from tests.platform.automations.world import World, automation, build, drain


@pytest.fixture
def world(runtime, admin) -> World:
    return build(runtime, admin)


def test_a_created_record_notifies_each_person_in_their_language(world, runtime):
    world.publish(automation(condition="potential >= 10000"))
    record = world.customer(name="Acme", potential="50000")
    world.customer(name="Tiny", potential="500")  # the condition does not hold: no run
    [run] = world.runs()
    assert (run.state, run.record_id, run.trigger) == ("pending", record, "record_created")
    assert drain(runtime) == 1
    assert world.inbox("rita") == [("新客户：Acme", "潜力 ¥50,000.00")]
    assert world.inbox("max") == [("New customer: Acme", "Potential ¥50,000.00")]
    [run] = world.runs()
    assert run.state == "done" and run.duration_ms is not None
    assert run.log[0]["type"] == "notify"
    assert sorted(run.log[0]["result"]["notified"]) == sorted(
        [world.people["rita"].id, world.people["max"].id]
    )


def test_an_update_fires_only_when_a_watched_field_changes(world, runtime):
    world.publish(
        automation(
            name="crm.regraded",
            trigger={"type": "record_updated", "form": "crm.customer", "fields": ["grade"]},
        )
    )
    record = world.customer()
    world.change(record, potential="60000")
    assert world.runs("crm.regraded") == []
    world.change(record, grade="A")
    [run] = world.runs("crm.regraded")
    assert run.event == {"changed": ["grade"]}
    drain(runtime)
    assert world.runs("crm.regraded")[0].state == "done"


def test_create_and_update_actions_write_through_the_record_service(world, runtime):
    world.publish(
        automation(
            name="crm.first_task",
            actions=[
                {
                    "type": "create_record",
                    "form": "crm.task",
                    "values": {"title": '"Call " & name', "customer": "name"},
                },
                {
                    "type": "update_records",
                    "form": "crm.customer",
                    "where": [{"field": "name", "op": "eq", "value": "name"}],
                    "set": {"grade": '"B"'},
                },
            ],
        )
    )
    record = world.customer(name="Acme")
    drain(runtime)
    assert [(t["title"], t["customer"]) for t in world.records("crm.task")] == [
        ("Call Acme", "Acme")
    ]
    assert world.values(record)["grade"] == "B"
    [run] = world.runs("crm.first_task")
    assert run.log[1]["result"]["updated"] == [record]


def test_an_automation_updating_its_own_trigger_stops_at_the_depth_limit(world, runtime):
    world.publish(
        automation(
            name="crm.counter",
            trigger={"type": "record_updated", "form": "crm.customer", "fields": ["visits"]},
            actions=[
                {
                    "type": "update_records",
                    "form": "crm.customer",
                    "where": [{"field": "name", "op": "eq", "value": "name"}],
                    "set": {"visits": "visits + 1"},
                }
            ],
        )
    )
    record = world.customer(visits=0)
    world.change(record, visits=1)
    drain(runtime)
    limit = runtime.config.automation_depth_limit
    found = world.runs("crm.counter")
    assert [r.depth for r in found] == list(range(limit + 2))
    assert [r.state for r in found] == ["done"] * (limit + 1) + ["stopped"]
    assert "levels deep" in found[-1].error and str(limit) in found[-1].error
    assert world.values(record)["visits"] == 1 + limit + 1


def test_a_failing_action_is_retried_with_backoff_then_failed_and_retried_by_hand(
    world, runtime, clock
):
    calls = []

    def explode(work, call):
        calls.append(call.record_id)
        raise RuntimeError("the ledger is closed")

    functions.register("test.explode", explode)
    world.publish(
        automation(
            name="crm.ledger",
            actions=[
                automation()["actions"][0],
                {"type": "function", "function": "test.explode", "arguments": {"n": 1}},
            ],
        )
    )
    record = world.customer()
    drain(runtime)
    [run] = world.runs("crm.ledger")
    assert run.state == "retrying" and run.attempts == 1
    assert run.log == [
        {
            "action": 1,
            "type": "function",
            "error": "RuntimeError: the ledger is closed",
            "attempt": 1,
        }
    ]
    assert world.inbox("rita") == []  # the notify before it was rolled back with it
    for _ in range(10):
        clock.advance(hours=1)
        drain(runtime)
    [run] = world.runs("crm.ledger")
    assert run.state == "failed" and run.attempts == 5 and calls == [record] * 5
    assert "action 2 (function) failed" in run.error
    functions.register("test.explode", lambda work, call: {"posted": call.arguments["n"]})
    with runtime.write() as work:
        runs.retry(work, run.id)
    drain(runtime)
    [run] = world.runs("crm.ledger")
    assert run.state == "done" and run.log[1]["result"] == {
        "function": "test.explode",
        "result": {"posted": 1},
    }
    assert len(world.inbox("rita")) == 1


def test_a_schedule_runs_once_per_tick_and_catches_up_once_after_downtime(world, runtime, clock):
    # 10:00 on Monday 16 March in Shanghai; every Monday at 09:00.
    world.publish(
        automation(
            name="crm.weekly",
            trigger={"type": "schedule", "cron": "0 9 * * 1"},
            actions=[
                {"type": "notify", "to": [{"role": "sales_manager"}], "title": "Weekly review"}
            ],
        )
    )
    [tick] = world.reminders("automation:")
    assert tick.due_at == dt.datetime(2026, 3, 23, 1, 0, tzinfo=dt.UTC)
    clock.advance(days=7)
    drain(runtime)
    drain(runtime)  # a second scheduler finds nothing more
    assert [r.state for r in world.runs("crm.weekly")] == ["done"]
    clock.advance(days=21)  # the scheduler was down for three Mondays
    drain(runtime)
    found = world.runs("crm.weekly")
    assert len(found) == 2 and found[1].event["late"] is True
    pending = [r for r in world.reminders("automation:") if r.state == "pending"]
    assert [r.due_at for r in pending] == [dt.datetime(2026, 4, 20, 1, 0, tzinfo=dt.UTC)]
    assert world.inbox("max") == [("Weekly review", None)] * 2


def test_a_date_field_fires_before_its_time_and_follows_the_field(world, runtime, clock):
    world.publish(
        automation(
            name="crm.visit_soon",
            trigger={
                "type": "date_field",
                "form": "crm.customer",
                "field": "next_visit",
                "offset": "-PT1H",
            },
            actions=[
                {"type": "notify", "to": [{"field": "owner"}], "title": "{{ name }} 一小时后拜访"}
            ],
        )
    )
    visit = clock.now + dt.timedelta(days=2)
    record = world.customer(next_visit=visit.isoformat())
    [reminder] = world.reminders("automation:")
    assert reminder.due_at == visit - dt.timedelta(hours=1)
    later = visit + dt.timedelta(days=1)
    world.change(record, next_visit=later.isoformat())
    [reminder] = world.reminders("automation:")
    assert reminder.due_at == later - dt.timedelta(hours=1) and reminder.state == "pending"
    clock.advance(days=2)  # the old time passes: nothing
    drain(runtime)
    assert world.runs("crm.visit_soon") == []
    clock.advance(days=1)
    drain(runtime)
    assert world.inbox("rita") == [("Acme 一小时后拜访", None)]
    gone = world.customer(name="Gone", next_visit=(clock.now + dt.timedelta(days=5)).isoformat())
    world.delete(gone)
    assert world.reminders("automation:")[-1].state == "cancelled"
    with runtime.write(world.user("admin")) as work:
        from formflow.definitions.service import get_form
        from formflow.records import service as records

        records.restore(work, get_form(work, "crm.customer"), gone)
    back = world.reminders("automation:")[-1]
    assert back.state == "pending" and back.payload["record_id"] == gone


def test_publishing_a_date_automation_schedules_the_records_already_there(world, runtime, clock):
    renewal = (clock.now + dt.timedelta(days=10)).date()
    record = world.customer(renewal=renewal.isoformat())
    world.customer(name="Past", renewal=(clock.now - dt.timedelta(days=1)).date().isoformat())
    world.publish(
        automation(
            name="crm.renewal",
            trigger={
                "type": "date_field",
                "form": "crm.customer",
                "field": "renewal",
                "offset": "-P7D",
                "at": "10:30",
            },
        )
    )
    [reminder] = world.reminders("automation:")
    # 10:30 in Shanghai, seven days before the renewal date.
    assert reminder.due_at == dt.datetime(2026, 3, 19, 2, 30, tzinfo=dt.UTC)
    assert reminder.payload["record_id"] == record


def test_a_finished_flow_fires_automations_of_its_result(runtime, admin):
    from tests.platform.flows.world import build as build_flows

    flows = build_flows(runtime, admin)
    with runtime.write(flows.user("admin")) as work:
        automations.publish(
            work,
            {
                "name": "sales.approved",
                "title": "Approved quote",
                "trigger": {
                    "type": "flow_finished",
                    "flow": "sales.quote_discount",
                    "results": ["approved"],
                },
                "actions": [
                    {"type": "notify", "to": [{"user": "rita"}], "title": "{{ title }} 已批准"}
                ],
            },
        )
    quote = flows.submit()
    flows.act("max", quote)
    drain(runtime)
    with runtime.read() as work:
        from formflow.notifications.models import Notification

        titles = work.session.scalars(
            select(Notification.title).where(Notification.user_id == flows.people["rita"].id)
        ).all()
    assert "Door locks 已批准" in titles


def test_a_disabled_automation_creates_no_runs_and_skips_pending_ones(world, runtime):
    world.publish(automation())
    world.customer()
    with runtime.write() as work:
        automations.set_enabled(work, "crm.welcome", False)
    world.customer(name="Later")
    drain(runtime)
    [run] = world.runs()
    assert run.state == "skipped" and "disabled" in run.error
    assert world.inbox("rita") == []


def test_webhook_and_email_actions_queue_their_deliveries_with_the_run(world, runtime):
    import dataclasses

    runtime.config = dataclasses.replace(runtime.config, webhook_allow_private=True)
    world.publish(
        automation(
            name="crm.outbox",
            actions=[
                {
                    "type": "notify",
                    "to": [{"role": "sales_manager"}],
                    "channels": ["inbox", "email"],
                    "title": "New customer {{ name }}",
                },
                {"type": "webhook", "url": "http://127.0.0.1:9/crm", "event": "customer"},
            ],
        )
    )
    world.customer()
    drain(runtime)
    [run] = world.runs("crm.outbox")
    assert run.state == "done"
    kinds = {r.kind for r in world.reminders(f"automation-run:{run.id}:")}
    assert "webhook" in kinds


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        ({"trigger": {"type": "schedule", "cron": "every monday"}}, "/trigger/cron", "five"),
        ({"trigger": {"type": "schedule", "cron": "0 25 * * *"}}, "/trigger/cron", "range"),
        (
            {"trigger": {"type": "date_field", "form": "crm.customer", "field": "name"}},
            "/trigger/field",
            "date or datetime",
        ),
        (
            {"actions": [{"type": "webhook", "url": "ftp://files.example.com/x"}]},
            "/actions/0/url",
            "http",
        ),
        (
            {"actions": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]},
            "/actions/0/url",
            "private",
        ),
        ({"condition": "potential >"}, "/condition", "line 1"),
        ({"condition": "budget > 1"}, "/condition", "unknown field 'budget'"),
        (
            {"actions": [{"type": "notify", "to": [{"field": "name"}], "title": "x"}]},
            "/actions/0/to/0/field",
            "not a member field",
        ),
        (
            {"actions": [{"type": "notify", "to": [{"user": "max"}], "title": "{{ name "}]},
            "/actions/0/title",
            "template error",
        ),
        (
            {"actions": [{"type": "function", "function": "nobody.nothing"}]},
            "/actions/0/function",
            "no function",
        ),
    ],
)
def test_bad_definitions_are_refused_at_save_naming_the_place(
    world, runtime, change, pointer, words
):
    before = snapshot(runtime)
    with pytest.raises(ValidationFailed) as refused:
        world.publish(automation(**change))
    problems = {e.field: e.message for e in refused.value.errors}
    assert pointer in problems, problems
    assert words in problems[pointer]
    assert snapshot(runtime) == before


def test_an_action_on_a_form_the_owner_may_not_write_is_refused(world, runtime):
    from tests.conftest import grant

    # rita manages customers but may not touch tasks.
    grant(
        runtime,
        "crm.customer",
        {"actions": ["view", "create", "edit", "delete", "manage"], "scope": "all"},
    )
    definition = automation(
        name="crm.sneaky",
        actions=[{"type": "create_record", "form": "crm.task", "values": {"title": "name"}}],
    )
    with pytest.raises(ValidationFailed) as refused:
        world.publish(definition, as_="rita")
    assert "may not add records to form 'crm.task'" in str(refused.value)
    with runtime.read() as work:
        assert work.session.scalar(select(Reminder.id)) is None


def test_every_problem_is_reported_at_once_not_one_layer_at_a_time(world):
    definition = automation(trigger={"type": "schedule", "cron": "0 9 * *"})
    del definition["title"]
    definition["actions"].append({"type": "webhook"})
    with pytest.raises(ValidationFailed) as refused:
        world.publish(definition)
    fields = {e.field for e in refused.value.errors}
    # the missing title, the action without its URL, the cron, and the recipient field a
    # schedule has no record for: all in one answer.
    assert {"", "/actions/1", "/trigger/cron", "/actions/0/to/0/field"} <= fields
