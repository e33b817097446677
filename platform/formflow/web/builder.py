"""The form builder: admins create and change forms in the browser.

The page edits the form's draft on the server: every action (add a field from the palette,
drag to reorder, change a property in the side panel) is one small request that changes the
draft and returns the re-rendered canvas and panel, so the browser never holds a second copy
of the rules. Each request names the draft revision it started from; a stale one is refused
with what the other admin changed. The preview renders the draft with the same code as the
real form. Publishing shows the changes in words and their impact on records first.
"""

from __future__ import annotations

import copy
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..apps.files import install
from ..definitions import conversions, drafts, editing
from ..definitions import service as definitions
from ..definitions.models import App, Form
from ..definitions.spec import FieldSpec, compile_spec
from ..errors import BadRequest, Conflict, FieldError, FormflowError, NotFound, ValidationFailed
from ..expressions import ExpressionError, compile_expression, function_catalog
from ..expressions.conditions import Row, build, rows_of
from ..people.models import Role
from ..permissions import service as permissions
from ..records.display import WorkDisplay
from ..records.prepare import prepare, visible_keys
from ..records.service import eval_context
from . import record_form
from .builder_panel import apply_panel, keyword_inputs, panel_values
from .i18n import error_text, language, localized, said
from .session import admin_required, read, write

bp = Blueprint("builder", __name__, url_prefix="/admin/build")

SUBMIT_GRANT = "builder: who may submit"
#: The publish page's choice "leave the records empty" for an option taken away; a new
#: option is posted as ``=value``, so no option's value can be mistaken for it.
EMPTY_CHOICE = "empty"


def keyword_labels() -> dict[str, str]:
    """What the generic rule inputs are called (a plugin's own keywords show as written)."""
    return {
        "x-index": _("Fast filtering and sorting (an index)"),
        "x-readonly": _("Read-only on the form"),
        "x-unique": _("No two records may share a value"),
        "minLength": _("At least this many characters"),
        "maxLength": _("At most this many characters"),
        "pattern": _("Pattern (a regular expression)"),
        "minimum": _("Smallest value"),
        "maximum": _("Largest value"),
        "exclusiveMinimum": _("Must be greater than"),
        "exclusiveMaximum": _("Must be less than"),
        "multipleOf": _("Must be a multiple of"),
        "x-precision": _("Decimal places"),
        "x-scale": _("Decimal places"),
        "x-currency": _("Currency (ISO code)"),
        "x-max": _("Highest rating"),
        "minItems": _("At least this many"),
        "maxItems": _("At most this many"),
        "x-max-size": _("Largest file (bytes)"),
        "x-max-accuracy": _("Least accurate fix accepted (metres)"),
    }


CATEGORIES = ("basic", "choice", "people", "media", "advanced", "layout")


# -- apps and forms ------------------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
@admin_required
def apps() -> Any:
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            with write() as work:
                name = request.form.get("name", "").strip()
                if work.session.scalar(select(App.id).where(App.name == name)):
                    raise Conflict([said("name", _("An app with this name exists."), "unique")])
                definitions.ensure_app(work, name, request.form.get("title", "").strip() or name)
        except FormflowError as error:
            errors = error.errors
        else:
            flash(_("App created."))
            return redirect(url_for("builder.apps"))
    with read() as work:
        listed = list(work.session.scalars(select(App).order_by(App.name)))
        forms = {
            app.id: list(
                work.session.scalars(select(Form).where(Form.app_id == app.id).order_by(Form.name))
            )
            for app in listed
        }
    return render_template("builder/apps.html", apps=listed, forms=forms, errors=errors), (
        422 if errors else 200
    )


@bp.post("/apps/<app>/forms")
@admin_required
def create_form(app: str) -> Any:
    name = f"{app}.{request.form.get('name', '').strip()}"
    try:
        with write() as work:
            drafts.create_form(work, name, request.form.get("title", ""))
    except FormflowError as error:
        flash("; ".join(error_text(e) for e in error.errors))
        return redirect(url_for("builder.apps"))
    return redirect(url_for("builder.edit", form=name))


