"""Turning input into a record document: coerce, compute, show/hide, require, validate.

The one write pipeline, used by the API, the web forms, imports and automations alike:

1. every key must be a field of the form (unknown keys are refused);
2. each value is coerced by its field type (``"12.50"`` → ``Decimal("12.50")``);
3. formulas are computed in dependency order and visibility rules are evaluated, until
   the set of hidden fields is stable — a hidden field is neither required nor stored;
4. required fields that are visible must have a value;
5. the values are validated against the definition's JSON Schema (compiled, Rust);

and nothing is written unless all of it passed. Values are keyed by field key here;
:func:`to_document` stores them by the fields' stable ids.
"""

from __future__ import annotations

import datetime as dt
from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from ..definitions.spec import FieldSpec, FormSpec
from ..errors import BadRequest, FieldError
from ..expressions import EvalContext, ExpressionError
from ..fields import FieldValueError

#: Rounds of "compute formulas, then evaluate visibility" before the hidden set must settle.
VISIBILITY_ROUNDS = 4

Values = dict[str, Any]


def prepare(
    spec: FormSpec,
    raw: Any,
    *,
    current: Values | None,
    partial: bool,
    defaults: Mapping[str, Any],
    context: EvalContext,
    editable: set[str] | None = None,
) -> tuple[Values, list[FieldError]]:
    """Validated values by key from ``raw`` input, and every problem found.

    ``current`` holds the record's values (by key) on an update, None on a create;
    ``partial`` keeps current values of fields the input does not name (PATCH).
    ``defaults`` resolves ``x-default`` markers such as ``current_user``.
    ``editable`` (field paths) limits ``required`` to what the person may fill in: a field
    they cannot see or change is never required of them.
    """
    if not isinstance(raw, dict):
        raise BadRequest([FieldError("data", "must be an object of field values", "type")])
    errors: list[FieldError] = []
    inputs: Values = dict(current) if (current is not None and partial) else {}
    if current is not None:
        # Values the server assigned once (serial numbers) survive a full replace.
        for f in spec.data_fields:
            if f.computed and f.formula is None and f.key in current:
                inputs[f.key] = current[f.key]
    given: set[str] = set()
    for key, raw_value in raw.items():
        f = spec.by_key.get(key) if isinstance(key, str) else None
        if f is None:
            errors.append(FieldError(str(key), "is not a field of this form", "unknown"))
            continue
        if not f.stores:
            errors.append(FieldError(key, "is display-only and holds no value", "display_only"))
            continue
        if f.computed:
            if current is not None and _same(f, raw_value, current.get(key)):
                continue
            errors.append(
                FieldError(key, "is computed by the server and cannot be set", "computed")
            )
            continue
        try:
            value = f.type.coerce(raw_value, f)
        except FieldValueError as error:
            errors.append(FieldError(key, error.message, error.code, error.params))
            value = None
        if f.has_rows and value is not None:
            value = _prepare_rows(f, value, errors, defaults)
        given.add(key)
        inputs[key] = value
    if current is None:
        for f in spec.defaulted_fields:
            if f.key not in given:
                default = _default(f, defaults, errors, f.key)
                if default is not None:
                    inputs[f.key] = default
    if spec.formula_defaults:
        _formula_defaults(spec, inputs, given, current is None, context)
    # Go on after a bad value so the person sees every problem at once; fields that already
    # failed are not reported twice.
    values, hidden = _compute(spec, inputs, context)
    failed = {e.field for e in errors}
    errors += [e for e in _required(spec, values, hidden, editable) if e.field not in failed]
    failed = {e.field for e in errors}
    errors += [e for e in schema_errors(spec, values) if e.field not in failed]
    return values, errors


def _coerce(f: FieldSpec, raw_value: Any, errors: list[FieldError], path: str) -> Any:
    try:
        return f.type.coerce(raw_value, f)
    except FieldValueError as error:
        errors.append(FieldError(path, error.message, error.code, error.params))
        return None


def _same(f: FieldSpec, given: Any, stored: Any) -> bool:
    """True when a client echoes a computed field's stored value back unchanged."""
    return given == stored or (given is not None and str(given) == str(stored))


def _default(f: FieldSpec, defaults: Mapping[str, Any], errors: list[FieldError], path: str) -> Any:
    marker = f.schema.get("x-default") or f.implicit_default
    if marker is not None:
        return defaults.get(marker)
    if "default" in f.schema:
        return _coerce(f, f.schema["default"], errors, path)
    return None


