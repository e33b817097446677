"""Uploaded files."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, utcnow


class StoredFile(Base):
    """A file on disk under ``instance/uploads``; ``id`` is a random token, never a path.

    A file is uploaded first (``record_id`` empty), then attached by the record write that
    names it; only its uploader may attach it.
    """

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    record_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("records.id", ondelete="SET NULL"), index=True
    )
    field_id: Mapped[str | None] = mapped_column(String(64))
