"""The load bench's invariant checker (bench/invariants.py) finds what it is there to find:
each bad state is built on purpose and must be reported; a clean history must not be."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest
from bench.invariants import check_all, check_flows, check_reminders, check_revisions
from sqlalchemy import func, select, update

from formflow.automations import service as automations
from formflow.automations.models import AutomationRun
from formflow.flows.models import FlowEvent, FlowInstance, FlowTask
from formflow.mail.kinds import message_id
from formflow.notifications.models import Notification
from formflow.notifications.service import notify
from formflow.records.models import Record, Revision
from formflow.reminders.delivery import deliver_with
from formflow.reminders.models import Reminder
from formflow.reminders.sweep import sweep
from tests.conftest import START
from tests.platform.flows.world import build

SINCE = START - dt.timedelta(hours=1)
NEW_QUOTE = {
    "name": "sales.new_quote",
    "title": "New quote",
    "trigger": {"type": "record_created", "form": "sales.quote"},
    "actions": [{"type": "notify", "to": [{"user": "max"}], "title": "Quote {{ title }}"}],
}


@pytest.fixture
def world(runtime, admin):
    return build(runtime, admin)


def first_record(runtime) -> int:
    with runtime.read() as work:
        return (work.session.scalar(select(func.max(Record.id))) or 0) + 1


def deliver_everything(runtime) -> None:
    """What the scheduler and a worker would do: claim what is due, deliver it."""
    for reminder_id in sweep(runtime):
        deliver_with(runtime, reminder_id)


def test_a_clean_history_passes(world):
    runtime = world.runtime
    first = first_record(runtime)
    small, big = world.submit(discount="0.05"), world.submit(discount="0.2")
    world.act("max", small)
    world.act("max", big)
    world.act("dora", big)  # dan still countersigns: a running instance is fine
    result = check_all(runtime, SINCE, first)
    assert result["ok"], result
    assert result["flows"]["instances"]["count"] == 2
    assert result["revisions"]["records_created"]["count"] == 2


def test_a_task_left_open_on_a_finished_instance_is_dangling(world):
    runtime = world.runtime
    quote = world.submit(discount="0.05")
    world.act("max", quote)
    instance = world.instance(quote)
    with runtime.write() as work:
        work.session.execute(
            update(FlowTask).where(FlowTask.instance_id == instance.id).values(state="pending")
        )
    found = check_flows(runtime, SINCE)
    assert found["dangling_tasks"]["count"] == 1
    assert "is approved but task(s)" in found["dangling_tasks"]["examples"][0]
    assert not check_all(runtime, SINCE, first_record(runtime))["ok"]


def test_a_running_instance_nobody_can_move_is_stuck(world):
    runtime = world.runtime
    quote = world.submit(discount="0.05")
    instance = world.instance(quote)
    with runtime.write() as work:  # its only task cancelled, the node still active
        work.session.execute(
            update(FlowTask).where(FlowTask.instance_id == instance.id).values(state="cancelled")
        )
    found = check_flows(runtime, SINCE)
    assert found["stuck_instances"]["examples"] == [
        f"instance #{instance.id} waits at 'manager' with no pending task"
    ]


def test_an_instance_advanced_twice_is_caught(world):
    runtime = world.runtime
    quote = world.submit(discount="0.05")
    world.act("max", quote)
    instance = world.instance(quote)
    with runtime.write() as work:  # two clicks that both got through
        task_id = work.session.scalar(
            select(FlowTask.id).where(
                FlowTask.instance_id == instance.id, FlowTask.node_id == "manager"
            )
        )
        for action, node in (("assigned", "manager"), ("approved", "manager"), ("acted", "stamp"),
                             ("finished", "approved")):  # fmt: skip
            work.session.add(
                FlowEvent(
                    instance_id=instance.id,
                    node_id=node,
                    task_id=task_id if action == "approved" else None,
                    action=action,
                    details={},
                    at=work.now,
                )
            )
    twice = check_flows(runtime, SINCE)["advanced_twice"]["examples"]
    assert sorted(twice) == sorted(
        [
            f"instance #{instance.id} finished 2 times",
            f"instance #{instance.id} entered 'manager' 2 times in 1 round(s)",
            f"instance #{instance.id} ran action node 'stamp' 2 times",
            f"task #{task_id} of instance #{instance.id} approved 2 times",
        ]
    )


def test_a_second_live_instance_of_the_same_flow_is_caught(world):
    runtime = world.runtime
    quote = world.submit(discount="0.05")
    instance = world.instance(quote)
    with runtime.write() as work:
        work.session.add(
            FlowInstance(
                flow_id=instance.flow_id,
                version=instance.version,
                form_id=instance.form_id,
                record_id=quote,
                initiator_id=instance.initiator_id,
                state="approved",
                position={},
                started_at=work.now,
                finished_at=work.now,
            )
        )
    twice = check_flows(runtime, SINCE)["advanced_twice"]["examples"]
    assert f"record #{quote} has 2 live instances of flow #{instance.flow_id}" in twice


def test_a_reminder_never_delivered_is_lost_and_a_run_repeated_is_twice(world):
    runtime = world.runtime
    with runtime.write(world.user("admin")) as work:
        automations.publish(work, NEW_QUOTE)
    delivered = world.submit(title="Delivered")
    deliver_everything(runtime)
    assert check_reminders(runtime, SINCE)["lost"]["count"] == 0
    forgotten = world.submit(title="Forgotten")  # its run's reminder: nobody delivers it
    found = check_reminders(runtime, SINCE)
    assert found["lost"]["count"] == 1 and "automation" in found["lost"]["examples"][0]
    assert found["runs_unfinished"]["count"] == 1
    with runtime.write() as work:
        run = work.session.scalars(
            select(AutomationRun).where(AutomationRun.record_id == delivered)
        ).one()
        work.session.add(  # the same creation fired its automation again…
            AutomationRun(
                automation_id=run.automation_id,
                version=run.version,
                trigger=run.trigger,
                record_id=run.record_id,
                event={},
                state="done",
                log=[],
                created_at=work.now,
            )
        )
        # …and its notification arrived twice
        note = work.session.scalars(select(Notification)).one()
        notify(work, note.user_id, note.title, note.body, note.link)
    twice = check_reminders(runtime, SINCE)["delivered_twice"]["examples"]
    assert any(f"ran 2 times for record #{delivered}" in line for line in twice)
    assert f"got 2 notifications about /f/sales.quote/{delivered}; its runs sent 1" in " ".join(
        twice
    )
    assert not any(f"#{forgotten}" in line for line in twice)


def test_an_email_lost_or_sent_twice_is_caught(world, tmp_path):
    runtime = world.runtime
    with runtime.write() as work:
        for n in (1, 2):
            work.session.add(
                Reminder(
                    kind="email",
                    key=f"email:test:{n}",
                    due_at=work.now,
                    state="done",
                    done_at=work.now,
                    payload={"to": "max@example.com", "subject": "s", "text": "t"},
                    created_at=work.now,
                )
            )
    with runtime.read() as work:
        sent = work.session.scalars(select(Reminder).where(Reminder.key == "email:test:1")).one()
        message = EmailMessage()
        message["Message-ID"] = message_id(sent)
    for copy in ("a", "b"):  # the first sent twice, the second never
        (tmp_path / f"{copy}.eml").write_bytes(bytes(message))
    found = check_reminders(runtime, SINCE, mail_folder=tmp_path)
    assert found["emails_twice"]["examples"] == [
        f"email of reminder #{sent.id} was received 2 times"
    ]
    assert found["emails_lost"]["count"] == 1


def test_a_record_without_its_revision_is_caught(world):
    runtime = world.runtime
    first = first_record(runtime)
    quote = world.submit(discount="0.05")
    assert check_revisions(runtime, SINCE, first)["missing_revisions"]["count"] == 0
    with runtime.write() as work:
        work.session.execute(Revision.__table__.delete().where(Revision.record_id == quote))
    found = check_revisions(runtime, SINCE, first)["missing_revisions"]
    assert found["examples"] == [f"record #{quote} is at revision 1 with 0 revision rows"]