def _prepare_rows(
    f: FieldSpec, rows: list[dict[str, Any]], errors: list[FieldError], defaults: Mapping[str, Any]
) -> list[Values] | None:
    children = f.children_by_key
    defaulted = [c for c in f.children if c.stores and not c.computed and c.has_default]
    out: list[Values] = []
    for i, row in enumerate(rows):
        prepared: Values = {}
        for key, raw_value in row.items():
            child = children.get(key) if isinstance(key, str) else None
            if child is None:
                errors.append(
                    FieldError(f"{f.key}[{i}].{key}", "is not a field of this subform", "unknown")
                )
                continue
            if not child.stores:
                errors.append(
                    FieldError(
                        f"{f.key}[{i}].{key}", "is display-only and holds no value", "display_only"
                    )
                )
                continue
            if child.computed:
                continue  # recomputed below; rows are replaced whole, so echoes are harmless
            try:
                value = child.type.coerce(raw_value, child)
            except FieldValueError as error:
                errors.append(
                    FieldError(f"{f.key}[{i}].{key}", error.message, error.code, error.params)
                )
                continue
            if value is not None:
                prepared[key] = value
        if not prepared:
            continue  # a row left blank on a phone is no row
        for child in defaulted:
            if child.key not in prepared:
                default = _default(child, defaults, errors, f"{f.key}[{i}].{child.key}")
                if default is not None:
                    prepared[child.key] = default
        out.append(prepared)
    return out or None


def _formula_defaults(
    spec: FormSpec, inputs: Values, given: set[str], creating: bool, context: EvalContext
) -> None:
    """Fill the fields left empty whose default is a formula, from what the rest of the
    input (formulas included) makes of it: record fields on a create, row fields in the
    rows of a subform the input sent (as static defaults are). ``given`` are the fields
    the input named."""
    values, _hidden = _compute(spec, inputs, context)
    scope = _scope(spec, values)
    for f in spec.formula_defaults:
        if f.parent is None:
            if creating and f.key not in given and inputs.get(f.key) is None:
                value = _default_value(f, scope, context)
                if value is not None:
                    inputs[f.key] = value
            continue
        if f.parent.key not in given:
            continue
        row_scopes = scope.get(f.parent.key) or []
        for i, row in enumerate(inputs.get(f.parent.key) or ()):
            if row.get(f.key) is None:
                row_scope = row_scopes[i] if i < len(row_scopes) else {}
                value = _default_value(f, ChainMap(row_scope, scope), context)
                if value is not None:
                    row[f.key] = value


def _default_value(f: FieldSpec, scope: Mapping[str, Any], context: EvalContext) -> Any:
    """The field's default formula's result as a value of the field, or None when the formula
    fails or gives what the field cannot hold (the field is then left empty, and a required
    one says so)."""
    assert f.default_formula is not None
    try:
        result = f.default_formula.evaluate(scope, context)
    except ExpressionError:
        return None
    if result is None or result == "":
        return None
    if isinstance(result, dt.datetime | dt.date):
        result = result.isoformat()
    try:
        return f.type.coerce(result, f)
    except (FieldValueError, TypeError, ValueError):
        return None


# -- formulas and visibility -------------------------------------------------------------------


def _compute(spec: FormSpec, inputs: Values, context: EvalContext) -> tuple[Values, set[str]]:
    """Values with formulas filled in and hidden fields removed, and the hidden paths."""
    hidden: set[str] = set()
    values: Values = {}
    if not spec.has_visibility_rules:
        # One pass, and the rows (fresh from _prepare_rows or copies of stored ones) may take
        # their formulas' results in place.
        values = {k: v for k, v in inputs.items() if v is not None}
        if spec.formula_order:
            _run_formulas(spec, values, _scope(spec, values), context)
        return {k: v for k, v in values.items() if v is not None}, hidden
    for _ in range(VISIBILITY_ROUNDS):
        values = _without(spec, inputs, hidden)
        scope = _scope(spec, values)
        _run_formulas(spec, values, scope, context)
        now_hidden = _hidden_paths(spec, values, scope, context)
        if now_hidden == hidden:
            break
        hidden = now_hidden
    else:
        values = _without(spec, inputs, hidden)
        _run_formulas(spec, values, _scope(spec, values), context)
    return {k: v for k, v in values.items() if v is not None}, hidden


def _without(spec: FormSpec, inputs: Values, hidden: set[str]) -> Values:
    values: Values = {}
    for key, value in inputs.items():
        if key in hidden or value is None:
            continue
        f = spec.by_key[key]
        if f.has_rows:
            value = [
                {k: v for k, v in row.items() if f"{key}[{i}].{k}" not in hidden}
                for i, row in enumerate(value)
            ]
        values[key] = value
    return values


