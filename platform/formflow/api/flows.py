"""Approvals: flow definitions (admins), my tasks and acting on them, flow instances."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from .. import jsoncodec
from ..errors import BadRequest, FieldError, NotFound
from ..flows import actions, inbox
from ..flows import service as flows
from ..flows.models import Flow, FlowEvent, FlowInstance, FlowTask
from .blueprint import (
    actor,
    api,
    id_arg,
    is_id,
    json_body,
    read,
    require_admin,
    respond,
    runtime,
    write,
)
from .representation import timestamp

PAGE = 50


@api.get("/flows")
def list_flows() -> Response:
    """Every flow with its form and current version (admin)."""
    require_admin()
    with read() as work:
        body = {"flows": [_flow_json(work, flow) for flow in flows.all_flows(work)]}
    return respond(body)


@api.get("/flows/<name>")
def get_flow(name: str) -> Response:
    """A flow's definition, the current version or ``?version=n`` (admin)."""
    require_admin()
    version = id_arg("version")
    with read() as work:
        flow = flows.get_flow(work, name)
        body = {
            **_flow_json(work, flow),
            "definition": jsoncodec.loads(flows.definition_text(work, flow, version)),
        }
    return respond(body)


@api.put("/flows/<name>")
def put_flow(name: str) -> Response:
    """Publish a new version of a flow (created if new); running instances keep theirs."""
    require_admin()
    definition = json_body()
    if definition.get("name", name) != name:
        raise BadRequest([FieldError("/name", f"the definition names another flow than '{name}'")])
    definition = {**definition, "name": name}
    with write() as work:
        existed = work.session.query(Flow.id).filter(Flow.name == name).first() is not None
        flow = flows.publish(work, definition, note=request.args.get("note"))
        body = _flow_json(work, flow)
    return respond(body, 200 if existed else 201)


@api.get("/tasks")
def list_tasks() -> Response:
    """The caller's tasks: ``box`` pending (default), handled or cc; newest first, 50 a
    page (``before`` = the last id of the previous page); ``form`` narrows to one form."""
    try:
        box = inbox.Box(request.args.get("box", "pending"))
    except ValueError:
        raise BadRequest(
            [FieldError("box", "box is one of pending, handled, cc", "choice")]
        ) from None
    before = id_arg("before")
    with read() as work:
        items = inbox.tasks(work, box, form=request.args.get("form"), before=before, limit=PAGE)
        body = {
            "tasks": [_task_item_json(item) for item in items],
            "counts": inbox.counts(work),
            "next": str(items[-1].task.id) if len(items) == PAGE else None,
        }
    return respond(body)


@api.post("/tasks/<id:task_id>/actions")
def act_on_task(task_id: int) -> Response:
    """Approve, reject, return, transfer, add an approver or comment on one's task."""
    body = json_body()
    action = body.get("action")
    if not isinstance(action, str):
        raise BadRequest([FieldError("action", "say which action", "required")])
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise BadRequest([FieldError("data", "data must be an object of field values")])
    with write() as work:
        instance = actions.act(
            work,
            task_id,
            action,
            comment=_text(body, "comment"),
            data=data,
            to=_text(body, "to"),
            user=_text(body, "user"),
            position=_text(body, "position") or "after",
            files=body.get("files"),
        )
        view = inbox.instance_view(work, instance.id)
        assert view is not None
        payload = _instance_json(work, view)
    return respond(payload)


@api.post("/tasks/approvals")
def approve_tasks() -> Response:
    """Batch approve: ``{"tasks": [ids], "comment": "…"}``; each task on its own, so the
    refused ones (with why) leave the others approved."""
    body = json_body()
    ids = body.get("tasks")
    if not isinstance(ids, list) or not ids or not all(is_id(i) for i in ids):
        raise BadRequest([FieldError("tasks", "tasks must be a list of task ids", "type")])
    if len(ids) > 200:
        raise BadRequest([FieldError("tasks", "at most 200 tasks at once", "maxItems")])
    refused = actions.approve_many(runtime(), actor(), ids, _text(body, "comment"))
    return respond(
        {
            "approved": [i for i in dict.fromkeys(ids) if i not in refused],
            "refused": [
                {"task": i, "errors": [e.as_dict() for e in errors]}
                for i, errors in refused.items()
            ],
        }
    )


@api.get("/flow-instances")
def list_instances() -> Response:
    """Approvals the caller started, newest first."""
    before = id_arg("before")
    with read() as work:
        found = inbox.started(work, before=before, limit=PAGE)
        body = {
            "instances": [_instance_summary(instance, name) for instance, name in found],
            "next": str(found[-1][0].id) if len(found) == PAGE else None,
        }
    return respond(body)


