"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Kept beside the routes it describes; a test checks that every route is documented and
every documented path is a route, and that responses match their documented schemas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response

from . import openapi_automations, openapi_dashboards, openapi_flows
from .blueprint import api, respond, runtime

if TYPE_CHECKING:
    from ..extensions import PluginManager

ERRORS = {"$ref": "#/components/responses/Errors"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): ERRORS for code in codes}


FORM = {
    "name": "form",
    "in": "path",
    "required": True,
    "description": "The form's qualified name, `app.form`",
    "schema": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"},
}
RECORD_ID = {
    "name": "record_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
DELETED = {
    "name": "deleted",
    "in": "query",
    "required": False,
    "description": "`true` to address records in the recycle bin",
    "schema": {"type": "boolean"},
}

LIST_PARAMETERS = [
    FORM,
    {
        "name": "filter",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "description": "Repeatable `field:operator:value`. Operators: eq, ne, lt, lte, gt, gte, "
        "in (comma-separated values), contains, between (`low,high`), is_empty "
        "(`true`/`false`). System fields: _id, _created_at, _updated_at, _created_by, "
        "_updated_by, _owner, _department.",
        "schema": {"type": "array", "items": {"type": "string", "maxLength": 2000}, "maxItems": 30},
    },
    {
        "name": "sort",
        "in": "query",
        "required": False,
        "description": "Comma-separated fields, `-` for descending: `-amount,name`",
        "schema": {"type": "string", "maxLength": 500},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "`next_cursor` of the previous page",
        "schema": {"type": "string"},
    },
    {
        "name": "q",
        "in": "query",
        "required": False,
        "description": "Text searched in every text field",
        "schema": {"type": "string"},
    },
    {
        "name": "total",
        "in": "query",
        "required": False,
        "description": "`true` to count all matching records",
        "schema": {"type": "boolean"},
    },
    DELETED,
]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {
                "type": ["string", "null"],
                "description": "The field path (`lines[2].quantity`), a JSON pointer into a "
                "definition, or null",
            },
            "message": {"type": "string"},
            "code": {"type": "string"},
        },
    },
    "Errors": {
        "type": "object",
        "required": ["errors"],
        "properties": {"errors": {"type": "array", "items": _ref("Error")}},
    },
    "Record": {
        "type": "object",
        "required": ["id", "form", "revision", "data", "created_at", "updated_at"],
        "properties": {
            "id": {"type": "integer"},
            "form": {"type": "string"},
            "revision": {"type": "integer", "minimum": 1},
            "form_version": {"type": "integer"},
            "data": {
                "type": "object",
                "description": "Field values by field key; money is an exact JSON number",
            },
            "owner": {"type": ["integer", "null"]},
            "department": {"type": ["integer", "null"]},
            "created_by": {"type": ["integer", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_by": {"type": ["integer", "null"]},
            "updated_at": {"type": "string", "format": "date-time"},
            "deleted_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "RecordPage": {
        "type": "object",
        "required": ["records", "next_cursor"],
        "properties": {
            "records": {"type": "array", "items": _ref("Record")},
            "next_cursor": {"type": ["string", "null"]},
            "total": {"type": "integer"},
        },
    },
    "RecordInput": {
        "type": "object",
        "required": ["data"],
        "additionalProperties": False,
        "properties": {"data": {"type": "object"}},
    },
    "RecordUpdate": {
        "type": "object",
        "required": ["revision", "data"],
        "additionalProperties": False,
        "properties": {
            "revision": {
                "type": "integer",
                "minimum": 1,
                "description": "The revision you read; a stale one gets 409",
            },
            "data": {"type": "object"},
        },
    },
    "Search": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "filters": {
                "type": "array",
                "maxItems": 30,
                "items": {
                    "type": "object",
                    "required": ["field", "op"],
                    "properties": {
                        "field": {"type": "string"},
                        "op": {
                            "enum": [
                                "eq",
                                "ne",
                                "lt",
                                "lte",
                                "gt",
                                "gte",
                                "in",
                                "contains",
                                "between",
                                "is_empty",
                            ]
                        },
                        "value": {},
                    },
                },
            },
            "sort": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "array",
                        "items": {
                            "oneOf": [
                                {"type": "string"},
                                {
                                    "type": "object",
                                    "required": ["field"],
                                    "properties": {
                                        "field": {"type": "string"},
                                        "desc": {"type": "boolean"},
                                    },
                                },
                            ]
                        },
                    },
                ]
            },
            "limit": {"type": "integer", "minimum": 1, "maximum": 500},
            "cursor": {"type": "string"},
            "q": {"type": "string"},
            "deleted": {"type": "boolean"},
        },
    },
    "Revision": {
        "type": "object",
        "required": ["revision", "action", "at", "changes"],
        "properties": {
            "revision": {"type": "integer"},
            "action": {"enum": ["create", "update", "delete", "restore", "convert"]},
            "actor": {"type": ["integer", "null"]},
            "at": {"type": "string", "format": "date-time"},
            "form_version": {"type": "integer"},
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field_id", "before", "after"],
                    "properties": {
                        "field": {"type": ["string", "null"]},
                        "field_id": {"type": "string"},
                        "label": {"type": ["string", "null"]},
                        "before": {},
                        "after": {},
                    },
                },
            },
        },
    },
    "FormSummary": {
        "type": "object",
        "required": ["name", "app", "title", "version"],
        "properties": {
            "name": {"type": "string"},
            "app": {"type": "string"},
            "title": {"type": "string"},
            "version": {"type": "integer"},
            "updated_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Form": {
        "allOf": [
            _ref("FormSummary"),
            {
                "type": "object",
                "required": ["definition"],
                "properties": {"definition": _ref("Definition")},
            },
        ],
    },
    "PublishedForm": {
        "allOf": [
            _ref("FormSummary"),
            {
                "type": "object",
                "properties": {
                    "conversion": {
                        "oneOf": [_ref("Conversion"), {"type": "null"}],
                        "description": "When the publish touches more records than the "
                        "threshold, the background conversion that brings them to the new "
                        "version (reads convert on the fly meanwhile); null otherwise",
                    }
                },
            },
        ],
    },
    "Conversion": {
        "type": "object",
        "description": "Stored records being converted to a new version in the background",
        "required": ["id", "from_version", "to_version", "state", "total", "done", "failed"],
        "properties": {
            "id": {"type": "integer"},
            "from_version": {"type": "integer"},
            "to_version": {"type": "integer"},
            "state": {"enum": ["pending", "running", "finished", "failed"]},
            "total": {"type": "integer", "description": "Records whose values change"},
            "done": {"type": "integer", "description": "Records converted so far"},
            "failed": {
                "type": "integer",
                "description": "Records changed under the old version while the publish was "
                "checking that could not convert; their old value is kept in their history",
            },
            "failures": {"type": "array", "items": {"type": "string"}},
            "error": {
                "type": ["string", "null"],
                "description": "Why a worker stopped (state `failed`; it continues when a "
                "worker starts again)",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": {"type": ["string", "null"], "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "Definition": {
        "type": "object",
        "description": "A JSON Schema (draft 2020-12) form definition with x- keywords; its "
        "meta-schema is served at /api/v1/meta-schema",
    },
    "Version": {
        "type": "object",
        "required": ["version", "created_at"],
        "properties": {
            "version": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "created_by": {"type": ["integer", "null"]},
            "note": {"type": ["string", "null"]},
        },
    },
    "File": {
        "type": "object",
        "required": ["id", "name", "content_type", "size"],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "name": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "record": {"type": ["integer", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "FieldType": {
        "type": "object",
        "required": ["name", "label", "category"],
        "properties": {
            "name": {"type": "string"},
            "label": {"type": "object"},
            "category": {"type": "string"},
            "stores_data": {"type": "boolean"},
            "computed": {"type": "boolean"},
            "new_property": {"type": "object"},
        },
    },
    "Grants": {
        "type": "object",
        "required": ["grants"],
        "properties": {
            "grants": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["actions"],
                    "properties": {
                        "name": {"type": "string"},
                        "role": {
                            "type": ["string", "null"],
                            "description": "A role's name; null for every signed-in user",
                        },
                        "actions": {
                            "type": "array",
                            "items": {
                                "enum": ["view", "create", "edit", "delete", "export", "manage"]
                            },
                        },
                        "scope": {"enum": ["own", "department", "subtree", "all"]},
                        "conditions": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["field", "op"],
                                "properties": {
                                    "field": {"type": "string"},
                                    "op": {"type": "string"},
                                    "value": {},
                                },
                            },
                        },
                        "fields": {
                            "type": "object",
                            "additionalProperties": {"enum": ["hidden", "read", "edit"]},
                        },
                    },
                },
            }
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "username", "display_name", "is_admin"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "email": {"type": ["string", "null"]},
            "is_admin": {"type": "boolean"},
            "language": {"type": "string"},
        },
    },
}


def build_document(plugins: PluginManager | None = None) -> dict[str, Any]:
    """The document of the engine's routes and of those ``plugins`` add through
    ``formflow_openapi`` (by default the installed plugins, as a runtime loads them)."""
    if plugins is None:
        from ..extensions import load_plugin_manager

        plugins = load_plugin_manager()
    record_ops = {
        "get": {
            "operationId": "getRecord",
            "tags": ["records"],
            "summary": "Read a record",
            "parameters": [FORM, RECORD_ID, DELETED],
            "responses": {"200": _json(_ref("Record")), **_errors(401, 403, 404)},
        },
        "patch": {
            "operationId": "patchRecord",
            "tags": ["records"],
            "summary": "Change some fields (others keep their values)",
            "parameters": [FORM, RECORD_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("RecordUpdate")}},
            },
            "responses": {"200": _json(_ref("Record")), **_errors(400, 401, 403, 404, 409, 422)},
        },
        "put": {
            "operationId": "replaceRecord",
            "tags": ["records"],
            "summary": "Replace all field values",
            "parameters": [FORM, RECORD_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("RecordUpdate")}},
            },
            "responses": {"200": _json(_ref("Record")), **_errors(400, 401, 403, 404, 409, 422)},
        },
        "delete": {
            "operationId": "deleteRecord",
            "tags": ["records"],
            "summary": "Move a record to the recycle bin",
            "parameters": [
                FORM,
                RECORD_ID,
                {
                    "name": "revision",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1},
                },
            ],
            "responses": {"200": _json(_ref("Record")), **_errors(400, 401, 403, 404, 409)},
        },
    }
    paths: dict[str, Any] = {
        "/openapi.json": {
            "get": {
                "operationId": "openapiDocument",
                "tags": ["meta"],
                "summary": "This document",
                "security": [],
                "responses": {"200": _json({"type": "object"})},
            }
        },
        "/me": {
            "get": {
                "operationId": "me",
                "tags": ["meta"],
                "summary": "The calling user",
                "responses": {"200": _json(_ref("User")), **_errors(401)},
            }
        },
        "/meta-schema": {
            "get": {
                "operationId": "metaSchema",
                "tags": ["forms"],
                "summary": "The meta-schema form definitions must satisfy",
                "responses": {"200": _json({"type": "object"}), **_errors(401)},
            }
        },
        "/field-types": {
            "get": {
                "operationId": "fieldTypes",
                "tags": ["forms"],
                "summary": "Registered field types",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["field_types"],
                            "properties": {
                                "field_types": {"type": "array", "items": _ref("FieldType")}
                            },
                        }
                    ),
                    **_errors(401),
                },
            }
        },
        "/forms": {
            "get": {
                "operationId": "listForms",
                "tags": ["forms"],
                "summary": "All forms",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["forms"],
                            "properties": {
                                "forms": {"type": "array", "items": _ref("FormSummary")}
                            },
                        }
                    ),
                    **_errors(401),
                },
            }
        },
        "/forms/{form}": {
            "get": {
                "operationId": "getForm",
                "tags": ["forms"],
                "summary": "A form and its definition (current, or `version`)",
                "parameters": [
                    FORM,
                    {
                        "name": "version",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                "responses": {"200": _json(_ref("Form")), **_errors(400, 401, 404)},
            },
            "put": {
                "operationId": "publishForm",
                "tags": ["forms"],
                "summary": "Publish a definition as the next version (admin)",
                "description": "Every problem is listed with its JSON pointer and nothing is "
                "saved. A type change converts stored values or is refused "
                "naming the records that cannot convert. Every record is checked before "
                "anything is saved; when more records change than the threshold, they are "
                "converted in the background (see `conversion`). Refused (409) while an "
                "earlier conversion of the form is unfinished.",
                "parameters": [
                    FORM,
                    {
                        "name": "If-Match",
                        "in": "header",
                        "required": False,
                        "description": "Publish only if the form is at this version",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "note",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 500},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("Definition")}},
                },
                "responses": {
                    "200": _json(_ref("PublishedForm"), "Published a new version"),
                    "201": _json(_ref("PublishedForm"), "Created the form"),
                    **_errors(400, 401, 403, 404, 409, 422),
                },
            },
        },
        "/forms/{form}/permissions": {
            "get": {
                "operationId": "getPermissions",
                "tags": ["permissions"],
                "summary": "The form's permission grants (admin)",
                "parameters": [FORM],
                "responses": {"200": _json(_ref("Grants")), **_errors(401, 403, 404)},
            },
            "put": {
                "operationId": "putPermissions",
                "tags": ["permissions"],
                "summary": "Replace the form's permission grants (admin)",
                "parameters": [FORM],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("Grants")}},
                },
                "responses": {"200": _json(_ref("Grants")), **_errors(400, 401, 403, 404, 422)},
            },
        },
        "/forms/{form}/versions": {
            "get": {
                "operationId": "listFormVersions",
                "tags": ["forms"],
                "summary": "The form's published versions (admin)",
                "parameters": [FORM],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["versions"],
                            "properties": {"versions": {"type": "array", "items": _ref("Version")}},
                        }
                    ),
                    **_errors(401, 403, 404),
                },
            }
        },
        "/forms/{form}/conversions": {
            "get": {
                "operationId": "listConversions",
                "tags": ["forms"],
                "summary": "Background conversions of the form's records, newest first (admin)",
                "parameters": [FORM],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["conversions"],
                            "properties": {
                                "conversions": {"type": "array", "items": _ref("Conversion")}
                            },
                        }
                    ),
                    **_errors(401, 403, 404),
                },
            }
        },
        "/forms/{form}/conversions/{conversion_id}": {
            "get": {
                "operationId": "getConversion",
                "tags": ["forms"],
                "summary": "One conversion's progress; poll until `state` is `finished` (admin)",
                "parameters": [
                    FORM,
                    {
                        "name": "conversion_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                "responses": {"200": _json(_ref("Conversion")), **_errors(401, 403, 404)},
            }
        },
        "/forms/{form}/records": {
            "get": {
                "operationId": "listRecords",
                "tags": ["records"],
                "summary": "List records with filters, sort and cursor pagination",
                "description": "Filtering or sorting by a field whose records are still being "
                "converted to a new type is refused (409) until the conversion finishes.",
                "parameters": LIST_PARAMETERS,
                "responses": {
                    "200": _json(_ref("RecordPage")),
                    **_errors(400, 401, 403, 404, 409),
                },
            },
            "post": {
                "operationId": "createRecord",
                "tags": ["records"],
                "summary": "Create a record",
                "parameters": [FORM],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("RecordInput")}},
                },
                "responses": {
                    "201": _json(_ref("Record"), "Created"),
                    **_errors(400, 401, 403, 404, 409, 422),
                },
            },
        },
        "/forms/{form}/records/search": {
            "post": {
                "operationId": "searchRecords",
                "tags": ["records"],
                "summary": "List records with filters in a JSON body",
                "parameters": [
                    FORM,
                    {
                        "name": "total",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "boolean"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("Search")}},
                },
                "responses": {
                    "200": _json(_ref("RecordPage")),
                    **_errors(400, 401, 403, 404, 409),
                },
            }
        },
        "/forms/{form}/records/{record_id}": record_ops,
        "/forms/{form}/records/{record_id}/restore": {
            "post": {
                "operationId": "restoreRecord",
                "tags": ["records"],
                "summary": "Restore a record from the recycle bin",
                "parameters": [FORM, RECORD_ID],
                "responses": {"200": _json(_ref("Record")), **_errors(401, 403, 404, 409)},
            }
        },
        "/forms/{form}/records/{record_id}/revisions": {
            "get": {
                "operationId": "recordRevisions",
                "tags": ["records"],
                "summary": "Every change to a record, field by field",
                "parameters": [FORM, RECORD_ID, DELETED],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["revisions"],
                            "properties": {
                                "revisions": {"type": "array", "items": _ref("Revision")}
                            },
                        }
                    ),
                    **_errors(401, 403, 404),
                },
            }
        },
        "/files": {
            "post": {
                "operationId": "uploadFile",
                "tags": ["files"],
                "summary": "Upload a file (then name its id in an image/attachment field)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        }
                    },
                },
                "responses": {"201": _json(_ref("File"), "Stored"), **_errors(400, 401, 413, 422)},
            }
        },
        "/files/{file_id}": {
            "get": {
                "operationId": "downloadFile",
                "tags": ["files"],
                "parameters": [
                    {
                        "name": "file_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The file's bytes",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    **_errors(401, 403, 404),
                },
            }
        },
        "/files/{file_id}/meta": {
            "get": {
                "operationId": "fileMeta",
                "tags": ["files"],
                "parameters": [
                    {
                        "name": "file_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": _json(_ref("File")), **_errors(401, 403, 404)},
            }
        },
    }
    paths.update(openapi_flows.paths())
    paths.update(openapi_automations.paths())
    paths.update(openapi_dashboards.paths())
    schemas = {
        **SCHEMAS,
        **openapi_flows.SCHEMAS,
        **openapi_automations.SCHEMAS,
        **openapi_dashboards.SCHEMAS,
    }
    for part in plugins.openapi_parts():
        _merge(paths, part.get("paths", {}), "path")
        _merge(schemas, part.get("schemas", {}), "schema")
    _document_json_only(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Formflow API",
            "version": "1",
            "description": "Forms, records, files, flows, automations and dashboards. Errors are "
            '`{"errors": [{"field", "message", "code"}]}`.',
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `formflow create-user`",
                }
            },
            "schemas": schemas,
            "responses": {"Errors": _json(_ref("Errors"), "The problems, each naming its field")},
        },
    }


def _document_json_only(paths: dict[str, Any]) -> None:
    """Every operation that reads a JSON body answers 415 to a body of another type (see
    :func:`~formflow.api.blueprint.require_json_body`), plugins' operations too."""
    for operations in paths.values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                operation["responses"].setdefault("415", ERRORS)


def _merge(into: dict[str, Any], part: dict[str, Any], what: str) -> None:
    """Add a plugin's paths or schemas; one that would replace an existing one is a bug."""
    clashes = sorted(set(into) & set(part))
    if clashes:
        raise ValueError(
            f"a plugin's OpenAPI {what} clashes with one already documented: {clashes}"
        )
    into.update(part)


@api.get("/openapi.json")
def openapi_document() -> Response:
    return respond(build_document(runtime().plugins))


@api.get("/me")
def me() -> Response:
    from .blueprint import actor

    user = actor()
    return respond(
        {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "email": user.email,
            "is_admin": user.is_admin,
            "language": user.language,
        }
    )
