"""A real ``formflow worker`` killed with SIGKILL while it sends email, at the two points
that matter: before the SMTP server accepted the message in flight, and after.

The kill is placed by the SMTP server holding the conversation at that point, not by a
timer: a timed kill would land, now and then, in the window after the server's 250 and
before the commit (a QUIT and a commit long), and the test would flake between its two
honest outcomes.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from formflow.mail.kinds import message_id
from formflow.mail.outbox import send_later
from formflow.reminders.models import Reminder
from formflow.reminders.sweep import sweep
from tests.platform.mail.workers import kill, start_worker, states, work_off

EMAILS = 200


def queue_emails(runtime) -> dict[str, str]:
    """Queue the monthly statements; each one's expected Message-ID → its subject."""
    with runtime.write() as work:
        for i in range(EMAILS):
            send_later(
                work,
                to=f"rep{i}@example.com",
                subject=f"Your statement #{i}",
                text=f"Statement #{i} is ready.",
                key=f"statement:2026-03:{i}",
            )
    with runtime.read() as work:
        return {
            message_id(reminder): reminder.payload["subject"]
            for reminder in work.session.scalars(select(Reminder))
        }


def kill_when_held(runtime, held) -> None:
    """Start a worker, wait until the SMTP server holds its conversation, kill -9 it and the
    work horse it forked (the process talking SMTP)."""
    worker = start_worker(runtime)
    deadline = time.monotonic() + 120
    while not held.wait(timeout=0.05):
        assert worker.poll() is None, "the worker stopped before reaching the held message"
        assert time.monotonic() < deadline, "the worker never reached the held message"
    kill(worker)


def restart_after_the_lease(runtime, clock) -> None:
    clock.advance(seconds=runtime.config.reminder_lease_seconds + 1)
    assert len(sweep(runtime, limit=5000)) == EMAILS - 49  # what the dead worker held, again
    work_off(runtime)


def test_a_worker_killed_before_the_server_accepted_sends_every_email_exactly_once(
    runtime, smtp_server, clock
):
    expected = queue_emails(runtime)
    assert len(sweep(runtime, limit=5000)) == EMAILS
    # The 50th message's DATA has arrived but is not answered: the server has not accepted
    # it, and drops it when its client dies.
    kill_when_held(runtime, smtp_server.hold_before_accepting(50))
    assert len(smtp_server.received) == 49
    assert states(runtime) == {"done": 49, "queued": EMAILS - 49}
    restart_after_the_lease(runtime, clock)
    arrived = smtp_server.message_ids()
    assert len(smtp_server.received) == EMAILS
    assert arrived == dict.fromkeys(expected, 1)  # every one, none twice
    assert sorted(str(m["Subject"]) for m in smtp_server.received) == sorted(expected.values())
    assert states(runtime) == {"done": EMAILS}


def test_a_worker_killed_after_the_server_accepted_sends_that_email_again_with_its_message_id(
    runtime, smtp_server, clock
):
    """The window at-least-once leaves open, shown rather than hidden: the server owns the
    50th message, the worker dies before committing, so it is sent again; the copy has the
    same Message-ID, which is how a receiver knows it for the same email."""
    expected = queue_emails(runtime)
    assert len(sweep(runtime, limit=5000)) == EMAILS
    kill_when_held(runtime, smtp_server.hold_after_accepting(50))  # held at the QUIT
    assert len(smtp_server.received) == 50
    assert states(runtime) == {"done": 49, "queued": EMAILS - 49}
    twice = str(smtp_server.received[49]["Message-ID"])
    restart_after_the_lease(runtime, clock)
    arrived = smtp_server.message_ids()
    assert len(smtp_server.received) == EMAILS + 1
    assert arrived == {**dict.fromkeys(expected, 1), twice: 2}  # that one twice, no other
    assert states(runtime) == {"done": EMAILS}
