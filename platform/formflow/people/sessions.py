"""The browser sessions a person is signed in with, listed on their account page, where
any one of them (or all but the one in hand) can be ended.

A session lives in a signed cookie (see :mod:`.login`); signing in also notes it on the
server, as a ``user_settings`` row keyed by its id: when it began, when it was last seen
(at most every :data:`TOUCH_INTERVAL`), and the address and browser it came from. Ending
one records its id as ended, exactly as signing out does, so its cookie stops working.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, select

from ..runtime import Work
from .login import end_session, session_ended, session_expired, session_stamp
from .login import ended_key as login_ended_key
from .models import User, UserSetting
from .service import PASSWORD_CHANGE_DUE

_ACTIVE = "session.active:"
#: How stale "last seen" may get before a request writes it again.
TOUCH_INTERVAL = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class BrowserSession:
    """One signed-in browser, as its owner sees it."""

    #: A name for the session safe to put in a page: a hash of its id, never the id.
    handle: str
    started_at: dt.datetime
    last_seen_at: dt.datetime
    address: str
    user_agent: str
    #: Whether this is the browser asking.
    current: bool


def handle_of(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()[:16]


def _key(session_id: str) -> str:
    return _ACTIVE + session_id[:100]


def _rows(work: Work, user_id: int) -> list[UserSetting]:
    return list(
        work.session.scalars(
            select(UserSetting).where(
                UserSetting.user_id == user_id,
                UserSetting.key.startswith(_ACTIVE, autoescape=True),
            )
        )
    )


def record_sign_in(work: Work, user: User, session_id: str, address: str, user_agent: str) -> None:
    """Note a session that signs in now; forget the notes of sessions no longer usable."""
    _forget_dead(work, user)
    work.session.add(
        UserSetting(
            user_id=user.id,
            key=_key(session_id),
            value={
                "started": work.now.isoformat(),
                "seen": work.now.isoformat(),
                "address": (address or "unknown")[:64],
                "agent": (user_agent or "")[:200],
                "stamp": session_stamp(user),
            },
        )
    )
    work.session.flush()


@dataclass(frozen=True)
class RequestCheck:
    """What a signed-in page request must know of its session and its person."""

    #: Signed out, ended from another browser, or too old: the cookie no longer works.
    ended: bool
    #: Its "last seen" is older than :data:`TOUCH_INTERVAL`, so the request writes it.
    stale: bool
    #: An administrator set the person's password (see ``service.require_password_change``).
    password_change_due: bool


def check_request(work: Work, user_id: int, session_id: str | None) -> RequestCheck:
    """:class:`RequestCheck` for a request of ``user_id`` in ``session_id``: one query over
    the few settings rows it concerns, on every page request."""
    ended_key, active_key = login_ended_key(session_id), _key(session_id or "")
    rows = dict(
        work.session.execute(
            select(UserSetting.key, UserSetting.value).where(
                UserSetting.user_id == user_id,
                UserSetting.key.in_((ended_key, active_key, PASSWORD_CHANGE_DUE)),
            )
        ).all()
    )
    ended = session_expired(work, session_id) or ended_key in rows
    active = rows.get(active_key)
    stale = (
        not ended
        and isinstance(active, dict)
        and work.now - dt.datetime.fromisoformat(active["seen"]) > TOUCH_INTERVAL
    )
    return RequestCheck(ended, stale, PASSWORD_CHANGE_DUE in rows)


def touch(work: Work, user_id: int, session_id: str) -> None:
    row = work.session.get(UserSetting, (user_id, _key(session_id)))
    if row is not None and isinstance(row.value, dict):
        row.value = {**row.value, "seen": work.now.isoformat()}


def active(work: Work, user: User, current_id: str | None) -> list[BrowserSession]:
    """The sessions that may still be used, the most recently seen first."""
    found = [
        BrowserSession(
            handle=handle_of(session_id),
            started_at=dt.datetime.fromisoformat(row.value["started"]),
            last_seen_at=dt.datetime.fromisoformat(row.value["seen"]),
            address=row.value.get("address", ""),
            user_agent=row.value.get("agent", ""),
            current=session_id == current_id,
        )
        for row, session_id in _live(work, user)
    ]
    return sorted(found, key=lambda s: (not s.current, -s.last_seen_at.timestamp()))


def end(work: Work, user: User, handle: str) -> bool:
    """End the session named ``handle``; False when there is no such live session."""
    for row, session_id in _live(work, user):
        if handle_of(session_id) == handle:
            _end(work, user, row, session_id)
            return True
    return False


def end_others(work: Work, user: User, current_id: str | None) -> int:
    """End every session but ``current_id``; how many were ended."""
    ended = 0
    for row, session_id in _live(work, user):
        if session_id != current_id:
            _end(work, user, row, session_id)
            ended += 1
    return ended


def forget(work: Work, user_id: int, session_id: str) -> None:
    """Drop the note of a session that signed out."""
    row = work.session.get(UserSetting, (user_id, _key(session_id)))
    if row is not None:
        work.session.delete(row)


def _live(work: Work, user: User) -> list[tuple[UserSetting, str]]:
    """(row, session id) of each of the user's sessions that may still be used."""
    return [
        (row, session_id)
        for row in _rows(work, user.id)
        if _alive(work, user, row, session_id := row.key[len(_ACTIVE) :])
    ]


def _alive(work: Work, user: User, row: UserSetting, session_id: str) -> bool:
    return (
        isinstance(row.value, dict)
        and row.value.get("stamp") == session_stamp(user)
        and not session_ended(work, user.id, session_id)
    )


def _end(work: Work, user: User, row: UserSetting, session_id: str) -> None:
    end_session(work, user.id, session_id, event="session.ended", session=handle_of(session_id))
    work.session.delete(row)


def _forget_dead(work: Work, user: User) -> None:
    dead = [
        row.key
        for row in _rows(work, user.id)
        if not _alive(work, user, row, row.key[len(_ACTIVE) :])
    ]
    if dead:
        work.session.execute(
            delete(UserSetting).where(UserSetting.user_id == user.id, UserSetting.key.in_(dead))
        )
