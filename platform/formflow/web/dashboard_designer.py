"""The dashboard designer (admins): the list of dashboards with import and export, and an
editor where charts are added, set up in a side panel with a live preview, and arranged on
a grid by dragging and resizing (``static/designer.js`` with gridstack).

The page keeps the whole definition as JSON in the browser; the preview asks the server for
one chart's data, and saving posts the definition, which ``dashboards.service`` checks whole
and publishes as the next version (each problem is listed with its path, nothing is saved).
Export gives the published file byte for byte; import publishes a file as the next version.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from .. import jsoncodec
from ..dashboards import service as dashboards
from ..dashboards.charts import chart_result, sources
from ..dashboards.compile import Filters
from ..dashboards.definition import (
    AGGREGATES,
    BUCKETS,
    CHART_TYPES,
    DASHBOARD_FILTERS,
    PERIODS,
    parse_chart,
    text_of,
)
from ..dashboards.filters import record_list_url
from ..definitions.service import list_forms, spec_of
from ..errors import FieldError, FormflowError, NotFound
from ..people import service as people
from ..records.projection import MULTI_KINDS
from ..runtime import Work
from .i18n import language
from .session import admin_required, read, write

bp = Blueprint("dashboard_designer", __name__, url_prefix="/admin/dashboards")

SYSTEM_FIELDS = [
    ("_owner", "user"),
    ("_department", "department"),
    ("_created_at", "datetime"),
    ("_updated_at", "datetime"),
    ("_created_by", "user"),
]


def catalog(work: Work, lang: str) -> dict[str, Any]:
    """What the side panel offers: each form's fields (with what they can be used for) and
    each data source's columns."""
    from ..dashboards.charts import SYSTEM_LABELS, say

    forms = {}
    for app, form in list_forms(work):
        if form.current_version == 0:
            continue
        spec = spec_of(work, app, form, form.current_version)
        fields = [
            {"key": key, "label": say(SYSTEM_LABELS[key], lang), "kind": kind}
            for key, kind in SYSTEM_FIELDS
        ]
        for f in spec.data_fields:
            if f.parent is not None or not f.stores:
                continue
            projection = f.type.projection(f)
            if projection in MULTI_KINDS or projection is None:
                continue
            kind = f.type.name if f.type.name in ("date", "datetime") else projection
            if f.type.name in ("member", "department"):
                kind = "user" if f.type.name == "member" else "department"
            fields.append({"key": f.key, "label": f.label(lang), "kind": kind})
        forms[f"{app.name}.{form.name}"] = {
            "title": spec.title(lang) or form.name,
            "fields": fields,
        }
    found = {
        name: {
            "title": text_of(source.title, lang),
            "fields": [
                {"key": c.key, "label": text_of(c.label, lang), "kind": c.kind}
                for c in source.columns
            ],
        }
        for name, source in sources(work).items()
    }
    return {
        "forms": forms,
        "sources": found,
        "types": list(CHART_TYPES),
        "aggregates": list(AGGREGATES),
        "buckets": list(BUCKETS),
        "filters": list(DASHBOARD_FILTERS),
        "periods": list(PERIODS),
    }


@bp.get("/")
@admin_required
def index() -> Any:
    lang = language()
    with read() as work:
        rows = [
            {
                "name": d.name,
                "title": d.title,
                "version": d.current_version,
                "charts": len(dashboards.spec_of(work, d).charts) if d.current_version else 0,
                "updated_at": d.updated_at,
            }
            for d in dashboards.all_dashboards(work)
        ]
    return render_template("dashboards/designer_index.html", rows=rows, lang=lang)


@bp.post("/new")
@admin_required
def new() -> Any:
    name = (request.form.get("name") or "").strip()
    title = (request.form.get("title") or "").strip() or name
    document = {"name": name, "title": title, "filters": ["period"], "charts": []}
    try:
        with write() as work:
            dashboards.publish(work, document, note="created in the designer")
    except FormflowError as error:
        for e in error.errors:
            flash(f"{e.field}: {e.message}" if e.field else e.message)
        return redirect(url_for("dashboard_designer.index"))
    return redirect(url_for("dashboard_designer.edit", name=name))


