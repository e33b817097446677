"""Signing in with a password: argon2 verification and throttling that every process shares.

Failures are counted in the database (``login_attempts``): five for one username, or
twenty from one address, within fifteen minutes lock further tries until the window moves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select

from ..runtime import Work
from .models import LoginAttempt, User
from .service import check_password, hash_password

WINDOW = dt.timedelta(minutes=15)
MAX_USER_FAILURES = 5
MAX_ADDRESS_FAILURES = 20
#: Verified when the username does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password("formflow-dummy-password")


@dataclass
class LoginResult:
    user: User | None
    #: Minutes to wait when throttled, else None.
    retry_minutes: int | None = None


def attempt(work: Work, username: str, password: str, address: str) -> LoginResult:
    """Check a password; records the attempt. The caller commits even on failure."""
    username = (username or "").strip()[:80]
    address = (address or "unknown")[:64]
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
        return LoginResult(None, max(1, int(wait.total_seconds() // 60) + 1))
    user = work.session.scalar(select(User).where(User.username == username))
    ok = False
    if user is None or not user.is_active or not user.password_hash:
        check_password(User(password_hash=_DUMMY_HASH), password)
    else:
        ok = check_password(user, password)
    work.session.add(LoginAttempt(username=username, address=address, at=work.now, succeeded=ok))
    work.session.flush()
    return LoginResult(user if ok else None)


def session_stamp(user: User) -> str:
    """A value stored in the session cookie that changes when the password does, so
    changing a password signs out every other session."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]
