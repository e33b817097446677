"""The outbox over real parts: emails queued as reminders, swept, and sent by a worker to a
real SMTP server; refusals and a missing SMTP_URL retried with backoff on the injected
clock, then failed with an error a person can read."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select

from formflow.mail.kinds import message_id
from formflow.mail.outbox import email_of, send_later
from formflow.notifications.models import Notification
from formflow.people.service import create_user
from formflow.reminders.models import Reminder
from formflow.reminders.service import schedule
from formflow.reminders.sweep import sweep
from tests.platform.mail.conftest import MAIL_FROM
from tests.platform.mail.workers import deliver_due, reminder, states, work_off


def queue_email(runtime, key="welcome:max", **fields):
    with runtime.write() as work:
        return send_later(
            work,
            to=fields.get("to", "Max Li <max@example.com>"),
            subject=fields.get("subject", "Welcome"),
            text=fields.get("text", "Your account is ready."),
            key=key,
            html=fields.get("html"),
        )


def test_a_queued_email_arrives_from_a_worker_with_its_headers_and_body(
    runtime, smtp_server, clock
):
    queue_email(
        runtime,
        subject="报价单等待您审批\n(Q-12)",  # the recipient's language; a newline in a title
        text="请审批报价单 Q-12。",
        html="<p>请审批报价单 <b>Q-12</b>。</p>",
    )
    assert queue_email(runtime) is None  # the same key queued again is kept once
    assert smtp_server.received == []  # nothing leaves before a worker sends it
    assert len(sweep(runtime)) == 1
    work_off(runtime)
    [message] = smtp_server.received
    assert message["From"] == MAIL_FROM
    assert message["To"] == "Max Li <max@example.com>"
    assert message["Subject"] == "报价单等待您审批 (Q-12)"
    assert message.get_body(("plain",)).get_content().strip() == "请审批报价单 Q-12。"
    assert "<b>Q-12</b>" in message.get_body(("html",)).get_content()
    sent = reminder(runtime, "email:welcome:max")
    assert message["Message-ID"] == message_id(sent)
    assert re.fullmatch(rf"<reminder-{sent.id}\.[0-9a-f]{{16}}@formflow>", message["Message-ID"])
    assert message["Date"] is not None
    assert (sent.state, sent.attempts, sent.error) == ("done", 0, None)


def test_without_smtp_url_an_email_is_retried_then_failed_with_a_readable_error(
    runtime, smtp_server, clock
):
    runtime.config = dataclasses.replace(runtime.config, smtp_url=None)
    queue_email(runtime)
    for _ in range(5):
        assert len(deliver_due(runtime)) == 1  # each attempt, once its backoff is over
        clock.advance(hours=1)
    assert deliver_due(runtime) == []
    failed = reminder(runtime, "email:welcome:max")
    assert (failed.state, failed.attempts) == ("failed", 5)
    assert failed.error == "MailNotConfigured: SMTP_URL is not set: email cannot be sent"
    assert smtp_server.received == []


def test_a_bad_smtp_url_fails_the_attempt_saying_what_is_wrong(runtime, smtp_server):
    runtime.config = dataclasses.replace(runtime.config, smtp_url="smtp://:2525")
    queue_email(runtime)
    deliver_due(runtime)
    attempt = reminder(runtime, "email:welcome:max")
    assert (attempt.state, attempt.attempts) == ("pending", 1)
    assert attempt.error == "ValueError: SMTP_URL names no host: use smtp://host:port"


def test_a_server_refusing_twice_gets_the_email_once_after_the_backoff(runtime, smtp_server, clock):
    smtp_server.refuse(2)
    queue_email(runtime)
    assert len(deliver_due(runtime)) == 1
    refused = reminder(runtime, "email:welcome:max")
    assert (refused.state, refused.attempts) == ("pending", 1)
    assert "451" in refused.error and "Try again later" in refused.error
    assert deliver_due(runtime) == []  # not before its backoff (2 minutes)
    clock.advance(minutes=2)
    assert len(deliver_due(runtime)) == 1
    assert reminder(runtime, "email:welcome:max").attempts == 2
    clock.advance(minutes=3)
    assert deliver_due(runtime) == []  # the next backoff is 4 minutes
    clock.advance(minutes=1)
    assert len(deliver_due(runtime)) == 1
    assert len(smtp_server.received) == 1
    sent = reminder(runtime, "email:welcome:max")
    assert (sent.state, sent.attempts) == ("done", 2)
    assert smtp_server.message_ids() == {message_id(sent): 1}


def test_notify_by_inbox_and_email_tells_the_user_both_ways_once(runtime, smtp_server, clock):
    with runtime.write() as work:
        max_ = create_user(work, "max", email="max@example.com", language="en").id
        nora = create_user(work, "nora", language="en").id  # no address
        quiet = create_user(work, "quiet", email="quiet@example.com", language="en").id
        both = ["inbox", "email"]
        for user_id, channels in ((max_, both), (nora, both), (quiet, None)):
            payload = {"user_id": user_id, "title": "Quote Q-12 waits", "body": "Please look."}
            if channels is not None:
                payload["channels"] = channels
            schedule(work, "notify", f"test:{user_id}", clock.now, payload)
    assert len(deliver_due(runtime)) == 3  # the notifications, which queue the email
    assert len(deliver_due(runtime)) == 1  # the email
    assert deliver_due(runtime) == []
    with runtime.read() as work:
        told = work.session.execute(select(Notification.user_id, Notification.title)).all()
        keys = set(work.session.scalars(select(Reminder.key).where(Reminder.kind == "email")))
    assert sorted(told) == sorted((user, "Quote Q-12 waits") for user in (max_, nora, quiet))
    assert keys == {f"email:notify:test:{max_}"}
    [message] = smtp_server.received
    assert (message["To"], message["Subject"]) == ("max@example.com", "Quote Q-12 waits")
    assert message.get_content().strip() == "Please look."
    assert states(runtime) == {"done": 4}


def test_notify_with_an_unknown_channel_fails_saying_which(runtime, smtp_server, clock):
    with runtime.write() as work:
        user_id = create_user(work, "max", email="max@example.com").id
        payload = {"user_id": user_id, "title": "x", "channels": ["inbox", "pigeon"]}
        schedule(work, "notify", "pigeon", clock.now, payload)
    deliver_due(runtime)
    assert "unknown notification channels ['pigeon']" in reminder(runtime, "pigeon").error
    with runtime.read() as work:
        assert work.session.scalars(select(Notification)).all() == []


def test_only_an_active_user_with_a_real_address_has_one(runtime):
    with runtime.write() as work:
        max_ = create_user(work, "max", email="max@example.com")
        gone = create_user(work, "gone", email="gone@example.com")
        nora = create_user(work, "nora")
        typo = create_user(work, "typo", email="typo.example.com")
        gone.is_active = False
        work.flush()
        people = (max_, gone, nora, typo)
        found = [email_of(work, user.id) for user in people] + [email_of(work, 999)]
    assert found == ["max@example.com", None, None, None, None]


@pytest.mark.parametrize(
    "to", ["max", "", "max@example.com, all@example.com", "max@example.com\nBcc: all@example.com"]
)
def test_send_later_refuses_what_is_not_one_address(runtime, to):
    with pytest.raises(ValueError, match="not an email address"), runtime.write() as work:
        send_later(work, to=to, subject="x", text="x", key="x")
    assert states(runtime) == {}
