"""Record pages: list, new, detail, edit, live recompute, delete, recycle bin, comments.

Views parse input, call one service, render (STYLE.md): the rules — permissions, coercion,
formulas, validation — live in the services the API uses too.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from ..definitions.service import LoadedForm, get_form
from ..definitions.spec import FieldSpec, FormSpec
from ..errors import BadRequest, Conflict, FieldError, Forbidden, FormflowError, NotFound
from ..files import storage
from ..flows import actions as flow_actions
from ..flows import inbox as flow_inbox
from ..people import service as people
from ..people.models import Department, User
from ..permissions.models import Access, Action
from ..permissions.policy import FormPolicy, policy_for
from ..records import comments as record_comments
from ..records import service as records
from ..records.display import WorkDisplay
from ..records.listing import browse
from ..records.prepare import from_document, prepare
from ..records.query import OPERATORS, Filter, Query, Sort
from ..runtime import Work
from . import record_form
from .i18n import error_text, language
from .session import current_user, login_required, read, runtime, write

bp = Blueprint("records", __name__, url_prefix="/f")

PAGE_SIZE = 25
PAGE_SIZES = (25, 50, 100)
PICK_LIMIT = 200


def _form_or_404(work: Work, name: str) -> LoadedForm:
    try:
        return get_form(work, name)
    except NotFound:
        abort(404)


def _refuse(error: FormflowError) -> Any:
    """Permission and lookup failures as plain pages (403/404)."""
    abort(error.status)


# -- list ----------------------------------------------------------------------------------------


def _columns(spec: FormSpec, chosen: list[str] | None, hidden: set[str]) -> list[FieldSpec]:
    candidates = [f for f in spec.fields if f.stores and f.key not in hidden and not f.has_rows]
    if chosen:
        picked = [
            spec.by_key[k] for k in chosen if k in spec.by_key and spec.by_key[k] in candidates
        ]
        if picked:
            return picked
    default = spec.settings.get("list_columns")
    if default:
        return [
            spec.by_key[k] for k in default if k in spec.by_key and spec.by_key[k] in candidates
        ]
    return candidates[:5]


def _query_from_request(deleted: bool = False) -> Query:
    filters = []
    fields = request.args.getlist("ff")
    ops = request.args.getlist("fo")
    values = request.args.getlist("fv")
    for name, op, value in zip(fields, ops, values, strict=False):
        if name and op in OPERATORS and (value != "" or op == "is_empty"):
            filters.append(Filter(name, op, value if op != "is_empty" else "true"))
    sort = request.args.get("sort", "")
    size = request.args.get("size", type=int)
    return Query(
        filters=filters,
        sort=[Sort(sort.lstrip("-"), sort.startswith("-"))] if sort else [],
        limit=size if size in PAGE_SIZES else PAGE_SIZE,
        cursor=request.args.get("cursor") or None,
        search=request.args.get("q") or None,
        deleted=deleted,
    )


@bp.get("/<form>/")
@login_required
def list_records(form: str) -> Any:
    return _render_list(form, deleted=False)


@bp.get("/<form>/bin")
@login_required
def recycle_bin(form: str) -> Any:
    return _render_list(form, deleted=True)


def _render_list(form: str, deleted: bool) -> Any:
    user = current_user()
    assert user is not None
    with read() as work:
        loaded = _form_or_404(work, form)
        policy = policy_for(work, loaded)
        if not policy.allows(Action.MANAGE if deleted else Action.VIEW):
            abort(403)
        query = _query_from_request(deleted)
        hidden_anywhere = policy.hidden_anywhere()
        chosen = request.args.getlist("col") or people.setting(work, user.id, f"columns:{form}")
        columns = _columns(loaded.spec, chosen, hidden_anywhere)
        error = None
        try:
            listing = browse(work, loaded, query, total=True)
        except BadRequest as failure:
            error = "; ".join(f"{e.field}: {error_text(e)}" for e in failure.errors)
            listing = browse(work, loaded, Query(limit=PAGE_SIZE, deleted=deleted), total=True)
        display = WorkDisplay(work, language(), loaded.app.name)
        rows = [
            {
                "id": r.id,
                "cells": [
                    (
                        c,
                        display.show(c, r.data.get(c.id))
                        if c.key not in listing.hidden.get(r.id, set())
                        else "",
                    )
                    for c in columns
                ],
                "title": _title(loaded.spec, r.data, display),
            }
            for r in listing.records
        ]
        filterable = [
            f
            for f in loaded.spec.fields
            if f.stores and f.key not in hidden_anywhere and f.type.projection(f) is not None
        ]
        context = {
            "loaded": loaded,
            "spec": loaded.spec,
            "columns": columns,
            "all_columns": [
                f
                for f in loaded.spec.fields
                if f.stores and not f.has_rows and f.key not in hidden_anywhere
            ],
            "rows": rows,
            "next_cursor": listing.next_cursor,
            "total": listing.total,
            "query": query,
            "filterable": filterable,
            "operators": OPERATORS,
            "error": error,
            "deleted": deleted,
            "can_create": policy.allows(Action.CREATE),
            "can_delete": policy.allows(Action.DELETE),
            "can_export": policy.allows(Action.EXPORT),
            "can_manage": policy.allows(Action.MANAGE),
        }
    return render_template("records/list.html", **context)


@bp.post("/<form>/columns")
@login_required
def save_columns(form: str) -> Any:
    user = current_user()
    assert user is not None
    with write() as work:
        loaded = _form_or_404(work, form)
        if not policy_for(work, loaded).allows(Action.VIEW):
            abort(403)
        keys = [k for k in request.form.getlist("col") if k in loaded.spec.by_key]
        people.remember(work, user.id, f"columns:{form}", keys)
    return redirect(url_for("records.list_records", form=form))


@bp.post("/<form>/bulk")
@login_required
def bulk(form: str) -> Any:
    """Delete the selected records (export goes through the export page)."""
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    if request.form.get("action") != "delete" or not ids:
        return redirect(url_for("records.list_records", form=form))
    try:
        with write() as work:
            loaded = _form_or_404(work, form)
            for record_id in ids:
                records.delete(work, loaded, record_id)
    except (Forbidden, NotFound) as error:
        return _refuse(error)
    flash(_("Moved %(count)s records to the recycle bin.", count=len(ids)))
    return redirect(url_for("records.list_records", form=form))


def _title(spec: FormSpec, document: dict[str, Any], display: WorkDisplay) -> str:
    field = spec.title_field
    if field is None:
        return ""
    return display.show(field, document.get(field.id))


# -- options of people, departments and linked records --------------------------------------------


def _options(
    work: Work, loaded: LoadedForm, fields: list[FieldSpec], chosen: dict[str, Any]
) -> dict[str, list[tuple[str, str]]]:
    """Choices for member/department/relation inputs; relation choices are the records the
    person may see in the target form (the newest, plus the ones already linked)."""
    from sqlalchemy import select

    out: dict[str, list[tuple[str, str]]] = {}
    users = departments = None
    for f in fields:
        for item in [f, *f.children]:
            kind = item.type.references
            if kind == "user":
                if users is None:
                    users = [
                        (str(u.id), u.display_name)
                        for u in work.session.scalars(
                            select(User).where(User.is_active).order_by(User.display_name)
                        )
                    ]
                out[item.path] = users
            elif kind == "department":
                if departments is None:
                    departments = [
                        (str(d.id), d.name)
                        for d in work.session.scalars(select(Department).order_by(Department.name))
                    ]
                out[item.path] = departments
            elif kind == "record":
                out[item.path] = _record_choices(work, loaded, item, chosen.get(item.key))
    return out


def _record_choices(
    work: Work, loaded: LoadedForm, f: FieldSpec, chosen: Any
) -> list[tuple[str, str]]:
    target = f.type.target(f)  # type: ignore[attr-defined]
    name = target if "." in target else f"{loaded.app.name}.{target}"
    try:
        target_form = get_form(work, name)
        listing = browse(work, target_form, Query(limit=PICK_LIMIT))
    except (NotFound, Forbidden):
        return []
    display = WorkDisplay(work, language(), target_form.app.name)
    seen = {}
    for record in listing.records:
        seen[str(record.id)] = _title(target_form.spec, record.data, display) or f"#{record.id}"
    for value in chosen if isinstance(chosen, list) else [chosen]:
        if value is not None and str(value) not in seen:
            seen[str(value)] = display.record_title(name, int(value))
    return list(seen.items())


# -- new / edit ----------------------------------------------------------------------------------


def _context(
    work: Work, loaded: LoadedForm, access: dict[str, Access], values: dict[str, Any]
) -> record_form.RenderContext:
    ctx = record_form.RenderContext(access=access, language=language())
    editable = record_form.editable_fields(loaded.spec, ctx)
    ctx.options = _options(work, loaded, editable, values)
    return ctx


def _save_uploads(
    loaded: LoadedForm, ctx: record_form.RenderContext, raw: dict[str, Any]
) -> list[FieldError]:
    """Store the files of this submission first, in their own transaction: if the record
    is then refused, the uploads stay (the form keeps their ids) and nothing is lost."""
    problems: list[FieldError] = []
    wanted = [
        f
        for f in record_form.editable_fields(loaded.spec, ctx)
        if f.type.name in ("image", "attachment", "signature")
    ]
    if not wanted:
        return problems
    with write() as work:
        for f in wanted:
            if f.type.name == "signature":
                drawn = request.form.get(f"{f.key}__drawn", "")
                if drawn.startswith("data:image/png;base64,"):
                    try:
                        content = base64.b64decode(drawn.split(",", 1)[1], validate=True)
                    except (binascii.Error, ValueError):
                        problems.append(
                            FieldError(f.key, "the signature could not be read", "file")
                        )
                        continue
                    try:
                        with work.session.begin_nested():
                            stored = storage.save_upload(work, io.BytesIO(content), "signature.png")
                    except FormflowError as error:
                        problems += [
                            FieldError(f.key, e.message, e.code, e.params) for e in error.errors
                        ]
                        continue
                    raw[f.key] = stored.id
                continue
            ids = list(raw.get(f.key) or [])
            for upload in request.files.getlist(f"{f.key}__upload"):
                if not upload or not upload.filename:
                    continue
                try:
                    with work.session.begin_nested():
                        stored = storage.save_upload(work, upload.stream, upload.filename)
                except FormflowError as error:
                    problems += [
                        FieldError(f.key, f"{upload.filename}: {e.message}", e.code)
                        for e in error.errors
                    ]
                    continue
                ids.append(stored.id)
            raw[f.key] = ids or None
    return problems


def _errors_by_path(errors: list[FieldError]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in errors:
        out.setdefault(error.field or "", []).append(error_text(error))
    return out


@bp.route("/<form>/new", methods=["GET", "POST"])
@login_required
def new_record(form: str) -> Any:
    with read() as work:
        loaded = _form_or_404(work, form)
        policy = policy_for(work, loaded)
        if not policy.allows(Action.CREATE):
            abort(403)
        access = _form_access(loaded, policy.access(policy.granting(Action.CREATE)))
        starting = records.starting_values(work, loaded.spec)
        ctx = _context(work, loaded, access, starting)
        display = WorkDisplay(work, language(), loaded.app.name)
        # What a read-only field will be set to, shown upfront.
        readonly = [
            (f, _shown_value(f, starting.get(f.key), display))
            for f in loaded.spec.fields
            if f.stores and access.get(f.path) == Access.READ
        ]
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        wtform = record_form.build(loaded.spec, ctx, formdata=request.form)
        raw = record_form.submitted(loaded.spec, wtform, ctx)
        problems = _save_uploads(loaded, ctx, raw)
        if not problems:
            try:
                with write() as work:
                    record = records.create(work, _form_or_404(work, form), raw)
            except (Forbidden, NotFound) as error:
                if error.errors and error.errors[0].field:
                    problems = error.errors
                else:
                    return _refuse(error)
            except FormflowError as error:
                problems = error.errors
            else:
                flash(_("Saved."))
                if request.form.get("then") == "another":
                    return redirect(url_for("records.new_record", form=form))
                return redirect(url_for("records.show_record", form=form, record_id=record.id))
        errors = _errors_by_path(problems)
        wtform = _keep_uploads(
            record_form.build(loaded.spec, ctx, formdata=request.form), raw, loaded.spec, ctx
        )
        status = 422
    else:
        # Preset with the defaults create would apply (the person as a member field's
        # ``current_user``): a form posted untouched then saves with them.
        wtform = record_form.build(loaded.spec, ctx, values=starting)
    return _record_form_page(loaded, wtform, ctx, errors, readonly, None, None, None), status


def _form_access(loaded: LoadedForm, access: dict[str, Access]) -> dict[str, Access]:
    """The access a record form renders with: the person's, with the form's ``x-readonly``
    fields shown as values for everyone, admins included. Kept by the system (a status,
    a grade), they are never inputs, so the form never posts them back; a new record gets
    their defaults from the record service."""
    return records.read_only_too(loaded.spec, access)


def _keep_uploads(
    wtform: Any, raw: dict[str, Any], spec: FormSpec, ctx: record_form.RenderContext
) -> Any:
    for f in record_form.editable_fields(spec, ctx):
        if f.type.name in ("image", "attachment"):
            wtform[f.key].data = list(raw.get(f.key) or [])
        elif f.type.name == "signature" and raw.get(f.key):
            wtform[f.key].data = raw[f.key]
    return wtform


def _file_meta(
    work: Work, spec: FormSpec, wtform: Any, ctx: record_form.RenderContext
) -> dict[str, Any]:
    from ..files.models import StoredFile

    ids = []
    for f in record_form.editable_fields(spec, ctx):
        if f.type.name in ("image", "attachment"):
            ids += list(wtform[f.key].data or [])
        elif f.type.name == "signature" and wtform[f.key].data:
            ids.append(wtform[f.key].data)
    out = {}
    for file_id in ids:
        stored = work.session.get(StoredFile, file_id) if isinstance(file_id, str) else None
        if stored is not None:
            out[file_id] = stored
    return out


def _preview(
    work: Work,
    loaded: LoadedForm,
    raw: dict[str, Any],
    current: dict[str, Any] | None,
    ctx: record_form.RenderContext,
) -> dict[str, Any]:
    """Formula results and hidden fields for what is on screen (no validation shown)."""
    spec = loaded.spec
    values, _errors = prepare(
        spec,
        {k: v for k, v in raw.items() if v is not None},
        current=current,
        partial=current is not None,
        defaults={},
        context=records.eval_context(work, spec),
    )
    from ..records.prepare import visible_keys

    display = WorkDisplay(work, language(), loaded.app.name)
    outputs = {}
    for f in spec.walk():
        if f.formula is None:
            continue
        if f.parent is None:
            outputs[f"out-{f.key}"] = display.show(f, values.get(f.key))
        else:
            for i, row in enumerate(values.get(f.parent.key) or []):
                outputs[f"out-{f.parent.key}-{i}-{f.key}"] = display.show(f, row.get(f.key))
    shown = visible_keys(spec, values, records.eval_context(work, spec))
    hidden = [f.key for f in spec.fields if f.key not in shown]
    return {"outputs": outputs, "hidden": hidden}


@bp.post("/<form>/live")
@login_required
def live(form: str) -> Any:
    """htmx: recompute formulas and visibility for the values on screen, on the server."""
    record_id = request.form.get("_record", type=int)
    with read() as work:
        loaded = _form_or_404(work, form)
        policy = policy_for(work, loaded)
        current = None
        try:
            if record_id:
                record, grants = records.load(work, loaded, record_id, Action.EDIT)
                access = _form_access(loaded, policy.access(grants))
                current = from_document(loaded.spec, record.data)
            else:
                if not policy.allows(Action.CREATE):
                    abort(403)
                access = _form_access(loaded, policy.access(policy.granting(Action.CREATE)))
        except (Forbidden, NotFound) as error:
            return _refuse(error)
        ctx = record_form.RenderContext(access=access, language=language())
        wtform = record_form.build(loaded.spec, ctx, formdata=request.form)
        preview = _preview(
            work, loaded, record_form.submitted(loaded.spec, wtform, ctx), current, ctx
        )
        hidden_by_access = {k for k, v in access.items() if v == Access.HIDDEN}
    preview["outputs"] = {
        k: v for k, v in preview["outputs"].items() if k.split("-")[1] not in hidden_by_access
    }
    return render_template("records/live.html", preview=preview)


@bp.get("/<form>/<int:record_id>")
@login_required
def show_record(form: str, record_id: int) -> Any:
    deleted = request.args.get("deleted") == "1"
    with read() as work:
        loaded = _form_or_404(work, form)
        policy = policy_for(work, loaded)
        try:
            record, _grants = records.load(
                work, loaded, record_id, Action.MANAGE if deleted else Action.VIEW, deleted=deleted
            )
        except (Forbidden, NotFound) as error:
            return _refuse(error)
        hidden = records.hidden_fields(
            work, loaded, [record.id], Action.MANAGE if deleted else Action.VIEW
        )[record.id]
        display = WorkDisplay(work, language(), loaded.app.name)
        values = from_document(loaded.spec, record.data)
        history = [
            _history_entry(loaded.spec, r, hidden, display)
            for r in reversed(records.revisions(work, record))
        ]
        notes = record_comments.of(work, loaded, record_id) if not deleted else []
        authors = {c.author_id: display.user_name(c.author_id) for c in notes if c.author_id}
        can_edit = not deleted and _can(work, policy, Action.EDIT, record.id)
        can_delete = not deleted and _can(work, policy, Action.DELETE, record.id)
        links = _links(work, loaded, values)
        approvals = [
            i
            for i in flow_inbox.instances_of_record(work, record.id)
            if flow_actions.can_see(work, i)
        ]
        if any(
            i.state == "running" or (i.state == "returned" and i.initiator_id != work.actor_id)
            for i in approvals
        ):
            can_edit = can_delete = False  # under approval: only its steps change it
        shown = [
            (f, _shown_value(f, values.get(f.key), display))
            for f in loaded.spec.fields
            if f.key not in hidden
        ]
        context = {
            "loaded": loaded,
            "spec": loaded.spec,
            "record": record,
            "shown": shown,
            "history": history,
            "comments": notes,
            "authors": authors,
            "title": _title(loaded.spec, record.data, display) or f"#{record.id}",
            "can_edit": can_edit,
            "can_delete": can_delete,
            "deleted": deleted,
            "can_restore": deleted and policy.allows(Action.MANAGE),
            "links": links,
            "approvals": approvals,
            "owner": (
                display.user_name(record.owner_id)
                if record.owner_id and loaded.spec.owner_field is None
                else ""
            ),
        }
    return render_template("records/show.html", **context)


def _can(work: Work, policy: FormPolicy, action: Action, record_id: int) -> bool:
    return policy.unrestricted or bool(policy.covering(work, action, [record_id]))


def _links(
    work: Work, loaded: LoadedForm, values: dict[str, Any]
) -> dict[str, list[tuple[str, int]]]:
    """Relation fields' targets as (form name, record id) for links."""
    out = {}
    for f in loaded.spec.fields:
        if f.type.references == "record" and values.get(f.key) is not None:
            target = f.type.target(f)  # type: ignore[attr-defined]
            name = target if "." in target else f"{loaded.app.name}.{target}"
            ids = values[f.key] if isinstance(values[f.key], list) else [values[f.key]]
            out[f.key] = [(name, int(i)) for i in ids]
    return out


