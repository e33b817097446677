"""The form builder's property panel: one field's definition ⇄ the values of its inputs.

``panel_values`` turns a field's JSON Schema property into flat input values (what the panel
shows); ``apply_panel`` turns posted values back into the property. Together they must lose
nothing: for every valid property ``apply_panel(p, panel_values(p)) == p`` (a hypothesis
test checks it), so an admin opening and saving a field never changes it by accident.

Keywords a field type declares that need no special editor (``maxLength``, ``minimum``,
``x-scale``, ``x-max``…) get a generic input built from the type's meta-schema, so a plugin's
field type is editable without builder code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import FieldError
from ..fields import FieldType, FieldValueError

LANGUAGES = ("zh-CN", "en")
#: Keywords with an editor of their own below, never a generic input.
SPECIAL = {
    "x-field",
    "x-id",
    "type",
    "title",
    "x-label",
    "description",
    "x-description",
    "x-placeholder",
    "enum",
    "x-options",
    "items",
    "x-relation",
    "x-serial",
    "x-formula",
    "x-result",
    "x-visible-when",
    "x-layout",
    "x-accept",
    "default",
    "format",
    "uniqueItems",
    "x-content",
    "x-pattern-message",
    "x-default",
    "x-default-formula",
}
OPTION_TYPES = {"select", "radio", "multi-select", "checkbox"}

Values = dict[str, list[str]]


@dataclass(frozen=True)
class KeywordInput:
    """A generic input for one keyword: its name and the kind of value it takes."""

    keyword: str
    kind: str  # integer | number | boolean | string | choice
    choices: tuple[str, ...] = ()


def keyword_inputs(field_type: FieldType) -> list[KeywordInput]:
    properties = field_type.definition_schema().get("properties", {})
    out = []
    for keyword, schema in properties.items():
        if keyword in SPECIAL or not isinstance(schema, dict):
            continue
        if "enum" in schema:
            out.append(KeywordInput(keyword, "choice", tuple(map(str, schema["enum"]))))
        elif "const" in schema:
            continue
        elif schema.get("type") in ("integer", "number", "boolean", "string"):
            out.append(KeywordInput(keyword, schema["type"]))
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _i18n(values: Values, prefix: str, value: Any) -> None:
    """A text-or-translations value: ``prefix`` holds plain text, ``prefix:zh-CN`` etc. the
    translations (an object of translations is kept as an object)."""
    if isinstance(value, dict):
        values[f"{prefix}:mode"] = ["i18n"]
        for lang in LANGUAGES:
            if lang in value:
                values[f"{prefix}:{lang}"] = [value[lang]]
    elif value is not None:
        values[prefix] = [value]


def panel_values(prop: Mapping[str, Any], field_type: FieldType) -> Values:
    """What the panel's inputs hold for ``prop`` (every input a list of strings, as posted)."""
    values: Values = {}
    if "title" in prop:
        values["title"] = [prop["title"]]
    for lang, text in (prop.get("x-label") or {}).items():
        values[f"label:{lang}"] = [text]
    if "x-label" in prop:
        values["label:present"] = ["1"]
    if "description" in prop:
        values["description"] = [prop["description"]]
    for lang, text in (prop.get("x-description") or {}).items():
        values[f"help:{lang}"] = [text]
    if "x-description" in prop:
        values["help:present"] = ["1"]
    _i18n(values, "placeholder", prop.get("x-placeholder"))
    _i18n(values, "content", prop.get("x-content"))
    _i18n(values, "pattern_message", prop.get("x-pattern-message"))
    if "x-id" in prop:
        values["id"] = [prop["x-id"]]
    if "x-layout" in prop:
        values["width"] = [prop["x-layout"].get("width", "")]
        values["width:present"] = ["1"]
    if "x-visible-when" in prop:
        values["visible_when"] = [prop["x-visible-when"]]
    if "x-formula" in prop:
        values["formula"] = [prop["x-formula"]]
    if "x-result" in prop:
        values["result"] = [prop["x-result"]]
    if "x-serial" in prop:
        values["serial"] = [prop["x-serial"].get("pattern", "")]
    if "x-relation" in prop:
        relation = prop["x-relation"]
        values["relation_form"] = [relation.get("form", "")]
        if "display" in relation:
            values["relation_display"] = [relation["display"]]
        if "multiple" in relation:
            values["relation_multiple"] = [_text(relation["multiple"])]
    if "x-accept" in prop:
        values["accept"] = list(prop["x-accept"])
        values["accept:present"] = ["1"]
    if "x-default" in prop:
        values["default_marker"] = [prop["x-default"]]
    if "x-default-formula" in prop:
        values["default_formula"] = [prop["x-default-formula"]]
    if "default" in prop:
        values["default"] = [_default_text(prop["default"])]
        values["default:kind"] = [_kind(prop["default"])]
    if "format" in prop:
        values["format"] = [prop["format"]]
    if "uniqueItems" in prop:
        values["unique_items"] = [_text(prop["uniqueItems"])]
    if field_type.name == "number" and "type" in prop:
        values["number_type"] = [prop["type"]]
    enum = prop.get("enum") if "enum" in prop else (prop.get("items") or {}).get("enum")
    if field_type.name in OPTION_TYPES and enum is not None:
        labels = {o["value"]: o for o in prop.get("x-options", ())}
        values["option"] = list(enum)
        for i, value in enumerate(enum):
            option = labels.get(value)
            if option is None:
                continue
            values[f"option:{i}:present"] = ["1"]
            label = option.get("label")
            if isinstance(label, dict):
                values[f"option:{i}:mode"] = ["i18n"]
                for lang in LANGUAGES:
                    if lang in label:
                        values[f"option:{i}:{lang}"] = [label[lang]]
            elif label is not None:
                values[f"option:{i}:label"] = [label]
            if "color" in option:
                values[f"option:{i}:color"] = [option["color"]]
            if "score" in option:
                values[f"option:{i}:score"] = [_text(option["score"])]
        if "x-options" in prop:
            values["options:present"] = ["1"]
    for item in keyword_inputs(field_type):
        if item.keyword in prop:
            values[f"kw:{item.keyword}"] = [_text(prop[item.keyword])]
    return values


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal):
        return "number"
    if isinstance(value, list | dict):
        return "json"
    return "string"


