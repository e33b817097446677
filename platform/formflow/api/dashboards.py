"""Dashboards: the ones the caller may open, a definition, publishing a new one (admins),
and the charts' data for the caller — each chart cut to what they may see.

A dashboard the caller may not open answers 404, as if it did not exist. Titles and chart
labels are in the caller's language.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from sqlalchemy import select

from .. import jsoncodec
from ..dashboards import service as dashboards
from ..dashboards.batch import all_results
from ..dashboards.charts import chart_result
from ..dashboards.definition import DashboardSpec, text_of
from ..dashboards.filters import filters_from, record_list_url
from ..dashboards.models import Dashboard
from ..errors import BadRequest, FieldError, NotFound
from .blueprint import actor, api, json_body, read, require_admin, respond, write
from .representation import timestamp


@api.get("/dashboards")
def list_dashboards() -> Response:
    """The dashboards the caller may open."""
    with read() as work:
        body = {"dashboards": [_dashboard_json(d, s) for d, s in dashboards.visible(work)]}
    return respond(body)


@api.get("/dashboards/<name>")
def get_dashboard(name: str) -> Response:
    """The dashboard with its current definition, as published."""
    with read() as work:
        dashboard, spec = dashboards.viewable(work, name)
        body = {
            **_dashboard_json(dashboard, spec),
            "definition": jsoncodec.loads(dashboards.definition_text(work, dashboard)),
        }
    return respond(body)


@api.put("/dashboards/<name>")
def put_dashboard(name: str) -> Response:
    """Publish the body as the dashboard's next version (created if new; admin)."""
    require_admin()
    definition = json_body()
    if definition.get("name", name) != name:
        raise BadRequest(
            [FieldError("name", f"the definition names another dashboard than '{name}'", "name")]
        )
    definition = {**definition, "name": name}
    with write() as work:
        existed = work.session.scalar(select(Dashboard.id).where(Dashboard.name == name))
        dashboard = dashboards.publish(work, definition, note=request.args.get("note"))
        body = _dashboard_json(dashboard, dashboards.spec_of(work, dashboard))
    return respond(body, 200 if existed is not None else 201)


@api.get("/dashboards/<name>/versions")
def list_dashboard_versions(name: str) -> Response:
    """Every published version, newest first (admin)."""
    require_admin()
    with read() as work:
        dashboard = dashboards.get_dashboard(work, name)
        body = {
            "versions": [
                {
                    "version": v.version,
                    "created_at": timestamp(v.created_at),
                    "created_by": v.created_by,
                    "note": v.note,
                }
                for v in dashboards.versions(work, dashboard)
            ]
        }
    return respond(body)


@api.get("/dashboards/<name>/data")
def dashboard_data(name: str) -> Response:
    """Every chart's data for the caller, under the filters of the query string."""
    with read() as work:
        dashboard, spec = dashboards.viewable(work, name)
        filters, resolved = filters_from(work, spec, request.args)
        language = _language()
        charts = all_results(
            work, spec.charts, filters, language=language, drill_url=record_list_url
        )
        body = {
            "name": dashboard.name,
            "version": dashboard.current_version,
            "filters": resolved,
            "charts": charts,
        }
    return respond(body)


@api.get("/dashboards/<name>/charts/<chart_id>/data")
def chart_data(name: str, chart_id: str) -> Response:
    """One chart's data for the caller, under the filters of the query string."""
    with read() as work:
        dashboard, spec = dashboards.viewable(work, name)
        index = next((i for i, c in enumerate(spec.charts) if c.id == chart_id), None)
        if index is None:
            raise NotFound(f"dashboard '{name}' has no chart '{chart_id}'")
        filters, resolved = filters_from(work, spec, request.args)
        result = chart_result(
            work,
            spec.charts[index],
            filters,
            language=_language(),
            drill_url=record_list_url,
            where=f"charts[{index}]",
        )
        body = {
            "name": dashboard.name,
            "version": dashboard.current_version,
            "filters": resolved,
            "chart": result,
        }
    return respond(body)


# -- helpers ---------------------------------------------------------------------------------


def _language() -> str:
    return actor().language or "zh-CN"


def _dashboard_json(dashboard: Dashboard, spec: DashboardSpec) -> dict[str, Any]:
    language = _language()
    return {
        "name": dashboard.name,
        "title": text_of(spec.title, language) or dashboard.name,
        "description": text_of(spec.description, language) or None,
        "version": dashboard.current_version,
        "charts": len(spec.charts),
        "filters": list(spec.filters),
        "period": spec.period,
        "phone": spec.phone,
        "updated_at": timestamp(dashboard.updated_at),
    }
