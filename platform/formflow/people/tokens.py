"""API tokens: created once, shown once, stored as a SHA-256 digest.

A token is 32 random bytes; hashing it with a fast digest is enough (there is nothing to
guess), unlike passwords, which get a slow hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select

from ..audit import security_event
from ..errors import NotFound
from ..runtime import Work
from .models import ApiToken, User

PREFIX = "ff_"
#: Refresh ``last_used_at`` at most this often, so reads do not turn into writes.
TOUCH_INTERVAL = dt.timedelta(minutes=5)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(work: Work, user: User, name: str = "api") -> str:
    """A new token for ``user``; the returned text is the only copy that exists."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=digest(token), created_at=work.now)
    work.session.add(row)
    work.session.flush()
    security_event("token.issued", work=work, user=user.id, token=row.id, name=name)
    return token


def of_user(work: Work, user_id: int) -> list[ApiToken]:
    """A user's tokens that still work, newest first (their digests, never the tokens)."""
    return list(
        work.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id.desc())
        )
    )


def revoke(work: Work, user_id: int, token_id: int) -> None:
    """Stop one of ``user_id``'s tokens from working, from the next request on."""
    row = work.session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        raise NotFound(f"no token #{token_id}")
    row.revoked_at = work.now
    work.session.flush()
    security_event("token.revoked", work=work, user=user_id, token=token_id)


def authenticate(work: Work, token: str) -> tuple[User, ApiToken] | None:
    """The active user a token belongs to, or None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = work.session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == digest(token), ApiToken.revoked_at.is_(None), User.is_active)
    ).first()
    return (row[0], row[1]) if row else None


def needs_touch(token: ApiToken, now: dt.datetime) -> bool:
    return token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL
