"""Files: upload (multipart) and download."""

from __future__ import annotations

from flask import Response, request, send_file

from ..errors import BadRequest, FieldError
from ..files import storage
from .blueprint import api, read, respond, write
from .representation import timestamp


@api.post("/files")
def upload_file() -> Response:
    upload = request.files.get("file")
    if upload is None:
        raise BadRequest(
            [FieldError("file", "send the file as multipart field 'file'", "required")]
        )
    with write() as work:
        stored = storage.save_upload(work, upload.stream, upload.filename or "file")
        payload = _file_json(stored)
    return respond(payload, 201)


@api.get("/files/<file_id>")
def download_file(file_id: str) -> Response:
    with read() as work:
        stored = storage.readable_file(work, file_id)
        path = storage.path_of(work, stored.id)
    return send_file(
        path,
        mimetype=stored.content_type,
        download_name=stored.name,
        as_attachment=not stored.content_type.startswith("image/"),
    )


@api.get("/files/<file_id>/meta")
def file_meta(file_id: str) -> Response:
    with read() as work:
        payload = _file_json(storage.readable_file(work, file_id))
    return respond(payload)


def _file_json(stored) -> dict:
    return {
        "id": stored.id,
        "name": stored.name,
        "content_type": stored.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "record": stored.record_id,
        "created_at": timestamp(stored.created_at),
    }