def _scope(spec: FormSpec, values: Values) -> dict[str, Any]:
    """What expressions see: the values they read (None when empty), rows as lists."""
    scope: dict[str, Any] = {}
    read = spec.read_fields
    for f in read[""]:
        value = values.get(f.key)
        if f.has_rows:
            children = read.get(f.key, ())
            scope[f.key] = [_row_scope(children, row) for row in value or ()]
        else:
            scope[f.key] = None if value is None else f.type.expression_value(value, f)
    return scope


def _row_scope(children: Any, row: Values) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in children:
        value = row.get(child.key)
        out[child.key] = None if value is None else child.type.expression_value(value, child)
    return out


def _run_formulas(
    spec: FormSpec, values: Values, scope: dict[str, Any], context: EvalContext
) -> None:
    # A row formula sees its row's fields over the record's; the merged scope of each row
    # is built once (a dict lookup is several times cheaper than a ChainMap's) and dropped
    # whenever a record-level formula changes what it would see.
    merged: dict[tuple[str, int], dict[str, Any]] = {}
    for f in spec.formula_order:
        assert f.formula is not None
        if f.parent is None:
            stored = _evaluate(f, scope, context)
            values[f.key] = stored
            scope[f.key] = None if stored is None else f.type.expression_value(stored, f)
            merged.clear()
            continue
        rows = values.get(f.parent.key) or []
        row_scopes = scope.get(f.parent.key)
        if row_scopes is None:
            row_scopes = scope[f.parent.key] = [
                _row_scope(spec.read_fields.get(f.parent.key, ()), row) for row in rows
            ]
        for i, (row, row_scope) in enumerate(zip(rows, row_scopes, strict=True)):
            local = merged.get((f.parent.key, i))
            if local is None:
                local = merged[(f.parent.key, i)] = {**scope, **row_scope}
            stored = _evaluate(f, local, context)
            if stored is None:
                row.pop(f.key, None)
            else:
                row[f.key] = stored
            local[f.key] = row_scope[f.key] = (
                None if stored is None else f.type.expression_value(stored, f)
            )


def _evaluate(f: FieldSpec, scope: Mapping[str, Any], context: EvalContext) -> Any:
    assert f.formula is not None
    try:
        value = f.formula.evaluate(scope, context)
    except ExpressionError:
        return None  # like a spreadsheet cell showing an error: the record still saves
    return f.type.store(value, f)  # type: ignore[attr-defined]


def _hidden_paths(
    spec: FormSpec, values: Values, scope: dict[str, Any], context: EvalContext
) -> set[str]:
    hidden: set[str] = set()
    for f in spec.fields:
        if f.visible_when is not None and not _visible(f, scope, context):
            hidden.add(f.key)
            continue
        if not f.has_rows:
            continue
        conditional = [c for c in f.children if c.visible_when is not None]
        for i, row_scope in enumerate(scope.get(f.key) or ()):
            for child in conditional:
                if not _visible(child, ChainMap(row_scope, scope), context):
                    hidden.add(f"{f.key}[{i}].{child.key}")
    return hidden


def _visible(f: FieldSpec, scope: Mapping[str, Any], context: EvalContext) -> bool:
    assert f.visible_when is not None
    try:
        return bool(f.visible_when.evaluate(scope, context))
    except ExpressionError:
        return True  # a rule that cannot be evaluated never hides (and so never drops) data


def visible_keys(spec: FormSpec, values: Values, context: EvalContext) -> set[str]:
    """The top-level fields a person filling ``values`` sees (for live show/hide)."""
    _, hidden = _compute(spec, values, context)
    return {f.key for f in spec.fields if f.key not in hidden}


def compute(spec: FormSpec, values: Values, context: EvalContext) -> tuple[Values, set[str]]:
    """Formulas filled in and hidden fields dropped, as a write would store them."""
    return _compute(spec, values, context)


# -- required and schema checks ------------------------------------------------------------


def _required(
    spec: FormSpec, values: Values, hidden: set[str], editable: set[str] | None
) -> list[FieldError]:
    errors = []
    for f in spec.data_fields:
        if f.key in hidden or (editable is not None and f.key not in editable):
            continue
        if f.required and not f.computed and values.get(f.key) is None:
            errors.append(FieldError(f.key, "is required", "required"))
        if f.has_rows:
            required_children = f.cache.get("required_children")
            if required_children is None:
                required_children = f.cache["required_children"] = [
                    c for c in f.children if c.required and not c.computed
                ]
            for i, row in enumerate(values.get(f.key) or ()):
                for child in required_children:
                    if row.get(child.key) is None:
                        path = f"{f.key}[{i}].{child.key}"
                        if path not in hidden:
                            errors.append(FieldError(path, "is required", "required"))
    return errors


