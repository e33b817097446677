"""Templated text of notifications: ``跟进 {{ name }} 的时间到了`` in each language.

Templates are Jinja, in its sandbox (no attribute access to Python internals, no imports),
with the triggering record's values by field key and a few names of the run's own
(:data:`NAMES`). A text may be one string or translations by language; the recipient's
language is used, then Chinese, then whichever is there.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: Names a template may use besides the record's fields.
NAMES = frozenset({"record_id", "link", "automation", "result", "comment", "now", "today"})
MAX_LENGTH = 4000


@cache
def environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=False, undefined=Undefined)


def pick(text: str | dict[str, str] | None, language: str) -> str | None:
    """The text in ``language`` (then zh-CN, then any)."""
    if text is None or isinstance(text, str):
        return text
    return text.get(language) or text.get("zh-CN") or next(iter(text.values()), None)


def render(text: str | dict[str, str] | None, language: str, scope: dict[str, Any]) -> str | None:
    """Render the text for a reader of ``language``; a blank field renders as nothing."""
    chosen = pick(text, language)
    if chosen is None:
        return None
    values = {key: ("" if value is None else value) for key, value in scope.items()}
    return environment().from_string(chosen).render(values)[:MAX_LENGTH]
