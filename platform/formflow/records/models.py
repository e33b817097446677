"""Records, their revisions, and serial-number counters.

``data`` is the source of truth: one JSON document per record, keyed by the fields' stable
ids (``x-id``), so renaming a field never rewrites a record and a removed field's value
stays where it was. Columns beside it (owner, department, timestamps) are what every form
has; per-field filters and sorts go through expression indexes made for each form
(``formflow.records.indexes``).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, Document, utcnow

LIVE = text("deleted_at IS NULL")


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_form_live", "form_id", "id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index(
            "ix_records_form_created",
            "form_id",
            "created_at",
            "id",
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index(
            "ix_records_form_updated",
            "form_id",
            "updated_at",
            "id",
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index(
            "ix_records_form_owner",
            "form_id",
            "owner_id",
            "id",
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index(
            "ix_records_form_department",
            "form_id",
            "department_id",
            "id",
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index(
            "ix_records_form_deleted",
            "form_id",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="RESTRICT"))
    data: Mapped[dict[str, Any]] = mapped_column(Document)
    form_version: Mapped[int]
    revision: Mapped[int] = mapped_column(default=1)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    department_id: Mapped[int | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[dt.datetime | None]
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


@dataclass(slots=True)
class RecordRow:
    """A record as a Core query or insert returned it: the same attributes as
    :class:`Record` without the ORM's bookkeeping (hydrating 50 ORM objects for a list page
    costs more than the query)."""

    id: int
    form_id: int
    data: dict[str, Any]
    form_version: int
    revision: int
    owner_id: int | None
    department_id: int | None
    created_by: int | None
    created_at: dt.datetime
    updated_by: int | None
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None
    deleted_by: int | None = None


RECORD_COLUMNS = tuple(f for f in RecordRow.__dataclass_fields__)


class RevisionAction(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RESTORE = "restore"
    CONVERT = "convert"


class Revision(Base):
    """One change to a record: who, when, and each field's value before and after.

    ``changes`` maps a field id to ``[before, after]`` in stored form; a create has
    ``before`` null for every field it set. The log is append-only.
    """

    __tablename__ = "record_revisions"
    __table_args__ = (UniqueConstraint("record_id", "revision"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(BigId, ForeignKey("records.id", ondelete="CASCADE"))
    revision: Mapped[int]
    action: Mapped[str] = mapped_column(String(16))
    form_version: Mapped[int]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changes: Mapped[dict[str, Any]] = mapped_column(Document)


class SerialCounter(Base):
    """The last number handed out for one serial field in one period (e.g. ``QT-202611-``).

    Incremented inside the transaction that inserts the record, so a rolled-back insert
    gives its number back: numbers are gap-free and, the row being locked by the
    increment, unique under concurrent inserts.
    """

    __tablename__ = "serial_counters"

    form_id: Mapped[int] = mapped_column(
        ForeignKey("forms.id", ondelete="CASCADE"), primary_key=True
    )
    field_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


COMMENT_LENGTH = 4000


class Comment(Base):
    """A remark on a record, by anyone who may see it."""

    __tablename__ = "record_comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("records.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(String(COMMENT_LENGTH))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
