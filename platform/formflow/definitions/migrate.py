"""Bringing stored records along when a new definition version is published.

One pass over the records that hold a changed field: values of a field whose type changed
are converted; values of options that were taken away are mapped to the option the admin
chose; records lacking a newly required field get the admin's default. Each changed record
gets a revision (action "convert") with the values before and after. Anything that would
lose data without an explicit fix is refused with a report, and nothing is written.

The pass is split so that a publish over many records can check every record first
(:func:`check`) and leave the writing to a background job
(``formflow.definitions.conversions``): a :class:`Converter` is the one piece of code that
turns a stored document of the old version into the new one — for the publish's check, for
the job's batches, and for reads of records the job has not reached yet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from .. import jsoncodec
from ..errors import FieldError, ValidationFailed
from ..fields import FieldValueError
from ..records.models import Record, Revision, RevisionAction
from ..records.projection import stored_parts
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


@dataclass
class Converter:
    """How one version's stored documents become the next one's (what :func:`plans` says,
    kept to the plans that touch stored values)."""

    old: FormSpec
    new: FormSpec
    todo: list[_Plan]

    @property
    def needed(self) -> bool:
        return bool(self.todo)

    @property
    def retyped(self) -> set[str]:
        """Ids of the fields whose stored type changes: their indexes and filters follow the
        new type only once every record is converted."""
        return {p.new.id for p in self.todo if p.convert}

    def apply(
        self,
        document: dict[str, Any],
        record_id: int,
        live: bool,
        failures: Failures,
        *,
        lenient: bool = False,
    ) -> dict[str, Any]:
        """The document under the new version. A value that cannot follow is reported in
        ``failures``; with ``lenient`` it is also left out (the caller keeps the old value in
        the record's history) instead of staying behind unconverted."""
        after = dict(document)
        for plan in self.todo:
            _apply(plan, after, record_id, live, failures, lenient)
        return after


def converter(old: FormSpec, new: FormSpec, fixes: dict[str, Any] | None = None) -> Converter:
    """The conversion from ``old`` to ``new`` with the admin's ``fixes``; raises
    ValidationFailed when a fix is itself invalid or a data field would become display-only."""
    todo = plans(old, new, fixes or {})
    todo = [p for p in todo if p.convert or p.removed or p.fill or _row_changes(p.old, p.new)]
    return Converter(old, new, todo)


Update = tuple[int, int, dict[str, Any], dict[str, Any]]


@dataclass
class Scan:
    """What :func:`check` found: how many records change, and (while they are few enough to
    hold) each change as (record id, revision, before, after)."""

    affected: int = 0
    updates: list[Update] | None = field(default_factory=list)


def check(work: Work, form_id: int, conversion: Converter, *, keep: int | None = None) -> Scan:
    """Run the conversion over every record of the form without writing anything.

    Raises ValidationFailed (everything that cannot follow, and unique fields whose converted
    values would repeat) before anything is stored. Keeps the changed documents while there
    are at most ``keep`` of them (all when None); past that ``updates`` is None and only the
    count is kept, so a million records are checked in constant memory.

    Only the values of the fields that change are read (their JSON, straight from the
    database): a conversion never looks at the rest of a document, and parsing every whole
    document was most of the time of a check at a million records. The documents of the
    records that change are read whole afterwards, when they are kept.
    """
    scan = Scan()
    failures = Failures()
    unique = [p.new for p in conversion.todo if p.new.unique]
    seen: dict[str, Counter[str]] = {f.id: Counter() for f in unique}
    changed: list[int] = []
    for record_id, live, part in stored_parts(work, form_id, (p.new for p in conversion.todo)):
        after = conversion.apply(part, record_id, live, failures)
        if after == part:
            continue
        scan.affected += 1
        if keep is None or scan.affected <= keep:
            changed.append(record_id)
        if live:
            for f in unique:
                if after.get(f.id) is not None:
                    seen[f.id][jsoncodec.dumps(after[f.id])] += 1
    if failures.by_field:
        raise ValidationFailed(failures.errors())
    repeated = [
        FieldError(
            f"{f.pointer}/x-unique",
            f"converted records would repeat values of '{f.key}': "
            + ", ".join(f"{value} ({n} records)" for value, n in repeats),
            "unique",
        )
        for f in unique
        if (repeats := [(v, n) for v, n in seen[f.id].most_common(5) if n > 1])
    ]
    if repeated:
        raise ValidationFailed(repeated)
    if keep is not None and scan.affected > keep:
        scan.updates = None
        return scan
    assert scan.updates is not None
    for start in range(0, len(changed), 500):
        for record_id, document, revision, deleted_at in work.session.execute(
            select(Record.id, Record.data, Record.revision, Record.deleted_at)
            .where(Record.id.in_(changed[start : start + 500]))
            .order_by(Record.id)
        ):
            after = conversion.apply(document, record_id, deleted_at is None, Failures())
            scan.updates.append((record_id, revision, document, after))
    return scan


def write(work: Work, new: FormSpec, updates: list[Update]) -> None:
    """Store checked conversions, each with its "convert" revision."""
    for record_id, revision, before, after in updates:
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
                changes=changed_values(before, after),
            )
        )
    work.session.flush()


def changed_values(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """A revision's ``changes``: each field id whose value differs, with [before, after]."""
    return {
        k: [before.get(k), after.get(k)]
        for k in set(before) | set(after)
        if before.get(k) != after.get(k)
    }


def migrate(
    work: Work, form_id: int, old: FormSpec, new: FormSpec, fixes: dict[str, Any] | None = None
) -> int:
    """Bring the form's records to ``new``; returns how many changed. Refuses (and writes
    nothing) when values cannot convert or removed options are in use without a fix."""
    conversion = converter(old, new, fixes)
    if not conversion.needed:
        return 0
    scan = check(work, form_id, conversion)
    assert scan.updates is not None
    write(work, new, scan.updates)
    return len(scan.updates)


class Failures:
    """Records whose values cannot follow the new definition, per field, a few by id."""

    def __init__(self) -> None:
        self.by_field: dict[str, tuple[str, int, list[str]]] = {}
        #: Every failure added, over all fields (a caller compares it before and after).
        self.count = 0

    def add(self, pointer: str, record_id: int, why: str, what: str = "cannot convert") -> None:
        self.count += 1
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
    failures: Failures,
    lenient: bool = False,
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
                if not lenient:
                    return
                converted = None
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
                if not lenient:
                    return
            mapped = [plan.fix.mapping.get(v) if v in plan.removed else v for v in values]
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
                    if lenient:
                        row.pop(new_child.id, None)
            new_rows.append(row)
        document[f.id] = new_rows
    if plan.fill and live and document.get(f.id) is None and plan.replacement is not None:
        document[f.id] = plan.replacement


def _put(document: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        document.pop(key, None)
    else:
        document[key] = value
