"""The general reminder kinds: ``notify`` tells someone, in their inbox and, when the
payload's ``channels`` say so, by email."""

from __future__ import annotations

from ..mail.outbox import email_of, send_later
from ..notifications.service import notify
from ..notifications.wording import N_, language_of, said
from ..runtime import Work
from .delivery import handler
from .models import Reminder

CHANNELS = ("inbox", "email")


@handler("notify")
def _notify(work: Work, reminder: Reminder) -> None:
    payload = reminder.payload
    user_id = int(payload["user_id"])
    title = payload["title"]
    channels = payload.get("channels", ["inbox"])
    unknown = [channel for channel in channels if channel not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown notification channels {unknown}: known are {list(CHANNELS)}")
    if reminder.late:
        title = said(language_of(work, user_id), N_("%(title)s (late)"), title=title)
    if "inbox" in channels:
        notify(work, user_id, title, payload.get("body"), payload.get("link"))
    address = email_of(work, user_id) if "email" in channels else None
    if address is not None:
        # Queued in this transaction: the email exists exactly when the notification does,
        # and its key is this reminder's, so a notify delivered again queues it once.
        send_later(
            work,
            to=address,
            subject=title,
            text=payload.get("body") or title,
            key=f"notify:{reminder.key}",
        )
