"""What else happens when a record is created or about to change.

Other parts of the engine (approval flows, later automations) listen here instead of the
record service importing them: ``created`` listeners run inside the unit of work that
created the record; ``guards`` run before an edit or delete and may refuse it by raising.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..definitions.service import LoadedForm
    from ..runtime import Work
    from .models import Record, RecordRow

Created = Callable[["Work", "LoadedForm", "RecordRow"], None]
Guard = Callable[["Work", "LoadedForm", "Record", str], None]

_created: list[Created] = []
_guards: list[Guard] = []


def on_created(listener: Created) -> Created:
    if listener not in _created:
        _created.append(listener)
    return listener


def guard(check: Guard) -> Guard:
    """Register ``check(work, loaded, record, action)``; action is ``edit`` or ``delete``."""
    if check not in _guards:
        _guards.append(check)
    return check


def created(work: Work, loaded: LoadedForm, row: RecordRow) -> None:
    for listener in _created:
        listener(work, loaded, row)


def check(work: Work, loaded: LoadedForm, record: Record, action: str) -> None:
    for each in _guards:
        each(work, loaded, record, action)
