"""UI language (zh-CN or English), per user: Flask-Babel catalogs, and the text of labels,
options and error messages in the reader's language."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from babel import Locale, support
from flask import Flask, g, request
from flask_babel import Babel, Domain, get_locale, gettext, ngettext

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
    _Babel(app, locale_selector=select_locale, default_locale=DEFAULT_LOCALE)


def locale_name(locale: Locale | None) -> str:
    """The locale as :data:`LANGUAGES` and the catalog folders name it: Babel reads zh_CN
    as ``zh_Hans_CN``, and this gives back ``zh_CN``."""
    if locale is None:
        return DEFAULT_LOCALE
    return f"{locale.language}_{locale.territory}" if locale.territory else locale.language


class _Catalogs(Domain):
    """The message catalogs, each read once and found by :func:`locale_name`.

    Flask-Babel itself looks a catalog up by Babel's full name of the locale, so it would
    look for ``zh_Hans_CN/`` beside our ``zh_CN/`` and leave the UI in English."""

    def get_translations(self) -> support.NullTranslations:
        name = locale_name(get_locale())
        if name not in self.cache:
            found = (support.Translations.load(d, [name]) for d in self.translation_directories)
            self.cache[name] = next(
                (t for t in found if isinstance(t, support.Translations)),
                support.NullTranslations(),
            )
        return self.cache[name]


class _Babel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:  # one for the app: Flask-Babel's is one per request
        return _Catalogs()


def language() -> str:
    """The reader's language as definitions name it: ``zh-CN`` or ``en``."""
    return LANGUAGES.get(locale_name(get_locale()), "zh-CN")


def localized(value: Any, fallback: str = "") -> str:
    if isinstance(value, dict):
        lang = language()
        return value.get(lang) or value.get("zh-CN") or next(iter(value.values()), fallback)
    return value or fallback


def N_(message: str) -> str:
    """Marks text for the message catalog; it is translated where it is shown."""
    return message


#: Field error codes → their message for readers of a language other than English (English
#: readers get the engine's own, more specific message). Services all over the engine raise
#: the same code — ``unique`` for a username and for a record's value, ``reference`` for a
#: department, a user, a role or a record — so each template must read correctly wherever
#: its code is raised. A ``code:detail`` key is more specific: the detail is the error's
#: ``expected`` or ``format`` param, or the value of the schema keyword it broke (``type:number``,
#: ``format:date``). ``%(limit)s`` and the like come from the error's params.
ERROR_MESSAGES = {
    "required": N_("is required"),
    "unknown": N_("is not a field that can be used here"),
    "content_type": N_("must say the body is JSON (application/json)"),
    "additionalProperties": N_("has a part that is not recognised"),
    "type": N_("is of the wrong type"),
    "type:number": N_("must be a number"),
    "type:integer": N_("must be a whole number"),
    "type:string": N_("must be text"),
    "type:text": N_("must be text"),
    "type:boolean": N_("must be yes or no"),
    "type:id": N_("must be a valid id"),
    "format": N_("is not in the expected format"),
    "format:date": N_("must be a date like 2026-03-31"),
    "format:date-time": N_("must be a date and time like 2026-03-31 14:30"),
    "format:email": N_("must be an email address"),
    "format:uri": N_("must be a web address starting with http:// or https://"),
    "pattern": N_("is not in the expected format"),
    "integer": N_("must be a whole number"),
    "minimum": N_("must be at least %(limit)s"),
    "maximum": N_("must be at most %(limit)s"),
    "exclusiveMinimum": N_("must be greater than %(limit)s"),
    "exclusiveMaximum": N_("must be less than %(limit)s"),
    "multipleOf": N_("must be a multiple of %(limit)s"),
    "precision": N_("must have at most %(limit)s decimal places"),
    "minLength": N_("must be at least %(limit)s characters"),
    "maxLength": N_("must be at most %(limit)s characters"),
    "minItems": N_("needs at least %(limit)s entries"),
    "maxItems": N_("takes at most %(limit)s entries"),
    "uniqueItems": N_("must not contain duplicates"),
    "enum": N_("is not one of the options"),
    "between": N_("needs two values separated by a comma: from,to"),
    "unique": N_("the same value already exists; it must be unique"),
    "forbidden": N_("you may not change this field"),
    "link_forbidden": N_("you may not link this record"),
    "computed": N_("is filled in by the system and cannot be set"),
    "display_only": N_("is display-only and holds no value"),
    "stale": N_("someone else changed this meanwhile; reload it and apply your change again"),
    "changed": N_("someone else's edit changed this too"),
    "reference": N_("refers to something that does not exist or is no longer available"),
    "file": N_("the file could not be read; upload it again"),
    "file_type": N_("this kind of file is not accepted here"),
    "file_size": N_("the file is larger than the upload limit"),
    "file_mismatch": N_("the file's content does not match its name"),
    "file_empty": N_("the file is empty"),
    "name": N_("is not a valid name"),
    "cycle": N_("a department cannot be placed under itself or one of its sub-departments"),
    "in_use": N_("the department still has sub-departments or members; move them first"),
    "common": N_("is one of the most common passwords; choose another"),
    "otp": N_("is not a current code (nor, where one is allowed, your password)"),
    "self": N_("you cannot take away your own admin rights or deactivate yourself"),
    "filter": N_("is not a valid filter"),
    "operator": N_("cannot be filtered this way"),
    "sort": N_("cannot be sorted this way"),
    "cursor": N_("is not a valid page position; start again from the first page"),
    "range": N_("is out of the allowed range"),
    "header": N_("must be a version number"),
    "body": N_("the request must carry a JSON object"),
    "json": N_("is not valid JSON"),
    "definition": N_("does not follow the rules of form definitions"),
    "conversion": N_(
        "some existing records' values cannot follow this change; give them new values"
    ),
    "no_history": N_("there is no earlier version to go back to"),
    "converting": N_(
        "the form's records are still being converted to its new version; "
        "try again when that has finished"
    ),
    "http": N_("the request could not be handled"),
    "internal": N_("something went wrong on our side; it has been logged"),
    "invalid": N_("is not valid"),
    # approvals
    "busy": N_("is already in this approval flow"),
    "choice": N_("is not one of the choices offered"),
    "data": N_("only an approval may change fields"),
    "decided": N_("an approver has already decided: it can no longer be withdrawn"),
    "finished": N_("this approval has already finished"),
    "form_changed": N_("this flow belongs to another form"),
    "same_user": N_("the task is already theirs"),
    "schema.type": N_("is of the wrong type"),
    "state": N_("the approval is not waiting for that"),
    "task_closed": N_("this task was already decided; nothing was changed"),
    "to": N_("is not an earlier approval step of this flow"),
    "unknown_form": N_("names a form that does not exist"),
    # dashboards
    "count": N_("this kind of chart takes a different number of dimensions"),
    "formula": N_("the formula uses a name that is not one of the chart's measures"),
    "formula_cycle": N_("the formula is computed from itself, through other formulas"),
    "hidden": N_("you may not see this field, so it cannot be charted"),
    "measure": N_("cannot be aggregated this way"),
    "view": N_("you may not view this form's records"),
}