def _shown_value(f: FieldSpec, value: Any, display: WorkDisplay) -> Any:
    if f.has_rows:
        children = [c for c in f.children if c.stores]
        return {
            "columns": children,
            "rows": [[display.show(c, row.get(c.key)) for c in children] for row in value or []],
        }
    if f.type.name in ("image", "attachment", "signature") and value:
        return {"files": value if isinstance(value, list) else [value]}
    return display.show(f, value)


def _history_entry(
    spec: FormSpec, revision: Any, hidden: set[str], display: WorkDisplay
) -> dict[str, Any]:
    changes = []
    for field_id, (before, after) in revision.changes.items():
        f = spec.by_id.get(field_id)
        if f is None or f.key in hidden:
            continue
        changes.append(
            {
                "label": f.label(language()),
                "before": _history_value(f, before, display),
                "after": _history_value(f, after, display),
            }
        )
    return {
        "revision": revision,
        "actor": display.user_name(revision.actor_id) if revision.actor_id else _("system"),
        "changes": changes,
    }


def _history_value(f: FieldSpec, stored: Any, display: WorkDisplay) -> str:
    if stored is None:
        return ""
    if f.has_rows:
        return ngettext_rows(len(stored))
    return display.show(f, stored)


def ngettext_rows(count: int) -> str:
    from flask_babel import ngettext

    return ngettext("%(num)s row", "%(num)s rows", count)


