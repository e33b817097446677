"""Record operations: create, read, update, delete, restore — one transaction each.

Every write goes through :func:`formflow.records.prepare.prepare`, checks that the ids it
stores point at live users, departments, records and files, writes a revision with each
field's value before and after, and relies on the database for what must hold under
concurrency: unique values (unique indexes), gap-free serial numbers (a counter row
incremented in the same transaction) and optimistic locking (a guarded
``UPDATE … WHERE revision = :read``).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ..db import DriverStatement
from ..definitions import conversions
from ..definitions.service import LoadedForm, get_form_by_id, target_form_id
from ..definitions.spec import FieldSpec, FormSpec
from ..errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from ..expressions import EvalContext
from ..fields.computed import render_serial
from ..files.models import StoredFile
from ..people.models import Department, Membership, User
from ..permissions.models import Access, Action
from ..permissions.policy import Grant, policy_for
from ..runtime import Work
from . import lifecycle
from .models import Record, RecordRow, Revision, RevisionAction, SerialCounter
from .prepare import Values, from_document, prepare, to_document


def eval_context(work: Work, spec: FormSpec) -> EvalContext:
    """The clock and zone formulas see for this unit of work."""
    local = work.now.astimezone(spec.timezone)
    return EvalContext(today=local.date(), now=local, timezone=spec.timezone)


class _Defaults(Mapping[str, Any]):
    """``x-default`` markers, resolved only if a field uses one."""

    def __init__(self, work: Work) -> None:
        self.work = work

    def __getitem__(self, marker: str) -> Any:
        if marker == "current_user":
            return self.work.actor_id
        if marker == "current_department":
            return primary_department(self.work)
        raise KeyError(marker)

    def __iter__(self) -> Iterator[str]:
        return iter(("current_user", "current_department"))

    def __len__(self) -> int:
        return 2


_USER_FACTS = DriverStatement(
    select(User.is_active, Membership.department_id)
    .select_from(User)
    .outerjoin(Membership, Membership.user_id == User.id)
    .where(User.id == bindparam("user"))
    .order_by(Membership.is_primary.desc(), Membership.department_id)
    .limit(1)
)


def _user_facts(work: Work, user_id: int) -> tuple[bool, int | None] | None:
    """(active, primary department) of a user, or None when there is no such user; one
    indexed query per user per unit of work."""
    key = ("user", user_id)
    if key not in work.memo:
        row = work.run(_USER_FACTS, {"user": user_id}).fetchone()
        work.memo[key] = (bool(row[0]), row[1]) if row else None
    return work.memo[key]


def primary_department(work: Work, user_id: int | None = None) -> int | None:
    """The user's primary department (the actor's by default)."""
    user_id = work.actor_id if user_id is None else user_id
    if user_id is None:
        return None
    facts = _user_facts(work, user_id)
    return facts[1] if facts else None


_records = Record.__table__
_revisions = Revision.__table__
_RECORD_COLUMNS = (
    "form_id",
    "data",
    "form_version",
    "revision",
    "owner_id",
    "department_id",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
)
_INSERT_RECORD = DriverStatement(
    insert(_records).values({c: bindparam(c) for c in _RECORD_COLUMNS})
)
_INSERT_RECORD_RETURNING = DriverStatement(
    insert(_records).values({c: bindparam(c) for c in _RECORD_COLUMNS}).returning(_records.c.id)
)
_INSERT_REVISION = DriverStatement(
    insert(_revisions).values(
        {
            c: bindparam(c)
            for c in (
                "record_id",
                "revision",
                "action",
                "form_version",
                "actor_id",
                "at",
                "changes",
            )
        }
    )
)


def create(work: Work, loaded: LoadedForm, data: Any) -> RecordRow:
    """Create a record of ``loaded``'s form from ``data`` (values by field key), as the
    acting user may: only fields their create grants let them edit may be given."""
    policy = policy_for(work, loaded)
    if not policy.allows(Action.CREATE):
        raise Forbidden("you may not add records to this form")
    if policy.unrestricted:  # every field editable: nothing to restrict
        return _insert(work, loaded, data, None, None, links_seen=False)
    access = read_only_too(loaded.spec, policy.access(policy.granting(Action.CREATE)))
    return _insert(work, loaded, data, access, _editable(access), links_seen=True)


def create_as_step(work: Work, loaded: LoadedForm, data: Any) -> RecordRow:
    """Create a record as a step of a process (a flow's action node): no permission grants
    apply; validated like any record. The acting user (if any) is its creator."""
    return _insert(work, loaded, data, None, None, links_seen=False)


def starting_values(work: Work, spec: FormSpec) -> Values:
    """What a new record's fields start as before anyone types, for a form to preset: each
    ``x-default`` marker resolved for the acting user (``current_user``,
    ``current_department``), each static default as the definition writes it. :func:`create`
    applies the same defaults to the fields its input leaves out."""
    markers = _Defaults(work)
    out: Values = {}
    for f in spec.defaulted_fields:
        marker = f.schema.get("x-default") or f.implicit_default
        value = markers.get(marker) if marker is not None else f.schema.get("default")
        if value is not None:
            out[f.key] = value
    return out


def _insert(
    work: Work,
    loaded: LoadedForm,
    data: Any,
    access: dict[str, Access] | None,
    editable: set[str] | None,
    *,
    links_seen: bool,
) -> RecordRow:
    """Store a new record; ``access`` None: every field may be given; ``links_seen``: every
    record it links must be one the acting user may view (a person's own write, not a
    process step's)."""
    spec = loaded.spec
    if access is not None:
        data = _restrict(data, access, None)
    values, errors = prepare(
        spec,
        data,
        current=None,
        partial=False,
        defaults=_Defaults(work),
        context=eval_context(work, spec),
        editable=editable,
    )
    if errors:
        raise ValidationFailed(errors)
    _check_references(work, loaded, values, None)
    if links_seen:
        _check_links_seen(work, loaded, values, None)
    _assign_serials(work, loaded, values)
    document = to_document(spec, values, None, set())
    owner_id = _owner(spec, values, work.actor_id)
    row = {
        "form_id": loaded.form.id,
        "data": document,
        "form_version": spec.version,
        "revision": 1,
        "owner_id": owner_id,
        "department_id": primary_department(work, owner_id) if owner_id else None,
        "created_by": work.actor_id,
        "created_at": work.now,
        "updated_by": work.actor_id,
        "updated_at": work.now,
    }
    with _unique_errors(spec):
        record_id = _insert_record(work, row)
    work.run(
        _INSERT_REVISION,
        {
            "record_id": record_id,
            "revision": 1,
            "action": RevisionAction.CREATE.value,
            "form_version": spec.version,
            "actor_id": work.actor_id,
            "at": work.now,
            # A create is an event, not a diff: the values a record was created with are its
            # current ones with the later changes undone (see document_at), as Salesforce's
            # and ERPNext's field histories keep it, so they are not stored twice.
            "changes": {},
        },
    )
    _attach_files(work, spec, values, record_id)
    created = RecordRow(id=record_id, **row)
    lifecycle.created(work, loaded, created)
    return created


def _insert_record(work: Work, row: dict[str, Any]) -> int:
    """Insert a record row; its new id. SQLite hands the id over as the cursor's
    ``lastrowid``, measured about 30 µs a row cheaper than ``RETURNING`` (which PostgreSQL
    needs)."""
    if work.dialect == "sqlite":
        return work.run(_INSERT_RECORD, row).lastrowid
    return work.run(_INSERT_RECORD_RETURNING, row).fetchone()[0]


def get(work: Work, record_id: int, *, form_id: int | None = None, deleted: bool = False) -> Record:
    """A record by id (of ``form_id`` when given); NotFound for a deleted one unless asked."""
    record = work.session.get(Record, record_id)
    if record is None or (form_id is not None and record.form_id != form_id):
        raise NotFound(f"no record #{record_id}")
    if (record.deleted_at is not None) != deleted:
        raise NotFound(
            f"record #{record_id} is deleted" if not deleted else f"no deleted record #{record_id}"
        )
    # A record a background conversion has not reached yet is read as it will be stored.
    conversions.read_record(work, record)
    return record


def load(
    work: Work,
    loaded: LoadedForm,
    record_id: int,
    action: Action = Action.VIEW,
    *,
    deleted: bool = False,
) -> tuple[Record, list[Grant]]:
    """A record of this form the acting user may ``action``, with the grants that reach it.

    A record they may not even see is "not found" (its existence is not revealed); one they
    see but may not change this way is "forbidden".
    """
    policy = policy_for(work, loaded)
    record = get(work, record_id, form_id=loaded.form.id, deleted=deleted)
    if policy.unrestricted:
        return record, []
    if not policy.allows(action):
        if action != Action.VIEW and policy.covering(work, Action.VIEW, [record.id]):
            raise Forbidden(f"you may not {action.value} this record")
        raise NotFound(f"no record #{record_id}")
    reached = policy.covering(work, action, [record.id]).get(record.id)
    if not reached:
        if action != Action.VIEW and policy.covering(work, Action.VIEW, [record.id]):
            raise Forbidden(f"you may not {action.value} this record")
        raise NotFound(f"no record #{record_id}")
    return record, reached


def hidden_fields(
    work: Work, loaded: LoadedForm, record_ids: Iterable[int], action: Action = Action.VIEW
) -> dict[int, set[str]]:
    """Per record, the field keys the acting user may not see there."""
    record_ids = list(record_ids)
    policy = policy_for(work, loaded)
    if policy.unrestricted:
        return {i: set() for i in record_ids}
    reached = policy.covering(work, action, record_ids)
    everything = {f.key for f in loaded.spec.fields}
    return {i: policy.hidden(reached[i]) if i in reached else everything for i in record_ids}


def read_only_too(spec: FormSpec, access: dict[str, Access]) -> dict[str, Access]:
    """The person's access with the form's read-only fields (``x-readonly``: kept by the
    system, like a customer's grade) made read-only for them too. The service leaves admins
    free to set them (an import, a correction); a record form shows them to everyone as
    values, never inputs."""
    out = dict(access)
    for f in spec.data_fields:
        if f.parent is None and f.schema.get("x-readonly") and out.get(f.key) != Access.HIDDEN:
            out[f.key] = Access.READ
    return out


def _editable(access: dict[str, Access]) -> set[str]:
    return {path for path, level in access.items() if level == Access.EDIT}


def _restrict(data: Any, access: dict[str, Access], current: Values | None) -> Any:
    """Refuse values for fields the person may not change (403, naming them); a value that
    only repeats what is stored is let through, so a form echoing a read-only field works."""
    if not isinstance(data, dict):
        return data
    errors = []
    kept = {}
    for key, value in data.items():
        level = access.get(key) if isinstance(key, str) else None
        if level is None or level == Access.EDIT:
            kept[key] = value
        elif current is None and value in (None, "", []):
            continue  # a new record's form posting its read-only field empty
        elif current is not None and (
            value == current.get(key) or str(value) == str(current.get(key))
        ):
            continue
        else:
            errors.append(FieldError(key, "you may not change this field", "forbidden"))
    if errors:
        raise Forbidden(errors)
    return kept


def values_of(loaded: LoadedForm, record: Record) -> Values:
    return from_document(loaded.spec, record.data)


def document_at(
    record: Record | RecordRow, history: list[Revision], revision: int
) -> dict[str, Any]:
    """The record's stored document as it was right after ``revision``: the current
    document with every later change undone, newest first."""
    document = dict(record.data)
    for entry in sorted(history, key=lambda r: r.revision, reverse=True):
        if entry.revision <= revision:
            break
        for field_id, (before, _after) in entry.changes.items():
            if before is None:
                document.pop(field_id, None)
            else:
                document[field_id] = before
    return document


def update_record(
    work: Work,
    loaded: LoadedForm,
    record_id: int,
    data: Any,
    *,
    revision: int | None,
    partial: bool = True,
) -> Record:
    """Change a record; ``revision`` is the one the client read (stale → 409, nothing lost).

    With ``partial`` (PATCH) fields not named keep their values; without it (PUT) the
    input replaces the record's values.
    """
    policy = policy_for(work, loaded)
    record, grants = load(work, loaded, record_id, Action.EDIT)
    lifecycle.check(work, loaded, record, "edit")
    access = policy.access(grants)
    if not policy.unrestricted:
        access = read_only_too(loaded.spec, access)
    record, _ = _write(
        work,
        loaded,
        record,
        data,
        revision=revision,
        partial=partial,
        access=access,
        editable=None if policy.unrestricted else _editable(access),
        links_seen=not policy.unrestricted,
    )
    return record


def change_as_step(
    work: Work, loaded: LoadedForm, record_id: int, data: Any, editable: set[str] | None
) -> tuple[Record, dict[str, list[Any]]]:
    """Change a record as a step of a process the record is in (an approver adjusting the
    fields their node lets them edit, a flow's action): no permission grants apply, only
    ``editable`` (None: every field); validated like any edit. Returns the record and the
    changes written ({key: [before, after]}, empty when nothing changed)."""
    record = get(work, record_id, form_id=loaded.form.id)
    spec = loaded.spec
    access = (
        {}
        if editable is None
        else {f.key: (Access.EDIT if f.key in editable else Access.READ) for f in spec.data_fields}
    )
    record, changes = _write(
        work,
        loaded,
        record,
        data,
        revision=record.revision,
        partial=True,
        access=access,
        editable=editable,
        links_seen=False,
    )
    by_id = spec.by_id
    return record, {(by_id[f].key if f in by_id else f): c for f, c in changes.items()}


def _write(
    work: Work,
    loaded: LoadedForm,
    record: Record,
    data: Any,
    *,
    revision: int | None,
    partial: bool,
    access: dict[str, Access],
    editable: set[str] | None,
    links_seen: bool,
) -> tuple[Record, dict[str, list[Any]]]:
    """Validate and store ``data`` over ``record``; the record and the changes written (by
    field id; none when nothing changed). ``links_seen`` as for :func:`_insert`."""
    spec = loaded.spec
    _check_revision(record, revision)
    current = from_document(spec, record.data)
    data = _restrict(data, access, current)
    if not partial and isinstance(data, dict):
        # A full replace still keeps what the person may not change.
        for key, level in access.items():
            if level != Access.EDIT and "." not in key and key in current:
                data[key] = current[key]
    values, errors = prepare(
        spec,
        data,
        current=current,
        partial=partial,
        defaults=_Defaults(work),
        context=eval_context(work, spec),
        editable=editable,
    )
    if errors:
        raise ValidationFailed(errors)
    _check_references(work, loaded, values, record.id)
    if links_seen:
        _check_links_seen(work, loaded, values, current)
    untouched = {f.key for f in spec.data_fields if f.has_rows and f.key not in data}
    document = to_document(spec, values, record.data, untouched)
    # Diffed against what is stored: an edit of a record read through a background
    # conversion stores (and logs) its conversion too.
    stored, conversion_id = conversions.stored_document(work, record)
    changes = _changes(stored, document)
    if not changes:
        return record, {}
    owner_id = _owner(spec, values, record.owner_id)
    new_revision = record.revision + 1
    if conversion_id is not None:
        conversions.count_converted_by_edit(work, conversion_id)
    with _unique_errors(spec):
        result = _execute_update(work, record, document, spec, owner_id, new_revision)
    if result.rowcount != 1:
        raise Conflict(
            [
                FieldError(
                    "revision",
                    "the record was changed by someone else; reload it and apply your change again",
                    "stale",
                )
            ]
        )
    work.session.add(
        Revision(
            record_id=record.id,
            revision=new_revision,
            action=RevisionAction.UPDATE,
            form_version=spec.version,
            actor_id=work.actor_id,
            at=work.now,
            changes=changes,
        )
    )
    _attach_files(work, spec, values, record.id)
    work.session.refresh(record)
    lifecycle.updated(work, loaded, record, changes)
    return record, changes


def _execute_update(
    work: Work,
    record: Record,
    document: dict[str, Any],
    spec: FormSpec,
    owner_id: int | None,
    new_revision: int,
) -> Any:
    return work.session.execute(
        update(Record)
        .where(
            Record.id == record.id, Record.revision == record.revision, Record.deleted_at.is_(None)
        )
        .values(
            data=document,
            revision=new_revision,
            form_version=spec.version,
            owner_id=owner_id,
            department_id=(
                primary_department(work, owner_id)
                if owner_id != record.owner_id
                else record.department_id
            ),
            updated_by=work.actor_id,
            updated_at=work.now,
        )
        .execution_options(synchronize_session=False)
    )


def delete(
    work: Work, loaded: LoadedForm, record_id: int, *, revision: int | None = None
) -> Record:
    """Move a record to the recycle bin (soft delete); its data is kept."""
    record, _ = load(work, loaded, record_id, Action.DELETE)
    lifecycle.check(work, loaded, record, "delete")
    _check_revision(record, revision)
    _transition(work, record, RevisionAction.DELETE, deleted_at=work.now, deleted_by=work.actor_id)
    lifecycle.deleted(work, loaded, record)
    return record


def restore(work: Work, loaded: LoadedForm, record_id: int) -> Record:
    """Bring a record back from the recycle bin; refused (409) if a unique value is taken."""
    record, _ = load(work, loaded, record_id, Action.MANAGE, deleted=True)
    _transition(work, record, RevisionAction.RESTORE, deleted_at=None, deleted_by=None)
    lifecycle.restored(work, loaded, record)
    return record


def revisions(work: Work, record: Record) -> list[Revision]:
    return list(
        work.session.scalars(
            select(Revision).where(Revision.record_id == record.id).order_by(Revision.revision)
        )
    )


def _transition(work: Work, record: Record, action: RevisionAction, **values: Any) -> None:
    alive = (
        Record.deleted_at.is_(None)
        if action == RevisionAction.DELETE
        else Record.deleted_at.is_not(None)
    )
    spec = get_form_by_id(work, record.form_id).spec
    with _unique_errors(spec):
        result = work.session.execute(
            update(Record)
            .where(Record.id == record.id, Record.revision == record.revision, alive)
            .values(
                revision=record.revision + 1,
                updated_by=work.actor_id,
                updated_at=work.now,
                **values,
            )
            .execution_options(synchronize_session=False)
        )
    if result.rowcount != 1:
        raise Conflict([FieldError("revision", "the record was changed by someone else", "stale")])
    work.session.add(
        Revision(
            record_id=record.id,
            revision=record.revision + 1,
            action=action,
            form_version=record.form_version,
            actor_id=work.actor_id,
            at=work.now,
            changes={},
        )
    )
    _flush(work, spec)
    work.session.refresh(record)


def _check_revision(record: Record, revision: int | None) -> None:
    if revision is not None and revision != record.revision:
        raise Conflict(
            [
                FieldError(
                    "revision",
                    f"the record is at revision {record.revision}, not "
                    f"{revision}; reload it and apply your change again",
                    "stale",
                )
            ]
        )


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        key: [before.get(key), after.get(key)]
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    }


def _owner(spec: FormSpec, values: Values, fallback: int | None) -> int | None:
    owner = spec.owner_field
    if owner is not None:
        return values.get(owner.key) or fallback
    return fallback


# -- database-enforced rules -----------------------------------------------------------------

_UNIQUE_INDEX = re.compile(r"ux_rf_(\d+)_([a-z0-9_]+)_[0-9a-f]{6}")


@contextmanager
def _unique_errors(spec: FormSpec) -> Iterator[None]:
    """Turn a unique-index violation into a 409 that names the field."""
    try:
        yield
    except (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError) as error:
        match = _UNIQUE_INDEX.search(str(getattr(error, "orig", error)))
        if match is None:
            raise
        field_id = match.group(2)
        field = next((f for f in spec.fields if f.id.lower() == field_id), None)
        key = field.key if field is not None else field_id
        raise Conflict(
            [FieldError(key, "this value is already used by another record", "unique")]
        ) from None


def _flush(work: Work, spec: FormSpec) -> None:
    with _unique_errors(spec):
        work.session.flush()


def _assign_serials(work: Work, loaded: LoadedForm, values: Values) -> None:
    spec = loaded.spec
    if not spec.serial_fields:
        return
    today = work.now.astimezone(spec.timezone).date()
    insert = sqlite_insert if work.dialect == "sqlite" else pg_insert
    for f in spec.serial_fields:
        pattern = f.schema["x-serial"]["pattern"]
        scope = render_serial(pattern, today, None)
        statement = insert(SerialCounter).values(
            form_id=loaded.form.id, field_id=f.id, scope=scope, value=1
        )
        statement = statement.on_conflict_do_update(
            index_elements=["form_id", "field_id", "scope"],
            set_={"value": SerialCounter.value + 1},
        ).returning(SerialCounter.value)
        number = work.session.execute(statement).scalar_one()
        values[f.key] = render_serial(pattern, today, number)


def _references(spec: FormSpec, values: Values) -> Iterable[tuple[str, FieldSpec, Any]]:
    """(path, field, id) for every id the values store."""
    for f in spec.reference_fields:
        if f.parent is None:
            yield from ((f.key, f, v) for v in _as_list(values.get(f.key)))
            continue
        for i, row in enumerate(values.get(f.parent.key) or ()):
            yield from ((f"{f.parent.key}[{i}].{f.key}", f, v) for v in _as_list(row.get(f.key)))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


_DEPARTMENT = DriverStatement(select(Department.id).where(Department.id == bindparam("id")))
#: A linked record exists, is of the relation's form and is not deleted (one primary-key
#: lookup per link: a record links to a handful).
_LIVE_RECORD = DriverStatement(
    select(Record.id).where(
        Record.id == bindparam("id"),
        Record.form_id == bindparam("form_id"),
        Record.deleted_at.is_(None),
    )
)


def _existing(work: Work, statement: DriverStatement, ids: set[int]) -> set[int]:
    """The ids that exist, one indexed lookup each (forms name a handful of people)."""
    return {i for i in ids if work.run(statement, {"id": i}).fetchone() is not None}


def _check_references(
    work: Work, loaded: LoadedForm, values: Values, record_id: int | None
) -> None:
    found = list(_references(loaded.spec, values))
    if not found:
        return
    errors: list[FieldError] = []
    users = {v for _, f, v in found if f.type.references == "user"}
    if users:
        live = {i for i in users if (_user_facts(work, i) or (False,))[0]}
        errors += [
            FieldError(p, f"no active user #{v}", "reference")
            for p, f, v in found
            if f.type.references == "user" and v not in live
        ]
    departments = {v for _, f, v in found if f.type.references == "department"}
    if departments:
        live = _existing(work, _DEPARTMENT, departments)
        errors += [
            FieldError(p, f"no department #{v}", "reference")
            for p, f, v in found
            if f.type.references == "department" and v not in live
        ]
    errors += _check_record_links(work, loaded, found)
    errors += _check_files(work, found, record_id)
    if errors:
        raise ValidationFailed(errors)


def _check_record_links(
    work: Work, loaded: LoadedForm, found: list[tuple[str, FieldSpec, Any]]
) -> list[FieldError]:
    errors: list[FieldError] = []
    by_target: dict[str, list[tuple[str, Any]]] = {}
    for path, f, value in found:
        if f.type.references == "record":
            by_target.setdefault(f.type.target(f), []).append((path, value))  # type: ignore[attr-defined]
    for target, links in by_target.items():
        target_id = target_form_id(work, loaded.app.name, target)
        ids = {v for _, v in links}
        live: set[int] = set()
        if target_id is not None:
            live = {
                i
                for i in ids
                if work.run(_LIVE_RECORD, {"id": i, "form_id": target_id}).fetchone() is not None
            }
        errors += [
            FieldError(p, f"no {target} record #{v}", "reference")
            for p, v in links
            if v not in live
        ]
    return errors


def _check_links_seen(
    work: Work, loaded: LoadedForm, values: Values, current: Values | None
) -> None:
    """Refuse links to records the acting user may not view: a link shows the linked
    record's title and feeds lookups, so making one is reading it. Links the record already
    holds stay whoever made them (an admin, an automation), so an edit of other fields
    never fails on them. Run after :func:`_check_references`: every link is live."""
    spec = loaded.spec
    held = {(f.path, v) for _, f, v in _references(spec, current)} if current else set()
    by_target: dict[str, list[tuple[str, Any]]] = {}
    for path, f, value in _references(spec, values):
        if f.type.references == "record" and (f.path, value) not in held:
            by_target.setdefault(f.type.target(f), []).append((path, value))  # type: ignore[attr-defined]
    errors: list[FieldError] = []
    for target, links in by_target.items():
        target_id = target_form_id(work, loaded.app.name, target)
        if target_id is None:
            continue
        policy = policy_for(work, get_form_by_id(work, target_id))
        seen = policy.covering(work, Action.VIEW, [v for _, v in links])
        errors += [
            FieldError(p, f"you may not link {target} record #{v}", "link_forbidden", {"id": v})
            for p, v in links
            if v not in seen
        ]
    if errors:
        raise Forbidden(errors)


def _check_files(
    work: Work, found: list[tuple[str, FieldSpec, Any]], record_id: int | None
) -> list[FieldError]:
    wanted = {v for _, f, v in found if f.type.references == "file"}
    if not wanted:
        return []
    files = {
        row.id: row
        for row in work.session.scalars(select(StoredFile).where(StoredFile.id.in_(wanted)))
    }
    errors: list[FieldError] = []
    for path, f, value in found:
        if f.type.references != "file":
            continue
        stored = files.get(value)
        mine = stored is not None and (
            (stored.record_id is None and stored.uploaded_by == work.actor_id)
            or (record_id is not None and stored.record_id == record_id)
        )
        if stored is None or not mine:
            errors.append(FieldError(path, f"no uploaded file {value}", "reference"))
            continue
        accepts = f.type.accepts(f)  # type: ignore[attr-defined]
        if stored.content_type not in accepts:
            errors.append(
                FieldError(path, f"{stored.content_type} files are not accepted here", "file_type")
            )
        limit = f.type.max_size(f)  # type: ignore[attr-defined]
        if limit is not None and stored.size > limit:
            errors.append(FieldError(path, f"the file is larger than {limit} bytes", "file_size"))
    return errors


def _attach_files(work: Work, spec: FormSpec, values: Values, record_id: int) -> None:
    ids = {(f.id, v) for _, f, v in _references(spec, values) if f.type.references == "file"}
    for field_id, file_id in ids:
        work.session.execute(
            update(StoredFile)
            .where(StoredFile.id == file_id, StoredFile.record_id.is_(None))
            .values(record_id=record_id, field_id=field_id)
            .execution_options(synchronize_session=False)
        )


def count(work: Work, form_id: int) -> int:
    return (
        work.session.scalar(
            select(func.count())
            .select_from(Record)
            .where(Record.form_id == form_id, Record.deleted_at.is_(None))
        )
        or 0
    )
