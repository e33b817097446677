"""The dashboards part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from ..dashboards.definition import (
    AGGREGATES,
    BUCKETS,
    CHART_TYPES,
    DASHBOARD_FILTERS,
    MAX_CHARTS,
    PERIODS,
)
from ..dashboards.filters import CUSTOM
from .openapi_common import TIME, errors, json_response, ref

_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The dashboard's qualified name, `app.dashboard`",
    "schema": {"type": "string"},
}
_CHART_ID = {"name": "chart_id", "in": "path", "required": True, "schema": {"type": "string"}}
_FILTERS = [
    {
        "name": "period",
        "in": "query",
        "description": "The period charts count (by each chart's `date_field`), in the "
        "organisation's time zone; default: the dashboard's `period`",
        "schema": {"enum": [*PERIODS, CUSTOM]},
    },
    {
        "name": "from",
        "in": "query",
        "description": "First day of a `custom` period",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "to",
        "in": "query",
        "description": "Last day (included) of a `custom` period",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "department",
        "in": "query",
        "description": "A department id: its records and its sub-departments'",
        "schema": {"type": "integer"},
    },
    {
        "name": "owner",
        "in": "query",
        "description": "A user id: the records they own",
        "schema": {"type": "integer"},
    },
]
_TAGS = ["dashboards"]
_TEXT = {
    "description": 'Text, or text by language: `{"zh-CN": …, "en": …}`',
    "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string"}}],
}
_VALUES = {
    "type": "array",
    "description": "One value per measure, in the measures' order: integers as numbers, "
    "decimals as exact text",
    "items": {"type": ["string", "integer", "null"]},
}

SCHEMAS: dict[str, Any] = {
    "DashboardDefinition": {
        "type": "object",
        "required": ["name", "title", "charts"],
        "description": "A dashboard as the files under dashboards/: charts, each a "
        "declarative query over a form (or a plugin's data source), who may open it and the "
        "filters its viewers set. Every problem is reported at its path "
        "(`charts[2].measures[0].field`) and nothing is saved.",
        "properties": {
            "name": {"type": "string"},
            "title": _TEXT,
            "description": _TEXT,
            "visible_to": {
                "type": "object",
                "description": "Roles and usernames that may open it (none: everyone); "
                "administrators open every dashboard",
                "properties": {
                    "roles": {"type": "array", "items": {"type": "string"}},
                    "users": {"type": "array", "items": {"type": "string"}},
                },
            },
            "filters": {
                "type": "array",
                "items": {"enum": list(DASHBOARD_FILTERS)},
                "description": "The filters viewers may set",
            },
            "period": {"enum": list(PERIODS), "description": "The period shown by default"},
            "phone": {"type": "boolean"},
            "charts": {
                "type": "array",
                "maxItems": MAX_CHARTS,
                "items": {
                    "type": "object",
                    "required": ["id", "type", "measures"],
                    "properties": {
                        "id": {"type": "string"},
                        "type": {"enum": list(CHART_TYPES)},
                        "title": _TEXT,
                        "form": {"type": "string"},
                        "source": {"type": "string"},
                        "filters": {"type": "array", "items": {"type": "object"}},
                        "dimensions": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["field"],
                                "properties": {
                                    "field": {"type": "string"},
                                    "bucket": {"enum": list(BUCKETS)},
                                },
                            },
                        },
                        "measures": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["key"],
                                "properties": {
                                    "key": {"type": "string"},
                                    "agg": {"enum": list(AGGREGATES)},
                                    "field": {"type": "string"},
                                    "formula": {"type": "string"},
                                },
                            },
                        },
                        "layout": {"type": "object"},
                    },
                },
            },
        },
    },
    "Dashboard": {
        "type": "object",
        "required": ["name", "title", "version", "charts", "filters", "period"],
        "properties": {
            "name": {"type": "string"},
            "title": {"type": "string", "description": "In the caller's language"},
            "description": {"type": ["string", "null"]},
            "version": {"type": "integer"},
            "charts": {"type": "integer", "description": "How many charts it has"},
            "filters": {"type": "array", "items": {"enum": list(DASHBOARD_FILTERS)}},
            "period": {"enum": list(PERIODS)},
            "phone": {"type": "boolean"},
            "updated_at": TIME,
            "definition": ref("DashboardDefinition"),
        },
    },
    "DashboardFilters": {
        "type": "object",
        "description": "The filters as applied: the period's first and last day (null for "
        "`all`), the department and owner ids (null: everyone's)",
        "required": ["period", "from", "to", "department", "owner"],
        "properties": {
            "period": {"enum": [*PERIODS, CUSTOM]},
            "from": {"type": ["string", "null"], "format": "date"},
            "to": {"type": ["string", "null"], "format": "date"},
            "department": {"type": ["integer", "null"]},
            "owner": {"type": ["integer", "null"]},
        },
    },
    "ChartResult": {
        "type": "object",
        "description": "A chart's data for the caller: a row a group, labelled, with the "
        "record list each group drills down to. A chart that cannot be drawn (a field since "
        "removed, a form the caller may not see) has an `error` and no rows.",
        "required": ["id", "type", "title", "rows", "dimensions", "measures", "empty", "error"],
        "properties": {
            "id": {"type": "string"},
            "type": {"enum": list(CHART_TYPES)},
            "title": {"type": "string"},
            "dimensions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "label"],
                    "properties": {"key": {"type": "string"}, "label": {"type": "string"}},
                },
            },
            "measures": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "label", "kind"],
                    "properties": {
                        "key": {"type": "string"},
                        "label": {"type": "string"},
                        "kind": {"enum": ["money", "number", "integer", "percent"]},
                    },
                },
            },
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["keys", "labels", "values", "drill"],
                    "properties": {
                        "keys": {"type": "array", "items": {"type": ["string", "null"]}},
                        "labels": {"type": "array", "items": {"type": "string"}},
                        "values": _VALUES,
                        "drill": {
                            "type": ["string", "null"],
                            "description": "The record list of the group's records "
                            "(`/f/<form>/?ff=…&fo=…&fv=…`), null when it cannot be listed",
                        },
                    },
                },
            },
            "empty": {"type": "boolean"},
            "compare": {
                "type": ["object", "null"],
                "description": "A number card's values in the previous period",
                "properties": {"values": _VALUES, "label": {"type": "string"}},
            },
            "target": {"type": ["string", "integer", "null"]},
            "pivot": {
                "type": ["object", "null"],
                "description": "A pivot table: row and column headers, cells by row key and "
                "column key, row and column subtotals and the grand total",
                "properties": {
                    "rows": {"type": "array", "items": {"type": "object"}},
                    "columns": {"type": "array", "items": {"type": "object"}},
                    "cells": {"type": "object"},
                    "row_totals": {"type": "object"},
                    "column_totals": {"type": "object"},
                    "grand": _VALUES,
                },
            },
            "error": {"type": ["string", "null"]},
            "layout": {
                "type": "object",
                "properties": {
                    "x": {"type": "integer"},
                    "y": {"type": "integer"},
                    "w": {"type": "integer"},
                    "h": {"type": "integer"},
                },
            },
        },
    },
}


def paths() -> dict[str, Any]:
    return {
        "/dashboards": {
            "get": {
                "operationId": "listDashboards",
                "tags": _TAGS,
                "summary": "The dashboards the caller may open",
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["dashboards"],
                            "properties": {
                                "dashboards": {"type": "array", "items": ref("Dashboard")}
                            },
                        }
                    ),
                    **errors(401),
                },
            }
        },
        "/dashboards/{name}": {
            "get": {
                "operationId": "getDashboard",
                "tags": _TAGS,
                "summary": "A dashboard with its current definition (404 also when the caller "
                "may not open it)",
                "parameters": [_NAME],
                "responses": {"200": json_response(ref("Dashboard")), **errors(401, 404)},
            },
            "put": {
                "operationId": "putDashboard",
                "tags": _TAGS,
                "summary": "Publish a new version (created if new; admin). Every chart is "
                "checked against its form or data source first",
                "parameters": [
                    _NAME,
                    {"name": "note", "in": "query", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("DashboardDefinition")}},
                },
                "responses": {
                    "200": json_response(ref("Dashboard"), "A new version"),
                    "201": json_response(ref("Dashboard"), "Created"),
                    **errors(400, 401, 403, 422),
                },
            },
        },
        "/dashboards/{name}/versions": {
            "get": {
                "operationId": "listDashboardVersions",
                "tags": _TAGS,
                "summary": "Every published version, newest first (admin)",
                "parameters": [_NAME],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["versions"],
                            "properties": {"versions": {"type": "array", "items": ref("Version")}},
                        }
                    ),
                    **errors(401, 403, 404),
                },
            }
        },
        "/dashboards/{name}/data": {
            "get": {
                "operationId": "dashboardData",
                "tags": _TAGS,
                "summary": "Every chart's data, counted over the records the caller may see",
                "parameters": [_NAME, *_FILTERS],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["name", "version", "filters", "charts"],
                            "properties": {
                                "name": {"type": "string"},
                                "version": {"type": "integer"},
                                "filters": ref("DashboardFilters"),
                                "charts": {"type": "array", "items": ref("ChartResult")},
                            },
                        }
                    ),
                    **errors(400, 401, 404),
                },
            }
        },
        "/dashboards/{name}/charts/{chart_id}/data": {
            "get": {
                "operationId": "chartData",
                "tags": _TAGS,
                "summary": "One chart's data, counted over the records the caller may see",
                "parameters": [_NAME, _CHART_ID, *_FILTERS],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["name", "version", "filters", "chart"],
                            "properties": {
                                "name": {"type": "string"},
                                "version": {"type": "integer"},
                                "filters": ref("DashboardFilters"),
                                "chart": ref("ChartResult"),
                            },
                        }
                    ),
                    **errors(400, 401, 404),
                },
            }
        },
    }
