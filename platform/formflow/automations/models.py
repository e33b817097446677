"""Automations as stored: versions of their definitions, and their runs."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, Document, utcnow


class Automation(Base):
    __tablename__ = "automations"
    __table_args__ = (Index("ix_automations_form_event", "form_id", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``app.automation``, unique.
    name: Mapped[str] = mapped_column(String(130), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    #: The trigger's kind (``record_created``, ``schedule``…), copied from the current
    #: version so a record write finds the automations it fires with one indexed query.
    event: Mapped[str] = mapped_column(String(24))
    #: The form whose records (or flows) trigger it; None for a schedule.
    form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(default=True)
    current_version: Mapped[int] = mapped_column(default=0)
    #: Who saved the current version: actions run with what they may do, checked at save.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AutomationVersion(Base):
    __tablename__ = "automation_versions"
    __table_args__ = (UniqueConstraint("automation_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    automation_id: Mapped[int] = mapped_column(ForeignKey("automations.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RunState(enum.StrEnum):
    #: Created with what triggered it; its delivery is a reminder row.
    PENDING = "pending"
    #: An action failed; the run is tried again (whole: its actions are one transaction).
    RETRYING = "retrying"
    DONE = "done"
    #: Its condition was false when it ran, or its automation was disabled meanwhile.
    SKIPPED = "skipped"
    #: Failed on its last attempt; ``error`` says why. An admin may retry it.
    FAILED = "failed"
    #: Not run: automations triggered each other deeper than the limit.
    STOPPED = "stopped"


class AutomationRun(Base):
    """One firing of one version of an automation."""

    __tablename__ = "automation_runs"
    __table_args__ = (Index("ix_automation_runs_automation", "automation_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    automation_id: Mapped[int] = mapped_column(ForeignKey("automations.id", ondelete="CASCADE"))
    version: Mapped[int]
    #: What fired it: ``record_created``, ``record_updated``, ``schedule``…
    trigger: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[int | None] = mapped_column(BigId)
    #: What the trigger saw: the changes of an update, a flow's result, the due time.
    event: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    #: 0 for a run a person or a schedule caused; n for one an automation's action caused.
    depth: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(16), default=RunState.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    #: What each action did, in order: [{"action": 0, "type": …, "result": …}].
    log: Mapped[list[Any]] = mapped_column(Document, default=list)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    duration_ms: Mapped[int | None]
