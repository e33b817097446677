"""V2.2.3: a person is told when their password or two-step sign-in changes, in their inbox
and, when this instance sends mail, by email."""

from __future__ import annotations

import dataclasses

import pyotp
from sqlalchemy import select

from formflow.notifications.models import Notification
from formflow.people import mfa
from formflow.people import service as people
from formflow.people.models import User
from formflow.reminders.models import Reminder


def _told(runtime, user_id) -> tuple[list[str], list[tuple[str, str]]]:
    """The titles in the user's inbox, and the (to, subject) of the emails queued, oldest first."""
    with runtime.read() as work:
        titles = list(
            work.session.scalars(
                select(Notification.title)
                .where(Notification.user_id == user_id)
                .order_by(Notification.id)
            )
        )
        emails = [
            (r.payload["to"], r.payload["subject"])
            for r in work.session.scalars(
                select(Reminder).where(Reminder.kind == "email").order_by(Reminder.id)
            )
        ]
    return titles, emails


def test_password_and_two_step_changes_are_told_in_the_inbox_and_by_email(runtime, clock, li):
    runtime.config = dataclasses.replace(runtime.config, smtp_url="smtp://mail.example:25")
    with runtime.write() as work:
        me = work.session.get(User, li)
        me.email, me.language = "li@example.com", "en"
        people.set_password(work, me, "a brand new passphrase")
    with runtime.write() as work:
        me = work.session.get(User, li)
        mfa.enable(work, me, pyotp.TOTP(mfa.pending_secret(work, me)).at(clock.now))
    with runtime.write() as work:
        mfa.reset(work, li)
    titles, emails = _told(runtime, li)
    expected = [
        "Your password was changed",
        "Two-step sign-in was turned on for your account",
        "Two-step sign-in was turned off for your account",
    ]
    assert titles == expected
    assert emails == [("li@example.com", title) for title in expected]


def test_without_mail_the_inbox_alone_tells_in_the_readers_language(runtime, li):
    assert runtime.config.smtp_url is None
    with runtime.write() as work:
        me = work.session.get(User, li)
        me.email = "li@example.com"  # li reads Chinese
        people.set_password(work, me, "a brand new passphrase")
    titles, emails = _told(runtime, li)
    assert titles == ["您的密码已更改"] and emails == []