def schema_errors(spec: FormSpec, values: Values) -> list[FieldError]:
    """The definition's JSON Schema rules ``values`` break, each at its field path."""
    if spec.validator.is_valid(values):
        return []
    return [_schema_error(spec, error) for error in spec.validator.iter_errors(values)]


_FORMAT_WORDS = {
    "email": "must be an email address",
    "uri": "must be a web address starting with http:// or https://",
    "date": "must be a date like 2026-03-31",
    "date-time": "must be a date and time like 2026-03-31T14:30:00+08:00",
}


def _schema_error(spec: FormSpec, error: Any) -> FieldError:
    path = _path(error.instance_path)
    schema_path = list(error.schema_path)
    keyword = str(schema_path[-1]) if schema_path else ""
    limit = _lookup(spec.data_schema, schema_path)
    field = _field_at(spec, list(error.instance_path))
    if keyword == "pattern" and field is not None and field.schema.get("x-pattern-message"):
        custom = field.schema["x-pattern-message"]
        message = (
            custom.get("en") or next(iter(custom.values())) if isinstance(custom, dict) else custom
        )
        return FieldError(path, message, "pattern")
    things = "rows" if field is not None and field.has_rows else "items"
    return FieldError(path, _words(keyword, limit, things), keyword or "invalid", {"limit": limit})


def _words(keyword: str, limit: Any, things: str) -> str:
    """A schema keyword's failure in words; the rejected value itself is never echoed."""
    simple = {
        "minimum": "must be at least {}",
        "maximum": "must be at most {}",
        "exclusiveMinimum": "must be greater than {}",
        "exclusiveMaximum": "must be less than {}",
        "multipleOf": "must be a multiple of {}",
        "minLength": "must be at least {} characters",
        "maxLength": "must be at most {} characters",
        "minItems": "must have at least {} " + things,
        "maxItems": "must have at most {} " + things,
        "const": "must be {}",
        "type": "must be of type {}",
    }
    if keyword in simple:
        return simple[keyword].format(limit)
    if keyword == "enum" and isinstance(limit, list):
        return "must be one of: " + ", ".join(map(str, limit[:20]))
    if keyword == "format":
        return _FORMAT_WORDS.get(str(limit), f"must be a valid {limit}")
    return {
        "uniqueItems": "must not contain duplicates",
        "pattern": "is not in the expected format",
        "additionalProperties": "has an unknown part",
        "required": "is incomplete",
    }.get(keyword, "is not valid")


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _lookup(schema: Any, path: list[Any]) -> Any:
    node = schema
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _field_at(spec: FormSpec, parts: list[Any]) -> FieldSpec | None:
    if not parts:
        return None
    f = spec.by_key.get(parts[0])
    if f is not None and f.has_rows and len(parts) >= 3:
        return next((c for c in f.children if c.key == parts[2]), f)
    return f


# -- documents: values by stable field id -------------------------------------------------


def to_document(
    spec: FormSpec, values: Values, previous: Mapping[str, Any] | None, untouched: set[str]
) -> dict[str, Any]:
    """The stored document: values by field id, keeping what the definition no longer shows.

    Values under ids the current definition does not have (a removed field) are carried
    over from ``previous``, so restoring the field brings them back. Rows of subforms named
    in ``untouched`` keep their removed sub-fields' values the same way.
    """
    document: dict[str, Any] = {}
    if previous:
        document.update((k, v) for k, v in previous.items() if k not in spec.by_id)
    for f in spec.data_fields:
        value = values.get(f.key)
        if value is None:
            continue
        if f.has_rows:
            old_rows = (previous or {}).get(f.id) if f.key in untouched else None
            value = [_row_document(f, row, old_rows, i) for i, row in enumerate(value)]
        document[f.id] = value
    return document


def _row_document(f: FieldSpec, row: Values, old_rows: Any, index: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(old_rows, list) and index < len(old_rows) and isinstance(old_rows[index], dict):
        known = {c.id for c in f.children}
        out.update((k, v) for k, v in old_rows[index].items() if k not in known)
    for child in f.children:
        if child.key in row:
            out[child.id] = row[child.key]
    return out


def from_document(spec: FormSpec, document: Mapping[str, Any]) -> Values:
    """Values by key of the fields the current definition has."""
    values: Values = {}
    for f in spec.data_fields:
        value = document.get(f.id)
        if value is None:
            continue
        if f.has_rows and isinstance(value, list):
            value = [
                {c.key: row[c.id] for c in f.children if c.stores and c.id in row}
                for row in value
                if isinstance(row, dict)
            ]
        values[f.key] = value
    return values