@bp.route("/<form>/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def edit_record(form: str, record_id: int) -> Any:
    with read() as work:
        loaded = _form_or_404(work, form)
        policy = policy_for(work, loaded)
        try:
            record, grants = records.load(work, loaded, record_id, Action.EDIT)
        except (Forbidden, NotFound) as error:
            return _refuse(error)
        access = _form_access(loaded, policy.access(grants))
        values = from_document(loaded.spec, record.data)
        ctx = _context(work, loaded, access, values)
        display = WorkDisplay(work, language(), loaded.app.name)
        readonly = [
            (f, _shown_value(f, values.get(f.key), display))
            for f in loaded.spec.fields
            if f.stores and access.get(f.path) == Access.READ
        ]
    errors: dict[str, list[str]] = {}
    status = 200
    revision = record.revision
    if request.method == "POST":
        revision = request.form.get("_revision", type=int) or record.revision
        wtform = record_form.build(loaded.spec, ctx, formdata=request.form)
        raw = record_form.submitted(loaded.spec, wtform, ctx)
        problems = _save_uploads(loaded, ctx, raw)
        if not problems:
            try:
                with write() as work:
                    records.update_record(
                        work,
                        _form_or_404(work, form),
                        record_id,
                        raw,
                        revision=revision,
                        partial=True,
                    )
            except (Forbidden, NotFound) as error:
                if error.errors and error.errors[0].field:
                    problems = error.errors
                else:
                    return _refuse(error)
            except Conflict as error:
                problems = error.errors
            except FormflowError as error:
                problems = error.errors
            else:
                flash(_("Saved."))
                return redirect(url_for("records.show_record", form=form, record_id=record_id))
        errors = _errors_by_path(problems)
        wtform = _keep_uploads(
            record_form.build(loaded.spec, ctx, formdata=request.form), raw, loaded.spec, ctx
        )
        status = 409 if any(e.code == "stale" for e in problems) else 422
    else:
        wtform = record_form.build(loaded.spec, ctx, values=values)
    page = _record_form_page(loaded, wtform, ctx, errors, readonly, record, revision, values)
    return page, status


def _record_form_page(
    loaded: LoadedForm,
    wtform: Any,
    ctx: record_form.RenderContext,
    errors: dict[str, list[str]],
    readonly: list[Any],
    record: Any,
    revision: int | None,
    values: dict[str, Any] | None,
) -> str:
    """The new-record or edit page, with the live preview of what is typed."""
    with read() as work:
        preview = _preview(
            work, loaded, record_form.submitted(loaded.spec, wtform, ctx), values, ctx
        )
        files = _file_meta(work, loaded.spec, wtform, ctx)
    return render_template(
        "records/edit.html",
        loaded=loaded,
        spec=loaded.spec,
        form=wtform,
        ctx=ctx,
        errors=errors,
        record=record,
        revision=revision,
        preview=preview,
        readonly=readonly,
        files=files,
        blank_row=record_form.blank_rows(loaded.spec, ctx),
    )


@bp.post("/<form>/<int:record_id>/delete")
@login_required
def delete_record(form: str, record_id: int) -> Any:
    try:
        with write() as work:
            records.delete(work, _form_or_404(work, form), record_id)
    except (Forbidden, NotFound) as error:
        return _refuse(error)
    flash(_("Moved to the recycle bin."))
    return redirect(url_for("records.list_records", form=form))


@bp.post("/<form>/<int:record_id>/restore")
@login_required
def restore_record(form: str, record_id: int) -> Any:
    try:
        with write() as work:
            records.restore(work, _form_or_404(work, form), record_id)
    except (Forbidden, NotFound) as error:
        return _refuse(error)
    except Conflict as error:
        flash("; ".join(error_text(e) for e in error.errors))
        return redirect(url_for("records.recycle_bin", form=form))
    flash(_("Restored."))
    return redirect(url_for("records.show_record", form=form, record_id=record_id))


@bp.post("/<form>/<int:record_id>/comments")
@login_required
def add_comment(form: str, record_id: int) -> Any:
    try:
        with write() as work:
            record_comments.add(
                work, _form_or_404(work, form), record_id, request.form.get("body", "")
            )
    except (Forbidden, NotFound) as error:
        return _refuse(error)
    except FormflowError as error:
        flash("; ".join(error_text(e) for e in error.errors))
    return redirect(url_for("records.show_record", form=form, record_id=record_id) + "#comments")


@bp.get("/files/<file_id>")
@login_required
def file(file_id: str) -> Any:
    """A file for the signed-in user (the same rules as the API's download)."""
    from flask import send_file

    try:
        with read() as work:
            stored = storage.readable_file(work, file_id)
            path = storage.path_of(work, stored.id)
    except NotFound:
        abort(404)
    return send_file(
        path,
        mimetype=stored.content_type,
        download_name=stored.name,
        as_attachment=not stored.content_type.startswith("image/"),
    )


__all__ = ["Markup", "bp", "runtime"]