@bp.get("/apps/<app>/export")
@admin_required
def export_app(app: str) -> Any:
    """Every published form of the app as the JSON files an app ships (a zip)."""
    buffer = io.BytesIO()
    with read() as work:
        try:
            found = definitions.get_app(work, app)
        except NotFound:
            abort(404)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for form_app, form in definitions.list_forms(work):
                if form_app.id == found.id and form.current_version:
                    text = definitions.definition_text(work, f"{app}.{form.name}")
                    archive.writestr(f"{app}/{form.name}.json", text)
    return Response(
        buffer.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{app}.zip"'},
    )


@bp.post("/apps/<app>/import")
@admin_required
def import_files(app: str) -> Any:
    """Publish forms from uploaded definition files (one .json, or an app's .zip)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a .json or .zip file first."))
        return redirect(url_for("builder.apps"))
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder)
        content = upload.read(32 * 1024 * 1024 + 1)
        try:
            if upload.filename.endswith(".zip"):
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    for member in archive.namelist():
                        if (
                            member.endswith(".json")
                            and "/.." not in member
                            and not member.startswith("/")
                        ):
                            (target / Path(member).name).write_bytes(archive.read(member))
            elif upload.filename.endswith(".json"):
                (target / Path(upload.filename).name).write_bytes(content)
            else:
                raise BadRequest([said("file", _("Upload a .json or .zip file."), "file_type")])
            with write() as work:
                app_row = definitions.get_app(work, app)
                report = install(work, app, app_row.title, target)
        except (zipfile.BadZipFile, FormflowError) as error:
            messages = (
                [f"{e.field}: {error_text(e)}" if e.field else error_text(e) for e in error.errors]
                if isinstance(error, FormflowError)
                else [_("The zip file cannot be read.")]
            )
            flash(_("Nothing was imported: %(problems)s", problems="; ".join(messages)))
            return redirect(url_for("builder.apps"))
    flash(
        _(
            "Imported: %(published)s published, %(unchanged)s unchanged.",
            published=len(report.published),
            unchanged=len(report.unchanged),
        )
    )
    return redirect(url_for("builder.apps"))


@bp.get("/<form>/export")
@admin_required
def export_form(form: str) -> Any:
    with read() as work:
        try:
            text = definitions.definition_text(work, form)
        except NotFound:
            abort(404)
    return Response(
        text,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{form.split(".", 1)[1]}.json"'},
    )


# -- the builder page ----------------------------------------------------------------------------


def _selected() -> tuple[str | None, str | None]:
    key = request.values.get("field") or None
    parent = request.values.get("parent") or None
    return key, parent


def _render(
    form: str,
    *,
    key: str | None = None,
    parent: str | None = None,
    errors: list[FieldError] | None = None,
    status: int = 200,
    conflict: list[FieldError] | None = None,
    partial: bool | None = None,
) -> Any:
    with read() as work:
        try:
            draft = drafts.open_draft(work, form) if _has_form(work, form) else None
        except NotFound:
            draft = None
        if draft is None:
            abort(404)
        context = _context(work, draft, key, parent, errors or [], conflict or [])
    partial = bool(request.headers.get("HX-Request")) if partial is None else partial
    template = "builder/body.html" if partial else "builder/page.html"
    return render_template(template, **context), status


def _has_form(work: Any, name: str) -> bool:
    try:
        app_name, form_name = definitions.split_name(name)
    except NotFound:
        return False
    return (
        work.session.scalar(
            select(Form.id)
            .join(App, App.id == Form.app_id)
            .where(App.name == app_name, Form.name == form_name)
        )
        is not None
    )


def _context(
    work: Any,
    draft: drafts.Draft,
    key: str | None,
    parent: str | None,
    errors: list[FieldError],
    conflict: list[FieldError],
) -> dict[str, Any]:
    registry = work.runtime.field_types
    spec = compile_spec(
        draft.definition, registry, name=draft.name, strict=False, timezone=work.config.timezone
    )
    problems = drafts.problems(work, draft)
    by_field: dict[str, list[str]] = {}
    for problem in problems:
        path = _field_of(problem.field or "")
        by_field.setdefault(path, []).append(f"{problem.field}: {error_text(problem)}")
    selected = None
    if key is not None:
        holder = spec.by_key.get(parent) if parent else None
        if parent is None:
            selected = spec.by_key.get(key)
        elif holder is not None:
            selected = next((c for c in holder.children if c.key == key), None)
    form_row = work.session.scalar(
        select(Form)
        .join(App, App.id == Form.app_id)
        .where(App.name == draft.name.split(".")[0], Form.name == draft.name.split(".", 1)[1])
    )
    context: dict[str, Any] = {
        "draft": draft,
        "spec": spec,
        "registry": registry,
        "selected": selected,
        "parent": parent,
        "problems": problems,
        "field_problems": by_field,
        "errors": {e.field or "": error_text(e) for e in errors},
        "conflict": conflict,
        "form_row": form_row,
        "categories": CATEGORIES,
        "palette": list(registry),
    }
    if selected is not None:
        values = panel_values(selected.schema, selected.type)
        context.update(_panel_context(work, draft, spec, selected, values))
    else:
        context.update(_settings_context(work, draft, spec))
    return context


def _field_of(pointer: str) -> str:
    """The field path a JSON pointer points into: ``lines.qty``, ``name`` or ``""``."""
    parts = pointer.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "properties":
        if len(parts) >= 5 and parts[2] == "items" and parts[3] == "properties":
            return f"{parts[1]}.{parts[4]}"
        return parts[1]
    if parts[0] == "required" and len(parts) == 2:
        return ""
    return ""


def _panel_context(
    work: Any, draft: drafts.Draft, spec: Any, f: FieldSpec, values: dict[str, list[str]]
) -> dict[str, Any]:
    app = draft.name.split(".")[0]
    targets = []
    for form_app, form in definitions.list_forms(work):
        if form.current_version:
            targets.append(
                (form.name if form_app.name == app else f"{form_app.name}.{form.name}", form.title)
            )
    target_fields: list[tuple[str, str]] = []
    if f.type.name == "relation":
        name = f.schema.get("x-relation", {}).get("form", "")
        target = definitions.resolve_target(work, app, name) if name else None
        if name in (draft.name.split(".", 1)[1], draft.name):
            target = spec
        if target is not None:
            target_fields = [(t.key, t.label(language())) for t in target.fields if t.stores]
    visibility = rows_of(f.schema.get("x-visible-when", ""))
    siblings = f.parent.children if f.parent else spec.fields
    return {
        "values": values,
        "generic": keyword_inputs(f.type),
        "keyword_labels": keyword_labels(),
        "relation_targets": targets,
        "relation_fields": target_fields,
        "visibility": visibility,
        "condition_fields": [s for s in siblings if s.stores and s.key != f.key]
        + ([p for p in spec.fields if p.stores and p.key != f.parent.key] if f.parent else []),
        "functions": function_catalog(),
        "formula_fields": _formula_fields(spec, f),
        "types": [
            t
            for t in work.runtime.field_types
            if not (f.parent is not None and t.name in ("subform", "serial"))
        ],
    }


def _formula_fields(spec: Any, f: FieldSpec) -> list[tuple[str, str]]:
    out = []
    if f.parent is not None:
        out += [(c.key, c.label(language())) for c in f.parent.children if c.stores and c is not f]
    for top in spec.fields:
        if not top.stores or top is f:
            continue
        out.append((top.key, top.label(language())))
        if top.has_rows and f.parent is None:
            out += [
                (f"{top.key}.{c.key}", f"{top.label(language())} › {c.label(language())}")
                for c in top.children
                if c.stores
            ]
    return out


def _settings_context(work: Any, draft: drafts.Draft, spec: Any) -> dict[str, Any]:
    roles = list(work.session.scalars(select(Role).order_by(Role.name)))
    submitters: set[str | None] = set()
    if draft.published:
        loaded = definitions.get_form(work, draft.name)
        for grant in permissions.grants_of(work, loaded):
            if grant["name"] == SUBMIT_GRANT:
                submitters.add(grant["role"] or "")
    return {
        "settings": draft.definition.get("x-form", {}),
        "roles": roles,
        "submitters": submitters,
    }


@bp.get("/<form>")
@admin_required
def edit(form: str) -> Any:
    key, parent = _selected()
    return _render(form, key=key, parent=parent)


def _revision() -> int:
    try:
        return int(request.form.get("revision", ""))
    except ValueError:
        raise BadRequest(
            [said("revision", _("The page is out of date; reload it."), "stale")]
        ) from None


def _mutate(form: str, change: Any, *, key: str | None = None, parent: str | None = None) -> Any:
    """Apply ``change`` to a copy of the draft and save it at the posted revision."""
    revision = _revision()
    try:
        with write() as work:
            draft = drafts.open_draft(work, form)
            definition = copy.deepcopy(draft.definition)
            result = change(work, definition)
            drafts.save_draft(work, form, definition, revision)
    except Conflict as conflict:
        return _render(form, key=key, parent=parent, conflict=conflict.errors, status=409)
    except (ValidationFailed, BadRequest) as failure:
        return _render(form, key=key, parent=parent, errors=failure.errors, status=422)
    if isinstance(result, tuple):
        key, parent = result
    elif isinstance(result, str):
        key = result
    return _render(form, key=key, parent=parent)


@bp.post("/<form>/add")
@admin_required
def add(form: str) -> Any:
    parent = request.form.get("parent") or None
    index = request.form.get("index", type=int)
    type_name = request.form.get("type", "")

    def change(work: Any, definition: dict[str, Any]) -> Any:
        registry = work.runtime.field_types
        named = localized(registry.get(type_name).label) if type_name in registry else ""
        key = editing.add_field(
            definition, type_name, registry, parent=parent, index=index, title=named
        )
        return key, parent

    return _mutate(form, change, parent=parent)


@bp.post("/<form>/move")
@admin_required
def move(form: str) -> Any:
    key, parent = _selected()
    index = request.form.get("index", type=int) or 0
    return _mutate(
        form,
        lambda work, d: editing.move_field(d, key or "", index, parent),
        key=key,
        parent=parent,
    )


@bp.post("/<form>/remove")
@admin_required
def remove(form: str) -> Any:
    key, parent = _selected()
    return _mutate(form, lambda work, d: editing.remove_field(d, key or "", parent) or (None, None))


@bp.post("/<form>/duplicate")
@admin_required
def duplicate(form: str) -> Any:
    key, parent = _selected()
    return _mutate(
        form,
        lambda work, d: (editing.duplicate_field(d, key or "", parent), parent),
        key=key,
        parent=parent,
    )


def _panel_input(values: Any) -> dict[str, list[str]]:
    """The posted panel as lists, with the option rows (posted as parallel lists in their
    on-screen order) numbered the way ``apply_panel`` reads them."""
    out = {name: values.getlist(name) for name in values}
    options = values.getlist("option")
    labels = values.getlist("option_label")
    english = values.getlist("option_label_en")
    colors = values.getlist("option_color")
    scores = values.getlist("option_score")
    out["option"] = options
    for i, _value in enumerate(options):
        out[f"option:{i}:present"] = ["1"]
        zh = labels[i] if i < len(labels) else ""
        en = english[i] if i < len(english) else ""
        if en:
            out[f"option:{i}:mode"] = ["i18n"]
            if zh:
                out[f"option:{i}:zh-CN"] = [zh]
            out[f"option:{i}:en"] = [en]
        elif zh:
            out[f"option:{i}:label"] = [zh]
        if i < len(colors) and colors[i]:
            out[f"option:{i}:color"] = [colors[i]]
        score = scores[i].strip() if i < len(scores) else ""
        if score:
            out[f"option:{i}:score"] = [score]
        if not zh and not en and not (i < len(colors) and colors[i]) and not score:
            out.pop(f"option:{i}:present")
    if any(out.get(f"option:{i}:present") for i in range(len(options))):
        out["options:present"] = ["1"]
    rows = [
        Row(f, o, v)
        for f, o, v in zip(
            values.getlist("vw_field"),
            values.getlist("vw_op"),
            values.getlist("vw_value"),
            strict=False,
        )
        if f
    ]
    if values.get("vw_mode") == "rows":
        out["visible_when"] = [
            build(rows, values.get("vw_join", "AND"), numeric=set(values.getlist("vw_numeric")))
        ]
    return out


@bp.post("/<form>/field")
@admin_required
def save_field(form: str) -> Any:
    key, parent = _selected()
    new_key = (request.form.get("key") or key or "").strip()
    new_type = request.form.get("x_field") or None
    required = request.form.get("required") == "1"

    def change(work: Any, definition: dict[str, Any]) -> Any:
        registry = work.runtime.field_types
        properties, _holder = editing.container(definition, parent)
        if key not in properties:
            raise ValidationFailed(
                [said("key", _("This field is gone; reload the page."), "unknown")]
            )
        if new_type and new_type != properties[key].get("x-field"):
            editing.change_type(definition, key, new_type, registry, parent)
            return key, parent
        field_type = registry.get(properties[key]["x-field"])
        prop, problems = apply_panel(properties[key], _panel_input(request.form), field_type)
        if problems:
            raise ValidationFailed(problems)
        properties[key] = prop
        if field_type.stores_data and not field_type.computed:
            editing.set_required(definition, key, required, parent)
        editing.rename_field(definition, key, new_key, parent)
        return new_key, parent

    return _mutate(form, change, key=key, parent=parent)


@bp.post("/<form>/settings")
@admin_required
def save_settings(form: str) -> Any:
    def change(work: Any, definition: dict[str, Any]) -> Any:
        title = request.form.get("title", "").strip()
        if not title:
            raise ValidationFailed([said("title", _("A form needs a title."), "required")])
        definition["title"] = title
        label = {lang: request.form.get(f"label:{lang}", "").strip() for lang in ("zh-CN", "en")}
        label = {k: v for k, v in label.items() if v}
        _put(definition, "x-label", label)
        _put(definition, "description", request.form.get("description", "").strip())
        settings = dict(definition.get("x-form", {}))
        submit = {lang: request.form.get(f"submit:{lang}", "").strip() for lang in ("zh-CN", "en")}
        _put(settings, "submit_text", {k: v for k, v in submit.items() if v})
        _put(
            settings,
            "list_columns",
            [
                k
                for k in request.form.getlist("list_columns")
                if k in definition.get("properties", {})
            ],
        )
        _put(settings, "owner_field", request.form.get("owner_field", ""))
        _put(settings, "title_field", request.form.get("title_field", ""))
        _put(definition, "x-form", settings)
        return None

    response = _mutate(form, change)
    if response[1] == 200 and request.form.get("submitters:present"):
        _save_submitters(form, request.form.getlist("submitters"))
    return response


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value in (None, "", [], {}):
        target.pop(key, None)
    else:
        target[key] = value


def _save_submitters(form: str, roles: list[str]) -> None:
    """Who may submit: a permission group the builder keeps, beside the admin's own."""
    with write() as work:
        try:
            loaded = definitions.get_form(work, form)
        except NotFound:
            return  # an unpublished form has no permissions yet
        kept = [g for g in permissions.grants_of(work, loaded) if g["name"] != SUBMIT_GRANT]
        added = [
            {
                "name": SUBMIT_GRANT,
                "role": role or None,
                "actions": ["view", "create"],
                "scope": "own",
            }
            for role in roles
        ]
        permissions.replace_grants(work, loaded, kept + added)


