"""Importing records from CSV/XLSX and exporting a filtered list to CSV/XLSX.

The views parse requests and render; the rules live in :mod:`formflow.records.transfer`.

Exporting needs the export permission and writes the list as the page shows it (same
filters, sort and search, every page). Importing needs the manage permission — the one the
list page's Import link follows, and the one :class:`Action.MANAGE` names for imports — and
the create permission; each row then goes through the record pipeline with the importer's
create grants. An import is: upload → map columns (pre-matched) → check (a dry run, the
default button) → import all or nothing, or the valid rows only.
"""

from __future__ import annotations

import tempfile
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from ..definitions.service import LoadedForm
from ..errors import BadRequest, FieldError, Forbidden, FormflowError, NotFound
from ..records import transfer
from ..records.display import WorkDisplay
from ..records.transfer import ImportMode, ImportReport, RowStatus, Upload
from .i18n import N_, error_text, language
from .records import _form_or_404, _query_from_request
from .session import login_required, read, write

bp = Blueprint("transfer", __name__, url_prefix="/f")

MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SAMPLE_ROWS = 3

#: Messages of the transfer service's own error codes (others go through error_text).
MESSAGES = {
    "unknown_user": N_("no user is named “%(name)s”"),
    "ambiguous_user": N_("%(count)s users are named “%(name)s”; use the username or #id"),
    "unknown_department": N_("no department is named “%(name)s”"),
    "ambiguous_department": N_("%(count)s departments are named “%(name)s”; use #id"),
    "unknown_record": N_("no record you can see is titled “%(name)s”"),
    "ambiguous_record": N_("%(count)s records are titled “%(name)s”; use #id"),
    "not_importable": N_("cannot be filled by an import"),
    "mapped_twice": N_("is chosen for more than one column (%(columns)s)"),
    "no_mapping": N_("Choose a field for at least one column."),
    "unsupported": N_("Only .csv and .xlsx files can be imported."),
    "legacy_xls": N_(
        "Old .xls workbooks and password-protected workbooks cannot be read; "
        "save the file as .xlsx or .csv."
    ),
    "malformed": N_("The file could not be read: %(kind)s"),
    "encoding": N_("The file is neither UTF-8 nor GB18030 text; save it as “CSV UTF-8”."),
    "empty": N_("The file is empty."),
    "no_rows": N_("The file has a header row but no rows to import."),
    "too_many_rows": N_("The file has more than %(limit)s rows; split it into smaller files."),
    "too_many_columns": N_("The file has more than %(limit)s columns."),
    "file_size": N_("The file is larger than the upload limit of %(size)s."),
    "too_many": N_(
        "%(count)s records match, but one export holds at most %(limit)s; "
        "narrow the list with filters."
    ),
}


def _message(error: FieldError) -> str:
    template = MESSAGES.get(error.code)
    if template is None:
        return error_text(error)
    params = dict(error.params)
    if error.code == "file_size":
        params["size"] = f"{int(params.get('limit', 0)) / (1024 * 1024):.0f} MB"
    if error.code == "malformed":
        params["kind"] = (
            _("it is not a valid CSV file.")
            if params.get("kind") == "csv"
            else _("it is not a valid Excel workbook (.xlsx).")
        )
    return _(template, **params)


def _messages(loaded: LoadedForm, errors: list[FieldError], *, labelled: bool = True) -> list[str]:
    """Errors as sentences, prefixed with the field's label when they belong to one."""
    out = []
    for error in errors:
        f = loaded.spec.by_key.get(error.field or "") if labelled else None
        text = _message(error)
        out.append(f"{f.label(language())}: {text}" if f is not None else text)
    return out


def _system_labels() -> dict[str, str]:
    return {
        "_id": _("ID"),
        "_owner": _("Owner"),
        "_created_at": _("Created"),
        "_updated_at": _("Updated"),
    }


