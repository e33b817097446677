"""V12 files: downloads are never sniffed or run, documents download as attachments,
file ids cannot walk the disk, and request sizes are bounded.

(Upload sniffing, size limit and ownership: tests/platform/files/test_uploads.py.)"""

from __future__ import annotations

from formflow.headers import DATA_POLICY
from tests.platform.files.test_uploads import PDF, png, upload


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