@bp.post("/<form>/check")
@admin_required
def check_expression(form: str) -> Any:
    """Check a formula or a rule as it is typed: syntax, functions, and fields it names."""
    source = request.form.get("source", "")
    key, parent = _selected()
    with read() as work:
        draft = drafts.open_draft(work, form)
        spec = compile_spec(draft.definition, work.runtime.field_types, strict=False)
    known = {k for k, _label in _formula_fields(spec, _field(spec, key, parent))} if key else set()
    message, ok = "", True
    if source.strip():
        try:
            expression = compile_expression(source)
        except ExpressionError as error:
            ok = False
            message = error.message + (
                f" ({_('line')} {error.line}, {_('column')} {error.column})" if error.line else ""
            )
        else:
            unknown = sorted(expression.references - known)
            if unknown:
                ok = False
                message = _("refers to unknown fields: %(names)s", names=", ".join(unknown))
    return render_template("builder/check.html", ok=ok, message=message)


def _field(spec: Any, key: str | None, parent: str | None) -> Any:
    if parent:
        holder = spec.by_key.get(parent)
        return next((c for c in holder.children if c.key == key), None) if holder else None
    return spec.by_key.get(key or "")


# -- preview -------------------------------------------------------------------------------------


@bp.get("/<form>/preview")
@admin_required
def preview(form: str) -> Any:
    """The draft as a rep will see it, rendered by the record form's own code."""
    with read() as work:
        draft = drafts.open_draft(work, form)
        spec = compile_spec(
            draft.definition,
            work.runtime.field_types,
            name=form,
            strict=False,
            timezone=work.config.timezone,
        )
        if spec.problems:  # type: ignore[attr-defined]
            return render_template("builder/preview_problems.html", spec=spec)
        ctx = record_form.RenderContext(access={}, language=language())
        wtform = record_form.build(spec, ctx, values={})
        preview_values = _preview_values(work, spec, {})
    return render_template(
        "builder/preview.html",
        spec=spec,
        form=wtform,
        ctx=ctx,
        errors={},
        record=None,
        preview=preview_values,
        files={},
        readonly=[],
        blank_row=record_form.blank_rows(spec, ctx),
        form_name=form,
    )


