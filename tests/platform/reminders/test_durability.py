"""Durable reminders with real parts: a real Valkey server, real `formflow worker`
processes, and the sweep on an injected clock (no test sleeps for the time it simulates).

Every obligation is a row; the sweep claims due rows and enqueues them; a worker delivers
each together with its effect in one transaction. So Redis flushed, a job enqueued twice,
two schedulers at once, a scheduler down for ten minutes: each reminder acts exactly once.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import subprocess
import sys
import threading
import uuid

import pytest
from sqlalchemy import func, select

from formflow import Config, Runtime
from formflow.flows.models import FlowTask
from formflow.jobs.queue import connect, queue
from formflow.notifications.models import Notification
from formflow.notifications.wording import said
from formflow.reminders.models import Reminder
from formflow.reminders.service import schedule
from formflow.reminders.sweep import sweep
from tests.conftest import make_person
from tests.platform.flows.world import FLOW, build
from tests.support.processes import kill_worker


@pytest.fixture
def runtime(db_url, tmp_path, clock, redis_url):
    """The engine with a reminder queue of its own on the real server."""
    name = "reminders-" + uuid.uuid4().hex[:12]
    config = Config(
        instance_path=tmp_path / "instance",
        database_url=db_url,
        redis_url=redis_url,
        testing=True,
        reminder_queue=name,
    )
    made = Runtime(config, clock=clock)
    yield made
    made.close()
    queue(redis_url, name).empty()


@pytest.fixture
def admin(runtime):
    return make_person(runtime, "admin", admin=True)


def work_off(runtime) -> str:
    """``formflow worker --burst`` on the reminder queue, as a real process, to the end."""
    config = runtime.config
    environment = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url,
        "FORMFLOW_INSTANCE": str(config.instance_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "formflow", "worker", "--burst", config.reminder_queue],
        env=environment,
        capture_output=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    return done.stdout.decode()


def waiting_jobs(runtime) -> int:
    return queue(runtime.config.redis_url, runtime.config.reminder_queue).count


def notifications(runtime, user_id=None) -> list[tuple[int, str]]:
    with runtime.read() as work:
        query = select(Notification.user_id, Notification.title).order_by(Notification.id)
        if user_id is not None:
            query = query.where(Notification.user_id == user_id)
        return [tuple(row) for row in work.session.execute(query)]


def states(runtime) -> dict[str, int]:
    with runtime.read() as work:
        rows = work.session.execute(
            select(Reminder.state, func.count()).group_by(Reminder.state)
        ).all()
        return dict(rows)


def many(runtime, clock, count: int, user_id: int) -> None:
    with runtime.write() as work:
        for i in range(count):
            schedule(
                work,
                "notify",
                f"test:{i}",
                clock.now,
                {"user_id": user_id, "title": f"follow up #{i}"},
            )


# -- flow timeouts -------------------------------------------------------------------------------


def test_a_task_past_its_reminder_time_reminds_its_approver_once(runtime, admin, clock):
    world = build(runtime, admin)
    quote = world.submit()
    assert sweep(runtime) == []  # nothing due yet
    clock.advance(hours=5)  # the manager's step reminds after 4 hours
    assert len(sweep(runtime)) == 1
    assert sweep(runtime) == []  # claimed once
    work_off(runtime)
    max_id = world.people["max"].id
    assert [title for _, title in notifications(runtime, max_id)] == [
        said("zh-CN", "Waiting for your approval: %(flow)s", flow="Quotation discount approval")
    ]
    assert ("reminded", "manager") in world.history(quote)
    work_off(runtime)
    assert len(notifications(runtime, max_id)) == 1


def test_after_the_time_limit_the_step_decides_by_itself(runtime, admin, clock):
    world = build(runtime, admin)
    quote = world.submit(discount="0.05")
    clock.advance(days=3, hours=1)  # remind (4 h) and auto-approve (3 days) are both due
    assert len(sweep(runtime)) == 2
    work_off(runtime)
    assert world.instance(quote).state == "approved"  # the small discount needs only him
    assert ("auto_approved", "manager") in world.history(quote)
    assert states(runtime) == {"done": 2}


def test_a_task_decided_in_time_leaves_its_reminders_nothing_to_do(runtime, admin, clock):
    world = build(runtime, admin)
    quote = world.submit()
    world.act("max", quote)
    clock.advance(days=4)
    assert len(sweep(runtime)) == 2
    work_off(runtime)
    assert notifications(runtime, world.people["max"].id) == []
    assert states(runtime) == {"done": 2}


def test_a_late_step_is_escalated_to_the_people_its_policy_names(runtime, admin, clock):
    world = build(runtime, admin)
    flow = copy.deepcopy(FLOW)
    flow["nodes"][1]["timeout"] = {"escalate_after": "PT2H", "escalate_to": [{"role": "director"}]}
    world.publish_flow(flow)
    quote = world.submit()
    clock.advance(hours=3)
    sweep(runtime)
    work_off(runtime)
    assert sorted(world.tasks(quote)) == [
        ("manager", "dan"),
        ("manager", "dora"),
        ("manager", "max"),
    ]
    assert ("escalated", "manager") in world.history(quote)
    told = said("zh-CN", "Escalated to you: %(flow)s", flow="Quotation discount approval")
    escalated = {user for user, title in notifications(runtime) if title == told}
    assert escalated == {world.people["dora"].id, world.people["dan"].id}
    # the step is "any": one of the new approvers decides it
    assert world.act("dora", quote) == "approved"


# -- durability ----------------------------------------------------------------------------------


def test_redis_flushed_and_jobs_enqueued_twice_deliver_each_reminder_once(runtime, admin, clock):
    many(runtime, clock, 1000, admin.id)
    assert len(sweep(runtime, limit=5000)) == 1000
    assert waiting_jobs(runtime) == 10  # a job per hundred
    connect(runtime.config.redis_url).flushall()  # Redis loses every job
    assert waiting_jobs(runtime) == 0
    assert sweep(runtime, limit=5000) == []  # still within their lease
    clock.advance(seconds=runtime.config.reminder_lease_seconds + 1)
    assert len(sweep(runtime, limit=5000)) == 1000  # claimed again
    clock.advance(seconds=runtime.config.reminder_lease_seconds + 1)
    assert len(sweep(runtime, limit=5000)) == 1000  # and again: twice the jobs it needs
    assert waiting_jobs(runtime) == 20
    work_off(runtime)
    delivered = notifications(runtime, admin.id)
    assert len(delivered) == 1000
    assert len(set(delivered)) == 1000  # none twice
    assert states(runtime) == {"done": 1000}


def test_two_schedulers_at_once_claim_each_reminder_once(runtime, admin, clock):
    many(runtime, clock, 400, admin.id)
    other = Runtime(runtime.config, clock=clock)
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(2)

    def run(name, engine):
        barrier.wait()
        found = []
        while batch := sweep(engine, limit=50):
            found += batch
        claimed[name] = found

    threads = [
        threading.Thread(target=run, args=(name, engine))
        for name, engine in (("first", runtime), ("second", other))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    other.close()
    first, second = set(claimed["first"]), set(claimed["second"])
    assert not first & second
    assert len(first | second) == 400
    work_off(runtime)
    assert len(notifications(runtime, admin.id)) == 400


def test_a_scheduler_down_for_ten_minutes_sends_what_was_due_once_flagged_late(
    runtime, admin, clock
):
    many(runtime, clock, 3, admin.id)
    clock.advance(minutes=10)  # nobody swept
    assert len(sweep(runtime)) == 3
    work_off(runtime)
    titles = [title for _, title in notifications(runtime, admin.id)]
    late = [said("zh-CN", "%(title)s (late)", title=f"follow up #{i}") for i in range(3)]
    assert sorted(titles) == sorted(late) and late[0] != "follow up #0"
    with runtime.read() as work:
        assert all(work.session.scalars(select(Reminder.late)))


def test_a_failing_reminder_is_retried_then_marked_failed_with_its_error(runtime, admin, clock):
    with runtime.write() as work:
        schedule(work, "notify", "broken", clock.now, {"title": "no one to tell"})
    for _ in range(5):
        sweep(runtime)
        work_off(runtime)
        clock.advance(hours=1)  # past each backoff
    with runtime.read() as work:
        reminder = work.session.scalar(select(Reminder).where(Reminder.key == "broken"))
        assert reminder.state == "failed" and reminder.attempts == 5
        assert "user_id" in reminder.error
    assert notifications(runtime) == []


def test_timeouts_are_scheduled_only_for_waiting_tasks(runtime, admin, clock):
    world = build(runtime, admin)
    quote = world.submit()
    with runtime.read() as work:
        keys = set(work.session.scalars(select(Reminder.key)))
        task = world.task_of(quote, "max")
        assert keys == {f"task:{task}:remind", f"task:{task}:auto"}
        assert work.session.get(FlowTask, task).remind_at == clock.now + dt.timedelta(hours=4)


def test_a_worker_killed_mid_way_leaves_nothing_undone_and_nothing_twice(runtime, admin, clock):
    import time

    many(runtime, clock, 1000, admin.id)
    assert len(sweep(runtime, limit=5000)) == 1000
    config = runtime.config
    environment = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url,
        "FORMFLOW_INSTANCE": str(config.instance_path),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "formflow", "worker", config.reminder_queue],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while len(notifications(runtime, admin.id)) < 50:  # mid-way through the first jobs
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.01)
    kill_worker(worker)  # the worker and the job's work horse
    partial = len(notifications(runtime, admin.id))
    assert 0 < partial < 1000
    clock.advance(seconds=config.reminder_lease_seconds + 1)
    sweep(runtime, limit=5000)  # what the dead worker held is claimed again
    work_off(runtime)
    delivered = notifications(runtime, admin.id)
    assert len(delivered) == 1000 and len(set(delivered)) == 1000
    assert states(runtime) == {"done": 1000}