#: The templates for errors raised (or passed on) without the params their code's template
#: needs, such as a password's "must be at least 12 characters" without its ``limit``.
BARE_MESSAGES = {
    "minimum": N_("is too small"),
    "maximum": N_("is too large"),
    "exclusiveMinimum": N_("is too small"),
    "exclusiveMaximum": N_("is too large"),
    "multipleOf": N_("is not an allowed step"),
    "precision": N_("has too many decimal places"),
    "minLength": N_("is too short"),
    "maxLength": N_("is too long"),
    "minItems": N_("needs more entries"),
    "maxItems": N_("has too many entries"),
}

#: An error with no field and the default code is a service refusing a whole request in a
#: sentence ("no record #12"); "is not valid" would not fit it.
REFUSED = N_("this could not be done")

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def said(field: str | None, message: str, code: str = "invalid") -> FieldError:
    """An error a page raises with a message already in the reader's language (``_()``),
    which :func:`error_text` shows as it is."""
    return FieldError(field, message, code, {"localized": True})


def error_text(error: FieldError) -> str:
    """An error's message in the reader's language. English keeps the engine's own, more
    specific wording; other languages use the translated template of its code (the
    engine's message only for a code without one, such as a plugin's own). A message
    that renders itself (a ``str`` with a ``text(language)`` method, as a plugin's
    bilingual messages are) is shown in the reader's language."""
    rendered = getattr(error.message, "text", None)
    if callable(rendered):
        return str(rendered(language()))
    if language() == "en" or error.params.get("localized"):
        return error.message
    if error.field is None and error.code == "invalid":
        return gettext(REFUSED)
    for template in _templates(error):
        values = {name: error.params.get(name) for name in _PLACEHOLDER.findall(template)}
        if None not in values.values():
            return gettext(template, **values)
    return error.message


def _templates(error: FieldError) -> list[str]:
    """The templates that may describe ``error``, the most specific first."""
    params = error.params
    detail = next(
        (params[k] for k in ("expected", "format", "limit") if isinstance(params.get(k), str)),
        None,
    )
    keys = [f"{error.code}:{detail}", error.code] if detail else [error.code]
    found = [ERROR_MESSAGES[key] for key in keys if key in ERROR_MESSAGES]
    if error.code in BARE_MESSAGES:
        found.append(BARE_MESSAGES[error.code])
    return found


def template_globals() -> dict[str, Any]:
    return {
        "_": gettext,
        "ngettext": ngettext,
        "localized": localized,
        "language": language,
        "error_text": error_text,
    }
