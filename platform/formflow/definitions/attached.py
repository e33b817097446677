"""What hangs off a form besides its definition — the flows a submit starts, the
automations listening to its records, its permission grants — read once per change.

Every record write (and every permission check) needs these, and they change rarely: an
admin publishes a flow, switches an automation off, edits a grant. The database marks each
such change on the form's own row: triggers (migration 0012) replace ``forms.setup_stamp``
with a random token whenever a row of ``flows``, ``automations`` or ``form_grants`` naming
the form is inserted, updated or deleted, whichever code or cascade wrote it. The form
lookup a request does anyway reads the stamp (``FormRef.setup_stamp``), and what was read
under a stamp is kept in the runtime's cache, so a record create runs no query for them.

Each reading query returns the stamp as it saw it beside the rows, and the rows are kept
under *that* stamp, not the one the caller loaded: a transaction that changed a flow after
loading the form keeps what it read under its own new token, which no other transaction
sees and which, being random, never comes back if that transaction rolls back.

As with its spec, a ``LoadedForm`` shows the form's setup at least as new as when it was
loaded: code that changes a flow, automation or grant and then writes records in the same
transaction flushes and loads the form again (``get_form``) to be sure to see its change.
A form row written without a stamp (``""``, the column's server default for rows not made
by the ORM) is never cached: a form made under a reused id must not find its predecessor's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Table, bindparam, select
from sqlalchemy.sql import ColumnElement

from ..db import DriverStatement
from .models import Form

if TYPE_CHECKING:
    from ..runtime import Work
    from .service import LoadedForm

_forms = Form.__table__
T = TypeVar("T")


def statement(table: Table, when: ColumnElement[bool] | None, *columns: Any) -> DriverStatement:
    """A query for :func:`read`: the form's stamp, then ``columns`` of each row of ``table``
    naming the form (and matching ``when``), in id order; a form with none gives one row
    with the columns empty. The first of ``columns`` must never be empty on a real row."""
    joined = table.c.form_id == _forms.c.id
    if when is not None:
        joined = joined & when
    return DriverStatement(
        select(_forms.c.setup_stamp, *columns)
        .select_from(_forms.outerjoin(table, joined))
        .where(_forms.c.id == bindparam("form_id"))
        .order_by(table.c.id)
    )


def read(
    work: Work,
    loaded: LoadedForm,
    kind: str,
    query: DriverStatement,
    build: Callable[[list[tuple[Any, ...]]], T],
) -> T:
    """``build(rows)`` for ``query``'s rows of ``loaded``'s form (each without the stamp),
    cached by the form's setup stamp. ``build`` must return something immutable: it is
    shared by every unit of work (and thread) that reads the same stamp."""
    form = loaded.form
    cache = work.runtime.specs
    key = ("attached", kind, form.id, form.setup_stamp)
    found = cache.get(key)
    if found is not None:
        return found
    rows = work.run(query, {"form_id": form.id}).fetchall()
    built = build([tuple(row[1:]) for row in rows if row[1] is not None])
    if rows and rows[0][0]:
        cache.put(("attached", kind, form.id, rows[0][0]), built)
    return built
