"""Apps, forms and their published definition versions.

A version's definition is kept as the exact JSON text that was published (not JSONB, which
would reorder keys), so exporting it gives back the file it came from.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, Document, utcnow


class App(Base):
    """A named bundle of forms (and later flows, automations, dashboards)."""

    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    plugin: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Form(Base):
    __tablename__ = "forms"
    __table_args__ = (UniqueConstraint("app_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    current_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: A random token the database itself replaces (triggers, migration 0012) whenever a
    #: row of ``flows``, ``automations`` or ``form_grants`` naming this form is written:
    #: what a record write reads of those is cached by it (``definitions.attached``).
    setup_stamp: Mapped[str] = mapped_column(
        String(36), default=lambda: secrets.token_hex(8), server_default=""
    )


class FormVersion(Base):
    """One published definition of a form; versions are immutable once written."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[str] = mapped_column(Text)
    #: SHA-256 of ``definition``: compiled specs are cached by it.
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(500))


class FormDraft(Base):
    """A definition being edited in the form builder, not yet published.

    ``revision`` guards it: each save names the revision it started from, so a second admin
    editing the same draft gets a conflict instead of silently overwriting the first.
    """

    __tablename__ = "form_drafts"

    form_id: Mapped[int] = mapped_column(
        ForeignKey("forms.id", ondelete="CASCADE"), primary_key=True
    )
    definition: Mapped[str] = mapped_column(Text)
    base_version: Mapped[int]
    revision: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ConversionState(enum.StrEnum):
    """Where a background conversion is: ``pending`` (published, no worker has started),
    ``running``, ``finished``, or ``failed`` (a worker stopped on an error; running it again
    continues where it stopped)."""

    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


#: States in which records may still hold values of the older version.
UNFINISHED = (ConversionState.PENDING, ConversionState.RUNNING, ConversionState.FAILED)


class FormConversion(Base):
    """Stored values being brought from one version of a form to the next in the background.

    Made by a publish whose changes touch more records than the threshold; the publish has
    already checked every record, so this only carries the work out. ``last_record_id`` is
    the cursor: every record of the form up to it that needed converting has been converted,
    and it moves forward in the same transaction as the records it covers.
    """

    __tablename__ = "form_conversions"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"), index=True)
    from_version: Mapped[int]
    to_version: Mapped[int]
    #: The admin's fixes the publish was given (by field key), applied to every record.
    fixes: Mapped[dict[str, Any]] = mapped_column(Document)
    #: Records whose values change (counted by the publish's check), and how many are done.
    total: Mapped[int]
    done: Mapped[int] = mapped_column(default=0)
    #: Records that could not convert after all (changed under the old version while the
    #: publish was checking); their value is emptied and the old one kept in the history.
    failed: Mapped[int] = mapped_column(default=0)
    failures: Mapped[list[str]] = mapped_column(Document, default=list)
    last_record_id: Mapped[int] = mapped_column(BigId, default=0)
    state: Mapped[str] = mapped_column(String(16), default=ConversionState.PENDING.value)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
