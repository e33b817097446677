"""The ``email`` reminder kind: build the message from the reminder and send it."""

from __future__ import annotations

import datetime as dt
import hashlib
from email.message import EmailMessage
from email.utils import format_datetime

from ..config import Config
from ..reminders.delivery import Due, handler
from ..reminders.models import Reminder
from ..runtime import Runtime
from .outbox import KIND
from .smtp import send


@handler(KIND, outside=True)
def _email(runtime: Runtime, reminder: Due) -> None:
    """Sent with no transaction open: a slow mail server holds no database lock."""
    send(runtime.config, message_of(runtime.config, reminder, runtime.clock()))


def message_of(config: Config, reminder: Reminder | Due, now: dt.datetime) -> EmailMessage:
    """The email a reminder describes; every attempt builds the same ``Message-ID``."""
    payload = reminder.payload
    message = EmailMessage()
    message["From"] = config.mail_from
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(reminder)
    message.set_content(payload["text"])
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html")
    return message


def message_id(reminder: Reminder | Due) -> str:
    """Stable per reminder, so a copy sent again is recognisably the same email; the key's
    digest keeps two databases' reminder #1 apart."""
    digest = hashlib.sha256(reminder.key.encode()).hexdigest()[:16]
    return f"<reminder-{reminder.id}.{digest}@formflow>"
