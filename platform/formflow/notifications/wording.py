"""Notification text in its reader's language.

Notifications are written by workers, outside any web request, so the words are looked up
in the same message catalogs the web UI uses, for the recipient's own language.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel import support

from ..runtime import Work

CATALOGS = Path(__file__).resolve().parent.parent / "translations"


def N_(message: str) -> str:
    """Marks a message for the catalogs; it is translated when said."""
    return message


@lru_cache(maxsize=8)
def _catalog(language: str) -> support.NullTranslations:
    found = support.Translations.load(str(CATALOGS), [language.replace("-", "_")])
    return found if isinstance(found, support.Translations) else support.NullTranslations()


def said(language: str | None, message: str, **params: object) -> str:
    text = _catalog(language or "en").gettext(message)
    return text % params if params else text


def language_of(work: Work, user_id: int) -> str:
    from ..people.models import User

    user = work.session.get(User, user_id)
    return user.language if user is not None and user.language else "zh-CN"
