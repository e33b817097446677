"""V12 files: downloads are never sniffed or run, documents download as attachments,
file ids cannot walk the disk, and request sizes are bounded.

(Upload sniffing, size limit and ownership: tests/platform/files/test_uploads.py.)"""

from __future__ import annotations

import io
import zipfile

import pytest

from formflow.errors import FormflowError
from formflow.headers import DATA_POLICY
from formflow.records import transfer
from tests.platform.files.test_uploads import PDF, png, upload
from tests.platform.records.test_transfer import build_world
from tests.platform.records.test_transfer import upload as import_upload


def test_an_inline_image_is_sandboxed_and_never_sniffed(api):
    stored = upload(api, png(), "photo.png").body
    response = api.get(f"/files/{stored['id']}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == DATA_POLICY
    assert "attachment" not in response.headers.get("Content-Disposition", "")


def test_a_document_downloads_as_an_attachment_under_its_own_name(api):
    stored = upload(api, PDF, "合同 final.pdf").body
    response = api.get(f"/files/{stored['id']}")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_uploaded_name_cannot_choose_where_it_is_stored(api, runtime):
    stored = upload(api, PDF, "../../../etc/evil.pdf").body
    assert stored["name"] == "evil.pdf"
    files = [p for p in runtime.config.upload_path.rglob("*") if p.is_file()]
    assert [p.name for p in files] == [stored["id"]]  # stored under a random id


def test_file_ids_cannot_walk_the_disk(api):
    for file_id in ("..%2F..%2Fformflow.db", "../formflow.db", "a" * 31 + "/", "%2e%2e"):
        assert api.get(f"/files/{file_id}").status_code == 404, file_id


def test_a_request_larger_than_the_limit_is_refused(api, runtime):
    body = b"x" * (runtime.config.max_request_bytes + 1)
    response = api.call(
        "POST", "/files", data=body, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 413


def test_scriptable_and_html_files_are_refused(api):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = b"<html><script>alert(1)</script></html>"
    for content, name in ((svg, "logo.svg"), (html, "page.html")):
        response = upload(api, content, name)
        assert response.status_code == 422, name
    # markup in a text file stays text: typed text/plain, downloaded, never sniffed
    stored = upload(api, html, "page.txt").body
    assert stored["content_type"] == "text/plain"
    response = api.get(f"/files/{stored['id']}")
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_workbook_that_unpacks_to_too_much_is_refused_before_it_is_read(
    runtime, make_app, monkeypatch
):
    """A zip bomb named .xlsx: the archive's unpacked size is checked before parsing."""
    world = build_world(runtime, make_app)
    monkeypatch.setattr(transfer, "MAX_UNPACKED_BYTES", 1024 * 1024)
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (2 * 1024 * 1024))
    assert len(packed.getvalue()) < 20 * 1024  # small on the wire
    with pytest.raises(FormflowError) as refused:
        import_upload(runtime, world.admin, "demo.visit", packed.getvalue(), "bomb.xlsx")
    assert "unpacks to too much" in refused.value.errors[0].message
    folder = runtime.config.instance_path / "imports"
    assert not folder.exists() or list(folder.iterdir()) == []
