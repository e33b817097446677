"""UI language (zh-CN or English), per user: Flask-Babel catalogs, and the text of labels,
options and error messages in the reader's language."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_babel import Babel, get_locale, gettext, ngettext

from ..errors import FieldError

#: Babel locale name → the language codes definitions use in x-label.
LANGUAGES = {"zh_CN": "zh-CN", "en": "en"}
DEFAULT_LOCALE = "zh_CN"


def select_locale() -> str:
    user = g.get("user")
    if user is not None and user.language:
        return user.language.replace("-", "_")
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LOCALE


def init(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT_LOCALE)


def language() -> str:
    """The reader's language as definitions name it: ``zh-CN`` or ``en``."""
    return LANGUAGES.get(str(get_locale()), "zh-CN")


def localized(value: Any, fallback: str = "") -> str:
    if isinstance(value, dict):
        lang = language()
        return value.get(lang) or value.get("zh-CN") or next(iter(value.values()), fallback)
    return value or fallback


def N_(message: str) -> str:
    """Marks text for the message catalog; it is translated where it is shown."""
    return message


#: Field error codes → their message template (``%(limit)s`` comes from the error's params).
ERROR_MESSAGES = {
    "required": N_("is required"),
    "unknown": N_("is not a field of this form"),
    "type": N_("has the wrong kind of value"),
    "format": N_("is not in the expected format"),
    "minimum": N_("must be at least %(limit)s"),
    "maximum": N_("must be at most %(limit)s"),
    "exclusiveMinimum": N_("must be greater than %(limit)s"),
    "exclusiveMaximum": N_("must be less than %(limit)s"),
    "minLength": N_("must be at least %(limit)s characters"),
    "maxLength": N_("must be at most %(limit)s characters"),
    "minItems": N_("needs at least %(limit)s entries"),
    "maxItems": N_("takes at most %(limit)s entries"),
    "precision": N_("must have at most %(limit)s decimal places"),
    "integer": N_("must be a whole number"),
    "pattern": N_("is not in the expected format"),
    "enum": N_("is not one of the options"),
    "uniqueItems": N_("must not contain duplicates"),
    "unique": N_("this value is already used by another record"),
    "forbidden": N_("you may not change this field"),
    "stale": N_("someone else changed this record; reload it and apply your change again"),
    "reference": N_("refers to something that does not exist"),
    "file_type": N_("this kind of file is not accepted here"),
    "file_size": N_("the file is too large"),
    "file_mismatch": N_("the file's content does not match its name"),
    "file_empty": N_("the file is empty"),
    "computed": N_("is computed and cannot be set"),
    "display_only": N_("is display-only and holds no value"),
}


def error_text(error: FieldError) -> str:
    """An error's message in the reader's language. English keeps the engine's own, more
    specific wording; other languages use the translated template of its code."""
    if language() == "en":
        return error.message
    template = ERROR_MESSAGES.get(error.code)
    if template is None:
        return error.message
    return gettext(template, limit=error.params.get("limit", ""))


def template_globals() -> dict[str, Any]:
    return {
        "_": gettext,
        "ngettext": ngettext,
        "localized": localized,
        "language": language,
        "error_text": error_text,
    }
