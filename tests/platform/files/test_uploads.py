"""Uploads: sniffed, size-limited, attached only by their uploader, to fields that accept them."""

from __future__ import annotations

import io
import struct
import zlib

import pytest

from tests.conftest import EVERYONE_OWN, grant, make_person, snapshot


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(api, content: bytes, name: str):
    return api.post(
        "/files", data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


@pytest.fixture
def visit(api, make_app):
    make_app("crm")
    definition = {
        "title": "Visit",
        "type": "object",
        "properties": {
            "photo": {"x-field": "image", "type": "array", "maxItems": 3},
            "contract": {"x-field": "attachment", "type": "array", "x-accept": ["application/pdf"]},
        },
    }
    assert api.put("/forms/crm.visit", definition).status_code == 201
    return "/forms/crm.visit/records"


def test_upload_attach_and_download(api, visit, runtime):
    stored = upload(api, png(), "photo.png")
    assert stored.status_code == 201, stored.body
    assert stored.body["content_type"] == "image/png"
    created = api.post(visit, {"data": {"photo": [stored.body["id"]]}})
    assert created.status_code == 201, created.body
    meta = api.get(f"/files/{stored.body['id']}/meta").body
    assert meta["record"] == created.body["id"]
    download = api.get(f"/files/{stored.body['id']}")
    assert download.status_code == 200
    assert download.get_data() == png()
    # the record may name its own file again on update
    again = api.patch(
        f"{visit}/{created.body['id']}",
        {"revision": 1, "data": {"photo": [stored.body["id"]], "contract": []}},
    )
    assert again.status_code == 200, again.body


@pytest.mark.parametrize(
    ("content", "name", "status", "code"),
    [
        (png(), "photo.pdf", 422, "file_mismatch"),
        (PDF, "scan.png", 422, "file_mismatch"),
        (b"MZ\x90\x00" + b"\x00" * 100, "setup.exe", 422, "file_type"),
        (b"", "empty.png", 422, "file_empty"),
        (b"\x89PNG" + b"\x00" * (2 * 1024 * 1024 + 10), "huge.png", 413, "file_size"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    api, visit, runtime, content, name, status, code
):
    before = snapshot(runtime)
    response = upload(api, content, name)
    assert response.status_code == status, response.body
    assert response.body["errors"][0] == {
        "field": "file",
        "message": response.body["errors"][0]["message"],
        "code": code,
    }
    assert snapshot(runtime) == before
    uploads = runtime.config.upload_path
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


def test_a_field_accepts_only_its_types_and_only_your_own_files(api, visit, runtime):
    grant(runtime, "crm.visit", EVERYONE_OWN)
    stranger = make_person(runtime, "stranger")
    image = upload(api, png(), "a.png").body["id"]
    pdf = upload(api, PDF, "a.pdf").body["id"]
    before = snapshot(runtime)
    wrong_type = api.post(visit, {"data": {"contract": [image]}})
    assert wrong_type.status_code == 422
    assert wrong_type.body["errors"][0] == {
        "field": "contract",
        "message": "image/png files are not accepted here",
        "code": "file_type",
    }
    theirs = api.as_(stranger).post(visit, {"data": {"contract": [pdf]}})
    assert theirs.status_code == 422
    assert theirs.body["errors"][0]["code"] == "reference"
    unknown = api.post(visit, {"data": {"photo": ["0" * 32]}})
    assert unknown.status_code == 422
    assert snapshot(runtime) == before
    # nor may they read someone else's upload
    assert api.as_(stranger).get(f"/files/{pdf}").status_code == 404


def test_upload_needs_a_file_part(api):
    response = api.post("/files", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.body["errors"][0]["field"] == "file"