def _default_text(value: Any) -> str:
    if isinstance(value, list | dict):
        from .. import jsoncodec

        return jsoncodec.dumps(value)
    return _text(value)


def _one(values: Mapping[str, list[str]], key: str) -> str:
    found = values.get(key) or [""]
    return found[0] if isinstance(found, list) else str(found)


def _set(prop: dict[str, Any], key: str, value: Any) -> None:
    """Set, or drop when empty; an existing key keeps its place in the property."""
    if value is None or value == "" or value == {} or value == []:
        prop.pop(key, None)
    else:
        prop[key] = value


def _read_i18n(values: Mapping[str, list[str]], prefix: str) -> Any:
    if _one(values, f"{prefix}:mode") == "i18n":
        return {
            lang: _one(values, f"{prefix}:{lang}")
            for lang in LANGUAGES
            if _one(values, f"{prefix}:{lang}")
        } or None
    return _one(values, prefix) or None


def apply_panel(
    prop: Mapping[str, Any], values: Mapping[str, list[str]], field_type: FieldType
) -> tuple[dict[str, Any], list[FieldError]]:
    """The property with the panel's values applied, and any values that could not be read
    (keyed by the input's name). Keywords the panel does not show are kept as they were."""
    out = dict(prop)
    errors: list[FieldError] = []
    _set(out, "title", _one(values, "title"))
    labels = {
        lang: _one(values, f"label:{lang}") for lang in LANGUAGES if _one(values, f"label:{lang}")
    }
    _set(out, "x-label", labels if labels or _one(values, "label:present") else None)
    if "x-label" in out and not out["x-label"]:
        out.pop("x-label")
    _set(out, "description", _one(values, "description"))
    helps = {
        lang: _one(values, f"help:{lang}") for lang in LANGUAGES if _one(values, f"help:{lang}")
    }
    _set(out, "x-description", helps)
    _set(out, "x-placeholder", _read_i18n(values, "placeholder"))
    if field_type.name == "description":
        _set(out, "x-content", _read_i18n(values, "content"))
    if "pattern" in {k.keyword for k in keyword_inputs(field_type)}:
        _set(out, "x-pattern-message", _read_i18n(values, "pattern_message"))
    _set(out, "x-id", _one(values, "id"))
    width = _one(values, "width")
    if width or _one(values, "width:present"):
        _set(out, "x-layout", {"width": width} if width else {})
        if _one(values, "width:present") and not width:
            out["x-layout"] = {}
    else:
        out.pop("x-layout", None)
    _set(out, "x-visible-when", _one(values, "visible_when").strip())
    if field_type.name == "formula":
        out["x-formula"] = _one(values, "formula").strip() or "0"
        result = _one(values, "result")
        _set(out, "x-result", result)
        out["type"] = {"text": "string", "date": "string", "boolean": "boolean"}.get(
            result or "number", "number"
        )
    if field_type.name == "serial":
        out["x-serial"] = {"pattern": _one(values, "serial")}
    if field_type.name == "relation":
        relation: dict[str, Any] = {"form": _one(values, "relation_form")}
        if _one(values, "relation_display"):
            relation["display"] = _one(values, "relation_display")
        multiple = _one(values, "relation_multiple")
        if multiple:
            relation["multiple"] = multiple == "true"
        out["x-relation"] = relation
        out["type"] = "array" if relation.get("multiple") else "integer"
        if out["type"] == "array":
            out.setdefault("items", {"type": "integer"})
        else:
            out.pop("items", None)
    accept = [a for a in values.get("accept", []) if a]
    if accept or _one(values, "accept:present"):
        _set(out, "x-accept", accept)
    else:
        out.pop("x-accept", None)
    _set(out, "x-default", _one(values, "default_marker"))
    _set(out, "x-default-formula", _one(values, "default_formula").strip())
    _set(out, "format", _one(values, "format"))
    unique_items = _one(values, "unique_items")
    if unique_items:
        out["uniqueItems"] = unique_items == "true"
    else:
        out.pop("uniqueItems", None)
    if field_type.name == "number":
        _set(out, "type", _one(values, "number_type") or "number")
    if field_type.name in OPTION_TYPES:
        errors += _apply_options(out, values, field_type)
    for item in keyword_inputs(field_type):
        raw = _one(values, f"kw:{item.keyword}").strip()
        try:
            _set(out, item.keyword, _parse(item, raw))
        except ValueError:
            errors.append(
                FieldError(f"kw:{item.keyword}", f"{item.keyword}: not a valid {item.kind}", "type")
            )
    _apply_default(out, values, field_type, errors)
    return out, errors