def _preview_values(work: Any, spec: Any, raw: dict[str, Any]) -> dict[str, Any]:
    context = eval_context(work, spec)
    values, _errors = prepare(
        spec,
        {k: v for k, v in raw.items() if v is not None},
        current=None,
        partial=False,
        defaults={},
        context=context,
    )
    display = WorkDisplay(work, language(), spec.app)
    outputs = {}
    for f in spec.walk():
        if f.formula is None:
            continue
        if f.parent is None:
            outputs[f"out-{f.key}"] = display.show(f, values.get(f.key))
        else:
            for i, row in enumerate(values.get(f.parent.key) or []):
                outputs[f"out-{f.parent.key}-{i}-{f.key}"] = display.show(f, row.get(f.key))
    shown = visible_keys(spec, values, context)
    return {"outputs": outputs, "hidden": [f.key for f in spec.fields if f.key not in shown]}


@bp.post("/<form>/preview/live")
@admin_required
def preview_live(form: str) -> Any:
    with read() as work:
        draft = drafts.open_draft(work, form)
        spec = compile_spec(
            draft.definition,
            work.runtime.field_types,
            name=form,
            strict=False,
            timezone=work.config.timezone,
        )
        ctx = record_form.RenderContext(access={}, language=language())
        wtform = record_form.build(spec, ctx, formdata=request.form)
        values = _preview_values(work, spec, record_form.submitted(spec, wtform, ctx))
    return render_template("records/live.html", preview=values)


