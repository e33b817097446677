"""Checking a definition before it is saved: every problem, each at its JSON pointer.

First the meta-schema (shape, keywords, types of values), then what a schema cannot say:
formulas that parse and refer to real fields without loops, ``required`` naming real fields,
options matching ``enum``, defaults that fit their field, relations to forms that exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

from ..errors import FieldError
from ..fields import FieldTypeRegistry, FieldValueError
from .metaschema import NOT_IN_ROWS, build_metaschema
from .spec import FieldSpec, FormSpec, compile_spec

#: Looks a relation's target up by name (relative to the form's app); None when missing.
FormResolver = Callable[[str], FormSpec | None]


@lru_cache(maxsize=8)
def _metavalidator(registry: FieldTypeRegistry, version: int) -> Draft202012Validator:
    return Draft202012Validator(build_metaschema(registry), format_checker=FormatChecker())


def check_definition(
    definition: Any,
    registry: FieldTypeRegistry,
    *,
    name: str = "",
    resolve_form: FormResolver | None = None,
    timezone: str = "Asia/Shanghai",
) -> list[FieldError]:
    """All problems of ``definition``; an empty list means it may be published."""
    if not isinstance(definition, dict):
        return [FieldError("", "a form definition must be a JSON object", "definition")]
    validator = _metavalidator(registry, registry.version)
    problems = sorted(
        {_describe(error) for error in validator.iter_errors(definition)}, key=_pointer_order
    )
    if problems:
        return [FieldError(pointer, message, "definition") for pointer, message in problems]
    spec = compile_spec(definition, registry, name=name, timezone=timezone, strict=False)
    found: list[tuple[str, str]] = list(spec.problems)  # type: ignore[attr-defined]
    found += _semantic_problems(spec, definition, resolve_form)
    return [FieldError(p, m, "definition") for p, m in sorted(set(found), key=_pointer_order)]


def _pointer_order(problem: tuple[str, str]) -> tuple[str, str]:
    return problem


def _semantic_problems(
    spec: FormSpec, definition: dict[str, Any], resolve_form: FormResolver | None
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for i, key in enumerate(definition.get("required", ())):
        problems += _required_problem(spec.by_key.get(key), key, f"/required/{i}")
    settings = definition.get("x-form", {})
    for i, key in enumerate(settings.get("list_columns", ())):
        if key not in spec.by_key or not spec.by_key[key].stores:
            problems.append((f"/x-form/list_columns/{i}", f"unknown field '{key}'"))
    owner = settings.get("owner_field")
    if owner is not None and (owner not in spec.by_key or spec.by_key[owner].type.name != "member"):
        problems.append(("/x-form/owner_field", "must name a member field"))
    title = settings.get("title_field")
    if title is not None and (title not in spec.by_key or not spec.by_key[title].stores):
        problems.append(("/x-form/title_field", f"unknown field '{title}'"))
    for f in spec.walk():
        problems += f.type.check_definition(f)
        if f.parent is not None:
            for i, key in enumerate(f.parent.schema["items"].get("required", ())):
                if key == f.key:
                    problems += _required_problem(f, key, f"{f.parent.pointer}/items/required/{i}")
            if f.schema.get("x-unique"):
                problems.append(
                    (f"{f.pointer}/x-unique", "unique is not possible inside a subform")
                )
            if f.schema.get("x-index"):
                problems.append(
                    (f"{f.pointer}/x-index", "fields inside a subform cannot be indexed")
                )
        elif f.schema.get("x-index") and f.type.projection(f) is None:
            problems.append((f"{f.pointer}/x-index", f"a {f.type.name} field cannot be indexed"))
        if f.schema.get("x-index-with"):
            problems += _index_with_problems(f, spec)
        if "pattern" in f.schema:
            try:
                re.compile(f.schema["pattern"])
            except re.error as error:
                problems.append((f"{f.pointer}/pattern", f"is not a valid pattern: {error}"))
        if "default" in f.schema:
            problems += _default_problems(f)
        if f.type.name == "relation" and resolve_form is not None:
            problems += _relation_problems(f, resolve_form)
    return problems


def _required_problem(f: Any, key: str, pointer: str) -> list[tuple[str, str]]:
    if f is None:
        return [(pointer, f"unknown field '{key}'")]
    if not f.stores:
        return [(pointer, f"'{key}' holds no value and cannot be required")]
    if f.computed:
        return [(pointer, f"'{key}' is computed and cannot be required")]
    return []


def _default_problems(f: Any) -> list[tuple[str, str]]:
    try:
        value = f.type.coerce(f.schema["default"], f)
    except FieldValueError as error:
        return [(f"{f.pointer}/default", error.message)]
    if value is None:
        return []
    validator = jsonschema.Draft202012Validator(
        f.type.data_schema(f), format_checker=FormatChecker()
    )
    return [(f"{f.pointer}/default", error.message) for error in validator.iter_errors(value)]


def _relation_problems(f: Any, resolve_form: FormResolver) -> list[tuple[str, str]]:
    target_name = f.schema["x-relation"]["form"]
    target = resolve_form(target_name)
    if target is None:
        return [(f"{f.pointer}/x-relation/form", f"no form named '{target_name}'")]
    display = f.schema["x-relation"].get("display")
    if display is not None and display not in target.by_key:
        return [
            (f"{f.pointer}/x-relation/display", f"form '{target_name}' has no field '{display}'")
        ]
    return []


# -- meta-schema errors in words -------------------------------------------------------------

_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "null",
}


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """One meta-schema error as (JSON pointer, message), e.g.
    ``("/properties/discount/maximum", "must be a number")``."""
    pointer = "".join(f"/{_escape(part)}" for part in error.absolute_path)
    keyword = error.validator
    value = error.validator_value
    if "propertyNames" in error.absolute_schema_path:
        return (
            f"{pointer}/{_escape(str(error.instance))}",
            "is not a valid key: start with a letter, then letters, digits or _ (at most 32)",
        )
    if keyword == "type":
        kinds = value if isinstance(value, list) else [value]
        return pointer, "must be " + " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)
    if keyword == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        return pointer, f"is missing '{missing}'"
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        if value is False and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            extra = sorted(k for k in error.instance if k not in allowed)
            return (
                f"{pointer}/{_escape(extra[0])}" if extra else pointer,
                "is not a known keyword here",
            )
        return pointer, error.message
    if keyword == "enum":
        if error.absolute_path and error.absolute_path[-1] == "x-field":
            in_rows = isinstance(error.instance, str) and error.instance in NOT_IN_ROWS
            if in_rows and "items" in error.absolute_path:
                return pointer, f"a subform row cannot hold a {error.instance} field"
            return pointer, f"unknown field type '{error.instance}'"
        return pointer, "must be one of: " + ", ".join(map(str, value))
    if keyword == "const":
        return pointer, f"must be {_literal(value)}"
    if keyword == "anyOf" and any("i18nText" in str(s) for s in value):
        return pointer, 'must be text, or an object of translations like {"zh-CN": …, "en": …}'
    if keyword == "format" and value == "regex":
        return pointer, "is not a valid regular expression"
    words = {
        "minimum": f"must be at least {value}",
        "maximum": f"must be at most {value}",
        "exclusiveMinimum": f"must be greater than {value}",
        "exclusiveMaximum": f"must be less than {value}",
        "minLength": f"must be at least {value} characters",
        "maxLength": f"must be at most {value} characters",
        "minItems": f"must have at least {value} items",
        "maxItems": f"must have at most {value} items",
        "maxProperties": f"must have at most {value} entries",
        "minProperties": f"must have at least {value} entries",
        "uniqueItems": "must not repeat an item",
        "pattern": f"must match {value}",
    }
    return pointer, words.get(str(keyword), error.message)


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _literal(value: Any) -> str:
    if value is False:
        return "false"
    if value is True:
        return "true"
    return repr(value) if isinstance(value, str) else str(value)


def _index_with_problems(f: FieldSpec, spec: FormSpec) -> list[tuple[str, str]]:
    """``x-index-with``: a top-level field that can be indexed, followed by others."""
    pointer = f"{f.pointer}/x-index-with"
    if f.parent is not None:
        return [(pointer, "fields inside a subform cannot be indexed")]
    problems = []
    for i, key in enumerate([f.key, *f.schema["x-index-with"]]):
        other = spec.by_key.get(key) if isinstance(key, str) else None
        where = pointer if i == 0 else f"{pointer}/{i - 1}"
        if other is None or other.parent is not None:
            problems.append((where, f"unknown field '{key}'"))
        elif i and other is f:
            problems.append((where, "names the field itself"))
        else:
            kind = other.type.projection(other)
            if kind is None or kind.startswith("multi"):
                problems.append((where, f"a {other.type.name} field cannot be indexed"))
    return problems