def _parse(item: KeywordInput, raw: str) -> Any:
    if raw == "":
        return None
    if item.kind == "integer":
        return int(raw)
    if item.kind == "number":
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValueError(raw) from None
        return (
            int(value)
            if value == value.to_integral_value() and "." not in raw and "e" not in raw.lower()
            else value
        )
    if item.kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError(raw)
        return raw == "true"
    if item.kind == "choice" and item.choices and raw not in item.choices:
        raise ValueError(raw)
    return raw


def _apply_options(
    out: dict[str, Any], values: Mapping[str, list[str]], field_type: FieldType
) -> list[FieldError]:
    enum = [v for v in values.get("option", []) if v != ""]
    options = []
    errors: list[FieldError] = []
    for i, value in enumerate(values.get("option", [])):
        if value == "" or not _one(values, f"option:{i}:present"):
            continue
        option: dict[str, Any] = {"value": value}
        if _one(values, f"option:{i}:mode") == "i18n":
            label = {
                lang: _one(values, f"option:{i}:{lang}")
                for lang in LANGUAGES
                if _one(values, f"option:{i}:{lang}")
            }
            if label:
                option["label"] = label
        elif _one(values, f"option:{i}:label"):
            option["label"] = _one(values, f"option:{i}:label")
        if _one(values, f"option:{i}:color"):
            option["color"] = _one(values, f"option:{i}:color")
        score = _one(values, f"option:{i}:score")
        if score:
            try:
                number = Decimal(score)
                if not number.is_finite():
                    raise InvalidOperation
                option["score"] = int(number) if number == number.to_integral_value() else number
            except (InvalidOperation, ValueError):
                errors.append(
                    FieldError(f"option:{i}:score", f"score of '{value}': not a number", "type")
                )
        options.append(option)
    if field_type.name in ("select", "radio"):
        out["enum"] = enum
    else:
        items = dict(out.get("items") or {"type": "string"})
        items["enum"] = enum
        out["items"] = items
    if options or _one(values, "options:present"):
        out["x-options"] = options
    else:
        out.pop("x-options", None)
    return errors


def _apply_default(
    out: dict[str, Any],
    values: Mapping[str, list[str]],
    field_type: FieldType,
    errors: list[FieldError],
) -> None:
    raw = _one(values, "default")
    if raw == "":
        out.pop("default", None)
        return
    kind = _one(values, "default:kind")
    if kind == "json":
        from .. import jsoncodec

        try:
            out["default"] = jsoncodec.loads(raw)
        except ValueError:
            errors.append(FieldError("default", "is not valid JSON", "json"))
        return
    if kind == "string":
        out["default"] = raw
        return
    if kind == "boolean" or field_type.json_type == "boolean":
        out["default"] = raw == "true"
        return
    if kind == "number" or field_type.json_type in ("number", "integer"):
        try:
            value = Decimal(raw)
        except InvalidOperation:
            errors.append(FieldError("default", "must be a number", "type"))
            return
        out["default"] = (
            int(value) if value == value.to_integral_value() and "." not in raw else value
        )
        return
    out["default"] = raw


def coerce_check(prop: dict[str, Any], field: Any) -> list[FieldError]:
    """The default must be a value the field accepts (checked again at publish)."""
    if "default" not in prop:
        return []
    try:
        field.type.coerce(prop["default"], field)
    except FieldValueError as error:
        return [FieldError("default", error.message, error.code)]
    return []
