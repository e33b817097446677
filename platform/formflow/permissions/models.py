"""Grants: one permission set of a form, for a role (or for every user)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Document, utcnow


class Action(enum.StrEnum):
    VIEW = "view"
    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"
    EXPORT = "export"
    #: Restore from the recycle bin, import, and see every field's full history.
    MANAGE = "manage"


class Scope(enum.StrEnum):
    #: Records the user owns (the form's owner field, or the submitter) or submitted.
    OWN = "own"
    #: Records whose department is one of the user's.
    DEPARTMENT = "department"
    #: Records of the user's departments and every department below them.
    SUBTREE = "subtree"
    ALL = "all"


class Access(enum.StrEnum):
    HIDDEN = "hidden"
    READ = "read"
    EDIT = "edit"


class FormGrant(Base):
    """A permission set, in the spirit of Jiandaoyun's 权限组: actions × rows × fields.

    ``role_id`` empty means every signed-in user. ``conditions`` narrow the rows further
    (``[{"field": "status", "op": "ne", "value": "draft"}]``, the record query language);
    ``fields`` maps field ids to hidden/read/edit (unlisted fields: edit when the grant may
    create or edit, else read). A user gets the union of the grants of all their roles.
    """

    __tablename__ = "form_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120), default="")
    actions: Mapped[list[str]] = mapped_column(Document)
    scope: Mapped[str] = mapped_column(String(16), default=Scope.OWN.value)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(Document, default=list)
    fields: Mapped[dict[str, str]] = mapped_column(Document, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
