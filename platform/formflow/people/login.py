"""Signing in with a password: argon2 verification and throttling that every process shares.

Failures are counted in the database (``login_attempts``): five for one username, or
twenty from one address, within fifteen minutes lock further tries until the window moves.

A browser session lives in a signed cookie, so ending one needs a note on the server: each
session carries a random id, and signing out records that id as ended (a ``user_settings``
row that outlives any cookie, then is pruned). A session also ends when the password
changes (:func:`session_stamp`) and :data:`SESSION_MAX_AGE` after signing in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from ..audit import security_event
from ..runtime import Work
from . import mfa
from .models import LoginAttempt, User, UserSetting
from .service import check_password, hash_password

WINDOW = dt.timedelta(minutes=15)
MAX_USER_FAILURES = 5
MAX_ADDRESS_FAILURES = 20
#: However active, a browser session signs in again this long after it signed in.
SESSION_MAX_AGE = dt.timedelta(days=30)
_ENDED = "session.ended:"
#: Verified when the username does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password("formflow-dummy-password")


@dataclass
class LoginResult:
    user: User | None
    #: Minutes to wait when throttled, else None.
    retry_minutes: int | None = None
    #: The password was right, and the user must now give a code (:func:`second_factor`).
    needs_code: bool = False


def _retry_minutes(work: Work, username: str, address: str) -> int | None:
    """Minutes to wait when too many recent tries failed for ``username`` or ``address``."""
    since = work.now - WINDOW
    by_user = work.session.scalar(
        select(func.count()).where(
            LoginAttempt.username == username,
            LoginAttempt.at > since,
            LoginAttempt.succeeded.is_(False),
        )
    )
    by_address = work.session.scalar(
        select(func.count()).where(
            LoginAttempt.address == address,
            LoginAttempt.at > since,
            LoginAttempt.succeeded.is_(False),
        )
    )
    if by_user >= MAX_USER_FAILURES or by_address >= MAX_ADDRESS_FAILURES:
        oldest = work.session.scalar(
            select(func.min(LoginAttempt.at)).where(
                LoginAttempt.at > since,
                LoginAttempt.succeeded.is_(False),
                (LoginAttempt.username == username) | (LoginAttempt.address == address),
            )
        )
        wait = (oldest + WINDOW - work.now) if oldest else WINDOW
        security_event("login.throttled", work=work, username=username, address=address)
        return max(1, int(wait.total_seconds() // 60) + 1)
    return None


def attempt(work: Work, username: str, password: str, address: str) -> LoginResult:
    """Check a password; records the attempt. The caller commits even on failure.

    For a user with a second factor a right password is only the first step: the result
    says ``needs_code``, and :func:`second_factor` signs them in."""
    username = (username or "").strip()[:80]
    address = (address or "unknown")[:64]
    retry = _retry_minutes(work, username, address)
    if retry is not None:
        return LoginResult(None, retry)
    user = work.session.scalar(select(User).where(User.username == username))
    ok = False
    if user is None or not user.is_active or not user.password_hash:
        check_password(User(password_hash=_DUMMY_HASH), password)
    else:
        ok = check_password(user, password)
    work.session.add(LoginAttempt(username=username, address=address, at=work.now, succeeded=ok))
    work.session.flush()
    if not ok:
        security_event("login.failed", work=work, username=username, address=address)
        return LoginResult(None)
    assert user is not None
    if mfa.enabled(user):
        security_event("login.password_accepted", work=work, actor=user.id, address=address)
        return LoginResult(user, needs_code=True)
    security_event("login.succeeded", work=work, actor=user.id, address=address)
    return LoginResult(user)


def second_factor(work: Work, user_id: int, code: str, address: str) -> LoginResult:
    """The second step of signing in: a code from the app, or a recovery code. A wrong code
    counts as a failed sign-in (the same throttle as passwords). The caller commits."""
    address = (address or "unknown")[:64]
    user = work.session.get(User, user_id)
    if user is None or not user.is_active:
        return LoginResult(None)
    retry = _retry_minutes(work, user.username, address)
    if retry is not None:
        return LoginResult(None, retry)
    ok = mfa.verify(work, user, code)
    work.session.add(
        LoginAttempt(username=user.username, address=address, at=work.now, succeeded=ok)
    )
    work.session.flush()
    if not ok:
        security_event("mfa.failed", work=work, actor=user.id, address=address)
        return LoginResult(None)
    security_event("login.succeeded", work=work, actor=user.id, address=address, mfa=True)
    return LoginResult(user)


def session_stamp(user: User) -> str:
    """A value stored in the session cookie that changes when the password does, so
    changing a password signs out every other session."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def new_session_id(work: Work) -> str:
    """The id of a browser session signing in now (kept in its signed cookie): when it
    began, and a random part."""
    return f"{int(work.now.timestamp())}.{secrets.token_urlsafe(16)}"


def session_expired(work: Work, session_id: str | None) -> bool:
    """Whether the session is older than :data:`SESSION_MAX_AGE`, or predates session ids."""
    began, _, rest = (session_id or "").partition(".")
    if not began.isdigit() or not rest:
        return True
    return work.now.timestamp() - int(began) > SESSION_MAX_AGE.total_seconds()


def end_session(
    work: Work, user_id: int, session_id: str, *, event: str = "logout", **details: object
) -> None:
    """Sign one browser session out for good: its cookie, even if copied, no longer works.
    Audited as ``event`` (signing out, or ``session.ended`` from the account page)."""
    # notes of sessions that would have expired anyway are no longer needed
    stale = [
        key
        for key in work.session.scalars(
            select(UserSetting.key).where(
                UserSetting.user_id == user_id,
                UserSetting.key.startswith(_ENDED, autoescape=True),
            )
        )
        if session_expired(work, key[len(_ENDED) :])
    ]
    if stale:
        work.session.execute(
            delete(UserSetting).where(UserSetting.user_id == user_id, UserSetting.key.in_(stale))
        )
    key = _ENDED + session_id[:100]
    if work.session.get(UserSetting, (user_id, key)) is None:
        work.session.add(UserSetting(user_id=user_id, key=key, value=work.now.isoformat()))
    work.session.flush()
    security_event(event, work=work, actor=user_id, **details)


def session_ended(work: Work, user_id: int, session_id: str | None) -> bool:
    """Whether a browser session may no longer be used: signed out, or too old."""
    if session_expired(work, session_id):
        return True
    return work.session.get(UserSetting, (user_id, ended_key(session_id))) is not None


def ended_key(session_id: str | None) -> str:
    """The ``user_settings`` key that records a session as ended."""
    return _ENDED + (session_id or "")[:100]
