"""A record form in the browser: WTForms fields built from a form's spec.

Every field type renders through a WTForms field with an HTML5 widget (native number,
date and tel inputs, selects, checkbox groups, star radios, file inputs with camera capture,
a signature canvas, rows of a subform), and posted data is read back through those fields.
WTForms only renders and collects: the engine's one write pipeline coerces and validates,
so the browser, the API and imports get the same rules and messages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wtforms import (
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import (
    CheckboxInput,
    DateInput,
    DateTimeLocalInput,
    EmailInput,
    HiddenInput,
    ListWidget,
    NumberInput,
    TelInput,
    URLInput,
)

from ..definitions.spec import FieldSpec, FormSpec
from ..fields.base import plain_number
from ..permissions.models import Access
from .i18n import localized

#: Input the phone keyboard should open with, per field type.
INPUT_MODES = {
    "number": "decimal",
    "money": "decimal",
    "percent": "decimal",
    "phone": "tel",
    "email": "email",
    "url": "url",
}


@dataclass
class RenderContext:
    """What the form needs beyond the spec: who may do what, and the options of the fields
    that pick people, departments or records."""

    access: dict[str, Access]
    language: str
    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def level(self, f: FieldSpec) -> Access:
        return self.access.get(f.path, Access.EDIT)


class FileIdsField(Field):
    """Ids of uploaded files kept by the form (new uploads come as separate file inputs)."""

    widget = HiddenInput()

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = [v for v in valuelist if v]

    def _value(self) -> str:
        return ""


def _options(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _label(f: FieldSpec, language: str) -> str:
    return f.label(language)


def _choices(f: FieldSpec, language: str) -> list[tuple[str, str]]:
    values = f.schema.get("enum") or f.schema.get("items", {}).get("enum", [])
    labels = {
        o["value"]: localized(o.get("label", o["value"])) for o in f.schema.get("x-options", ())
    }
    return [(v, labels.get(v, v)) for v in values]


def _unbound(f: FieldSpec, ctx: RenderContext) -> Any:
    """The WTForms field of one (editable) field of the spec."""
    t = f.type.name
    label = _label(f, ctx.language)
    kw: dict[str, Any] = {
        "label": label,
        "description": localized(f.schema.get("x-description"), f.schema.get("description", "")),
    }
    attrs: dict[str, Any] = {}
    placeholder = f.schema.get("x-placeholder")
    if placeholder:
        attrs["placeholder"] = localized(placeholder)
    if t in INPUT_MODES:
        attrs["inputmode"] = INPUT_MODES[t]
    if "maxLength" in f.schema:
        attrs["maxlength"] = f.schema["maxLength"]
    if t in ("text", "serial"):
        return StringField(render_kw=attrs, **kw)
    if t == "textarea":
        return TextAreaField(render_kw=attrs, **kw)
    if t == "phone":
        attrs["autocomplete"] = "tel"
        return StringField(widget=TelInput(), render_kw=attrs, **kw)
    if t == "email":
        return StringField(widget=EmailInput(), render_kw=attrs, **kw)
    if t == "url":
        return StringField(widget=URLInput(), render_kw=attrs, **kw)
    if t in ("number", "money", "percent"):
        scale = f.schema.get("x-scale", 2 if t == "money" else None)
        if t == "number":
            scale = 0 if f.schema.get("type") == "integer" else f.schema.get("x-precision")
        if t == "percent":
            scale = max(int(f.schema.get("x-scale", 4)) - 2, 0)
        attrs["step"] = (
            "any" if scale is None else ("1" if scale == 0 else f"0.{'0' * (int(scale) - 1)}1")
        )
        return StringField(widget=NumberInput(), render_kw=attrs, **kw)
    if t == "date":
        return StringField(widget=DateInput(), render_kw=attrs, **kw)
    if t == "datetime":
        return StringField(widget=DateTimeLocalInput(), render_kw=attrs, **kw)
    if t == "select":
        return SelectField(
            choices=_options([("", "—"), *_choices(f, ctx.language)]),
            validate_choice=False,
            render_kw=attrs,
            **kw,
        )
    if t == "radio":
        return RadioField(choices=_options(_choices(f, ctx.language)), validate_choice=False, **kw)
    if t == "multi-select":
        return SelectMultipleField(
            choices=_options(_choices(f, ctx.language)), validate_choice=False, **kw
        )
    if t == "checkbox":
        return SelectMultipleField(
            choices=_options(_choices(f, ctx.language)),
            validate_choice=False,
            widget=ListWidget(prefix_label=False),
            option_widget=CheckboxInput(),
            **kw,
        )
    if t == "boolean":
        from flask_babel import gettext as _

        return RadioField(
            choices=_options([("true", _("Yes")), ("false", _("No"))]), validate_choice=False, **kw
        )
    if t == "rating":
        top = int(f.schema.get("x-max", 5))
        return RadioField(
            choices=_options([(str(i), str(i)) for i in range(top, 0, -1)]),
            validate_choice=False,
            **kw,
        )
    if t in ("member", "department") or (t == "relation" and not f.type.is_multiple(f)):  # type: ignore[attr-defined]
        return SelectField(
            choices=_options([("", "—"), *ctx.options.get(f.path, [])]), validate_choice=False, **kw
        )
    if t in ("members",) or t == "relation":
        return SelectMultipleField(
            choices=_options(ctx.options.get(f.path, [])), validate_choice=False, **kw
        )
    if t == "address":
        return FormField(_address_form(ctx.language), **kw)
    if t == "location":
        return FormField(_LocationForm, **kw)
    if t in ("image", "attachment"):
        return FileIdsField(**kw)
    if t == "signature":
        return HiddenField(**kw)
    if t == "subform":
        return FieldList(FormField(_row_form(f, ctx)), min_entries=0, max_entries=500, **kw)
    return StringField(render_kw=attrs, **kw)


def _address_form(language: str) -> type[Form]:
    from flask_babel import gettext as _

    return type(
        "AddressForm",
        (Form,),
        {
            "province": StringField(_("Province"), render_kw={"autocomplete": "address-level1"}),
            "city": StringField(_("City"), render_kw={"autocomplete": "address-level2"}),
            "district": StringField(_("District"), render_kw={"autocomplete": "address-level3"}),
            "detail": StringField(
                _("Street and number"), render_kw={"autocomplete": "street-address"}
            ),
        },
    )


class _LocationForm(Form):
    lat = HiddenField()
    lng = HiddenField()
    accuracy = HiddenField()
    address = HiddenField()


def _row_form(f: FieldSpec, ctx: RenderContext) -> type[Form]:
    fields = {c.key: _unbound(c, ctx) for c in f.children if c.stores and not c.computed}
    return type(f"Row_{f.key}", (Form,), fields)


def editable_fields(spec: FormSpec, ctx: RenderContext) -> list[FieldSpec]:
    return [f for f in spec.fields if f.stores and not f.computed and ctx.level(f) == Access.EDIT]


def build(
    spec: FormSpec,
    ctx: RenderContext,
    *,
    formdata: Any = None,
    values: dict[str, Any] | None = None,
) -> Form:
    """The WTForms form of a record: from posted data, or filled with stored values."""
    form_class = type(
        "RecordForm", (Form,), {f.key: _unbound(f, ctx) for f in editable_fields(spec, ctx)}
    )
    if formdata is not None:
        return form_class(formdata=formdata)
    return form_class(data=initial(spec, values or {}, ctx))


# -- stored values → what the inputs show ---------------------------------------------------------


def initial(spec: FormSpec, values: dict[str, Any], ctx: RenderContext) -> dict[str, Any]:
    return {f.key: _shown(f, values.get(f.key)) for f in editable_fields(spec, ctx)}


def _shown(f: FieldSpec, value: Any) -> Any:
    t = f.type.name
    if value is None:
        return (
            []
            if t in ("subform", "image", "attachment", "multi-select", "checkbox", "members")
            else None
        )
    if t in ("number", "money"):
        return plain_number(Decimal(value))
    if t == "percent":
        return plain_number((Decimal(value) * 100).normalize())
    if t == "datetime":
        local = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(f.timezone)
        return local.strftime("%Y-%m-%dT%H:%M")
    if t == "boolean":
        return "true" if value else "false"
    if t in ("member", "department", "rating") or (t == "relation" and not isinstance(value, list)):
        return str(value)
    if t in ("members", "relation"):
        return [str(v) for v in value]
    if t == "subform":
        return [
            {c.key: _shown(c, row.get(c.key)) for c in f.children if c.stores and not c.computed}
            for row in value
        ]
    if t == "location":
        return {k: str(v) for k, v in value.items()}
    return value


# -- posted data → the pipeline's input ----------------------------------------------------------


def submitted(spec: FormSpec, form: Form, ctx: RenderContext) -> dict[str, Any]:
    """The values a person submitted, as the write pipeline takes them (by field key)."""
    return {f.key: _raw(f, form[f.key]) for f in editable_fields(spec, ctx)}


def _raw(f: FieldSpec, bound: Any) -> Any:
    t = f.type.name
    data = bound.data
    if t == "subform":
        children = [c for c in f.children if c.stores and not c.computed]
        rows = []
        for entry in bound.entries:
            row = {c.key: _raw(c, entry.form[c.key]) for c in children}
            rows.append({k: v for k, v in row.items() if v not in (None, "", [])})
        return rows
    if t == "percent":
        return f"{data}%" if data not in (None, "") else None
    if t == "boolean":
        return {"true": True, "false": False}.get(data)
    if t == "location":
        parts = {k: v for k, v in (data or {}).items() if v not in (None, "")}
        return parts or None
    if t == "address":
        parts = {k: v for k, v in (data or {}).items() if v not in (None, "")}
        return parts or None
    if isinstance(data, list):
        return [v for v in data if v not in (None, "")] or None
    return data if data not in ("",) else None


def blank_rows(spec: FormSpec, ctx: RenderContext) -> dict[str, Form]:
    """An empty row per subform, named ``lines-__i__-…``: the template a phone clones when
    the person adds a row (the script puts the next index in place of ``__i__``)."""
    return {
        f.key: _row_form(f, ctx)(prefix=f"{f.key}-__i__-")
        for f in editable_fields(spec, ctx)
        if f.has_rows
    }
