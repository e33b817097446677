"""A compiled form definition: what the engine works from at run time.

A definition is data (a JSON Schema document); a :class:`FormSpec` is that document read
once — fields in order, each with its type, stable id, parsed formula and visibility rule,
the formula evaluation order, and the compiled validator for stored values. Specs are
immutable and cached per (form, version), so a record write never re-reads a definition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema_rs

from ..expressions import Expression, ExpressionError, compile_expression
from ..fields import FieldType, FieldTypeRegistry

LANGUAGES = ("zh-CN", "en")


def localized(value: Any, language: str, fallback: str = "") -> str:
    """Text from a plain string or a ``{"zh-CN": ..., "en": ...}`` object."""
    if isinstance(value, dict):
        return value.get(language) or next((v for v in value.values() if v), fallback)
    return value or fallback


@dataclass(eq=False)
class FieldSpec:
    """One field of a form (or of a subform's rows)."""

    key: str
    id: str
    type: FieldType
    schema: dict[str, Any]
    pointer: str
    required: bool
    form: FormSpec
    parent: FieldSpec | None = None
    children: list[FieldSpec] = field(default_factory=list)
    formula: Expression | None = None
    visible_when: Expression | None = None
    #: ``x-default-formula``: the value a field takes when it is left empty on submit.
    default_formula: Expression | None = None
    #: Formula sub-fields in evaluation order (subforms only).
    formula_order: list[FieldSpec] = field(default_factory=list)
    #: What the type says, read once: these are consulted for every value of every write.
    stores: bool = field(init=False)
    computed: bool = field(init=False)
    has_rows: bool = field(init=False)
    has_default: bool = field(init=False)
    has_default_formula: bool = field(init=False)
    #: ``x-default`` marker the field gets without saying so (the owner field: current_user).
    implicit_default: str | None = field(init=False, default=None)
    #: Values a field type derives from the definition once (a money field's quantum, say).
    cache: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.stores = self.type.stores_data
        self.computed = self.type.computed
        self.has_rows = getattr(self.type, "has_rows", False)
        self.has_default = "default" in self.schema or "x-default" in self.schema
        self.has_default_formula = "x-default-formula" in self.schema

    @cached_property
    def children_by_key(self) -> dict[str, FieldSpec]:
        return {c.key: c for c in self.children}

    @property
    def path(self) -> str:
        """The name used in expressions and error paths: ``lines.quantity`` for a row field."""
        return f"{self.parent.key}.{self.key}" if self.parent else self.key

    @property
    def timezone(self) -> ZoneInfo:
        return self.form.timezone

    @property
    def unique(self) -> bool:
        return bool(self.schema.get("x-unique")) and self.parent is None

    @property
    def indexed(self) -> bool:
        """True when this field gets an expression index: asked for, unique, or a link."""
        kind = self.type.projection(self)
        if self.parent is not None or kind is None or kind.startswith("multi"):
            return False  # lists (members, several linked records) are matched, not ranged
        return bool(
            self.schema.get("x-index")
            or self.unique
            or self.type.name == "serial"
            or self.type.references in ("record", "user", "department")
        )

    def label(self, language: str = "zh-CN") -> str:
        return localized(self.schema.get("x-label"), language, self.schema.get("title") or self.key)


class FormSpec:
    """A definition compiled for use; build it with :func:`compile_spec`."""

    def __init__(
        self,
        definition: dict[str, Any],
        *,
        name: str,
        form_id: int | None,
        version: int,
        timezone: ZoneInfo,
    ) -> None:
        self.definition = definition
        self.name = name
        self.app = name.split(".", 1)[0] if "." in name else ""
        self.form_id = form_id
        self.version = version
        self.timezone = timezone
        self.fields: list[FieldSpec] = []
        self.by_key: dict[str, FieldSpec] = {}
        self.by_id: dict[str, FieldSpec] = {}
        self.formula_order: list[FieldSpec] = []
        self.settings: dict[str, Any] = definition.get("x-form", {})

    def title(self, language: str = "zh-CN") -> str:
        return localized(self.definition.get("x-label"), language, self.definition.get("title", ""))

    def walk(self) -> Iterator[FieldSpec]:
        """Every field, subform rows' fields right after their subform."""
        for f in self.fields:
            yield f
            yield from f.children

    @cached_property
    def data_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.stores]

    @cached_property
    def has_visibility_rules(self) -> bool:
        return any(f.visible_when is not None for f in self.walk())

    @cached_property
    def defaulted_fields(self) -> list[FieldSpec]:
        """Record fields with a default (static or ``x-default``), applied on create."""
        return [f for f in self.data_fields if f.has_default and not f.computed]

    @cached_property
    def formula_defaults(self) -> list[FieldSpec]:
        """Fields (record and row fields) whose default is a formula, in form order."""
        return [f for f in self.walk() if f.default_formula is not None]

    @cached_property
    def data_schema(self) -> dict[str, Any]:
        """JSON Schema of the stored values by key (``required`` is checked separately,
        because a field hidden by its visibility rule is not required)."""
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {f.key: f.type.data_schema(f) for f in self.data_fields},
            "additionalProperties": False,
        }

    @cached_property
    def validator(self) -> Any:
        """The compiled validator of :attr:`data_schema` (jsonschema-rs, Rust).

        Pure-Python jsonschema validates a 20-field record with a 5-row subform about 1,500
        times a second here; this validates the same schema more than 50 times faster. A
        differential test checks the two agree.
        """
        return jsonschema_rs.Draft202012Validator(self.data_schema, validate_formats=True)

    @cached_property
    def read_fields(self) -> dict[str, list[FieldSpec]]:
        """What formulas and visibility rules read: record fields by key (``""``) and, for
        each subform key, its sub-fields. A write builds expression values for these only."""
        top: dict[str, FieldSpec] = {}
        rows: dict[str, dict[str, FieldSpec]] = {}

        def read_row(parent: FieldSpec, key: str) -> None:
            child = next((c for c in parent.children if c.key == key and c.stores), None)
            if child is not None:
                top[parent.key] = parent
                rows.setdefault(parent.key, {})[key] = child

        for f in self.walk():
            for expression in (f.formula, f.visible_when, f.default_formula):
                if expression is None:
                    continue
                for name in expression.references:
                    head, _, tail = name.partition(".")
                    if (
                        f.parent is not None
                        and not tail
                        and any(c.key == head for c in f.parent.children)
                    ):
                        read_row(f.parent, head)
                        continue
                    target = self.by_key.get(head)
                    if target is None or not target.stores:
                        continue
                    top[head] = target
                    if tail and target.has_rows:
                        read_row(target, tail)
        out = {"": list(top.values())}
        out.update({key: list(children.values()) for key, children in rows.items()})
        return out

    @cached_property
    def unique_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.unique]

    @cached_property
    def serial_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.type.name == "serial"]

    @cached_property
    def reference_fields(self) -> list[FieldSpec]:
        return [f for f in self.walk() if f.type.references]

    @property
    def owner_field(self) -> FieldSpec | None:
        key = self.settings.get("owner_field")
        return self.by_key.get(key) if key else None

    @property
    def title_field(self) -> FieldSpec | None:
        key = self.settings.get("title_field")
        if key:
            return self.by_key.get(key)
        return next((f for f in self.fields if f.type.name in ("text", "serial")), None)