# -- publish, undo, discard ----------------------------------------------------------------------


@bp.route("/<form>/publish", methods=["GET", "POST"])
@admin_required
def publish(form: str) -> Any:
    """Review the draft (changes in words, impact on records, fixes) and publish it.

    While the records of the current version are converted in the background the page shows
    how far that is, and ``?progress=1`` answers with just that part (htmx polls it every
    2 s; once finished it asks the page to reload, since publishing is possible again).
    """
    if request.method == "GET" and request.args.get("progress"):
        with read() as work:
            current = definitions.get_form(work, form).form
            conversion = conversions.current(work, current.id, current.current_version)
        if conversion is None:
            abort(404)
        response = Response(
            render_template("builder/conversion.html", form_name=form, conversion=conversion)
        )
        if conversion.finished:
            response.headers["HX-Refresh"] = "true"
        return response
    errors: list[FieldError] = []
    if request.method == "POST":
        fixes: dict[str, Any] = {}
        for name in request.form:
            if name.startswith("fix:") and name.endswith(":default") and request.form[name] != "":
                fixes.setdefault(name.split(":")[1], {})["default"] = request.form[name]
            chosen = request.form[name]
            if name.startswith("map:") and (chosen == EMPTY_CHOICE or chosen.startswith("=")):
                # Nothing chosen is no fix (the publish refuses); "leave empty" is a choice.
                _prefix, key, option = name.split(":", 2)
                fixes.setdefault(key, {}).setdefault("map", {})[option] = (
                    None if chosen == EMPTY_CHOICE else chosen[1:]
                )
        try:
            with write() as work:
                drafts.publish_draft(
                    work, form, _revision(), fixes, note=request.form.get("note") or None
                )
                started = conversions.started(work)
        except FormflowError as error:
            errors = error.errors
        else:
            if started is not None:
                flash(
                    _(
                        "Published. %(count)s records are being converted in the background.",
                        count=started.total,
                    )
                )
                return redirect(url_for("builder.publish", form=form))
            flash(_("Published."))
            return redirect(url_for("builder.edit", form=form))
    with read() as work:
        draft = drafts.open_draft(work, form)
        try:
            current = definitions.get_form(work, form).form
        except NotFound:
            conversion = None  # never published
        else:
            conversion = conversions.current(work, current.id, current.current_version)
        converting = conversion is not None and not conversion.finished
        # The impact pass reads every record; while they are being converted it would read
        # them half-way, and publishing has to wait anyway.
        review = drafts.preview(work, draft, with_impact=not converting)
    return render_template(
        "builder/publish.html",
        form_name=form,
        draft=draft,
        review=review,
        errors=errors,
        conversion=conversion,
        converting=converting,
        option_choices=_option_choices(draft.definition),
        mapped={k[4:]: v for k, v in request.form.items() if k.startswith("map:")},
        empty_choice=EMPTY_CHOICE,
    ), (422 if errors else 200)


