"""Approval pages: the inbox (my tasks, handled, copied to me, started by me), a task with
the record as its step shows it and one-tap decisions, an approval's diagram and history,
and the initiator's withdraw, urge and resubmit.

Views parse input, call one service (flows.actions, flows.inbox) and render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..definitions.service import LoadedForm, get_form_by_id
from ..errors import FormflowError
from ..flows import actions, inbox
from ..flows import service as flows
from ..flows.models import Flow, FlowEvent, FlowTask, InstanceState, TaskState
from ..permissions.models import Access
from ..records import service as records
from ..records.display import WorkDisplay
from ..records.prepare import from_document
from ..runtime import Work
from . import record_form
from .i18n import N_, error_text, language
from .records import _options, _shown_value, _title
from .session import current_user, login_required, read, write

bp = Blueprint("approvals", __name__, url_prefix="/approvals")

BOXES = ("pending", "handled", "cc", "started")
#: Items of a box shown a page at a time.
INBOX_PAGE = 30

#: Task and approval states as people read them.
STATE_WORDS = {
    "pending": N_("waiting"),
    "queued": N_("queued"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "returned": N_("returned"),
    "transferred": N_("transferred"),
    "cancelled": N_("not needed"),
    "cc": N_("copy"),
    "running": N_("in approval"),
    "withdrawn": N_("withdrawn"),
}


@bp.app_template_global()
def state_word(state: str) -> str:
    return _(STATE_WORDS[state]) if state in STATE_WORDS else state


# -- the inbox -------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> str:
    box = request.args.get("box", "pending")
    if box not in BOXES:
        abort(404)
    before = request.args.get("before", type=int)
    with read() as work:
        display = WorkDisplay(work, language())
        if box == "started":
            items = [
                _started_item(work, display, instance, name)
                for instance, name in inbox.started(work, before=before, limit=INBOX_PAGE)
            ]
        else:
            items = [
                _task_item(work, display, item)
                for item in inbox.tasks(
                    work,
                    inbox.Box(box),
                    form=request.args.get("form"),
                    before=before,
                    limit=INBOX_PAGE,
                )
            ]
        counts = inbox.counts(work)
    more = items[-1]["cursor"] if len(items) == INBOX_PAGE else None
    return render_template("approvals/inbox.html", box=box, items=items, counts=counts, more=more)


def _task_item(work: Work, display: WorkDisplay, item: inbox.TaskItem) -> dict[str, Any]:
    loaded = get_form_by_id(work, item.instance.form_id)
    return {
        "url": url_for("approvals.task", task_id=item.task.id),
        "cursor": item.task.id,
        "flow": item.flow_title,
        "record": _record_title(work, loaded, item.instance.record_id, display),
        "form": loaded.spec.title(language()),
        "step": _node_title(work, item.instance, item.task.node_id),
        "initiator": display.user_name(item.instance.initiator_id)
        if item.instance.initiator_id
        else "",
        "at": item.task.acted_at or item.task.created_at,
        "state": item.task.state,
        "instance_state": item.instance.state,
        "zone": loaded.spec.timezone,
    }


def _started_item(work: Work, display: WorkDisplay, instance: Any, name: str) -> dict[str, Any]:
    loaded = get_form_by_id(work, instance.form_id)
    return {
        "url": url_for("approvals.instance", instance_id=instance.id),
        "cursor": instance.id,
        "flow": flows.get_flow(work, name).title,
        "record": _record_title(work, loaded, instance.record_id, display),
        "form": loaded.spec.title(language()),
        "step": ", ".join(
            _node_title(work, instance, n) for n in (instance.position or {}).get("active", [])
        ),
        "initiator": "",
        "at": instance.finished_at or instance.started_at,
        "state": instance.state,
        "instance_state": instance.state,
        "zone": loaded.spec.timezone,
    }


def _record_title(work: Work, loaded: LoadedForm, record_id: int, display: WorkDisplay) -> str:
    record = records.get(work, record_id)
    return _title(loaded.spec, record.data, display) or f"#{record_id}"


def _node_title(work: Work, instance: Any, node_id: str) -> str:
    flow = work.session.get(Flow, instance.flow_id)
    node = flows.spec(work, flow, instance.version).nodes.get(node_id, {})
    return node_label(node)


def node_label(node: dict[str, Any]) -> str:
    title = node.get("title")
    if isinstance(title, dict):
        lang = language()
        return title.get(lang) or title.get("en") or next(iter(title.values()), node.get("id"))
    return title or node.get("id", "")


@bp.post("/batch")
@login_required
def batch() -> Any:
    """Approve the ticked tasks of the inbox, each on its own."""
    ids = [int(i) for i in request.form.getlist("task") if i.isdigit()]
    if not ids:
        flash(_("Tick the tasks to approve first."))
        return redirect(url_for("approvals.index"))
    from .session import runtime

    refused = actions.approve_many(
        runtime(), current_user(), ids, request.form.get("comment", "").strip() or None
    )
    approved = len(set(ids)) - len(refused)
    flash(_("Approved %(n)s.", n=approved))
    for task_id, errors in refused.items():
        flash(_("#%(id)s was not approved: %(why)s", id=task_id, why=error_text(errors[0])))
    return redirect(url_for("approvals.index"))


# -- one task ----------------------------------------------------------------------------------


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int) -> Any:
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "")
        outcome = _act(task_id, action)
        if outcome is None:
            return redirect(url_for("approvals.index"))
        errors, status = outcome
    with read() as work:
        found = work.session.get(FlowTask, task_id)
        if found is None or found.assignee_id != work.actor_id:
            abort(404)
        page = _instance_page(work, found.instance_id)
        node = page.flow_spec.nodes[found.node_id]
        editable = {k for k, v in node.get("fields", {}).items() if v == "editable"}
        open_ = found.state == TaskState.PENDING and page.instance.state == InstanceState.RUNNING
        ctx = record_form.RenderContext(
            access={
                f.path: (Access.EDIT if f.key in editable else Access.READ)
                for f in page.loaded.spec.fields
            },
            language=language(),
        )
        ctx.options = _options(
            work, page.loaded, record_form.editable_fields(page.loaded.spec, ctx), page.values
        )
        wtform = (
            record_form.build(page.loaded.spec, ctx, formdata=request.form)
            if request.method == "POST"
            else record_form.build(page.loaded.spec, ctx, values=page.values)
        )
        earlier = _earlier_steps(page, found.node_id)
    return (
        render_template(
            "approvals/task.html",
            page=page,
            task=found,
            node=node,
            step=node_label(node),
            open=open_,
            form=wtform,
            ctx=ctx,
            editable=[f for f in page.loaded.spec.fields if f.key in editable and f.stores],
            errors=errors,
            earlier=earlier,
        ),
        status,
    )


def _uploads() -> list[str]:
    """The files posted with a comment, stored first in a transaction of their own (if the
    action is then refused, they stay the uploader's and nothing else changes)."""
    from ..files import storage

    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        return []
    with write() as work:
        return [storage.save_upload(work, f.stream, f.filename).id for f in files]


def _act(task_id: int, action: str) -> tuple[dict[str, list[str]], int] | None:
    """Carry out the action posted on the task page; None when done, else the errors."""
    comment = request.form.get("comment", "").strip() or None
    try:
        files = _uploads()
        with write() as work:
            found = work.session.get(FlowTask, task_id)
            data = None
            if found is not None and action == "approve":
                data = _posted_edits(work, found)
            actions.act(
                work,
                task_id,
                action,
                comment=comment,
                data=data or None,
                to=request.form.get("to") or None,
                user=request.form.get("user") or None,
                position=request.form.get("position") or "after",
                files=files or None,
            )
    except FormflowError as error:
        errors: dict[str, list[str]] = {}
        for problem in error.errors:
            errors.setdefault(problem.field or "", []).append(error_text(problem))
        return errors, error.status
    flash(
        {
            "approve": _("Approved."),
            "reject": _("Rejected."),
            "return": _("Returned."),
            "transfer": _("Transferred."),
            "add_approver": _("Approver added."),
            "comment": _("Comment added."),
        }.get(action, _("Done."))
    )
    return None


def _posted_edits(work: Work, found: FlowTask) -> dict[str, Any]:
    from ..flows.models import FlowInstance

    instance = work.session.get(FlowInstance, found.instance_id)
    flow = work.session.get(Flow, instance.flow_id)
    node = flows.spec(work, flow, instance.version).nodes[found.node_id]
    editable = {k for k, v in node.get("fields", {}).items() if v == "editable"}
    if not editable:
        return {}
    loaded = get_form_by_id(work, instance.form_id)
    ctx = record_form.RenderContext(
        access={
            f.path: (Access.EDIT if f.key in editable else Access.READ) for f in loaded.spec.fields
        },
        language=language(),
    )
    raw = record_form.submitted(
        loaded.spec, record_form.build(loaded.spec, ctx, formdata=request.form), ctx
    )
    current = records.values_of(loaded, records.get(work, instance.record_id))
    shown = record_form.initial(loaded.spec, dict(current), ctx)
    # Only what the approver changed: an untouched (or unposted) field is not an edit.
    return {
        key: value
        for key, value in raw.items()
        if _posted(key) and str(value if value is not None else "") != str(shown.get(key) or "")
    }


def _posted(key: str) -> bool:
    """Whether the page posted an input for field ``key`` (its rows or parts included)."""
    return any(name == key or name.startswith((f"{key}-", f"{key}_")) for name in request.form)


def _earlier_steps(page: InstancePage, node_id: str) -> list[tuple[str, str]]:
    """Approval steps an approver may return the record to (decided before this one)."""
    decided = {
        t.node_id for t in page.tasks if t.state == TaskState.APPROVED and t.node_id != node_id
    }
    return [
        (n["id"], node_label(n))
        for n in page.flow_spec.nodes.values()
        if n["id"] in decided and n["type"] == "approval"
    ]


# -- one approval ------------------------------------------------------------------------------


@dataclass
class Step:
    id: str
    kind: str
    title: str
    state: str  # done, active, waiting, passed
    people: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class InstancePage:
    instance: Any
    flow: Any
    flow_spec: flows.FlowSpec
    loaded: LoadedForm
    values: dict[str, Any]
    shown: list[tuple[Any, Any]]
    record_title: str
    tasks: list[FlowTask]
    history: list[dict[str, Any]]
    steps: list[Step]
    initiator: str
    can_withdraw: bool


def _instance_page(work: Work, instance_id: int) -> InstancePage:
    view = inbox.instance_view(work, instance_id)
    if view is None:
        abort(404)
    display = WorkDisplay(work, language())
    loaded = get_form_by_id(work, view.instance.form_id)
    record = records.get(work, view.instance.record_id)
    values = dict(from_document(loaded.spec, record.data))
    hidden = inbox.hidden_for_viewer(work, view)
    mine = [t for t in view.tasks if t.assignee_id == work.actor_id]
    if not mine and work.actor_id != view.instance.initiator_id:
        hidden |= records.hidden_fields(work, loaded, [record.id])[record.id]
    shown = [
        (f, _shown_value(f, values.get(f.key), display))
        for f in loaded.spec.fields
        if f.key not in hidden and f.stores
    ]
    flow_spec = flows.spec(work, view.flow, view.instance.version)
    names = _file_names(work, view.events)
    decided = any(e.action in actions.DECISIONS for e in view.events)
    return InstancePage(
        instance=view.instance,
        flow=view.flow,
        flow_spec=flow_spec,
        loaded=loaded,
        values=values,
        shown=shown,
        record_title=_title(loaded.spec, record.data, display) or f"#{record.id}",
        tasks=view.tasks,
        history=[_event(e, flow_spec, loaded, display, hidden, names) for e in view.events],
        steps=_steps(flow_spec, view.instance, view.tasks, view.events, display),
        initiator=display.user_name(view.instance.initiator_id)
        if view.instance.initiator_id
        else "",
        can_withdraw=(
            view.instance.initiator_id == work.actor_id
            and view.instance.state in (InstanceState.RUNNING, InstanceState.RETURNED)
            and not decided
        ),
    )


def _file_names(work: Work, events: list[FlowEvent]) -> dict[str, str]:
    from ..files.models import StoredFile

    ids = {f for e in events for f in (e.details or {}).get("files") or []}
    if not ids:
        return {}
    rows = work.session.execute(
        select(StoredFile.id, StoredFile.name).where(StoredFile.id.in_(ids))
    )
    return {file_id: name for file_id, name in rows}


def _steps(
    flow_spec: flows.FlowSpec,
    instance: Any,
    tasks: list[FlowTask],
    events: list[FlowEvent],
    display: WorkDisplay,
) -> list[Step]:
    """The flow as a vertical chart: every node, where the instance is, who did what."""
    active = set((instance.position or {}).get("active", []))
    reached = {e.node_id for e in events if e.node_id}
    taken = {e.node_id: e.details.get("branch") for e in events if e.action == "branched"}
    out = []
    for node in flow_spec.nodes.values():
        node_tasks = [t for t in tasks if t.node_id == node["id"]]
        if node["id"] in active:
            state = "active"
        elif node["id"] in reached or node_tasks:
            state = "done"
        else:
            state = "waiting"
        step = Step(node["id"], node["type"], node_label(node), state)
        for t in node_tasks:
            step.people.append(
                {
                    "name": display.user_name(t.assignee_id),
                    "state": t.state,
                    "at": t.acted_at,
                    "comment": t.comment,
                }
            )
        if node["type"] == "branch":
            for index, branch in enumerate(node["branches"]):
                mark = "✓ " if taken.get(node["id"]) == index else ""
                step.notes.append(
                    f"{mark}{branch.get('title') or branch['when']} → {branch['next']}"
                )
            mark = "✓ " if taken.get(node["id"]) == "else" else ""
            step.notes.append(f"{mark}{_('otherwise')} → {node['else']}")
        if node["type"] == "approval":
            step.notes.append(
                {
                    "any": _("any one approves"),
                    "all": _("everyone approves"),
                    "sequence": _("one after another"),
                }[node.get("mode", "any")]
            )
        out.append(step)
    return out


ACTION_WORDS = {
    "started": N_("submitted"),
    "assigned": N_("waiting for"),
    "approved": N_("approved"),
    "auto_approved": N_("approved automatically"),
    "rejected": N_("rejected"),
    "returned": N_("returned"),
    "resubmitted": N_("resubmitted"),
    "transferred": N_("transferred"),
    "approver_added": N_("added an approver"),
    "withdrawn": N_("withdrew"),
    "urged": N_("urged"),
    "commented": N_("commented"),
    "copied": N_("sent a copy to"),
    "branched": N_("took a branch"),
    "acted": N_("updated the record"),
    "joined": N_("joined"),
    "no_approver": N_("found nobody to approve"),
    "condition_failed": N_("could not evaluate a condition"),
    "finished": N_("finished"),
}


def _event(
    event: FlowEvent,
    flow_spec: flows.FlowSpec,
    loaded: LoadedForm,
    display: WorkDisplay,
    hidden: set[str],
    names: dict[str, str],
) -> dict[str, Any]:
    details = event.details or {}
    changes = []
    for key, change in (details.get("changes") or {}).items():
        f = loaded.spec.by_key.get(key) or loaded.spec.by_id.get(key)
        if f is None or f.key in hidden:
            continue
        before, after = change
        changes.append(
            {
                "label": f.label(language()),
                "before": display.show(f, before),
                "after": display.show(f, after),
            }
        )
    people = [display.user_name(p) for p in details.get("people", [])]
    files = [(f, names.get(f, f)) for f in details.get("files") or []]
    if details.get("to_user"):
        people.append(display.user_name(details["to_user"]))
    node = flow_spec.nodes.get(event.node_id or "", {})
    return {
        "event": event,
        "actor": display.user_name(event.actor_id) if event.actor_id else _("system"),
        "words": _(ACTION_WORDS[event.action]) if event.action in ACTION_WORDS else event.action,
        "step": node_label(node) if node else "",
        "people": people,
        "result": details.get("result"),
        "changes": changes,
        "files": files,
    }


@bp.get("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int) -> str:
    with read() as work:
        page = _instance_page(work, instance_id)
    return render_template("approvals/instance.html", page=page)


@bp.post("/instances/<int:instance_id>/<verb>")
@login_required
def initiator_action(instance_id: int, verb: str) -> Any:
    comment = request.form.get("comment", "").strip() or None
    try:
        attached = _uploads() if verb == "comment" else []
        with write() as work:
            if verb == "withdraw":
                actions.withdraw(work, instance_id, comment)
                flash(_("Withdrawn: the record is yours to change again."))
            elif verb == "urge":
                actions.urge(work, instance_id, comment)
                flash(_("The approvers were reminded."))
            elif verb == "resubmit":
                actions.resubmit(work, instance_id, comment=comment)
                flash(_("Resubmitted."))
            elif verb == "comment":
                actions.comment_on(work, instance_id, comment or "", files=attached)
                flash(_("Comment added."))
            else:
                abort(404)
    except FormflowError as error:
        if error.status in (403, 404):
            abort(error.status)
        with read() as work:
            page = _instance_page(work, instance_id)
        problems = [error_text(problem) for problem in error.errors]
        return render_template("approvals/instance.html", page=page, problems=problems), (
            error.status
        )
    return redirect(url_for("approvals.instance", instance_id=instance_id))


def pending_count() -> int | None:
    """The badge on every page: the signed-in user's pending tasks."""
    user = current_user()
    if user is None:
        return None
    with read() as work:
        return inbox.counts(work)["pending"]
