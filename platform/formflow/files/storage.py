"""Saving uploads: size-limited, content-sniffed, stored under the instance folder.

A file's type is what its bytes say (magic numbers, via ``filetype``), not what the
browser claims; an upload whose content does not match its extension, or whose type no
field accepts, is refused before anything is stored.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import filetype

from ..errors import FieldError, NotFound, PayloadTooLarge, ValidationFailed
from ..fields.media import DOCUMENT_TYPES, IMAGE_TYPES
from ..runtime import Work
from .models import StoredFile

ALLOWED_TYPES = IMAGE_TYPES | DOCUMENT_TYPES
TEXT_TYPES = frozenset({"text/plain", "text/csv"})
CHUNK = 64 * 1024
#: Extensions whose bytes are a zip archive or an OLE container of a different name.
_SAME_CONTAINER = {
    "application/zip": {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    },
}


def _declared_type(name: str) -> str | None:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed


def _sniff(head: bytes, declared: str | None) -> str | None:
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if declared in TEXT_TYPES and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < len(head) - 4:  # a multi-byte char cut at the end is fine
                return None
        return declared
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") and declared in (
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
    ):
        return declared  # the OLE container of legacy Office files
    return None


def save_upload(work: Work, stream: BinaryIO, filename: str) -> StoredFile:
    """Store an uploaded file and describe it; refuse oversize or mismatched content."""
    name = os.path.basename(filename or "").strip()[:255] or "file"
    limit = work.config.max_upload_bytes
    folder = work.config.upload_path
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, prefix=".upload-") as out:
        temp = Path(out.name)
        try:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        [FieldError("file", f"is larger than {limit} bytes", "file_size")]
                    )
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        except BaseException:
            out.close()
            temp.unlink(missing_ok=True)
            raise
    try:
        content_type = _check_content(name, head, size)
        file_id = secrets.token_hex(16)
        target = path_of(work, file_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    stored = StoredFile(
        id=file_id,
        name=name,
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
        uploaded_by=work.actor_id,
        created_at=work.now,
    )
    work.session.add(stored)
    work.session.flush()
    return stored


def _check_content(name: str, head: bytes, size: int) -> str:
    if size == 0:
        raise ValidationFailed([FieldError("file", "is empty", "file_empty")])
    declared = _declared_type(name)
    sniffed = _sniff(head, declared)
    if sniffed is None or sniffed not in ALLOWED_TYPES:
        raise ValidationFailed(
            [FieldError("file", "is not a supported type (images, PDF, Office, text)", "file_type")]
        )
    if (
        declared is not None
        and declared != sniffed
        and declared not in _SAME_CONTAINER.get(sniffed, ())
    ):
        raise ValidationFailed(
            [
                FieldError(
                    "file",
                    f"content is {sniffed}, which does not match its name '{name}'",
                    "file_mismatch",
                )
            ]
        )
    return declared if declared in _SAME_CONTAINER.get(sniffed, ()) else sniffed


def path_of(work: Work, file_id: str) -> Path:
    return work.config.upload_path / file_id[:2] / file_id


def get_file(work: Work, file_id: str) -> StoredFile:
    stored = work.session.get(StoredFile, file_id) if len(file_id) == 32 else None
    if stored is None:
        raise NotFound(f"no file {file_id}")
    return stored


#: Other parts of the engine that let people read files they hold (an approval's comment
#: attachments): ``reader(work, stored) -> bool``. Registered, never imported from here.
_READERS: list[Callable[[Work, StoredFile], bool]] = []


def also_readable(reader: Callable[[Work, StoredFile], bool]) -> None:
    if reader not in _READERS:
        _READERS.append(reader)


def readable_file(work: Work, file_id: str) -> StoredFile:
    """A file the acting user may read: their own upload not yet attached, or a file of a
    record they may see, in a field they may see. Anything else is "not found"."""
    stored = get_file(work, file_id)
    if work.actor is None or work.actor.is_admin:
        return stored
    if stored.record_id is None:
        if stored.uploaded_by == work.actor_id or any(r(work, stored) for r in _READERS):
            return stored
        raise NotFound(f"no file {file_id}")
    from ..definitions.service import get_form_by_id
    from ..records.models import Record
    from ..records.service import hidden_fields, load

    record = work.session.get(Record, stored.record_id)
    if record is None:
        raise NotFound(f"no file {file_id}")
    loaded = get_form_by_id(work, record.form_id)
    load(work, loaded, record.id, deleted=record.deleted_at is not None)
    field = loaded.spec.by_id.get(stored.field_id or "")
    if field is None or field.key in hidden_fields(work, loaded, [record.id])[record.id]:
        raise NotFound(f"no file {file_id}")
    return stored
