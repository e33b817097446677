"""Notify a person, count what they have not read, read it."""

from __future__ import annotations

from sqlalchemy import func, select, update

from ..runtime import Work
from .models import Notification


def notify(
    work: Work, user_id: int, title: str, body: str | None = None, link: str | None = None
) -> Notification:
    """Put a notification in ``user_id``'s inbox (in the caller's unit of work, so it exists
    exactly when what it reports does)."""
    note = Notification(
        user_id=user_id, title=title[:300], body=body, link=link, created_at=work.now
    )
    work.session.add(note)
    return note


def unread_count(work: Work, user_id: int) -> int:
    return (
        work.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def latest(work: Work, user_id: int, limit: int = 50) -> list[Notification]:
    return list(
        work.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def get(work: Work, user_id: int, notification_id: int) -> Notification | None:
    """One of the user's notifications (None for anyone else's)."""
    note = work.session.get(Notification, notification_id)
    return note if note is not None and note.user_id == user_id else None


def mark_read(work: Work, user_id: int, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications read (or all of them); how many changed."""
    statement = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        statement = statement.where(Notification.id == notification_id)
    return work.session.execute(
        statement.values(read_at=work.now).execution_options(synchronize_session=False)
    ).rowcount