@api.get("/flow-instances/<id:instance_id>")
def get_instance(instance_id: int) -> Response:
    """An approval's state, tasks and full history (who, when, what, comment, changes)."""
    with read() as work:
        view = inbox.instance_view(work, instance_id)
        if view is None:
            raise NotFound(f"no approval #{instance_id}")
        body = _instance_json(work, view)
    return respond(body)


@api.post("/flow-instances/<id:instance_id>/withdraw")
def withdraw_instance(instance_id: int) -> Response:
    """The initiator withdraws the approval, until the first decision."""
    return _initiator_action(instance_id, "withdraw")


@api.post("/flow-instances/<id:instance_id>/resubmit")
def resubmit_instance(instance_id: int) -> Response:
    """The initiator sends a returned record on again, with their edits in ``data``."""
    return _initiator_action(instance_id, "resubmit")


@api.post("/flow-instances/<id:instance_id>/urge")
def urge_instance(instance_id: int) -> Response:
    """The initiator reminds the current approvers."""
    return _initiator_action(instance_id, "urge")


@api.post("/flow-instances/<id:instance_id>/comments")
def comment_instance(instance_id: int) -> Response:
    """A comment (with attachments) by anyone who may see the approval."""
    return _initiator_action(instance_id, "comments")


def _initiator_action(instance_id: int, verb: str) -> Response:
    body = json_body() if request.get_data(cache=True).strip() else {}
    comment = _text(body, "comment")
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise BadRequest([FieldError("data", "data must be an object of field values")])
    with write() as work:
        if verb == "withdraw":
            actions.withdraw(work, instance_id, comment)
        elif verb == "resubmit":
            actions.resubmit(work, instance_id, data=data, comment=comment)
        elif verb == "urge":
            actions.urge(work, instance_id, comment)
        else:
            actions.comment_on(work, instance_id, comment or "", files=body.get("files"))
        view = inbox.instance_view(work, instance_id)
        assert view is not None
        payload = _instance_json(work, view)
    return respond(payload)


# -- representation --------------------------------------------------------------------------


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest([FieldError(key, f"{key} must be text", "type")])
    return value


def _flow_json(work: Any, flow: Flow) -> dict[str, Any]:
    from ..definitions.service import get_form_by_id

    return {
        "name": flow.name,
        "title": flow.title,
        "form": get_form_by_id(work, flow.form_id).name,
        "trigger": flow.trigger,
        "version": flow.current_version,
    }


def _task_json(task: FlowTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "node": task.node_id,
        "assignee": task.assignee_id,
        "state": task.state,
        "round": task.round,
        "created_at": timestamp(task.created_at),
        "acted_at": timestamp(task.acted_at),
        "comment": task.comment,
        "remind_at": timestamp(task.remind_at),
        "escalate_at": timestamp(task.escalate_at),
        "auto_at": timestamp(task.auto_at),
    }


def _task_item_json(item: inbox.TaskItem) -> dict[str, Any]:
    return {
        **_task_json(item.task),
        "instance": item.instance.id,
        "flow": item.flow_name,
        "flow_title": item.flow_title,
        "form": item.form_name,
        "record_id": item.instance.record_id,
        "initiator": item.instance.initiator_id,
        "instance_state": item.instance.state,
    }


def _instance_summary(instance: FlowInstance, flow_name: str) -> dict[str, Any]:
    return {
        "id": instance.id,
        "flow": flow_name,
        "version": instance.version,
        "record_id": instance.record_id,
        "initiator": instance.initiator_id,
        "state": instance.state,
        "active": list((instance.position or {}).get("active", [])),
        "started_at": timestamp(instance.started_at),
        "finished_at": timestamp(instance.finished_at),
    }


def _event_json(event: FlowEvent, hidden: set[str]) -> dict[str, Any]:
    details = dict(event.details or {})
    if hidden and isinstance(details.get("changes"), dict):
        details["changes"] = {
            key: change for key, change in details["changes"].items() if key not in hidden
        }
    return {
        "id": event.id,
        "action": event.action,
        "node": event.node_id,
        "actor": event.actor_id,
        "task": event.task_id,
        "comment": event.comment,
        "details": details,
        "at": timestamp(event.at),
    }


def _instance_json(work: Any, view: inbox.InstanceView) -> dict[str, Any]:
    hidden = inbox.hidden_for_viewer(work, view)
    return {
        **_instance_summary(view.instance, view.flow.name),
        "form": view.form_name,
        "revision": view.instance.revision,
        "tasks": [_task_json(task) for task in view.tasks],
        "history": [_event_json(event, hidden) for event in view.events],
    }
