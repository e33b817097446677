"""A webhook: one receiving URL, the secret its deliveries are signed with, and how
delivering to it has gone."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, utcnow


def new_secret() -> str:
    """A signing secret: 32 random bytes as 64 hex characters."""
    return secrets.token_hex(32)


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Who calls it, e.g. ``automation:12:action:3``: saving the action again finds the same
    #: hook (and keeps its secret).
    key: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    #: Kept readable: signing needs the secret itself, not a hash of it.
    secret: Mapped[str] = mapped_column(String(128), default=new_secret)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Deliveries the receiver accepted (a 2xx answer).
    deliveries: Mapped[int] = mapped_column(default=0)
    #: Failed attempts, ever; every retry of a delivery counts.
    failures: Mapped[int] = mapped_column(default=0)
    #: Failed attempts since the last success: how broken the receiver is now.
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    #: The HTTP status of the last attempt; None when no answer came (refused, timed out).
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(2000))
    last_attempt_at: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]