class SpecError(Exception):
    """Problems found while compiling; each is a (JSON pointer, message) pair."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems


def field_id(key: str, schema: dict[str, Any]) -> str:
    return schema.get("x-id") or key


def compile_spec(
    definition: dict[str, Any],
    registry: FieldTypeRegistry,
    *,
    name: str = "",
    form_id: int | None = None,
    version: int = 0,
    timezone: ZoneInfo | str = "Asia/Shanghai",
    strict: bool = True,
) -> FormSpec:
    """Compile a definition that passed the meta-schema.

    With ``strict`` (the default) any problem raises :class:`SpecError`; without it the
    spec is built as far as possible and the problems are left on ``spec.problems`` for
    the definition checks to report.
    """
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    spec = FormSpec(definition, name=name, form_id=form_id, version=version, timezone=zone)
    problems: list[tuple[str, str]] = []
    required = set(definition.get("required", ()))
    for key, schema in definition.get("properties", {}).items():
        f = _field(spec, key, schema, f"/properties/{key}", key in required, None, registry)
        spec.fields.append(f)
        spec.by_key[key] = f
        if schema.get("x-field") == "subform":
            items = schema.get("items", {})
            sub_required = set(items.get("required", ()))
            for sub_key, sub_schema in items.get("properties", {}).items():
                child = _field(
                    spec,
                    sub_key,
                    sub_schema,
                    f"/properties/{key}/items/properties/{sub_key}",
                    sub_key in sub_required,
                    f,
                    registry,
                )
                f.children.append(child)
    for f in spec.fields:
        if f.id in spec.by_id:
            problems.append((f"{f.pointer}/x-id", f"duplicate field id '{f.id}'"))
        spec.by_id[f.id] = f
        child_ids: set[str] = set()
        for child in f.children:
            if child.id in child_ids:
                problems.append((f"{child.pointer}/x-id", f"duplicate field id '{child.id}'"))
            child_ids.add(child.id)
    owner = spec.by_key.get(definition.get("x-form", {}).get("owner_field", ""))
    if owner is not None and not owner.has_default:
        # A record's owner is the person who submits it unless someone else is named.
        owner.implicit_default = "current_user"
        owner.has_default = True
    _compile_expressions(spec, problems)
    if not problems:
        _order_formulas(spec, problems)
    spec.problems = problems  # type: ignore[attr-defined]
    if strict and problems:
        raise SpecError(problems)
    return spec


def _field(
    spec: FormSpec,
    key: str,
    schema: dict[str, Any],
    pointer: str,
    required: bool,
    parent: FieldSpec | None,
    registry: FieldTypeRegistry,
) -> FieldSpec:
    return FieldSpec(
        key=key,
        id=field_id(key, schema),
        type=registry.get(schema["x-field"]),
        schema=schema,
        pointer=pointer,
        required=required,
        form=spec,
        parent=parent,
    )


def _compile_expressions(spec: FormSpec, problems: list[tuple[str, str]]) -> None:
    for f in spec.walk():
        for keyword, attribute in (
            ("x-formula", "formula"),
            ("x-visible-when", "visible_when"),
            ("x-default-formula", "default_formula"),
        ):
            source = f.schema.get(keyword)
            if source is None:
                continue
            try:
                expression = compile_expression(source)
            except ExpressionError as error:
                problems.append((f"{f.pointer}/{keyword}", _position_message(error)))
                continue
            unknown = [
                name for name in sorted(expression.references) if not _resolves(spec, f, name)
            ]
            for name in unknown:
                problems.append((f"{f.pointer}/{keyword}", f"refers to unknown field '{name}'"))
            if keyword == "x-visible-when" and {f.key, f.path} & expression.references:
                problems.append(
                    (f"{f.pointer}/{keyword}", "a field's visibility cannot depend on itself")
                )
            if keyword == "x-default-formula" and (f.computed or f.has_rows or not f.stores):
                problems.append(
                    (f"{f.pointer}/{keyword}", "only a field people fill in can have a default")
                )
            if keyword == "x-default-formula" and {f.key, f.path} & expression.references:
                problems.append(
                    (f"{f.pointer}/{keyword}", "a field's default cannot depend on itself")
                )
            if not unknown:
                setattr(f, attribute, expression)


def _position_message(error: ExpressionError) -> str:
    if error.line is not None and error.column is not None:
        return f"{error.message} (line {error.line}, column {error.column})"
    return error.message


def _resolves(spec: FormSpec, f: FieldSpec, name: str) -> bool:
    """Can ``name`` be read from ``f``'s formula: a sibling in the row, a record field, or
    a subform column (``lines.total``); layout items hold no value."""
    if "." in name:
        head, tail = name.split(".", 1)
        target = spec.by_key.get(head)
        if target is None or not target.stores:
            return False
        if target.has_rows:
            return any(c.key == tail and c.stores for c in target.children)
        return target.type.json_type == "object"
    if f.parent is not None:
        sibling = next((c for c in f.parent.children if c.key == name), None)
        if sibling is not None:
            return sibling.stores
    target = spec.by_key.get(name)
    return target is not None and target.stores


def _dependencies(spec: FormSpec, f: FieldSpec) -> list[FieldSpec]:
    """The formula fields ``f``'s formula reads (directly)."""
    assert f.formula is not None
    found: list[FieldSpec] = []
    for name in f.formula.references:
        if "." in name:
            head, tail = name.split(".", 1)
            target = spec.by_key.get(head)
            if target is not None and target.has_rows:
                found += [c for c in target.children if c.key == tail and c.formula is not None]
            continue
        if f.parent is not None:
            sibling = next((c for c in f.parent.children if c.key == name), None)
            if sibling is not None:
                if sibling.formula is not None:
                    found.append(sibling)
                continue
        target = spec.by_key.get(name)
        if target is not None and target.formula is not None:
            found.append(target)
        if target is not None and target.has_rows:
            found += [c for c in target.children if c.formula is not None]
    return found


def _order_formulas(spec: FormSpec, problems: list[tuple[str, str]]) -> None:
    """Topological order of every formula (rows' formulas are columns computed for every
    row); a cycle is reported at one of its formulas, naming the whole loop."""
    formulas = [f for f in spec.walk() if f.formula is not None]
    order: list[FieldSpec] = []
    state: dict[int, str] = {}

    def visit(f: FieldSpec, trail: list[FieldSpec]) -> bool:
        mark = state.get(id(f))
        if mark == "done":
            return True
        if mark == "active":
            loop = [*trail[trail.index(f) :], f]
            problems.append(
                (f"{f.pointer}/x-formula", "circular formula: " + " → ".join(x.path for x in loop))
            )
            return False
        state[id(f)] = "active"
        for dependency in _dependencies(spec, f):
            if not visit(dependency, [*trail, f]):
                return False
        state[id(f)] = "done"
        order.append(f)
        return True

    for f in formulas:
        if not visit(f, []):
            return
    spec.formula_order = order
    for f in spec.fields:
        if f.has_rows:
            f.formula_order = [c for c in order if c.parent is f]