def _option_choices(definition: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Each choice field's options in the draft, (value, label in the reader's language)."""
    out = {}
    for key, prop in definition.get("properties", {}).items():
        enum = prop.get("enum") or (prop.get("items") or {}).get("enum")
        if not isinstance(enum, list):
            continue
        labels = {o.get("value"): o.get("label") for o in prop.get("x-options", ())}
        out[key] = [(v, localized(labels.get(v), str(v)) or str(v)) for v in enum]
    return out


@bp.post("/<form>/undo")
@admin_required
def undo(form: str) -> Any:
    """Publish the previous version again; refused while the current version's records are
    still being converted (some would be left under each version)."""
    try:
        with write() as work:
            loaded = drafts.undo_publish(work, form)
            started = conversions.started(work)
    except FormflowError as error:
        flash("; ".join(error_text(e) for e in error.errors))
    else:
        flash(
            _(
                "Went back to the previous version (now version %(version)s).",
                version=loaded.form.current_version,
            )
        )
        if started is not None:
            flash(
                _(
                    "%(count)s records are being converted in the background.",
                    count=started.total,
                )
            )
            return redirect(url_for("builder.publish", form=form))
    return redirect(url_for("builder.edit", form=form))


@bp.post("/<form>/discard")
@admin_required
def discard(form: str) -> Any:
    with write() as work:
        drafts.discard_draft(work, form)
    flash(_("The draft was discarded."))
    return redirect(url_for("builder.edit", form=form))
