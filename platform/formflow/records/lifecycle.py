"""What else happens when a record is created or about to change.

Other parts of the engine (approval flows, automations) listen here instead of the record
service importing them: ``created``, ``updated``, ``deleted`` and ``restored`` listeners
run inside the unit of work that made the change (so what they write commits or rolls back
with it); ``guards`` run before an edit or delete and may refuse it by raising.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..definitions.service import LoadedForm
    from ..runtime import Work
    from .models import Record, RecordRow

Created = Callable[["Work", "LoadedForm", "RecordRow"], None]
#: (work, loaded, record, changes): changes by field id, ``{id: [before, after]}``.
Updated = Callable[["Work", "LoadedForm", "Record", dict[str, list[Any]]], None]
Deleted = Callable[["Work", "LoadedForm", "Record"], None]
Restored = Callable[["Work", "LoadedForm", "Record"], None]
Guard = Callable[["Work", "LoadedForm", "Record", str], None]

_created: list[Created] = []
_updated: list[Updated] = []
_deleted: list[Deleted] = []
_restored: list[Restored] = []
_guards: list[Guard] = []


def on_created(listener: Created) -> Created:
    if listener not in _created:
        _created.append(listener)
    return listener


def on_updated(listener: Updated) -> Updated:
    if listener not in _updated:
        _updated.append(listener)
    return listener


def on_deleted(listener: Deleted) -> Deleted:
    if listener not in _deleted:
        _deleted.append(listener)
    return listener


def on_restored(listener: Restored) -> Restored:
    if listener not in _restored:
        _restored.append(listener)
    return listener


def guard(check: Guard) -> Guard:
    """Register ``check(work, loaded, record, action)``; action is ``edit`` or ``delete``."""
    if check not in _guards:
        _guards.append(check)
    return check


def created(work: Work, loaded: LoadedForm, row: RecordRow) -> None:
    for listener in _created:
        listener(work, loaded, row)


def updated(work: Work, loaded: LoadedForm, record: Record, changes: dict[str, list[Any]]) -> None:
    for listener in _updated:
        listener(work, loaded, record, changes)


def deleted(work: Work, loaded: LoadedForm, record: Record) -> None:
    for listener in _deleted:
        listener(work, loaded, record)


def restored(work: Work, loaded: LoadedForm, record: Record) -> None:
    for listener in _restored:
        listener(work, loaded, record)


def check(work: Work, loaded: LoadedForm, record: Record, action: str) -> None:
    for each in _guards:
        each(work, loaded, record, action)
