"""Hooks found by their key, deliveries scheduled once per key, the admin's list."""

from __future__ import annotations

import re

from formflow.reminders.models import Reminder
from formflow.webhooks.service import hook_for, hooks, send_later, url_problem


def test_saving_a_hook_again_keeps_its_secret_and_takes_the_new_url(runtime):
    with runtime.write() as work:
        first = hook_for(work, "automation:12:action:3", "https://93.184.215.14/old")
        other = hook_for(work, "automation:12:action:4", "https://93.184.215.14/other")
    assert re.fullmatch("[0-9a-f]{64}", first.secret) and first.secret != other.secret
    with runtime.write() as work:
        again = hook_for(work, "automation:12:action:3", "https://93.184.215.14/new")
    assert (again.id, again.secret) == (first.id, first.secret)
    with runtime.read() as work:
        listed = [(hook.key, hook.url, hook.deliveries, hook.failures) for hook in hooks(work)]
    assert listed == [
        ("automation:12:action:3", "https://93.184.215.14/new", 0, 0),
        ("automation:12:action:4", "https://93.184.215.14/other", 0, 0),
    ]


def test_a_delivery_is_a_webhook_reminder_due_now_scheduled_once_per_key(runtime, clock):
    with runtime.write() as work:
        hook = hook_for(work, "automation:12:action:3", "https://93.184.215.14/in")
        sent = send_later(work, hook, "record.created", {"id": 7}, "automation:12:run:1")
        again = send_later(work, hook, "record.created", {"id": 7}, "automation:12:run:1")
    assert sent is not None and again is None
    with runtime.read() as work:
        reminder = work.session.get(Reminder, sent.id)
        assert (reminder.kind, reminder.state, reminder.due_at) == ("webhook", "pending", clock.now)
        assert reminder.payload == {
            "hook_id": hook.id,
            "event": "record.created",
            "data": {"id": 7},
        }


def test_the_instance_setting_decides_whether_a_private_url_may_be_saved(runtime, strict_runtime):
    with strict_runtime.read() as work:
        assert "private address (10.0.0.5)" in url_problem(work, "http://10.0.0.5/in")
    with runtime.read() as work:
        assert url_problem(work, "http://10.0.0.5/in") is None
