"""Bringing stored records along when a new definition version is published.

One pass over the records that hold a changed field: values of a field whose type changed
are converted; values of options that were taken away are mapped to the option the admin
chose; records lacking a newly required field get the admin's default. Each changed record
gets a revision (action "convert") with the values before and after. Anything that would
lose data without an explicit fix is refused with a report, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from ..errors import FieldError, ValidationFailed
from ..fields import FieldValueError
from ..records.models import Record, Revision, RevisionAction
from ..runtime import Work
from .spec import FieldSpec, FormSpec

#: How many unconvertible records a refused publish names by id.
REPORTED = 20


@dataclass
class Fix:
    """The admin's answer for one field: a value for records that cannot keep theirs, and
    where each removed option's records go (None clears them)."""

    default: Any = None
    has_default: bool = False
    mapping: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def read(cls, raw: Any) -> Fix:
        if not isinstance(raw, dict):
            return cls()
        mapping = raw.get("map") or {}
        return cls(
            raw.get("default"),
            "default" in raw,
            {str(k): (v if v not in ("", None) else None) for k, v in mapping.items()},
        )


def _changed_type(old: FieldSpec, new: FieldSpec) -> bool:
    return old.type.name != new.type.name or old.type.projection(old) != new.type.projection(new)


def _options(f: FieldSpec) -> list[str]:
    return list(f.schema.get("enum") or f.schema.get("items", {}).get("enum") or [])


@dataclass
class _Plan:
    """What to do with one field's stored values."""

    old: FieldSpec | None
    new: FieldSpec
    convert: bool = False
    removed: set[str] = field(default_factory=set)
    fill: bool = False
    fix: Fix = field(default_factory=Fix)
    replacement: Any = None


def plans(old: FormSpec, new: FormSpec, fixes: dict[str, Any]) -> list[_Plan]:
    out = []
    for f in new.fields:
        previous = old.by_id.get(f.id)
        if previous is None:
            continue
        if previous.stores and not f.stores:
            raise ValidationFailed(
                [
                    FieldError(
                        f.pointer, "a field that holds data cannot become display-only", "type"
                    )
                ]
            )
        fix = Fix.read(fixes.get(f.key))
        plan = _Plan(previous, f, fix=fix)
        plan.convert = _changed_type(previous, f)
        if not plan.convert:
            plan.removed = set(_options(previous)) - set(_options(f))
        plan.fill = f.required and not previous.required and fix.has_default
        if fix.has_default and fix.default not in (None, ""):
            try:
                plan.replacement = f.type.coerce(fix.default, f)
            except FieldValueError as error:
                raise ValidationFailed(
                    [FieldError(f"fixes.{f.key}.default", error.message, error.code)]
                ) from None
        if plan.convert or plan.removed or plan.fill or f.has_rows:
            out.append(plan)
    return out


def _row_changes(old: FieldSpec, new: FieldSpec) -> list[tuple[FieldSpec, FieldSpec]]:
    if not (old.has_rows and new.has_rows):
        return []
    before = {c.id: c for c in old.children}
    return [
        (before[c.id], c) for c in new.children if c.id in before and _changed_type(before[c.id], c)
    ]


def migrate(
    work: Work, form_id: int, old: FormSpec, new: FormSpec, fixes: dict[str, Any] | None = None
) -> int:
    """Bring the form's records to ``new``; returns how many changed. Refuses (and writes
    nothing) when values cannot convert or removed options are in use without a fix."""
    todo = plans(old, new, fixes or {})
    todo = [p for p in todo if p.convert or p.removed or p.fill or _row_changes(p.old, p.new)]
    if not todo:
        return 0
    failures = _Failures()
    updates = []
    rows = work.session.execute(
        select(Record.id, Record.data, Record.revision, Record.deleted_at)
        .where(Record.form_id == form_id)
        .order_by(Record.id)
    ).all()
    for record_id, document, revision, deleted_at in rows:
        after = dict(document)
        for plan in todo:
            _apply(plan, after, record_id, deleted_at is None, failures)
        if after != document:
            updates.append((record_id, revision, document, after))
    if failures.by_field:
        raise ValidationFailed(failures.errors())
    for record_id, revision, before, after in updates:
        changes = {
            k: [before.get(k), after.get(k)]
            for k in set(before) | set(after)
            if before.get(k) != after.get(k)
        }
        work.session.execute(
            update(Record)
            .where(Record.id == record_id)
            .values(data=after, revision=revision + 1, form_version=new.version)
            .execution_options(synchronize_session=False)
        )
        work.session.add(
            Revision(
                record_id=record_id,
                revision=revision + 1,
                action=RevisionAction.CONVERT,
                form_version=new.version,
                actor_id=work.actor_id,
                at=work.now,
                changes=changes,
            )
        )
    work.session.flush()
    return len(updates)


class _Failures:
    """Records whose values cannot follow the new definition, per field, a few by id."""

    def __init__(self) -> None:
        self.by_field: dict[str, tuple[str, int, list[str]]] = {}

    def add(self, pointer: str, record_id: int, why: str, what: str = "cannot convert") -> None:
        _, count, samples = self.by_field.get(pointer, (what, 0, []))
        if len(samples) < REPORTED:
            samples.append(f"#{record_id} ({why})")
        self.by_field[pointer] = (what, count + 1, samples)

    def errors(self) -> list[FieldError]:
        return [
            FieldError(pointer, f"{count} record(s) {what}: " + "; ".join(samples), "conversion")
            for pointer, (what, count, samples) in self.by_field.items()
        ]


def _apply(
    plan: _Plan,
    document: dict[str, Any],
    record_id: int,
    live: bool,
    failures: _Failures,
) -> None:
    f, old = plan.new, plan.old
    assert old is not None
    value = document.get(f.id)
    if plan.convert and value is not None:
        try:
            converted = f.type.convert(value, old, f)
        except FieldValueError as error:
            if plan.fix.has_default:
                converted = plan.replacement
            else:
                failures.add(f.pointer, record_id, error.message)
                return
        _put(document, f.id, converted)
    elif plan.removed and value is not None:
        values = value if isinstance(value, list) else [value]
        used = [v for v in values if v in plan.removed]
        if used:
            unmapped = [v for v in used if v not in plan.fix.mapping]
            if unmapped:
                failures.add(
                    f.pointer,
                    record_id,
                    f"'{unmapped[0]}'",
                    "use options that were removed (map them to other options)",
                )
                return
            mapped = [plan.fix.mapping.get(v, v) if v in plan.removed else v for v in values]
            mapped = [v for v in dict.fromkeys(mapped) if v is not None]
            _put(
                document,
                f.id,
                (mapped or None) if isinstance(value, list) else (mapped[0] if mapped else None),
            )
    for old_child, new_child in _row_changes(old, f):
        rows = document.get(f.id)
        if not isinstance(rows, list):
            continue
        new_rows = []
        for row in rows:
            row = dict(row)
            if row.get(old_child.id) is not None:
                try:
                    _put(
                        row,
                        new_child.id,
                        new_child.type.convert(row[old_child.id], old_child, new_child),
                    )
                except FieldValueError as error:
                    failures.add(new_child.pointer, record_id, error.message)
            new_rows.append(row)
        document[f.id] = new_rows
    if plan.fill and live and document.get(f.id) is None and plan.replacement is not None:
        document[f.id] = plan.replacement


def _put(document: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        document.pop(key, None)
    else:
        document[key] = value
