"""The automations part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from ..automations.definition import ACTIONS, TRIGGERS
from ..automations.models import RunState
from .openapi_common import MAYBE_TIME, TIME, errors, json_response, ref

_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The automation's qualified name, `app.automation`",
    "schema": {"type": "string"},
}
_RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_TAGS = ["automations"]

SCHEMAS: dict[str, Any] = {
    "AutomationDefinition": {
        "type": "object",
        "required": ["name", "title", "trigger", "actions"],
        "description": "An automation, as the files under workflows/: a trigger ("
        + ", ".join(TRIGGERS)
        + "), an optional condition over the triggering record, and actions run in order ("
        + ", ".join(ACTIONS)
        + "). Every problem is reported at its JSON pointer (`/trigger/cron`, "
        "`/actions/2/url`) and nothing is saved.",
        "properties": {
            "name": {"type": "string"},
            "title": {},
            "enabled": {"type": "boolean"},
            "trigger": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"enum": list(TRIGGERS)}},
            },
            "condition": {"type": "string"},
            "actions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"enum": list(ACTIONS)}},
                },
            },
        },
    },
    "AutomationRun": {
        "type": "object",
        "required": ["id", "trigger", "state", "attempts", "log", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "version": {"type": "integer"},
            "trigger": {"enum": list(TRIGGERS)},
            "record_id": {"type": ["integer", "null"]},
            "event": {"type": "object"},
            "depth": {"type": "integer"},
            "state": {"enum": [s.value for s in RunState]},
            "attempts": {"type": "integer"},
            "log": {
                "type": "array",
                "description": "What each action did ({action, type, result, ms}) or, for a "
                "failed attempt, which action failed and why ({action, type, error, attempt})",
                "items": {"type": "object"},
            },
            "error": {"type": ["string", "null"]},
            "created_at": TIME,
            "finished_at": MAYBE_TIME,
            "duration_ms": {"type": ["integer", "null"]},
        },
    },
    "Automation": {
        "type": "object",
        "required": ["name", "title", "trigger", "enabled", "version", "failed_runs"],
        "properties": {
            "name": {"type": "string"},
            "title": {"type": "string"},
            "trigger": {"enum": list(TRIGGERS)},
            "form": {"type": ["string", "null"]},
            "enabled": {"type": "boolean"},
            "version": {"type": "integer"},
            "owner": {"type": ["integer", "null"]},
            "last_run": {"anyOf": [ref("AutomationRun"), {"type": "null"}]},
            "failed_runs": {"type": "integer"},
            "definition": ref("AutomationDefinition"),
            "webhooks": {
                "type": "array",
                "description": "The webhook actions' hooks: the secret receivers verify the "
                "`X-Formflow-Signature` with, and the failure counts",
                "items": {
                    "type": "object",
                    "properties": {
                        "action": {"type": "integer"},
                        "url": {"type": "string"},
                        "secret": {"type": "string"},
                        "deliveries": {"type": "integer"},
                        "failures": {"type": "integer"},
                        "consecutive_failures": {"type": "integer"},
                        "last_status": {"type": ["integer", "null"]},
                        "last_error": {"type": ["string", "null"]},
                        "last_success_at": MAYBE_TIME,
                    },
                },
            },
        },
    },
}


def paths() -> dict[str, Any]:
    return {
        "/automations": {
            "get": {
                "operationId": "listAutomations",
                "tags": _TAGS,
                "summary": "The automations the caller may manage (admin: all; a form's "
                "managers: its automations)",
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["automations"],
                            "properties": {
                                "automations": {"type": "array", "items": ref("Automation")}
                            },
                        }
                    ),
                    **errors(401),
                },
            }
        },
        "/automations/{name}": {
            "get": {
                "operationId": "getAutomation",
                "tags": _TAGS,
                "summary": "An automation with its definition (`?version=n`) and webhooks",
                "parameters": [
                    _NAME,
                    {"name": "version", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {
                    "200": json_response(ref("Automation")),
                    **errors(400, 401, 403, 404),
                },
            },
            "put": {
                "operationId": "putAutomation",
                "tags": _TAGS,
                "summary": "Publish a new version (created if new); the caller becomes its "
                "owner, and its actions may only write forms the caller may write",
                "parameters": [
                    _NAME,
                    {"name": "note", "in": "query", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("AutomationDefinition")}},
                },
                "responses": {
                    "200": json_response(ref("Automation"), "A new version"),
                    "201": json_response(ref("Automation"), "Created"),
                    **errors(400, 401, 403, 422),
                },
            },
            "patch": {
                "operationId": "enableAutomation",
                "tags": _TAGS,
                "summary": "Turn it on or off (off: nothing triggers it, pending runs are "
                "skipped; on: its schedule and date reminders are arranged again)",
                "parameters": [_NAME],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["enabled"],
                                "properties": {"enabled": {"type": "boolean"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_response(ref("Automation")),
                    **errors(400, 401, 403, 404),
                },
            },
        },
        "/automations/{name}/runs": {
            "get": {
                "operationId": "listAutomationRuns",
                "tags": _TAGS,
                "summary": "The run log, newest first, 50 a page",
                "parameters": [
                    _NAME,
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"enum": [s.value for s in RunState]},
                    },
                    {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["runs", "next"],
                            "properties": {
                                "runs": {"type": "array", "items": ref("AutomationRun")},
                                "next": {"type": ["string", "null"]},
                            },
                        }
                    ),
                    **errors(400, 401, 403, 404),
                },
            }
        },
        "/automations/{name}/runs/{run_id}": {
            "get": {
                "operationId": "getAutomationRun",
                "tags": _TAGS,
                "summary": "One run: its trigger, each action's result or error, duration",
                "parameters": [_NAME, _RUN_ID],
                "responses": {"200": json_response(ref("AutomationRun")), **errors(401, 403, 404)},
            }
        },
        "/automations/{name}/runs/{run_id}/retry": {
            "post": {
                "operationId": "retryAutomationRun",
                "tags": _TAGS,
                "summary": "Run a failed or stopped run again from its first action",
                "parameters": [_NAME, _RUN_ID],
                "responses": {
                    "200": json_response(ref("AutomationRun")),
                    **errors(401, 403, 404, 409),
                },
            }
        },
    }