# -- export ----------------------------------------------------------------------------------------


@bp.get("/<form>/export")
@login_required
def export_records(form: str) -> Any:
    """The list as the page shows it (its filters, sort and search), every page."""
    kind = request.args.get("format", "xlsx")
    if kind not in MIMETYPES:
        abort(404)
    query = _query_from_request()
    out = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it after sending
    try:
        with read() as work:
            loaded = _form_or_404(work, form)
            display = WorkDisplay(work, language(), loaded.app.name)
            export = transfer.export_records(work, loaded, query, display, labels=_system_labels())
            writer = transfer.write_csv if kind == "csv" else transfer.write_xlsx
            writer(export, out)
    except Forbidden:
        out.close()
        abort(403)
    except BadRequest as failure:
        out.close()
        flash("; ".join(_messages(loaded, failure.errors)))
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "format"]
        target = url_for("records.list_records", form=form)
        return redirect(target + ("?" + urlencode(args) if args else ""))
    except BaseException:
        out.close()
        raise
    out.seek(0)
    response = send_file(
        out, mimetype=MIMETYPES[kind], as_attachment=True, download_name=export.filename(kind)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# -- import ----------------------------------------------------------------------------------------


@bp.route("/<form>/import", methods=["GET", "POST"])
@login_required
def import_records(form: str) -> Any:
    """Step 1: upload a CSV or XLSX file."""
    with read() as work:
        loaded = _form_or_404(work, form)
        if not transfer.may_import(work, loaded):
            abort(403)
        fields = transfer.importable_fields(work, loaded)
        limit = work.config.max_upload_bytes
    errors: list[str] = []
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors = [_("Choose a CSV or Excel file to upload.")]
        else:
            try:
                with read() as work:
                    saved = transfer.save_upload(
                        work, _form_or_404(work, form), upload.stream, upload.filename
                    )
            except Forbidden:
                abort(403)
            except FormflowError as failure:
                errors = _messages(loaded, failure.errors, labelled=False)
            else:
                return redirect(url_for("transfer.import_mapping", form=form, token=saved.token))
    return render_template(
        "transfer/upload.html",
        loaded=loaded,
        spec=loaded.spec,
        fields=fields,
        errors=errors,
        limit_mb=f"{limit / (1024 * 1024):.0f}",
        row_limit=f"{transfer.IMPORT_ROW_LIMIT:,}",
    ), (400 if errors else 200)


@bp.route("/<form>/import/<token>", methods=["GET", "POST"])
@login_required
def import_mapping(form: str, token: str) -> Any:
    """Step 2 and 3: map the columns, check the rows (dry run), import them."""
    with read() as work:
        loaded = _form_or_404(work, form)
        try:
            upload = transfer.open_upload(work, loaded, token)
        except Forbidden:
            abort(403)
        except NotFound:
            flash(_("That upload is no longer available; upload the file again."))
            return redirect(url_for("transfer.import_records", form=form))
        fields = transfer.importable_fields(work, loaded)
    if request.method == "GET":
        chosen = transfer.suggest_mapping(upload.headers, fields)
        return _mapping_page(loaded, upload, fields, chosen)
    action = request.form.get("action", "check")
    if action == "discard":
        transfer.discard_upload(upload)
        flash(_("The upload was discarded; nothing was imported."))
        return redirect(url_for("records.list_records", form=form))
    chosen = {i: request.form.get(f"col-{i}", "") for i in range(len(upload.headers))}
    try:
        mapping = transfer.read_mapping(fields, chosen)
    except BadRequest as failure:
        return _mapping_page(
            loaded, upload, fields, chosen, errors=_messages(loaded, failure.errors), status=422
        )
    if action == "import":
        try:
            mode = ImportMode(request.form.get("mode", ImportMode.ALL_OR_NOTHING.value))
        except ValueError:
            abort(400)
        if mode is ImportMode.CHECK:
            abort(400)
    else:
        mode = ImportMode.CHECK
    try:
        if mode is ImportMode.CHECK:
            report = _run(form, upload, mapping, mode)
        else:
            with transfer.claimed(upload):
                report = _run(form, upload, mapping, mode)
                if report.created:
                    transfer.discard_upload(upload)
    except Forbidden:
        abort(403)
    except NotFound:
        flash(_("This file is being imported already, or was imported; see the list."))
        return redirect(url_for("records.list_records", form=form))
    if mode is ImportMode.CHECK or report.created == 0:
        errors = []
        if mode is not ImportMode.CHECK:
            errors = [
                _(
                    "Nothing was imported: %(invalid)s of %(total)s rows have problems. Fix "
                    "them in the file and upload it again, or import only the valid rows.",
                    invalid=report.invalid,
                    total=report.total,
                )
            ]
        return _mapping_page(
            loaded,
            upload,
            fields,
            chosen,
            errors=errors,
            report=report,
            mapping=mapping,
            status=422 if errors else 200,
        )
    if report.invalid == 0:
        flash(_("Imported %(count)s records.", count=report.created))
        return redirect(url_for("records.list_records", form=form))
    return render_template(
        "transfer/result.html",
        loaded=loaded,
        spec=loaded.spec,
        report=report,
        preview=_preview(loaded, upload, mapping, report, only_problems=True),
    )


def _run(form: str, upload: Upload, mapping: dict[int, Any], mode: ImportMode) -> ImportReport:
    with write() as work:
        return transfer.run_import(work, _form_or_404(work, form), upload, mapping, mode)


def _mapping_page(
    loaded: LoadedForm,
    upload: Upload,
    fields: list[Any],
    chosen: dict[int, str],
    *,
    errors: list[str] | None = None,
    report: ImportReport | None = None,
    mapping: dict[int, Any] | None = None,
    status: int = 200,
) -> Any:
    samples = transfer.sample_rows(upload, SAMPLE_ROWS)
    columns = [
        {
            "index": i,
            "letter": transfer.column_letter(i),
            "header": header or _("Column %(letter)s", letter=transfer.column_letter(i)),
            "samples": [row[i] for row in samples if row[i]],
            "chosen": chosen.get(i, ""),
        }
        for i, header in enumerate(upload.headers)
    ]
    preview = (
        _preview(loaded, upload, mapping, report)
        if report is not None and mapping is not None
        else None
    )
    return render_template(
        "transfer/mapping.html",
        loaded=loaded,
        spec=loaded.spec,
        upload=upload,
        columns=columns,
        fields=fields,
        errors=errors or [],
        report=report,
        preview=preview,
        mode=request.form.get("mode", ImportMode.ALL_OR_NOTHING.value),
    ), status


def _preview(
    loaded: LoadedForm,
    upload: Upload,
    mapping: dict[int, Any],
    report: ImportReport,
    *,
    only_problems: bool = False,
) -> dict[str, Any]:
    """The report's rows as the preview table shows them: each mapped column's cell with
    its problems beside it, and problems no column holds at the end."""
    order = sorted(mapping)
    columns = [
        {
            "header": upload.headers[i] or transfer.column_letter(i),
            "field": mapping[i].label(language()),
        }
        for i in order
    ]
    rows = []
    for outcome in report.rows:
        if only_problems and outcome.status is RowStatus.VALID:
            continue
        rows.append(
            {
                "number": outcome.number,
                "valid": outcome.status is RowStatus.VALID,
                "cells": [
                    (outcome.cells.get(i, ""), _messages_at(outcome.errors.get(i, [])))
                    for i in order
                ],
                "other": _messages(loaded, outcome.errors.get(None, [])),
            }
        )
    return {"columns": columns, "rows": rows, "complete": report.complete}


def _messages_at(errors: list[FieldError]) -> list[str]:
    return [_message(e) for e in errors]
