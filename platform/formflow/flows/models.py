"""Approval flows as stored: a flow's versions, its running instances, their tasks and the
append-only history of everything that happened to an instance.

A flow belongs to one form. Its definition is versioned like a form's (the exact JSON text
that was published); an instance pins the version it started under, so publishing a new
version never changes a running instance.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, Document, utcnow


class Flow(Base):
    __tablename__ = "flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``app.flow``, unique.
    name: Mapped[str] = mapped_column(String(130), unique=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    #: ``submit``: starts when a record of the form is created; ``manual``: started by an
    #: automation or the API.
    trigger: Mapped[str] = mapped_column(String(16))
    current_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FlowVersion(Base):
    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class InstanceState(enum.StrEnum):
    RUNNING = "running"
    #: Sent back to the initiator: the record is theirs to edit, then to resubmit.
    RETURNED = "returned"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


FINISHED = frozenset({InstanceState.APPROVED, InstanceState.REJECTED, InstanceState.WITHDRAWN})


class FlowInstance(Base):
    """One record going through one version of a flow.

    ``revision`` moves on every change of the instance; every action updates the instance
    only at the revision it read, so of two actions racing, exactly one wins (the other is
    refused with a conflict and changes nothing).
    """

    __tablename__ = "flow_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("records.id", ondelete="CASCADE"), index=True
    )
    initiator_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default=InstanceState.RUNNING.value)
    revision: Mapped[int] = mapped_column(default=1)
    #: Where the instance stands: ``active`` node ids waiting on people, ``arrived`` join
    #: counts, ``resume`` (the node a return to the initiator continues from).
    position: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class TaskState(enum.StrEnum):
    PENDING = "pending"
    #: Waiting for its turn (a later approver of a ``sequence`` node, an added approver).
    QUEUED = "queued"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    TRANSFERRED = "transferred"
    #: No longer needed (another approver of an ``any`` node decided, the flow ended).
    CANCELLED = "cancelled"
    #: A carbon copy: nothing to decide.
    CC = "cc"


OPEN_TASKS = (TaskState.PENDING.value, TaskState.QUEUED.value)


class FlowTask(Base):
    """One person's part at one node: a decision to make, or a copy to read."""

    __tablename__ = "flow_tasks"
    __table_args__ = (
        Index("ix_flow_tasks_assignee_state", "assignee_id", "state", "id"),
        Index("ix_flow_tasks_instance_node", "instance_id", "node_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("flow_instances.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(64))
    #: The node's visit (a node entered again after a return is a new round).
    round: Mapped[int] = mapped_column(default=1)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    #: Tasks of a node are decided in ``seq`` order; equal ``seq`` decide together.
    seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acted_at: Mapped[dt.datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    #: When the node's timeout policy acts on this task (the jobs issue runs them).
    remind_at: Mapped[dt.datetime | None]
    escalate_at: Mapped[dt.datetime | None]
    auto_at: Mapped[dt.datetime | None]
    urged_at: Mapped[dt.datetime | None]


class FlowEvent(Base):
    """One thing that happened to an instance; never updated or deleted."""

    __tablename__ = "flow_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("flow_instances.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[int | None] = mapped_column(ForeignKey("flow_tasks.id", ondelete="SET NULL"))
    node_id: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    #: Field changes made with the action ({key: [before, after]}), people named by it
    #: (transfer, add approver, who was assigned) and files attached to a comment.
    details: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
