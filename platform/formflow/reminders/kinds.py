"""The general reminder kinds: ``notify`` puts a notification in someone's inbox."""

from __future__ import annotations

from ..notifications.service import notify
from ..notifications.wording import N_, language_of, said
from ..runtime import Work
from .delivery import handler
from .models import Reminder


@handler("notify")
def _notify(work: Work, reminder: Reminder) -> None:
    payload = reminder.payload
    user_id = int(payload["user_id"])
    title = payload["title"]
    if reminder.late:
        title = said(language_of(work, user_id), N_("%(title)s (late)"), title=title)
    notify(work, user_id, title, payload.get("body"), payload.get("link"))