@bp.post("/import")
@admin_required
def import_file() -> Any:
    upload = request.files.get("file")
    try:
        document = jsoncodec.loads((upload.read() if upload else b"").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        flash(_("The file is not a JSON dashboard definition."))
        return redirect(url_for("dashboard_designer.index"))
    try:
        with write() as work:
            dashboard = dashboards.publish(work, document, note="imported")
            name = dashboard.name
    except FormflowError as error:
        for e in error.errors:
            flash(f"{e.field}: {e.message}" if e.field else e.message)
        return redirect(url_for("dashboard_designer.index"))
    flash(_("Imported %(name)s.", name=name))
    return redirect(url_for("dashboard_designer.edit", name=name))


@bp.get("/<name>/export.json")
@admin_required
def export(name: str) -> Any:
    version = request.args.get("version", type=int)
    with read() as work:
        try:
            dashboard = dashboards.get_dashboard(work, name)
            text = dashboards.definition_text(work, dashboard, version)
        except NotFound:
            abort(404)
    response = Response(text, mimetype="application/json")
    local = name.split(".", 1)[-1]
    response.headers["Content-Disposition"] = f'attachment; filename="{local}.json"'
    return response


@bp.get("/<name>")
@admin_required
def edit(name: str) -> Any:
    with read() as work:
        try:
            dashboard = dashboards.get_dashboard(work, name)
            text = dashboards.definition_text(work, dashboard)
        except NotFound:
            abort(404)
        return _editor(work, dashboard, text, [])


def _editor(
    work: Work, dashboard: Any, text: str, errors: list[FieldError], status: int = 200
) -> tuple[str, int]:
    """The editor page over ``text`` (what was saved, or what was posted and refused: kept
    as typed even when it is not JSON)."""
    lang = language()
    try:
        definition: Any = jsoncodec.loads(text)
    except ValueError:
        definition = text
    page = render_template(
        "dashboards/designer.html",
        dashboard=dashboard,
        definition=definition,
        catalog=catalog(work, lang),
        roles=[r.name for r in people.all_roles(work)],
        versions=dashboards.versions(work, dashboard),
        errors=errors,
    )
    return page, status


@bp.post("/<name>")
@admin_required
def save(name: str) -> Any:
    text = request.form.get("definition") or ""
    try:
        document = jsoncodec.loads(text)
    except ValueError:
        document = None
    errors: list[FieldError] = []
    if not isinstance(document, dict):
        errors.append(FieldError("definition", "is not a JSON object", "json"))
    elif document.get("name") != name:
        errors.append(FieldError("name", f"must stay '{name}'", "name"))
    if not errors:
        try:
            with write() as work:
                dashboards.publish(work, document, note=request.form.get("note") or None)
        except FormflowError as error:
            errors = error.errors
        else:
            flash(_("Saved. Everyone who may open the dashboard sees this version now."))
            return redirect(url_for("dashboard_designer.edit", name=name))
    with read() as work:
        try:
            dashboard = dashboards.get_dashboard(work, name)
        except NotFound:
            abort(404)
        return _editor(
            work, dashboard, text if document is None else jsoncodec.dumps(document), errors, 422
        )


@bp.post("/preview")
@admin_required
def preview() -> Any:
    """One chart's data as the designer shows it (problems come back in ``error``)."""
    raw = request.get_json(silent=True)
    try:
        chart = parse_chart(raw)
    except FormflowError as error:
        return jsonify(
            {
                "id": (raw or {}).get("id") if isinstance(raw, dict) else None,
                "type": (raw or {}).get("type") if isinstance(raw, dict) else None,
                "rows": [],
                "empty": True,
                "error": "; ".join(f"{e.field}: {e.message}" for e in error.errors),
            }
        )
    with read() as work:
        result = chart_result(
            work, chart, Filters(), language=language(), drill_url=record_list_url, cache=False
        )
    return jsonify(result)
