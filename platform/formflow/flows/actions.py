"""What people do to an instance: start it, and approve, reject, return, transfer, add an
approver, withdraw, resubmit, urge, comment.

Every action takes the instance at the revision it read and moves it on only from there
(a conditional ``UPDATE``): of two people acting at the same moment — two approvers of an
``any`` node, one approver clicking twice, a withdraw racing an approval — exactly one
wins; the other gets a conflict (409) and nothing of theirs is written.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update

from ..definitions.service import LoadedForm, get_form_by_id
from ..errors import BadRequest, Conflict, FieldError, Forbidden, NotFound
from ..people.models import User
from ..records import service as records
from ..records.models import RecordRow
from ..runtime import Work
from . import service, timeouts
from .engine import STEP, Movement
from .models import (
    OPEN_TASKS,
    FlowEvent,
    FlowInstance,
    FlowTask,
    InstanceState,
    TaskState,
)


class TaskAction(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    TRANSFER = "transfer"
    ADD_APPROVER = "add_approver"
    COMMENT = "comment"


#: Decisions: what ends "withdraw until the first decision".
DECISIONS = ("approved", "rejected", "returned")


# -- starting ------------------------------------------------------------------------------


def start(work: Work, flow_name: str, loaded: LoadedForm, record_id: int) -> FlowInstance:
    """Start the current version of ``flow_name`` on a record; the acting user initiates."""
    flow = service.get_flow(work, flow_name)
    if flow.form_id != loaded.form.id:
        raise BadRequest(f"flow '{flow_name}' is not a flow of form '{loaded.name}'")
    running = work.session.scalar(
        select(FlowInstance.id).where(
            FlowInstance.record_id == record_id,
            FlowInstance.flow_id == flow.id,
            FlowInstance.state.in_([InstanceState.RUNNING.value, InstanceState.RETURNED.value]),
        )
    )
    if running is not None:
        raise Conflict(
            [FieldError(None, f"record #{record_id} is already in flow '{flow_name}'", "busy")]
        )
    record = records.get(work, record_id, form_id=loaded.form.id)
    instance = FlowInstance(
        flow_id=flow.id,
        version=flow.current_version,
        form_id=loaded.form.id,
        record_id=record.id,
        initiator_id=work.actor_id if work.actor_id is not None else record.owner_id,
        state=InstanceState.RUNNING.value,
        revision=1,
        position={"active": [], "arrived": {}},
        started_at=work.now,
    )
    work.session.add(instance)
    work.session.flush()
    movement = Movement(work, instance, service.spec(work, flow, instance.version))
    movement.event("started", movement.flow.start["id"], version=instance.version)
    movement.enter(movement.flow.start["id"])
    timeouts.schedule_for(work, instance.id)
    return instance


def start_on_submit(work: Work, loaded: LoadedForm, row: RecordRow) -> None:
    """The record-created listener: start every submit-triggered flow of the form."""
    for name in service.submit_flows(work, loaded):
        start(work, name, loaded, row.id)


# -- acting on a task ----------------------------------------------------------------------


def act(
    work: Work,
    task_id: int,
    action: str,
    *,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
    to: str | None = None,
    user: str | None = None,
    position: str = "after",
    files: list[int] | None = None,
) -> FlowInstance:
    """The acting user's ``action`` on their task ``task_id``."""
    try:
        kind = TaskAction(action)
    except ValueError:
        raise BadRequest(
            [FieldError("action", f"unknown action '{action}'; one of {_choices()}", "choice")]
        ) from None
    task = work.session.get(FlowTask, task_id)
    if task is None or (task.assignee_id != work.actor_id and not _is_admin(work)):
        raise NotFound(f"no task #{task_id}")
    if task.assignee_id != work.actor_id:
        raise Forbidden(f"task #{task_id} is someone else's")
    instance = _instance(work, task.instance_id)
    if kind == TaskAction.COMMENT:
        return comment_on(work, instance.id, comment or "", files=files)
    attached = _attach(work, instance.id, files) if files else None
    if task.state != TaskState.PENDING or instance.state != InstanceState.RUNNING:
        raise _already(task)
    movement = _claim(work, instance)
    if kind != TaskAction.ADD_APPROVER:  # an added approver leaves this task waiting
        _close(work, task, CLOSES[kind], comment)
    if kind == TaskAction.APPROVE:
        changes = _edit(work, movement, task, data) if data else {}
        movement.event(
            "approved",
            task.node_id,
            task_id=task.id,
            comment=comment,
            changes=changes or None,
            files=attached,
        )
        movement.decided(task)
    elif kind == TaskAction.REJECT:
        _refuse_data(data)
        movement.event("rejected", task.node_id, task_id=task.id, comment=comment, files=attached)
        movement.finish(InstanceState.REJECTED)
    elif kind == TaskAction.RETURN:
        _refuse_data(data)
        _return(work, movement, task, to or "initiator", comment)
    elif kind == TaskAction.TRANSFER:
        target = _user(work, user, "user")
        if target == task.assignee_id:
            raise BadRequest([FieldError("user", "the task is already theirs", "same_user")])
        work.session.add(_copy(task, target, TaskState.PENDING, task.seq))
        movement.event(
            "transferred", task.node_id, task_id=task.id, comment=comment, to_user=target
        )
    elif kind == TaskAction.ADD_APPROVER:
        _add_approver(work, movement, task, _user(work, user, "user"), position, comment)
    timeouts.schedule_for(work, instance.id)
    return instance


