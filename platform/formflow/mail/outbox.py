"""Putting an email in the outbox: a reminder of kind ``email``, due now."""

from __future__ import annotations

import hashlib
import logging
from email.utils import getaddresses

from ..reminders.models import Reminder
from ..reminders.service import schedule
from ..runtime import Work

log = logging.getLogger(__name__)

KIND = "email"
#: Room for the key in ``reminders.key`` (200 characters) after the ``email:`` prefix.
_KEY_ROOM = 200 - len(f"{KIND}:")


def send_later(
    work: Work, *, to: str, subject: str, text: str, key: str, html: str | None = None
) -> Reminder | None:
    """Queue an email to ``to`` in the caller's unit of work; a worker sends it once the
    transaction committed. ``key`` names the obligation (``notify:task:12:remind``): the same
    key queued again is kept as it was and None is returned."""
    if not is_address(to):
        raise ValueError(f"not an email address: {to!r}")
    payload = {"to": to, "subject": " ".join(subject.split()), "text": text}
    if html is not None:
        payload["html"] = html
    return schedule(work, KIND, f"{KIND}:{_fitted(key)}", work.now, payload)


def email_of(work: Work, user_id: int) -> str | None:
    """The address to email ``user_id`` at; None for a user without one (or with one that is
    not an address, which would fail every attempt) or no longer active."""
    from ..people.models import User

    user = work.session.get(User, user_id)
    if user is None or not user.is_active or not user.email:
        return None
    if not is_address(user.email):
        log.warning("user #%s has an email that is not an address: %r", user_id, user.email)
        return None
    return user.email


def is_address(to: str) -> bool:
    """One address, optionally with a name (``Max Li <max@example.com>``), on one line."""
    found = getaddresses([to])
    return len(found) == 1 and "@" in found[0][1] and "\n" not in to and "\r" not in to


def _fitted(key: str) -> str:
    if len(key) <= _KEY_ROOM:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
