"""The approval part of the OpenAPI document: flows, tasks, flow instances."""

from __future__ import annotations

from typing import Any

from ..flows.inbox import Box
from .openapi_common import MAYBE_TIME, TIME, errors, json_response, ref

_INSTANCE_STATES = ["running", "returned", "approved", "rejected", "withdrawn"]
_TASK_STATES = [
    "pending",
    "queued",
    "approved",
    "rejected",
    "returned",
    "transferred",
    "cancelled",
    "cc",
]
_CURSOR = {
    "name": "before",
    "in": "query",
    "description": "The `next` of the previous page",
    "schema": {"type": "integer", "minimum": 1},
}
_FLOW_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The flow's qualified name, `app.flow`",
    "schema": {"type": "string"},
}
_INSTANCE_ID = {
    "name": "instance_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}

SCHEMAS: dict[str, Any] = {
    "FlowDefinition": {
        "type": "object",
        "required": ["name", "title", "form", "trigger", "nodes"],
        "description": "An approval flow, as the files under workflows/ (nodes: start, "
        "approval, cc, branch, parallel, join, action, end); every problem is reported at its "
        "JSON pointer (`/nodes/2/approvers/0/field`)",
        "properties": {
            "name": {"type": "string"},
            "form": {"type": "string"},
            "trigger": {"enum": ["submit", "manual"]},
            "nodes": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Flow": {
        "type": "object",
        "required": ["name", "title", "form", "trigger", "version"],
        "properties": {
            "name": {"type": "string"},
            "title": {"type": "string"},
            "form": {"type": "string"},
            "trigger": {"enum": ["submit", "manual"]},
            "version": {"type": "integer"},
            "definition": {"type": "object"},
        },
    },
    "Task": {
        "type": "object",
        "required": ["id", "node", "assignee", "state", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "node": {"type": "string"},
            "assignee": {"type": "integer"},
            "state": {"enum": _TASK_STATES},
            "round": {"type": "integer"},
            "created_at": TIME,
            "acted_at": MAYBE_TIME,
            "comment": {"type": ["string", "null"]},
            "remind_at": MAYBE_TIME,
            "escalate_at": MAYBE_TIME,
            "auto_at": MAYBE_TIME,
            "instance": {"type": "integer"},
            "flow": {"type": "string"},
            "flow_title": {"type": "string"},
            "form": {"type": "string"},
            "record_id": {"type": "integer"},
            "initiator": {"type": ["integer", "null"]},
            "instance_state": {"enum": _INSTANCE_STATES},
        },
    },
    "TaskAction": {
        "type": "object",
        "required": ["action"],
        "properties": {
            "action": {
                "enum": ["approve", "reject", "return", "transfer", "add_approver", "comment"]
            },
            "comment": {"type": "string"},
            "data": {
                "type": "object",
                "description": "approve: new values of the fields the step lets the approver "
                "edit (validated; recorded in the history)",
            },
            "to": {
                "type": "string",
                "description": "return: `initiator` (default) or an earlier approval node's id",
            },
            "user": {"type": "string", "description": "transfer, add_approver: a username"},
            "position": {"enum": ["before", "after"], "description": "add_approver"},
            "files": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                "description": "ids of the caller's uploads (POST /files)",
            },
        },
    },
    "FlowEvent": {
        "type": "object",
        "required": ["id", "action", "at"],
        "properties": {
            "id": {"type": "integer"},
            "action": {"type": "string"},
            "node": {"type": ["string", "null"]},
            "actor": {"type": ["integer", "null"]},
            "task": {"type": ["integer", "null"]},
            "comment": {"type": ["string", "null"]},
            "details": {
                "type": "object",
                "description": "`changes` {field: [before, after]}, `people`, `to_user`, …",
            },
            "at": TIME,
        },
    },
    "FlowInstanceSummary": {
        "type": "object",
        "required": ["id", "flow", "version", "record_id", "state", "active", "started_at"],
        "properties": {
            "id": {"type": "integer"},
            "flow": {"type": "string"},
            "version": {"type": "integer", "description": "The flow version it is pinned to"},
            "record_id": {"type": "integer"},
            "initiator": {"type": ["integer", "null"]},
            "state": {"enum": _INSTANCE_STATES},
            "active": {"type": "array", "items": {"type": "string"}},
            "started_at": TIME,
            "finished_at": MAYBE_TIME,
        },
    },
    "FlowInstance": {
        "allOf": [
            ref("FlowInstanceSummary"),
            {
                "type": "object",
                "required": ["form", "revision", "tasks", "history"],
                "properties": {
                    "form": {"type": "string"},
                    "revision": {"type": "integer"},
                    "tasks": {"type": "array", "items": ref("Task")},
                    "history": {"type": "array", "items": ref("FlowEvent")},
                },
            },
        ]
    },
}

_COMMENT_BODY = {
    "required": False,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "comment": {"type": "string"},
                    "data": {"type": "object", "description": "resubmit: the initiator's edits"},
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                        "description": "ids of the caller's uploads (POST /files)",
                    },
                },
            }
        }
    },
}


_NOTIFICATION = {
    "type": "object",
    "required": ["id", "title", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "body": {"type": ["string", "null"]},
        "link": {"type": ["string", "null"], "description": "A path of the web UI"},
        "created_at": TIME,
        "read_at": MAYBE_TIME,
    },
}


