"""What a password must be: 12 to 200 characters of anything, and not a common one.

There are no composition rules (ASVS 2.1.9): length and a list of the passwords people pick
most often (ASVS 2.1.7) do more. The list is ``common-passwords.txt.gz`` beside this module,
the 19,640 most common passwords as Django ships them (``django/contrib/auth/``, compiled by
Royce Williams from leaked password lists; BSD licence, see ``COMMON-PASSWORDS-LICENSE``).
It is checked offline: no password ever leaves the server.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from ..errors import FieldError

MIN_LENGTH = 12
MAX_LENGTH = 200
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")


@cache
def common_passwords() -> frozenset[str]:
    """The common passwords, lower-cased; read on first use, once per process."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().casefold() for line in lines if line.strip())


def is_common(password: str) -> bool:
    """Whether ``password`` is on the common list, whatever its letter case."""
    return password.strip().casefold() in common_passwords()


def password_problems(password: str | None, field: str = "password") -> list[FieldError]:
    """Why ``password`` may not be used (an empty list when it may), at ``field``."""
    if not password:
        return [FieldError(field, "is required", "required")]
    if len(password) < MIN_LENGTH:
        return [
            FieldError(
                field,
                f"must be at least {MIN_LENGTH} characters",
                "minLength",
                {"limit": MIN_LENGTH},
            )
        ]
    if len(password) > MAX_LENGTH:
        return [
            FieldError(
                field,
                f"must be at most {MAX_LENGTH} characters",
                "maxLength",
                {"limit": MAX_LENGTH},
            )
        ]
    if is_common(password):
        return [FieldError(field, "is one of the most common passwords; choose another", "common")]
    return []
