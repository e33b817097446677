"""Delivering the outbox in tests: by real ``formflow worker`` processes (what production
runs), or in the test's own process on the injected clock (for retries and backoff)."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import suppress

from sqlalchemy import func, select

from formflow import Runtime
from formflow.reminders.delivery import deliver_with
from formflow.reminders.models import Reminder
from formflow.reminders.sweep import sweep
from tests.support.processes import kill_worker


def environment(runtime: Runtime) -> dict[str, str]:
    """What a worker process needs to reach this engine's database, queue and SMTP server."""
    config = runtime.config
    return {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url or "",
        "FORMFLOW_INSTANCE": str(config.instance_path),
        "SMTP_URL": config.smtp_url or "",
        "FORMFLOW_MAIL_FROM": config.mail_from,
    }


def start_worker(runtime: Runtime) -> subprocess.Popen[bytes]:
    """``formflow worker`` on the reminder queue, in a process group of its own (so a test
    can kill it together with the work horse it forks)."""
    return subprocess.Popen(
        [sys.executable, "-m", "formflow", "worker", runtime.config.reminder_queue],
        env=environment(runtime),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill(worker: subprocess.Popen[bytes]) -> None:
    """kill -9 a worker and the work horse it forked (tests/support/processes.py)."""
    kill_worker(worker)


def work_off(runtime: Runtime) -> None:
    """``formflow worker --burst`` on the reminder queue, as a real process, to the end."""
    done = subprocess.run(
        [sys.executable, "-m", "formflow", "worker", "--burst", runtime.config.reminder_queue],
        env=environment(runtime),
        capture_output=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def deliver_due(runtime: Runtime) -> list[int]:
    """Sweep and deliver what is due here, as a worker would (a failure is recorded on its
    reminder, not raised); the ids swept."""
    swept = sweep(runtime)
    for reminder_id in swept:
        with suppress(Exception):
            deliver_with(runtime, reminder_id)
    return swept


def reminder(runtime: Runtime, key: str) -> Reminder:
    with runtime.read() as work:
        found = work.session.scalar(select(Reminder).where(Reminder.key == key))
    assert found is not None, key
    return found


def states(runtime: Runtime) -> dict[str, int]:
    with runtime.read() as work:
        rows = work.session.execute(
            select(Reminder.state, func.count()).group_by(Reminder.state)
        ).all()
        return dict(rows)