def notification_paths() -> dict[str, Any]:
    return {
        "/notifications": {
            "get": {
                "operationId": "listNotifications",
                "tags": ["notifications"],
                "summary": "My latest notifications (newest first, 100) and the unread count",
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["notifications", "unread"],
                            "properties": {
                                "notifications": {"type": "array", "items": _NOTIFICATION},
                                "unread": {"type": "integer"},
                            },
                        }
                    ),
                    **errors(401),
                },
            }
        },
        "/notifications/read": {
            "post": {
                "operationId": "readNotifications",
                "tags": ["notifications"],
                "summary": "Mark one notification read (`id`), or all of them (empty body)",
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"id": {"type": "integer"}}}
                        }
                    },
                },
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["marked", "unread"],
                            "properties": {
                                "marked": {"type": "integer"},
                                "unread": {"type": "integer"},
                            },
                        }
                    ),
                    **errors(400, 401),
                },
            }
        },
    }


def paths() -> dict[str, Any]:
    instance_verbs = {
        "withdraw": "Withdraw (the initiator, before the first decision)",
        "resubmit": "Resubmit a returned record, with edits (the initiator)",
        "urge": "Remind the current approvers (the initiator)",
        "comments": "Comment, with attachments (anyone who may see it)",
    }
    out: dict[str, Any] = {
        "/flows": {
            "get": {
                "operationId": "listFlows",
                "tags": ["flows"],
                "summary": "Every approval flow (admin)",
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["flows"],
                            "properties": {"flows": {"type": "array", "items": ref("Flow")}},
                        }
                    ),
                    **errors(401, 403),
                },
            }
        },
        "/flows/{name}": {
            "get": {
                "operationId": "getFlow",
                "tags": ["flows"],
                "summary": "A flow and its definition (`?version=n` for an older one; admin)",
                "parameters": [
                    _FLOW_NAME,
                    {"name": "version", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {"200": json_response(ref("Flow")), **errors(400, 401, 403, 404)},
            },
            "put": {
                "operationId": "putFlow",
                "tags": ["flows"],
                "summary": "Publish a new version (running approvals keep theirs; admin)",
                "parameters": [_FLOW_NAME],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("FlowDefinition")}},
                },
                "responses": {
                    "200": json_response(ref("Flow")),
                    "201": json_response(ref("Flow"), "Created"),
                    **errors(400, 401, 403, 422),
                },
            },
        },
        "/tasks": {
            "get": {
                "operationId": "listTasks",
                "tags": ["tasks"],
                "summary": "My tasks, newest first, 50 a page, with the count of every box",
                "parameters": [
                    {
                        "name": "box",
                        "in": "query",
                        "schema": {"enum": [b.value for b in Box], "default": "pending"},
                    },
                    {
                        "name": "form",
                        "in": "query",
                        "description": "Only this form's (`app.form`)",
                        "schema": {"type": "string"},
                    },
                    _CURSOR,
                ],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["tasks", "counts", "next"],
                            "properties": {
                                "tasks": {"type": "array", "items": ref("Task")},
                                "counts": {
                                    "type": "object",
                                    "additionalProperties": {"type": "integer"},
                                },
                                "next": {"type": ["string", "null"]},
                            },
                        }
                    ),
                    **errors(400, 401),
                },
            }
        },
        "/tasks/{task_id}/actions": {
            "post": {
                "operationId": "actOnTask",
                "tags": ["tasks"],
                "summary": "Approve, reject, return, transfer, add an approver or comment; a "
                "task already decided (a double click, a racing approver) gets 409",
                "parameters": [
                    {
                        "name": "task_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("TaskAction")}},
                },
                "responses": {
                    "200": json_response(ref("FlowInstance")),
                    **errors(400, 401, 403, 404, 409, 422),
                },
            }
        },
        "/tasks/approvals": {
            "post": {
                "operationId": "approveTasks",
                "tags": ["tasks"],
                "summary": "Batch approve my tasks; each on its own, the refused ones say why",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["tasks"],
                                "properties": {
                                    "tasks": {
                                        "type": "array",
                                        "items": {"type": "integer"},
                                        "maxItems": 200,
                                    },
                                    "comment": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["approved", "refused"],
                            "properties": {
                                "approved": {"type": "array", "items": {"type": "integer"}},
                                "refused": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "task": {"type": "integer"},
                                            "errors": {"type": "array"},
                                        },
                                    },
                                },
                            },
                        }
                    ),
                    **errors(400, 401),
                },
            }
        },
        "/flow-instances": {
            "get": {
                "operationId": "listFlowInstances",
                "tags": ["flows"],
                "summary": "Approvals I started, newest first",
                "parameters": [_CURSOR],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["instances", "next"],
                            "properties": {
                                "instances": {
                                    "type": "array",
                                    "items": ref("FlowInstanceSummary"),
                                },
                                "next": {"type": ["string", "null"]},
                            },
                        }
                    ),
                    **errors(400, 401),
                },
            }
        },
        "/flow-instances/{instance_id}": {
            "get": {
                "operationId": "getFlowInstance",
                "tags": ["flows"],
                "summary": "An approval's state, tasks and history",
                "parameters": [_INSTANCE_ID],
                "responses": {"200": json_response(ref("FlowInstance")), **errors(401, 404)},
            }
        },
    }
    for verb, summary in instance_verbs.items():
        out[f"/flow-instances/{{instance_id}}/{verb}"] = {
            "post": {
                "operationId": f"{verb}FlowInstance",
                "tags": ["flows"],
                "summary": summary,
                "parameters": [_INSTANCE_ID],
                "requestBody": _COMMENT_BODY,
                "responses": {
                    "200": json_response(ref("FlowInstance")),
                    **errors(400, 401, 403, 404, 409, 422),
                },
            }
        }
    out.update(notification_paths())
    return out
