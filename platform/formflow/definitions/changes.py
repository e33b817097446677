"""What a new version of a definition changes, in words, and what it does to stored records.

``diff`` compares two definitions field by field (by stable id, so a renamed key is a
rename, not a removal and an addition). ``impact`` looks at the records a publish would
touch: a changed type (how many values, and which cannot convert), options taken away (how
many records use each), a field that becomes required (how many records lack it), a field
that becomes unique (which values repeat). A publish that would lose data is refused until
the admin picks a fix: a default for the records that lack a required value, or where each
removed option's records should go.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..fields import FieldTypeRegistry, FieldValueError
from ..records.projection import stored_parts
from ..runtime import Work
from .spec import FieldSpec, FormSpec, compile_spec

#: How many unconvertible records an impact report names by id.
SAMPLE = 20
#: Keywords whose change is shown by the dedicated words below, not as "keyword: a → b".
_SPECIAL = {"x-field", "x-id", "title", "x-label", "enum", "items", "x-options", "type"}


@dataclass
class Change:
    kind: str  # added | removed | renamed | changed | moved
    key: str
    label: str
    id: str
    parent: str | None = None
    details: list[str] = field(default_factory=list)


def _fields(spec: FormSpec) -> dict[str, FieldSpec]:
    """Every field by a path of ids: ``id`` or ``subform_id/child_id``."""
    out = {}
    for f in spec.walk():
        out[f"{f.parent.id}/{f.id}" if f.parent else f.id] = f
    return out


def _options(f: FieldSpec) -> list[str]:
    return list(f.schema.get("enum") or f.schema.get("items", {}).get("enum") or [])


def _details(old: FieldSpec, new: FieldSpec) -> list[str]:
    out = []
    if old.type.name != new.type.name:
        out.append(f"type: {old.type.name} → {new.type.name}")
    if old.label() != new.label() or old.schema.get("x-label") != new.schema.get("x-label"):
        out.append(f"label: {old.label()} → {new.label()}")
    if old.required != new.required:
        out.append("now required" if new.required else "no longer required")
    before, after = _options(old), _options(new)
    if before != after:
        added = [o for o in after if o not in before]
        removed = [o for o in before if o not in after]
        if added:
            out.append("options added: " + ", ".join(added))
        if removed:
            out.append("options removed: " + ", ".join(removed))
        if not added and not removed:
            out.append("options reordered")
    if old.schema.get("x-options") != new.schema.get("x-options") and before == after:
        out.append("option labels or colours changed")
    for keyword in sorted((set(old.schema) | set(new.schema)) - _SPECIAL):
        a, b = old.schema.get(keyword), new.schema.get(keyword)
        if a != b:
            out.append(f"{keyword}: {_show(a)} → {_show(b)}")
    return out


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def diff(
    old: dict[str, Any] | None, new: dict[str, Any], registry: FieldTypeRegistry
) -> list[Change]:
    """The field-level changes from ``old`` (None for a new form) to ``new``."""
    new_spec = compile_spec(new, registry, strict=False)
    if old is None:
        return [
            Change("added", f.key, f.label(), f.id, f.parent.key if f.parent else None)
            for f in new_spec.walk()
        ]
    old_spec = compile_spec(old, registry, strict=False)
    before, after = _fields(old_spec), _fields(new_spec)
    changes = []
    for path, f in after.items():
        parent = f.parent.key if f.parent else None
        previous = before.get(path)
        if previous is None:
            changes.append(Change("added", f.key, f.label(), f.id, parent))
            continue
        details = _details(previous, f)
        if previous.key != f.key:
            changes.append(
                Change(
                    "renamed",
                    f.key,
                    f.label(),
                    f.id,
                    parent,
                    [f"key: {previous.key} → {f.key}", *details],
                )
            )
        elif details:
            changes.append(Change("changed", f.key, f.label(), f.id, parent, details))
    for path, f in before.items():
        if path not in after:
            changes.append(
                Change(
                    "removed",
                    f.key,
                    f.label(),
                    f.id,
                    f.parent.key if f.parent else None,
                    ["its data stays in the records and returns if it comes back"],
                )
            )
    old_order = [p for p in before if p in after]
    new_order = [p for p in after if p in before]
    if old_order != new_order:
        changes.append(Change("moved", "", "", "", None, ["fields reordered"]))
    old_settings = {k: v for k, v in old.items() if k not in ("properties", "required")}
    new_settings = {k: v for k, v in new.items() if k not in ("properties", "required")}
    if old_settings != new_settings:
        keys = sorted(
            k
            for k in set(old_settings) | set(new_settings)
            if old_settings.get(k) != new_settings.get(k)
        )
        changes.append(Change("settings", "", "", "", None, [f"form {k} changed" for k in keys]))
    return changes


# -- impact on stored records ---------------------------------------------------------------------


@dataclass
class Impact:
    """One way a publish touches stored records."""

    kind: str  # type | options | required | unique
    key: str
    label: str
    affected: int = 0
    failing: int = 0
    samples: list[tuple[int, str]] = field(default_factory=list)
    options: dict[str, int] = field(default_factory=dict)
    duplicates: list[tuple[Any, int]] = field(default_factory=list)

    @property
    def needs_fix(self) -> bool:
        """True when publishing as is would lose or break data."""
        if self.kind == "type":
            return self.failing > 0
        if self.kind == "options":
            return any(self.options.values())
        if self.kind == "unique":
            return bool(self.duplicates)
        return False  # a newly required field is enforced on the next edit; a default may fill it


def impact(work: Work, form_id: int, old: FormSpec, new: FormSpec) -> list[Impact]:
    """What publishing ``new`` over ``old`` would do to the form's records (live and in the
    recycle bin). One pass over the records that hold any of the changed fields."""
    reports: dict[tuple[str, str], Impact] = {}
    top_changes: list[tuple[FieldSpec, FieldSpec]] = []
    for f in new.fields:
        previous = old.by_id.get(f.id)
        if previous is None or not f.stores:
            continue
        if previous.type.name != f.type.name or previous.type.projection(
            previous
        ) != f.type.projection(f):
            reports[("type", f.key)] = Impact("type", f.key, f.label())
            top_changes.append((previous, f))
        removed = [o for o in _options(previous) if o not in _options(f)]
        if removed and previous.type.name == f.type.name:
            reports[("options", f.key)] = Impact(
                "options", f.key, f.label(), options=dict.fromkeys(removed, 0)
            )
        if f.required and not previous.required and not f.computed:
            reports[("required", f.key)] = Impact("required", f.key, f.label())
        if f.unique and not previous.unique:
            reports[("unique", f.key)] = Impact("unique", f.key, f.label())
    if not reports:
        return []
    seen: dict[str, Counter[Any]] = {
        f.key: Counter() for f in new.fields if ("unique", f.key) in reports
    }
    fields = (new.by_key[key] for _, key in reports)
    for record_id, live, document in stored_parts(work, form_id, fields):
        for (kind, key), report in reports.items():
            f = new.by_key[key]
            value = document.get(f.id)
            if kind == "type":
                if value is None:
                    continue
                report.affected += 1
                previous = old.by_id[f.id]
                try:
                    f.type.convert(value, previous, f)
                except FieldValueError as error:
                    report.failing += 1
                    if len(report.samples) < SAMPLE:
                        report.samples.append((record_id, error.message))
            elif kind == "options":
                values = value if isinstance(value, list) else [value]
                for option in values:
                    if option in report.options:
                        report.options[option] += 1
                if any(v in report.options for v in values):
                    report.affected += 1
            elif kind == "required":
                if live and value is None:
                    report.affected += 1
            elif kind == "unique" and live and value is not None:
                seen[key][value if not isinstance(value, list) else tuple(value)] += 1
    for key, counts in seen.items():
        report = reports[("unique", key)]
        report.duplicates = [(v, n) for v, n in counts.most_common() if n > 1][:SAMPLE]
        report.affected = sum(n for _, n in report.duplicates)
    return list(reports.values())