def approve_many(
    runtime: Any, actor: Any, task_ids: list[int], comment: str | None = None
) -> dict[int, list[FieldError]]:
    """Batch approve from the inbox: each task in a unit of work of its own, so one that
    cannot be approved (decided meanwhile, its step needs an edit) leaves the others
    approved. Returns the refused tasks with why."""
    refused: dict[int, list[FieldError]] = {}
    for task_id in dict.fromkeys(task_ids):
        try:
            with runtime.write(actor) as work:
                act(work, task_id, TaskAction.APPROVE.value, comment=comment)
        except (BadRequest, Conflict, Forbidden, NotFound) as error:
            refused[task_id] = error.errors
    return refused


#: The state an action leaves its task in.
CLOSES = {
    TaskAction.APPROVE: TaskState.APPROVED,
    TaskAction.REJECT: TaskState.REJECTED,
    TaskAction.RETURN: TaskState.RETURNED,
    TaskAction.TRANSFER: TaskState.TRANSFERRED,
}


def _close(work: Work, task: FlowTask, state: TaskState, comment: str | None) -> None:
    """Take the task out of pending, only if it still is (a double click gets 409)."""
    done = work.session.execute(
        update(FlowTask)
        .where(FlowTask.id == task.id, FlowTask.state == TaskState.PENDING.value)
        .values(state=state.value, acted_at=work.now, comment=comment)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise _already(task)
    work.session.refresh(task)


def _edit(
    work: Work, movement: Movement, task: FlowTask, data: dict[str, Any]
) -> dict[str, list[Any]]:
    """An approver's adjustment of the fields their node lets them edit."""
    if not isinstance(data, dict):
        raise BadRequest([FieldError("data", "data must be an object of field values")])
    node = movement.flow.nodes[task.node_id]
    editable = {key for key, level in node.get("fields", {}).items() if level == "editable"}
    refused = sorted(set(data) - editable)
    if refused:
        raise Forbidden(
            [
                FieldError(key, "this step does not let you change this field", "forbidden")
                for key in refused
            ]
        )
    _, changes = records.change_as_step(
        work, movement.loaded, movement.instance.record_id, data, editable
    )
    movement.record_changed()
    return changes


def _return(work: Work, movement: Movement, task: FlowTask, to: str, comment: str | None) -> None:
    if to == "initiator":
        movement.cancel_open()
        position = dict(movement.instance.position)
        position["resume"] = task.node_id
        movement.instance.position = position
        movement.instance.state = InstanceState.RETURNED.value
        movement.event("returned", task.node_id, task_id=task.id, comment=comment, to=to)
        return
    visited = set(
        work.session.scalars(
            select(FlowTask.node_id).where(
                FlowTask.instance_id == movement.instance.id,
                FlowTask.state == TaskState.APPROVED.value,
            )
        )
    )
    if to not in visited or movement.flow.nodes.get(to, {}).get("type") != "approval":
        raise BadRequest(
            [FieldError("to", f"'{to}' is not an earlier approval step of this flow", "to")]
        )
    movement.cancel_open()
    movement.event("returned", task.node_id, task_id=task.id, comment=comment, to=to)
    movement.enter(to)


def _add_approver(
    work: Work,
    movement: Movement,
    task: FlowTask,
    person: int,
    position: str,
    comment: str | None,
) -> None:
    if position not in ("before", "after"):
        raise BadRequest([FieldError("position", "position is 'before' or 'after'", "choice")])
    if position == "before":
        # They decide first; this task waits for its turn again.
        work.session.add(_copy(task, person, TaskState.PENDING, task.seq))
        task.state = TaskState.QUEUED.value
        task.seq += 1
    else:
        work.session.add(_copy(task, person, TaskState.QUEUED, task.seq + STEP // 2))
    movement.event(
        "approver_added",
        task.node_id,
        task_id=task.id,
        comment=comment,
        to_user=person,
        position=position,
    )


def _copy(task: FlowTask, person: int, state: TaskState, seq: int) -> FlowTask:
    return FlowTask(
        instance_id=task.instance_id,
        node_id=task.node_id,
        round=task.round,
        assignee_id=person,
        state=state.value,
        seq=seq,
        created_at=task.created_at,
        remind_at=task.remind_at,
        escalate_at=task.escalate_at,
        auto_at=task.auto_at,
    )


# -- a step's timeout (flows.timeouts) --------------------------------------------------------


def record_timeout(work: Work, task: FlowTask, action: str, **details: Any) -> None:
    instance = work.session.get(FlowInstance, task.instance_id)
    Movement(work, instance, _spec(work, instance)).event(
        action, task.node_id, task_id=task.id, actor=None, **details
    )


def escalate(work: Work, task: FlowTask, people: list[int]) -> list[int]:
    """Add ``people`` as approvers beside the late one (same step, same turn); who was
    added (not those already deciding there)."""
    waiting = set(
        work.session.scalars(
            select(FlowTask.assignee_id).where(
                FlowTask.instance_id == task.instance_id,
                FlowTask.node_id == task.node_id,
                FlowTask.round == task.round,
                FlowTask.state.in_(OPEN_TASKS),
            )
        )
    )
    added = [p for p in people if p not in waiting]
    for person in added:
        work.session.add(_copy(task, person, TaskState.PENDING, task.seq))
    record_timeout(work, task, "escalated", people=added)
    return added


def decide_on_timeout(work: Work, task: FlowTask, action: str) -> None:
    """Approve the waiting task, or return the record to its submitter, as the step's
    timeout policy says: the instance moves on exactly as if the approver had acted."""
    instance = work.session.get(FlowInstance, task.instance_id)
    if instance is None or instance.state != InstanceState.RUNNING:
        return
    movement = _claim(work, instance)
    kind = TaskAction.APPROVE if action == "approve" else TaskAction.RETURN
    _close(work, task, CLOSES[kind], "decided automatically: the time limit passed")
    if kind == TaskAction.APPROVE:
        movement.event("auto_approved", task.node_id, task_id=task.id, actor=None)
        movement.decided(task)
    else:
        movement.cancel_open()
        position = dict(movement.instance.position)
        position["resume"] = task.node_id
        movement.instance.position = position
        movement.instance.state = InstanceState.RETURNED.value
        movement.event("returned", task.node_id, task_id=task.id, actor=None, to="initiator")
    timeouts.schedule_for(work, instance.id)


# -- the initiator ---------------------------------------------------------------------------


def withdraw(work: Work, instance_id: int, comment: str | None = None) -> FlowInstance:
    """The initiator takes the record back, until the first decision."""
    instance = _instance(work, instance_id)
    if instance.initiator_id != work.actor_id:
        raise Forbidden("only who started the approval may withdraw it")
    if instance.state not in (InstanceState.RUNNING, InstanceState.RETURNED):
        raise _finished(instance)
    decided = work.session.scalar(
        select(FlowEvent.id).where(
            FlowEvent.instance_id == instance.id, FlowEvent.action.in_(DECISIONS)
        )
    )
    if decided is not None:
        raise Conflict(
            [
                FieldError(
                    None,
                    "an approver has already decided: it can no longer be withdrawn",
                    "decided",
                )
            ]
        )
    movement = _claim(work, instance, states=(InstanceState.RUNNING, InstanceState.RETURNED))
    movement.event("withdrawn", None, comment=comment)
    movement.finish(InstanceState.WITHDRAWN)
    movement.instance.position = {**movement.instance.position, "active": []}
    work.session.flush()
    return instance


def resubmit(
    work: Work, instance_id: int, data: dict[str, Any] | None = None, comment: str | None = None
) -> FlowInstance:
    """The initiator sends a returned record on again (with their edits); the flow
    continues at the step that returned it."""
    instance = _instance(work, instance_id)
    if instance.initiator_id != work.actor_id:
        raise Forbidden("only who started the approval may resubmit it")
    if instance.state != InstanceState.RETURNED:
        raise Conflict([FieldError(None, "the approval is not waiting for a resubmit", "state")])
    movement = _claim(work, instance, states=(InstanceState.RETURNED,))
    changes: dict[str, Any] = {}
    if data:
        loaded = movement.loaded
        before = records.get(work, instance.record_id).revision
        record = records.update_record(
            work, loaded, instance.record_id, data, revision=before, partial=True
        )
        if record.revision != before:
            changes = dict(records.revisions(work, record)[-1].changes or {})
        movement.record_changed()
    resume = instance.position.get("resume") or movement.flow.start["id"]
    instance.state = InstanceState.RUNNING.value
    instance.position = {k: v for k, v in instance.position.items() if k != "resume"}
    movement.event("resubmitted", resume, comment=comment, changes=changes or None)
    movement.enter(resume)
    timeouts.schedule_for(work, instance.id)
    return instance


def urge(work: Work, instance_id: int, comment: str | None = None) -> list[int]:
    """The initiator reminds the current approvers; who was reminded."""
    instance = _instance(work, instance_id)
    if instance.initiator_id != work.actor_id:
        raise Forbidden("only who started the approval may urge it")
    if instance.state != InstanceState.RUNNING:
        raise _finished(instance)
    pending = list(
        work.session.scalars(
            select(FlowTask).where(
                FlowTask.instance_id == instance.id, FlowTask.state == TaskState.PENDING.value
            )
        )
    )
    for task in pending:
        task.urged_at = work.now
    people = sorted({task.assignee_id for task in pending})
    Movement(work, instance, _spec(work, instance)).event(
        "urged", None, comment=comment, people=people
    )
    work.session.flush()
    return people


def comment_on(
    work: Work, instance_id: int, text: str, files: list[int] | None = None
) -> FlowInstance:
    """A comment in the history by anyone who may see the instance."""
    instance = _instance(work, instance_id)
    if not text.strip() and not files:
        raise BadRequest([FieldError("comment", "write a comment or attach a file", "required")])
    files = _attach(work, instance.id, files or [])
    Movement(work, instance, _spec(work, instance)).event(
        "commented", None, comment=text.strip() or None, files=files or None
    )
    work.session.flush()
    return instance


# -- helpers ---------------------------------------------------------------------------------


def _instance(work: Work, instance_id: int) -> FlowInstance:
    instance = work.session.get(FlowInstance, instance_id)
    if instance is None or not can_see(work, instance):
        raise NotFound(f"no approval #{instance_id}")
    return instance


def can_see(work: Work, instance: FlowInstance) -> bool:
    """Participants (initiator, anyone with a task) and whoever may see the record."""
    if work.actor_id is None or _is_admin(work) or instance.initiator_id == work.actor_id:
        return True
    involved = work.session.scalar(
        select(FlowTask.id).where(
            FlowTask.instance_id == instance.id, FlowTask.assignee_id == work.actor_id
        )
    )
    if involved is not None:
        return True
    try:
        records.load(work, get_form_by_id(work, instance.form_id), instance.record_id)
    except (NotFound, Forbidden):
        return False
    return True


def _claim(
    work: Work,
    instance: FlowInstance,
    states: Iterable[InstanceState] = (InstanceState.RUNNING,),
) -> Movement:
    """Move the instance on from the revision read; someone else's move first → 409."""
    moved = work.session.execute(
        update(FlowInstance)
        .where(
            FlowInstance.id == instance.id,
            FlowInstance.revision == instance.revision,
            FlowInstance.state.in_([s.value for s in states]),
        )
        .values(revision=instance.revision + 1)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise Conflict(
            [FieldError(None, "someone acted on this approval just now; reload it", "stale")]
        )
    work.session.refresh(instance)
    return Movement(work, instance, _spec(work, instance))


def _spec(work: Work, instance: FlowInstance) -> service.FlowSpec:
    from .models import Flow

    flow = work.session.get(Flow, instance.flow_id)
    assert flow is not None
    return service.spec(work, flow, instance.version)


def _already(task: FlowTask) -> Conflict:
    return Conflict(
        [
            FieldError(
                None, f"task #{task.id} is already {task.state}; nothing was changed", "task_closed"
            )
        ]
    )


def _finished(instance: FlowInstance) -> Conflict:
    return Conflict([FieldError(None, f"the approval is {instance.state}", "finished")])


def _refuse_data(data: Any) -> None:
    if data:
        raise BadRequest([FieldError("data", "only an approval may change fields", "data")])


def _user(work: Work, username: str | None, field: str) -> int:
    if not username:
        raise BadRequest([FieldError(field, "name the user", "required")])
    found = work.session.scalar(select(User.id).where(User.username == username, User.is_active))
    if found is None:
        raise BadRequest([FieldError(field, f"no active user '{username}'", "unknown_user")])
    return found


def _own_uploads(work: Work, files: Any) -> list[str]:
    """File ids a comment attaches: uploads of the acting user's (POST /api/v1/files)."""
    from ..files.models import StoredFile

    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise BadRequest([FieldError("files", "files must be a list of file ids", "type")])
    found = set(
        work.session.scalars(
            select(StoredFile.id).where(
                StoredFile.id.in_(files), StoredFile.uploaded_by == work.actor_id
            )
        )
    )
    missing = [f for f in files if f not in found]
    if missing:
        raise BadRequest(
            [FieldError("files", f"no upload of yours with id {missing[0]}", "reference")]
        )
    return list(files)


def _attach(work: Work, instance_id: int, files: Any) -> list[str]:
    """The commenter's uploads, now the approval's: everyone who may see it may read them."""
    from ..files.models import StoredFile

    ids = _own_uploads(work, files)
    for stored in work.session.scalars(select(StoredFile).where(StoredFile.id.in_(ids))):
        if stored.record_id is None and stored.field_id is None:
            stored.field_id = f"{ATTACHED}{instance_id}"
    return ids


#: ``StoredFile.field_id`` of a file attached to an approval's history.
ATTACHED = "approval:"


def attachment_readable(work: Work, stored: Any) -> bool:
    """files.storage asks: may the acting user read this approval attachment?"""
    field = stored.field_id or ""
    if not field.startswith(ATTACHED) or not field[len(ATTACHED) :].isdigit():
        return False
    instance = work.session.get(FlowInstance, int(field[len(ATTACHED) :]))
    return instance is not None and can_see(work, instance)


def _is_admin(work: Work) -> bool:
    return bool(work.actor is not None and work.actor.is_admin)


def _choices() -> str:
    return ", ".join(a.value for a in TaskAction)
