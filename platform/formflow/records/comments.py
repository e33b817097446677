"""Comments on a record: anyone who may see the record may read and add them."""

from __future__ import annotations

from sqlalchemy import select

from ..definitions.service import LoadedForm
from ..errors import FieldError, ValidationFailed
from ..runtime import Work
from .models import COMMENT_LENGTH as MAX_LENGTH
from .models import Comment
from .service import load


def add(work: Work, loaded: LoadedForm, record_id: int, body: str) -> Comment:
    load(work, loaded, record_id)
    text = (body or "").strip()
    if not text:
        raise ValidationFailed([FieldError("body", "write something first", "required")])
    if len(text) > MAX_LENGTH:
        raise ValidationFailed(
            [
                FieldError(
                    "body",
                    f"must be at most {MAX_LENGTH} characters",
                    "maxLength",
                    {"limit": MAX_LENGTH},
                )
            ]
        )
    comment = Comment(record_id=record_id, author_id=work.actor_id, body=text, at=work.now)
    work.session.add(comment)
    work.session.flush()
    return comment


def of(work: Work, loaded: LoadedForm, record_id: int) -> list[Comment]:
    load(work, loaded, record_id)
    return list(
        work.session.scalars(
            select(Comment).where(Comment.record_id == record_id).order_by(Comment.id)
        )
    )
