"""The export download and the import pages (upload → map → check → import), signed in."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from formflow.definitions.service import get_form
from formflow.people import service as people
from formflow.records import service as records
from tests.conftest import grant, snapshot
from tests.platform.records.test_transfer import build_world, visit

PASSWORD = "a good passphrase"


@pytest.fixture
def world(runtime, make_app):
    return build_world(runtime, make_app, password=PASSWORD)


@pytest.fixture
def client(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def sign_in(client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def count(runtime, form: str = "demo.visit") -> int:
    with runtime.read() as work:
        return records.count(work, get_form(work, form).form.id)


def test_exports_download_the_filtered_list_as_csv_and_xlsx(runtime, world, client):
    visit(runtime, world.admin, subject="a won", stage="won", amount="10")
    visit(runtime, world.admin, subject="b won", stage="won", amount="20")
    visit(runtime, world.admin, subject="c open", stage="open", amount="30")
    sign_in(client, "boss")
    # Two filters (repeated parameters), as the list page's filter form sends them.
    query = "ff=stage&fo=eq&fv=won&ff=amount&fo=gte&fv=15&sort=-subject"
    response = client.get(f"/f/demo.visit/export?{query}&format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = unquote(response.headers["Content-Disposition"])
    assert "拜访记录-2026-03-16.csv" in disposition
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    header, *rows = csv.reader(io.StringIO(body.decode("utf-8-sig")))
    assert header[:3] == ["ID", "主题", "备注"]  # the reader's language
    assert [r[1] for r in rows] == ["b won"]
    book = client.get(f"/f/demo.visit/export?{query}&format=xlsx")
    assert book.status_code == 200 and "拜访记录-2026-03-16.xlsx" in unquote(
        book.headers["Content-Disposition"]
    )
    sheet = load_workbook(io.BytesIO(book.get_data())).active
    assert [c.value for c in sheet[2]][1] == "b won" and sheet.max_row == 2
    bad = client.get("/f/demo.visit/export?ff=nope&fo=eq&fv=1&format=csv")
    assert bad.status_code == 302 and "/f/demo.visit/?ff=nope" in bad.headers["Location"]


def test_export_and_import_need_their_permissions(runtime, world, client):
    with runtime.write() as work:
        role = people.ensure_role(work, "rep", "Rep")
        people.set_roles(work, world.alice.id, [role.id])
    grant(runtime, "demo.visit", {"role": "rep", "actions": ["view", "create"], "scope": "all"})
    sign_in(client, "alice")
    assert client.get("/f/demo.visit/export?format=csv").status_code == 403
    assert client.get("/f/demo.visit/import").status_code == 403  # importing is managing
    upload = {"file": (io.BytesIO(b"Subject\nx\n"), "a.csv")}
    assert client.post("/f/demo.visit/import", data=upload).status_code == 403
    assert count(runtime) == 0


FILE = (
    "主题,金额,销售,备注\n"
    "first,1,Alice Wang,=1+1\n"
    "second,abc,Zhang Wei,\n"
    "first,3,bob,\n"
    "third,4,bob,\n"
)


def mapping_of(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(col-\d+)">.*?<option value="(\w+)" selected', page, re.S))


def row_html(page: str, number: int) -> str:
    match = re.search(rf'<tr data-row="{number}">(.*?)</tr>', page, re.S)
    assert match, f"row {number} is not in the preview"
    return match.group(1)


def test_import_maps_columns_checks_rows_then_imports_the_valid_ones(runtime, world, client):
    sign_in(client, "boss")
    client.post("/language", data={"language": "en", "next": "/"})
    assert "<form" in client.get("/f/demo.visit/import").get_data(as_text=True)
    uploaded = client.post(
        "/f/demo.visit/import", data={"file": (io.BytesIO(FILE.encode()), "visits.csv")}
    )
    assert uploaded.status_code == 302
    target = uploaded.headers["Location"]
    token = target.rsplit("/", 1)[1]
    page = client.get(target).get_data(as_text=True)
    chosen = mapping_of(page)
    assert chosen == {"col-0": "subject", "col-1": "amount", "col-2": "rep", "col-3": "notes"}
    before = snapshot(runtime)
    checked = client.post(target, data={**chosen, "action": "check"})
    assert checked.status_code == 200
    page = checked.get_data(as_text=True)
    assert "Checked 4 rows: 2 can be imported, 2 have problems. Nothing was saved." in page
    assert "OK" in row_html(page, 2)
    third = row_html(page, 3)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", third, re.S)
    assert "must be a number" in cells[3]  # beside the amount
    assert "2 users are named “Zhang Wei”" in cells[4]
    assert "already used by another record" in row_html(page, 4)
    assert snapshot(runtime) == before
    refused = client.post(target, data={**chosen, "action": "import", "mode": "all"})
    assert refused.status_code == 422
    assert "Nothing was imported: 2 of 4 rows have problems." in refused.get_data(as_text=True)
    assert snapshot(runtime) == before
    done = client.post(target, data={**chosen, "action": "import", "mode": "valid"})
    assert done.status_code == 200
    page = done.get_data(as_text=True)
    assert "Imported 2 of 4 rows" in page and 'data-row="3"' in page and 'data-row="2"' not in page
    assert count(runtime) == 2
    imports = runtime.config.instance_path / "imports"
    assert not any(p.name.startswith(token) for p in imports.iterdir())  # deleted after commit
    gone = client.get(target)
    assert gone.status_code == 302 and gone.headers["Location"].endswith("/f/demo.visit/import")


def test_a_clean_file_imports_in_one_go_and_a_column_mapped_twice_is_refused(
    runtime, world, client
):
    sign_in(client, "boss")
    client.post("/language", data={"language": "en", "next": "/"})
    content = b"Subject,Subject,Amount\nx,y,1\n"
    target = client.post(
        "/f/demo.visit/import", data={"file": (io.BytesIO(content), "a.csv")}
    ).headers["Location"]
    twice = client.post(target, data={"col-0": "subject", "col-1": "subject", "action": "check"})
    assert twice.status_code == 422
    assert "is chosen for more than one column (A, B)" in twice.get_data(as_text=True)
    imported = client.post(target, data={"col-0": "subject", "col-2": "amount", "action": "import"})
    assert imported.status_code == 302 and imported.headers["Location"].endswith("/f/demo.visit/")
    assert count(runtime) == 1


def test_a_damaged_workbook_is_refused_with_a_message(runtime, world, client):
    sign_in(client, "boss")
    client.post("/language", data={"language": "en", "next": "/"})
    before = snapshot(runtime)
    refused = client.post(
        "/f/demo.visit/import", data={"file": (io.BytesIO(b"PK\x03\x04 damaged"), "book.xlsx")}
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "The file could not be read: it is not a valid Excel workbook (.xlsx)." in page
    assert "Nothing was stored." in page
    assert list((runtime.config.instance_path / "imports").iterdir()) == []
    assert snapshot(runtime) == before
