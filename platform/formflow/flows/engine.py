"""Moving an instance through its flow: entering nodes, opening and closing approval nodes,
finishing.

The engine runs inside the unit of work of whatever moved the instance (a submit, an
approver's action) and leaves the instance where people are needed next: at approval nodes
with pending tasks (``position["active"]``), or finished. Every step is an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from ..definitions.service import LoadedForm, get_form, get_form_by_id
from ..errors import Conflict
from ..expressions import ExpressionError
from ..expressions.expression import compile_expression
from ..records import service as records
from ..runtime import Work
from . import approvers
from .definition import parse_duration
from .models import (
    OPEN_TASKS,
    FlowEvent,
    FlowInstance,
    FlowTask,
    InstanceState,
    TaskState,
)
from .service import FlowSpec

#: Seq spacing between the approvers of a ``sequence`` node (room for added approvers).
STEP = 10
#: Told when an instance finishes, in its unit of work: (work, instance, flow name, state).
#: Automations listen here (``flow_finished`` triggers).
FINISHED_LISTENERS: list[Callable[[Work, FlowInstance, str, InstanceState], None]] = []
#: Nodes one movement may pass through before the engine calls it a loop.
MAX_STEPS = 500


class Movement:
    """One movement of an instance: what it reads once and what it may change."""

    def __init__(self, work: Work, instance: FlowInstance, flow: FlowSpec) -> None:
        self.work = work
        self.instance = instance
        self.flow = flow
        self.loaded: LoadedForm = get_form_by_id(work, instance.form_id)
        self.steps = 0
        self._values: dict[str, Any] | None = None

    # -- the record ----------------------------------------------------------------------

    @property
    def values(self) -> dict[str, Any]:
        if self._values is None:
            record = records.get(self.work, self.instance.record_id)
            self._values = dict(records.values_of(self.loaded, record))
        return self._values

    def record_changed(self) -> None:
        self._values = None

    # -- position --------------------------------------------------------------------------

    def _position(self) -> dict[str, Any]:
        position = dict(self.instance.position or {})
        position.setdefault("active", [])
        position.setdefault("arrived", {})
        return position

    def _save(self, position: dict[str, Any]) -> None:
        self.instance.position = position

    def activate(self, node_id: str) -> None:
        position = self._position()
        if node_id not in position["active"]:
            position["active"] = [*position["active"], node_id]
        self._save(position)

    def deactivate(self, node_id: str) -> None:
        position = self._position()
        position["active"] = [n for n in position["active"] if n != node_id]
        self._save(position)

    def event(self, action: str, node_id: str | None = None, **details: Any) -> None:
        comment = details.pop("comment", None)
        task_id = details.pop("task_id", None)
        actor = details.pop("actor", self.work.actor_id)
        self.work.session.add(
            FlowEvent(
                instance_id=self.instance.id,
                task_id=task_id,
                node_id=node_id,
                actor_id=actor,
                action=action,
                comment=comment,
                details={k: v for k, v in details.items() if v is not None},
                at=self.work.now,
            )
        )

    @property
    def finished(self) -> bool:
        return self.instance.state != InstanceState.RUNNING

    # -- nodes -----------------------------------------------------------------------------

    def enter(self, node_id: str) -> None:
        """Go to ``node_id`` and on as far as nobody is needed."""
        if self.finished:
            return
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Conflict(f"flow '{self.flow.name}' loops without stopping at node '{node_id}'")
        node = self.flow.nodes[node_id]
        kind = node["type"]
        if kind == "start":
            self.enter(node["next"])
        elif kind == "end":
            self.finish(InstanceState(node.get("result", "approved")), node_id)
        elif kind == "branch":
            self.enter(self._branch(node))
        elif kind == "parallel":
            position = self._position()
            position["arrived"] = {**position["arrived"], node["join"]: 0}
            self._save(position)
            for target in node["branches"]:
                self.enter(target)
        elif kind == "join":
            position = self._position()
            arrived = position["arrived"].get(node_id, 0) + 1
            needed = len(self.flow.parallel_of(node_id)["branches"])
            position["arrived"] = {**position["arrived"], node_id: arrived}
            self._save(position)
            if arrived >= needed:
                self.event("joined", node_id)
                self.enter(node["next"])
        elif kind == "cc":
            self._copy(node)
            self.enter(node["next"])
        elif kind == "action":
            self._act(node)
            self.enter(node["next"])
        elif kind == "approval":
            self._open(node)

    def _branch(self, node: dict[str, Any]) -> str:
        for index, branch in enumerate(node["branches"]):
            try:
                taken = compile_expression(branch["when"]).evaluate(
                    self.values, records.eval_context(self.work, self.loaded.spec)
                )
            except ExpressionError as error:
                # A condition that cannot be evaluated on this record is not taken; the
                # history says why, so the admin can fix the flow.
                self.event("condition_failed", node["id"], branch=index, error=str(error))
                continue
            if taken is True:
                self.event("branched", node["id"], branch=index, to=branch["next"])
                return branch["next"]
        self.event("branched", node["id"], branch="else", to=node["else"])
        return node["else"]

    def _copy(self, node: dict[str, Any]) -> None:
        people = approvers.resolve(
            self.work, node.get("to", []), self.instance.initiator_id, self.values
        )
        for person in people:
            self.work.session.add(self._task(node, person, TaskState.CC, 0, 1))
        self.event("copied", node["id"], people=people)

    def _act(self, node: dict[str, Any]) -> None:
        context = records.eval_context(self.work, self.loaded.spec)
        changes: dict[str, Any] = {}
        if node.get("set"):
            data = {
                key: compile_expression(source).evaluate(self.values, context)
                for key, source in node["set"].items()
            }
            _, changes = records.change_as_step(
                self.work, self.loaded, self.instance.record_id, data, None
            )
            self.record_changed()
        created = []
        for spec in node.get("create", []):
            target = get_form(self.work, spec["form"])
            data = {
                key: compile_expression(source).evaluate(self.values, context)
                for key, source in spec.get("values", {}).items()
            }
            created.append(
                {"form": spec["form"], "id": records.create_as_step(self.work, target, data).id}
            )
        self.event("acted", node["id"], changes=changes or None, created=created or None)

    # -- approval nodes --------------------------------------------------------------------

    def _open(self, node: dict[str, Any]) -> None:
        people = approvers.resolve(
            self.work, node["approvers"], self.instance.initiator_id, self.values
        )
        if not people:
            fallback = node.get("fallback", "admin")
            self.event("no_approver", node["id"], fallback=fallback)
            if fallback == "skip":
                self.enter(node["next"])
                return
            people = approvers.admins(self.work)
            if not people:
                self.enter(node["next"])
                return
        rule = node.get("auto_approve", {})
        auto = set()
        if rule.get("initiator"):
            auto |= {p for p in people if p == self.instance.initiator_id}
        if rule.get("repeated"):
            auto |= set(people) & self._approved_before()
        mode = node.get("mode", "any")
        if auto and (mode == "any" or not set(people) - auto):
            for person in people:
                if person in auto:
                    self.event("auto_approved", node["id"], actor=person)
            self.enter(node["next"])
            return
        for person in auto:
            self.event("auto_approved", node["id"], actor=person)
        people = [p for p in people if p not in auto]
        round_ = self._round(node["id"])
        for index, person in enumerate(people):
            queued = mode == "sequence" and index > 0
            seq = index * STEP if mode == "sequence" else 0
            state = TaskState.QUEUED if queued else TaskState.PENDING
            self.work.session.add(self._task(node, person, state, seq, round_))
        self.activate(node["id"])
        self.event("assigned", node["id"], people=people, mode=mode)

    def _approved_before(self) -> set[int]:
        return set(
            self.work.session.scalars(
                select(FlowTask.assignee_id).where(
                    FlowTask.instance_id == self.instance.id,
                    FlowTask.state == TaskState.APPROVED.value,
                )
            )
        )

    def _round(self, node_id: str) -> int:
        self.work.session.flush()
        last = self.work.session.scalar(
            select(func.max(FlowTask.round)).where(
                FlowTask.instance_id == self.instance.id, FlowTask.node_id == node_id
            )
        )
        return (last or 0) + 1

    def _task(
        self, node: dict[str, Any], person: int, state: TaskState, seq: int, round_: int
    ) -> FlowTask:
        now = self.work.now
        timeout = node.get("timeout", {})

        def due(key: str) -> Any:
            return now + parse_duration(timeout[key]) if key in timeout else None

        pending = state == TaskState.PENDING
        return FlowTask(
            instance_id=self.instance.id,
            node_id=node["id"],
            round=round_,
            assignee_id=person,
            state=state.value,
            seq=seq,
            created_at=now,
            remind_at=due("remind_after") if pending else None,
            escalate_at=due("escalate_after") if pending else None,
            auto_at=due("auto_after") if pending else None,
        )

    def node_tasks(self, node_id: str) -> list[FlowTask]:
        """The tasks of the node's latest round."""
        self.work.session.flush()
        round_ = self.work.session.scalar(
            select(func.max(FlowTask.round)).where(
                FlowTask.instance_id == self.instance.id, FlowTask.node_id == node_id
            )
        )
        return list(
            self.work.session.scalars(
                select(FlowTask)
                .where(
                    FlowTask.instance_id == self.instance.id,
                    FlowTask.node_id == node_id,
                    FlowTask.round == round_,
                )
                .order_by(FlowTask.seq, FlowTask.id)
            )
        )

    def decided(self, task: FlowTask) -> None:
        """``task`` was approved: close its group as the node's mode says, start the next
        group, or leave the node when nobody is left."""
        node = self.flow.nodes[task.node_id]
        tasks = self.node_tasks(task.node_id)
        group = [t for t in tasks if t.seq == task.seq and t.state == TaskState.PENDING]
        if node.get("mode", "any") == "any":
            for other in group:
                self.cancel(other)
        elif group:
            return  # countersign: the others of this group still decide
        queued = [t for t in tasks if t.state == TaskState.QUEUED]
        if queued:
            first = min(t.seq for t in queued)
            for waiting in queued:
                if waiting.seq == first:
                    self._wake(waiting, node)
            return
        self.deactivate(task.node_id)
        self.enter(node["next"])

    def _wake(self, task: FlowTask, node: dict[str, Any]) -> None:
        fresh = self._task(node, task.assignee_id, TaskState.PENDING, task.seq, task.round)
        task.state = TaskState.PENDING.value
        task.remind_at, task.escalate_at, task.auto_at = (
            fresh.remind_at,
            fresh.escalate_at,
            fresh.auto_at,
        )
        self.event("assigned", task.node_id, people=[task.assignee_id], task_id=task.id)

    def cancel(self, task: FlowTask) -> None:
        task.state = TaskState.CANCELLED.value
        task.acted_at = self.work.now

    def cancel_open(self) -> None:
        self.work.session.flush()
        self.work.session.execute(
            update(FlowTask)
            .where(FlowTask.instance_id == self.instance.id, FlowTask.state.in_(OPEN_TASKS))
            .values(state=TaskState.CANCELLED.value, acted_at=self.work.now)
            .execution_options(synchronize_session="fetch")
        )
        position = self._position()
        position["active"] = []
        position["arrived"] = {}
        self._save(position)

    def finish(self, state: InstanceState, node_id: str | None = None) -> None:
        self.cancel_open()
        self.instance.state = state.value
        self.instance.finished_at = self.work.now
        self.event("finished", node_id, result=state.value)
        for listener in FINISHED_LISTENERS:
            listener(self.work, self.instance, self.flow.name, state)
