"""Creating and finding users."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from ..errors import Conflict, FieldError, NotFound, ValidationFailed
from ..runtime import Work
from .models import User

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,80}$")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Argon2id: a slow, salted hash."""
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    work: Work,
    username: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    password: str | None = None,
    is_admin: bool = False,
    language: str = "zh-CN",
) -> User:
    if not USERNAME.match(username or ""):
        raise ValidationFailed(
            [FieldError("username", "use 2-80 letters, digits, or . _ @ -", "pattern")]
        )
    if password is not None and len(password) < 8:
        raise ValidationFailed(
            [FieldError("password", "must be at least 8 characters", "minLength")]
        )
    if work.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict([FieldError("username", f"'{username}' is taken", "unique")])
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password) if password else None,
        is_admin=is_admin,
        language=language,
        created_at=work.now,
    )
    work.session.add(user)
    work.session.flush()
    return user


def get_user(work: Work, username: str) -> User:
    user = work.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user
