"""Records in and out of spreadsheets: export a filtered list to CSV/XLSX, import CSV/XLSX.

**Export** writes exactly the list the reader sees — the same query, the same row scope
(rows they may both view and export), every page — with the fields hidden from them left
out: a field hidden by any of their view or export grants is not even a column. Values are
written as people read them; numbers, money, percentages and dates go into XLSX as real
numbers and dates so a spreadsheet can sum and sort them. Any text cell that a spreadsheet
could take for a formula gets a leading ``'`` (OWASP's advice on CSV injection).

**Import** takes three steps over an uploaded file kept in the instance folder (never in
the session): :func:`save_upload` reads the file once to check it, the person maps columns
to fields (:func:`suggest_mapping`, :func:`read_mapping`), and :func:`run_import` sends every
row through :func:`formflow.records.service.create` — the one write pipeline, with its
permissions, unique values (within the file too, since earlier rows are already inserted)
and reference checks. A check is a real run inside a savepoint that is rolled back; a
commit keeps all rows or none, or only the valid ones. Cells may hold what an export wrote:
option labels, people's and departments' names, linked records' titles, ``2026-03-31``,
Excel numbers and dates.

Subform fields are exported as one text column summarising their rows and are not
importable. These are plain functions over a unit of work, so the API can call them too.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import enum
import io
import json
import logging
import os
import re
import secrets
import time
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import or_, select

from ..definitions.service import LoadedForm, get_form
from ..definitions.spec import FieldSpec
from ..errors import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from ..fields import DisplayContext, FieldValueError
from ..fields.base import plain_number
from ..people.models import Department, User
from ..permissions.models import Access, Action
from ..permissions.policy import FormPolicy, policy_for
from ..runtime import Work
from . import service as records
from .listing import Listing, browse
from .prepare import from_document
from .query import MAX_LIMIT, Filter, Query

log = logging.getLogger(__name__)

#: Most rows one export writes; a longer list is refused with a message, never cut short.
EXPORT_ROW_LIMIT = 100_000
#: Most data rows one imported file may have.
IMPORT_ROW_LIMIT = 100_000
MAX_COLUMNS = 200
#: An XLSX is a zip: refuse one that would unpack to more than this (a "zip bomb").
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
#: Rows a report keeps for the preview: the first few, and every one with a problem.
PREVIEW_ROWS = 100
PREVIEW_PROBLEMS = 500
#: Uploads nobody finished importing are swept after this long.
UPLOAD_TTL_SECONDS = 24 * 60 * 60
#: Excel's limit on one cell's text.
XLSX_CELL_CHARS = 32_767

CHUNK = 64 * 1024
#: What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_SEPARATORS = re.compile(r"\s*[,，;；、\n]\s*")
_CURRENCY = re.compile(r"[¥￥$€£\s\u00a0]")
_DATE_TEXT = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def neutralise(text: str) -> str:
    """Text a spreadsheet will show as text: a leading ``'`` before a formula trigger."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _unneutralise(text: str) -> str:
    """Undo :func:`neutralise`, so an exported file imports back to the same text."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS) else text


def _file_error(message: str, code: str, **params: Any) -> BadRequest:
    return BadRequest([FieldError("file", message, code, params)])


def may_import(work: Work, loaded: LoadedForm) -> bool:
    """Importing is managing the form's data in bulk (MANAGE) by adding records (CREATE)."""
    policy = policy_for(work, loaded)
    return policy.allows(Action.MANAGE) and policy.allows(Action.CREATE)


def _require_import(work: Work, loaded: LoadedForm) -> None:
    if not may_import(work, loaded):
        raise Forbidden("you may not import records into this form")


# -- export --------------------------------------------------------------------------------------


class ColumnKind(enum.StrEnum):
    """How a column's values are written: XLSX keeps numbers and dates typed."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    PERCENT = "percent"
    DATE = "date"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: ColumnKind = ColumnKind.TEXT
    field: FieldSpec | None = None
    #: Excel's number format for NUMBER, INTEGER, DATE and DATETIME columns.
    number_format: str = "General"


#: Record id, owner and timestamps; the caller passes their labels in the reader's language.
SYSTEM_LABELS = {"_id": "ID", "_owner": "Owner", "_created_at": "Created", "_updated_at": "Updated"}
_CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


@dataclass
class Export:
    """An export ready to write: its columns and its rows (read while the work is open)."""

    columns: list[Column]
    rows: Iterator[list[Any]]
    title: str
    day: dt.date
    total: int

    def filename(self, extension: str) -> str:
        name = _UNSAFE_NAME.sub("_", self.title).strip(" ._")[:100] or "export"
        return f"{name}-{self.day.isoformat()}.{extension}"


def _money_format(scale: int, symbol: str) -> str:
    digits = "#,##0" + ("." + "0" * scale if scale else "")
    return f'"{symbol}"{digits}' if symbol else digits


def _field_column(f: FieldSpec, language: str) -> Column:
    label = f.label(language)
    name = f.type.name
    if name == "formula":
        result = f.type.result(f)  # type: ignore[attr-defined]
        scale = f.schema.get("x-scale")
        if result == "money":
            return Column(f.key, label, ColumnKind.NUMBER, f, _money_format(int(scale or 2), "¥"))
        if result == "percent":
            return Column(f.key, label, ColumnKind.PERCENT, f)
        if result == "number":
            return Column(f.key, label, ColumnKind.NUMBER, f, _precision_format(scale))
        if result == "date":
            return Column(f.key, label, ColumnKind.DATE, f, "yyyy-mm-dd")
        return Column(f.key, label, ColumnKind.TEXT, f)
    if name == "money":
        symbol = _CURRENCY_SYMBOLS.get(f.schema.get("x-currency", "CNY"), "")
        scale = f.type.scale(f)  # type: ignore[attr-defined]
        return Column(f.key, label, ColumnKind.NUMBER, f, _money_format(scale, symbol))
    if name == "percent":
        return Column(f.key, label, ColumnKind.PERCENT, f)
    if name == "number":
        precision = 0 if f.schema.get("type") == "integer" else f.schema.get("x-precision")
        return Column(f.key, label, ColumnKind.NUMBER, f, _precision_format(precision))
    if name == "rating":
        return Column(f.key, label, ColumnKind.INTEGER, f)
    if name == "date":
        return Column(f.key, label, ColumnKind.DATE, f, "yyyy-mm-dd")
    if name == "datetime":
        return Column(f.key, label, ColumnKind.DATETIME, f, "yyyy-mm-dd hh:mm")
    return Column(f.key, label, ColumnKind.TEXT, f)


def _precision_format(places: Any) -> str:
    if places is None:
        return "General"
    return "#,##0" + ("." + "0" * int(places) if int(places) else "")


def _absent_fields(policy: FormPolicy) -> set[str]:
    """Fields that are no column at all: hidden by any of the reader's view or export
    grants (a column shown to some rows only would still reveal what it holds)."""
    absent = set(policy.hidden_anywhere())
    if not policy.unrestricted:
        for grant in policy.granting(Action.EXPORT):
            absent |= policy.hidden([grant])
    return absent


def export_columns(
    work: Work, loaded: LoadedForm, language: str, labels: Mapping[str, str] | None = None
) -> list[Column]:
    """The columns this reader's export has: id, each field they may see, owner, times."""
    labels = {**SYSTEM_LABELS, **(labels or {})}
    absent = _absent_fields(policy_for(work, loaded))
    columns = [Column("_id", labels["_id"], ColumnKind.INTEGER)]
    columns += [
        _field_column(f, language) for f in loaded.spec.fields if f.stores and f.key not in absent
    ]
    columns += [
        Column("_owner", labels["_owner"]),
        Column("_created_at", labels["_created_at"], ColumnKind.DATETIME, None, "yyyy-mm-dd hh:mm"),
        Column("_updated_at", labels["_updated_at"], ColumnKind.DATETIME, None, "yyyy-mm-dd hh:mm"),
    ]
    return columns


def export_records(
    work: Work,
    loaded: LoadedForm,
    query: Query,
    display: DisplayContext,
    *,
    labels: Mapping[str, str] | None = None,
    limit: int = EXPORT_ROW_LIMIT,
) -> Export:
    """Every record of ``query`` the acting user may view and export, as an :class:`Export`.

    Raises Forbidden without the export permission, BadRequest for a query the list would
    refuse too, and BadRequest (``too_many``) when more than ``limit`` records match.
    """
    policy = policy_for(work, loaded)
    if not policy.allows(Action.EXPORT):
        raise Forbidden("you may not export the records of this form")
    query = replace(query, limit=MAX_LIMIT, cursor=None, deleted=False)
    first = browse(work, loaded, query, action=Action.EXPORT, total=True)
    total = first.total or 0
    if total > limit:
        raise BadRequest(
            [
                FieldError(
                    None,
                    f"{total} records match; export at most {limit} at a time "
                    "(narrow the list with filters)",
                    "too_many",
                    {"count": total, "limit": limit},
                )
            ]
        )
    columns = export_columns(work, loaded, display.language, labels)
    day = work.now.astimezone(loaded.spec.timezone).date()
    rows = _export_rows(work, loaded, query, policy, columns, display, first, limit)
    return Export(columns, rows, loaded.spec.title(display.language), day, total)


def _export_rows(
    work: Work,
    loaded: LoadedForm,
    query: Query,
    policy: FormPolicy,
    columns: list[Column],
    display: DisplayContext,
    listing: Listing,
    limit: int,
) -> Iterator[list[Any]]:
    spec = loaded.spec
    written = 0
    while True:
        ids = [r.id for r in listing.records]
        # Export grants say which rows may leave; the list a person exports is still only
        # the rows they may see.
        seen = None if policy.unrestricted else policy.covering(work, Action.VIEW, ids)
        for record in listing.records:
            if seen is not None and record.id not in seen:
                continue
            written += 1
            if written > limit:
                return
            hidden = listing.hidden.get(record.id, set())
            values = from_document(spec, record.data)
            row: list[Any] = []
            for column in columns:
                if column.key == "_id":
                    row.append(record.id)
                elif column.key == "_owner":
                    row.append(display.user_name(record.owner_id) if record.owner_id else None)
                elif column.key in ("_created_at", "_updated_at"):
                    moment = record.created_at if column.key == "_created_at" else record.updated_at
                    row.append(_local(moment, spec.timezone))
                elif column.key in hidden:
                    row.append(None)
                else:
                    row.append(_export_value(column, values.get(column.key), display))
            yield row
        if listing.next_cursor is None:
            return
        listing = browse(
            work, loaded, replace(query, cursor=listing.next_cursor), action=Action.EXPORT
        )


def _local(moment: dt.datetime, zone: Any) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone).replace(tzinfo=None)


def _export_value(column: Column, stored: Any, display: DisplayContext) -> Any:
    f = column.field
    assert f is not None
    if stored is None:
        return None
    kind = column.kind
    if kind in (ColumnKind.NUMBER, ColumnKind.PERCENT):
        return stored if isinstance(stored, Decimal) else Decimal(stored)
    if kind is ColumnKind.INTEGER:
        return int(stored)
    if kind is ColumnKind.DATE:
        return dt.date.fromisoformat(stored)
    if kind is ColumnKind.DATETIME:
        moment = dt.datetime.fromisoformat(str(stored).replace("Z", "+00:00"))
        return _local(moment, f.timezone)
    if f.has_rows:
        return _rows_summary(f, stored, display)
    return f.type.display(stored, f, display)


def _rows_summary(f: FieldSpec, rows: list[dict[str, Any]], display: DisplayContext) -> str:
    """A subform's rows as text: one line a row, ``label: value`` pairs."""
    children = [c for c in f.children if c.stores]
    lines = []
    for row in rows:
        parts = [
            f"{c.label(display.language)}: {c.type.display(row[c.key], c, display)}"
            for c in children
            if row.get(c.key) is not None
        ]
        lines.append("; ".join(parts))
    return "\n".join(lines)


def _percent_text(value: Decimal) -> str:
    return plain_number((value * 100).normalize()) + "%"


def _csv_text(column: Column, value: Any) -> str:
    """A cell as CSV text. Numbers are plain (``-1234.50``, ``18%``) so spreadsheets read
    them as numbers; they are made here from a Decimal, so they cannot hold a formula."""
    if value is None:
        return ""
    kind = column.kind
    if kind is ColumnKind.INTEGER:
        return str(int(value))
    if kind is ColumnKind.NUMBER:
        return format(value, "f")
    if kind is ColumnKind.PERCENT:
        return _percent_text(value)
    if kind is ColumnKind.DATE:
        return value.isoformat()
    if kind is ColumnKind.DATETIME:
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    return neutralise(str(value))


def write_csv(export: Export, stream: BinaryIO) -> None:
    """UTF-8 with a byte-order mark, so Excel opens Chinese text correctly."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([neutralise(c.label) for c in export.columns])
    for row in export.rows:
        writer.writerow([_csv_text(c, v) for c, v in zip(export.columns, row, strict=True)])
    text.flush()
    text.detach()


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "_", title).strip("' ")[:31] or "Sheet1"


def _xlsx_text(value: Any) -> str:
    text = _ILLEGAL_XML.sub("", str(value))
    return neutralise(text[:XLSX_CELL_CHARS])


def write_xlsx(export: Export, stream: BinaryIO) -> None:
    """One worksheet, header frozen; numbers, money, percentages and dates typed."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(export.title))
    sheet.freeze_panes = "A2"
    for i, column in enumerate(export.columns, start=1):
        wide = column.kind is ColumnKind.TEXT or column.kind is ColumnKind.DATETIME
        sheet.column_dimensions[get_column_letter(i)].width = 24 if wide else 14
    bold = Font(bold=True)
    header = []
    for column in export.columns:
        cell = WriteOnlyCell(sheet, value=_xlsx_text(column.label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in export.rows:
        cells: list[Any] = []
        for column, value in zip(export.columns, row, strict=True):
            if value is None:
                cells.append(None)
            elif column.kind is ColumnKind.TEXT:
                cells.append(_xlsx_text(value))
            else:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = (
                    _percent_format(value)
                    if column.kind is ColumnKind.PERCENT
                    else column.number_format
                )
                cells.append(cell)
        sheet.append(cells)
    workbook.save(stream)


def _percent_format(value: Decimal) -> str:
    exponent = (value * 100).normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return "0" + ("." + "0" * places if places else "") + "%"


# -- uploads -------------------------------------------------------------------------------------


@dataclass
class Upload:
    """A file waiting to be imported: ``instance/imports/<token>.<kind>`` and a JSON
    sidecar naming its owner and form. Only its owner can use it, for that form only."""

    token: str
    folder: Path
    form: str
    owner_id: int | None
    name: str
    kind: str  # "csv" or "xlsx"
    headers: list[str]
    rows: int
    header_row: int = 1
    encoding: str = "utf-8-sig"
    delimiter: str = ","

    @property
    def path(self) -> Path:
        return self.folder / f"{self.token}.{self.kind}"

    @property
    def meta_path(self) -> Path:
        return self.folder / f"{self.token}.json"

    def _meta(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "owner_id": self.owner_id,
            "name": self.name,
            "kind": self.kind,
            "headers": self.headers,
            "rows": self.rows,
            "header_row": self.header_row,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
        }


def _imports_folder(work: Work) -> Path:
    return Path(work.config.instance_path) / "imports"


def _sweep(folder: Path, now: float) -> None:
    """Remove uploads left behind (an import started and never finished)."""
    for entry in os.scandir(folder):
        try:
            if now - entry.stat().st_mtime > UPLOAD_TTL_SECONDS:
                os.unlink(entry.path)
        except OSError:
            continue  # another process swept it first


def _kind_of(filename: str) -> str:
    extension = os.path.splitext(filename or "")[1].lower()
    if extension in (".csv", ".txt"):
        return "csv"
    if extension in (".xlsx", ".xlsm"):
        return "xlsx"
    if extension == ".xls":
        raise _file_error(
            "old .xls workbooks cannot be read; save the file as .xlsx or .csv", "legacy_xls"
        )
    raise _file_error(
        "only .csv and .xlsx files can be imported", "unsupported", extension=extension or "?"
    )


def save_upload(work: Work, loaded: LoadedForm, stream: BinaryIO, filename: str) -> Upload:
    """Keep an uploaded CSV/XLSX file for the acting user and read it once to check it.

    Refuses (BadRequest naming the problem, nothing kept) a file of another kind, a file
    larger than the upload limit, one that cannot be parsed, or one without data rows.
    """
    _require_import(work, loaded)
    kind = _kind_of(filename)
    folder = _imports_folder(work)
    folder.mkdir(parents=True, exist_ok=True)
    _sweep(folder, time.time())
    upload = Upload(
        token=secrets.token_hex(16),
        folder=folder,
        form=loaded.name,
        owner_id=work.actor_id,
        name=os.path.basename(filename)[:255],
        kind=kind,
        headers=[],
        rows=0,
    )
    limit = work.config.max_upload_bytes
    try:
        size = 0
        with upload.path.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        [
                            FieldError(
                                "file",
                                f"is larger than {limit} bytes",
                                "file_size",
                                {"limit": limit},
                            )
                        ]
                    )
                out.write(chunk)
        _inspect(upload)
        upload.meta_path.write_text(json.dumps(upload._meta()), encoding="utf-8")
    except BaseException:
        discard_upload(upload)
        raise
    return upload


def open_upload(work: Work, loaded: LoadedForm, token: str) -> Upload:
    """The acting user's upload for this form; NotFound for anyone else's or a gone one."""
    _require_import(work, loaded)
    gone = NotFound("this upload is gone; upload the file again")
    if not _TOKEN.match(token or ""):
        raise gone
    folder = _imports_folder(work)
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise gone from None
    if meta.get("owner_id") != work.actor_id or meta.get("form") != loaded.name:
        raise gone
    upload = Upload(token=token, folder=folder, **meta)
    if not upload.path.exists():
        raise gone
    return upload


def discard_upload(upload: Upload) -> None:
    for path in (upload.path, upload.meta_path, _claim_path(upload)):
        path.unlink(missing_ok=True)


def _claim_path(upload: Upload) -> Path:
    return upload.folder / f"{upload.token}.importing"


@contextmanager
def claimed(upload: Upload) -> Iterator[Upload]:
    """Hold an upload for one import that stores records, so a second click (or a second
    tab) cannot import the same file twice: whoever renames the sidecar first holds it, the
    other gets NotFound. Unless the holder discards the upload, it is released afterwards
    and can be run again."""
    claim = _claim_path(upload)
    try:
        os.rename(upload.meta_path, claim)
    except FileNotFoundError:
        raise NotFound("this upload is being imported, or was imported already") from None
    try:
        yield upload
    finally:
        if claim.exists():
            os.rename(claim, upload.meta_path)


def _inspect(upload: Upload) -> None:
    """Check the whole file once: its encoding, that it parses, its header and row count."""
    if upload.kind == "csv":
        _inspect_text(upload)
    else:
        _inspect_workbook(upload)
    header_row = None
    width = 0
    count = 0
    try:
        for number, cells in _raw_rows(upload):
            if len(cells) > MAX_COLUMNS and any(_filled(c) for c in cells[MAX_COLUMNS:]):
                raise _file_error(
                    f"row {number} has more than {MAX_COLUMNS} columns",
                    "too_many_columns",
                    limit=MAX_COLUMNS,
                )
            if not any(_filled(c) for c in cells):
                continue
            if header_row is None:
                header_row = number
                upload.headers = [_header_text(c) for c in cells]
                continue
            count += 1
            if count > IMPORT_ROW_LIMIT:
                raise _file_error(
                    f"has more than {IMPORT_ROW_LIMIT} rows; split it into smaller files",
                    "too_many_rows",
                    limit=IMPORT_ROW_LIMIT,
                )
            width = max(width, max(i for i, c in enumerate(cells) if _filled(c)) + 1)
    except BadRequest:
        raise
    except csv.Error as error:
        raise _file_error(
            f"is not a readable CSV file ({error})", "malformed", kind="csv"
        ) from None
    except Exception as error:  # openpyxl raises many kinds on a damaged workbook
        log.info("unreadable workbook %s: %r", upload.name, error)
        raise _file_error(
            "is not a readable Excel workbook (.xlsx)", "malformed", kind="xlsx"
        ) from None
    if header_row is None:
        raise _file_error("is empty", "empty")
    if count == 0:
        raise _file_error("has a header row but no rows to import", "no_rows")
    while upload.headers and not upload.headers[-1] and len(upload.headers) > width:
        upload.headers.pop()
    upload.headers += [""] * (width - len(upload.headers))
    upload.header_row = header_row
    upload.rows = count


def _inspect_text(upload: Upload) -> None:
    with upload.path.open("rb") as handle:
        head = handle.read(8192)
    if b"\x00" in head:
        raise _file_error("is not a CSV file (it holds binary data)", "malformed", kind="csv")
    for encoding in ("utf-8", "gb18030"):  # Excel in Chinese saves CSV as GB18030/GBK
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with upload.path.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        upload.encoding = "utf-8-sig" if encoding == "utf-8" else encoding
        break
    else:
        raise _file_error("is neither UTF-8 nor GB18030 text", "encoding")
    first = head.decode(upload.encoding, errors="ignore").lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    upload.delimiter = best if counts[best] else ","


def _inspect_workbook(upload: Upload) -> None:
    with upload.path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error(
            "is an old .xls or a password-protected workbook; save it as .xlsx or .csv",
            "legacy_xls",
        )
    if not head.startswith(b"PK"):
        raise _file_error("is not a readable Excel workbook (.xlsx)", "malformed", kind="xlsx")
    try:
        with zipfile.ZipFile(upload.path) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise _file_error(
            "is not a readable Excel workbook (.xlsx)", "malformed", kind="xlsx"
        ) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise _file_error("unpacks to too much data to import", "malformed", kind="xlsx")


def _raw_rows(upload: Upload) -> Iterator[tuple[int, list[Any]]]:
    """(row number as a spreadsheet shows it, cells) for every row, blank ones included."""
    if upload.kind == "csv":
        with upload.path.open(encoding=upload.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=upload.delimiter)
            for number, cells in enumerate(reader, start=1):
                yield number, list(cells)
        return
    from openpyxl import load_workbook

    workbook = load_workbook(upload.path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            yield number, list(cells)
    finally:
        workbook.close()


def data_rows(upload: Upload) -> Iterator[tuple[int, list[Any]]]:
    """The rows to import: after the header, blank rows skipped, as wide as the header."""
    width = len(upload.headers)
    for number, cells in _raw_rows(upload):
        if number <= upload.header_row or not any(_filled(c) for c in cells):
            continue
        yield number, (cells + [None] * width)[:width]


def sample_rows(upload: Upload, count: int = 3) -> list[list[str]]:
    """The first rows' cells as text, to show beside the mapping."""
    out = []
    for _number, cells in data_rows(upload):
        out.append([cell_text(c) for c in cells])
        if len(out) >= count:
            break
    return out


def _filled(cell: Any) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _header_text(cell: Any) -> str:
    return _unneutralise(cell_text(cell).strip())


def cell_text(cell: Any) -> str:
    """A cell as the text a person would read in the file."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        return _plain_float(cell)
    if isinstance(cell, dt.datetime):
        if cell.time() == dt.time():
            return cell.date().isoformat()
        return cell.strftime("%Y-%m-%d %H:%M:%S" if cell.second else "%Y-%m-%d %H:%M")
    if isinstance(cell, dt.date | dt.time):
        return cell.isoformat()
    return str(cell)


def _plain_float(value: float) -> str:
    number = float_decimal(value)
    if not number.is_finite():
        return repr(value)
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    return format(number, "f")


#: Excel keeps 15 significant digits; any further digit in a cell is binary noise.
EXCEL_DIGITS = 15


def float_decimal(value: float) -> Decimal:
    """A spreadsheet's float as the number people typed: ``repr`` is the shortest text
    that reads back as the same float (0.1 → "0.1", never 0.1000000000000000055…), and a
    sum Excel shows as 3.3 but stores as 3.3000000000000003 is cut to Excel's 15 digits."""
    number = Decimal(repr(value))
    if number.is_finite() and len(number.as_tuple().digits) > EXCEL_DIGITS:
        number = Decimal(format(value, f".{EXCEL_DIGITS}g"))
    return number


# -- mapping -------------------------------------------------------------------------------------


def importable_fields(work: Work, loaded: LoadedForm) -> list[FieldSpec]:
    """Fields a column may fill: ones the user may fill in on a new record, holding a value
    a cell can carry (not formulas, serial numbers, subforms, files or GPS positions)."""
    policy = policy_for(work, loaded)
    access = policy.access(policy.granting(Action.CREATE))
    return [
        f
        for f in loaded.spec.fields
        if f.stores
        and not f.computed
        and not f.has_rows
        and f.type.references != "file"
        and f.type.name != "location"
        and access.get(f.key) == Access.EDIT
    ]


def _normal(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip().rstrip("*").strip()).casefold()


def suggest_mapping(headers: list[str], fields: list[FieldSpec]) -> dict[int, str]:
    """Column index → field key, matching headers to fields' labels (in both languages)
    or keys; each field at most once, the first matching column wins."""
    names: dict[str, str] = {}
    for f in fields:
        for name in (f.key, f.label("zh-CN"), f.label("en"), f.schema.get("title") or ""):
            if name:
                names.setdefault(_normal(name), f.key)
    out: dict[int, str] = {}
    used: set[str] = set()
    for i, header in enumerate(headers):
        key = names.get(_normal(header)) if header else None
        if key is not None and key not in used:
            out[i] = key
            used.add(key)
    return out


def column_letter(index: int) -> str:
    """``0`` → ``A``, ``27`` → ``AB``: how spreadsheets name columns."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_mapping(fields: list[FieldSpec], chosen: Mapping[int, str]) -> dict[int, FieldSpec]:
    """The chosen column → field mapping, checked: every field importable, none twice, at
    least one. Raises BadRequest whose errors name the field (or ``mapping``)."""
    by_key = {f.key: f for f in fields}
    columns: dict[str, list[int]] = {}
    errors: list[FieldError] = []
    mapping: dict[int, FieldSpec] = {}
    for index, key in sorted(chosen.items()):
        if not key:
            continue
        f = by_key.get(key)
        if f is None:
            errors.append(FieldError(key, "cannot be filled by an import", "not_importable"))
            continue
        columns.setdefault(key, []).append(index)
        mapping[index] = f
    for key, indexes in columns.items():
        if len(indexes) > 1:
            letters = ", ".join(column_letter(i) for i in indexes)
            errors.append(
                FieldError(
                    key,
                    f"is chosen for more than one column ({letters})",
                    "mapped_twice",
                    {"columns": letters},
                )
            )
    if not mapping and not errors:
        errors.append(FieldError("mapping", "choose a field for at least one column", "no_mapping"))
    if errors:
        raise BadRequest(errors)
    return mapping


# -- running an import ---------------------------------------------------------------------------


class ImportMode(enum.StrEnum):
    #: A dry run: every row goes through the real pipeline, then everything is rolled back.
    CHECK = "check"
    #: One transaction: any row with a problem and nothing is stored.
    ALL_OR_NOTHING = "all"
    #: The rows without problems are stored, the others reported.
    VALID_ONLY = "valid"


class RowStatus(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"


@dataclass
class RowOutcome:
    """One row of the file: its number as the file shows it, its mapped cells as text,
    and its problems by column index (None: a problem with no column, e.g. a required
    field nothing was mapped to)."""

    number: int
    status: RowStatus
    cells: dict[int, str]
    errors: dict[int | None, list[FieldError]] = field(default_factory=dict)


@dataclass
class ImportReport:
    mode: ImportMode
    total: int = 0
    valid: int = 0
    invalid: int = 0
    #: Records stored (0 for a check, or an all-or-nothing import that was refused).
    created: int = 0
    #: The first rows and every row with a problem, up to the preview limits.
    rows: list[RowOutcome] = field(default_factory=list)
    _problems_kept: int = 0

    @property
    def complete(self) -> bool:
        """True when :attr:`rows` holds every row of the file."""
        return len(self.rows) == self.total

    def _keep(self, outcome: RowOutcome) -> None:
        if outcome.status is RowStatus.INVALID and self._problems_kept < PREVIEW_PROBLEMS:
            self._problems_kept += 1
            self.rows.append(outcome)
        elif len(self.rows) < PREVIEW_ROWS and outcome.status is RowStatus.VALID:
            self.rows.append(outcome)


def run_import(
    work: Work,
    loaded: LoadedForm,
    upload: Upload,
    mapping: Mapping[int, FieldSpec],
    mode: ImportMode,
) -> ImportReport:
    """Send every row of ``upload`` through :func:`records.create` as ``mode`` says.

    Each row runs in a savepoint: a refused row leaves no trace, and later rows see the
    earlier ones (a value repeated within the file is a unique-value error, as it would be
    one record at a time). The whole run is itself a savepoint, rolled back for a check and
    for an all-or-nothing import with any problem, so the caller's transaction holds the
    records only when they are meant to stay.
    """
    _require_import(work, loaded)
    names = _Names(work, loaded)
    column_of = {f.key: i for i, f in mapping.items()}
    report = ImportReport(mode)
    # The ORM session joins the unit of work's transaction now, before the savepoints
    # below: joining later it would adopt one of them. The savepoints are the
    # connection's own, emitted at once (a session's savepoint waits until the session
    # itself runs a statement, and most of a create runs straight on the connection).
    work.session.connection()
    run = work.connection.begin_nested()
    try:
        for number, cells in data_rows(upload):
            outcome = _import_row(work, loaded, names, mapping, column_of, number, cells)
            report.total += 1
            if outcome.status is RowStatus.VALID:
                report.valid += 1
            else:
                report.invalid += 1
            report._keep(outcome)
        keep = mode is ImportMode.VALID_ONLY or (
            mode is ImportMode.ALL_OR_NOTHING and report.invalid == 0
        )
        if keep:
            run.commit()
            report.created = report.valid
        else:
            run.rollback()
    except BaseException:
        if run.is_active:
            run.rollback()
        raise
    return report


def _import_row(
    work: Work,
    loaded: LoadedForm,
    names: _Names,
    mapping: Mapping[int, FieldSpec],
    column_of: Mapping[str, int],
    number: int,
    cells: list[Any],
) -> RowOutcome:
    data: dict[str, Any] = {}
    errors: dict[int | None, list[FieldError]] = {}
    for index, f in mapping.items():
        try:
            raw = import_value(names, f, cells[index] if index < len(cells) else None)
        except FieldValueError as error:
            errors.setdefault(index, []).append(
                FieldError(f.key, error.message, error.code, error.params)
            )
            continue
        if raw is not None:  # an empty cell leaves the field to its default
            data[f.key] = raw
    unreadable = set(errors)
    row = work.connection.begin_nested()
    try:
        records.create(work, loaded, data)
    except (ValidationFailed, Conflict, Forbidden) as failure:
        row.rollback()
        for error in failure.errors:
            column = column_of.get(_top_key(error.field))
            if column in unreadable:
                continue  # already reported as unreadable; "is required" would only repeat it
            errors.setdefault(column, []).append(error)
    else:
        if errors:
            row.rollback()
        else:
            row.commit()
    return RowOutcome(
        number,
        RowStatus.INVALID if errors else RowStatus.VALID,
        {i: cell_text(cells[i]) if i < len(cells) else "" for i in mapping},
        errors,
    )


def _top_key(path: str | None) -> str:
    return re.split(r"[.\[]", path or "", maxsplit=1)[0]


# -- cells to values -----------------------------------------------------------------------------


def import_value(names: _Names, f: FieldSpec, cell: Any) -> Any:
    """A cell as the raw input :func:`records.create` takes for ``f`` (None when empty).

    Only translation happens here — names to ids, labels to option values, spreadsheet
    numbers and dates to text — so every rule is still the pipeline's.
    """
    if isinstance(cell, str):
        cell = _unneutralise(cell.strip())
    if not _filled(cell):
        return None
    kind = f.type.references
    if kind in ("user", "department", "record"):
        return names.resolve(f, cell)
    name = f.type.name
    if name in ("select", "radio"):
        return _option(f, cell_text(cell), f.schema.get("enum", []))
    if name in ("multi-select", "checkbox"):
        options = f.schema.get("items", {}).get("enum", [])
        return [_option(f, part, options) for part in _parts(cell, options)]
    if name == "date":
        return _date(cell)
    if name == "datetime":
        return _datetime(cell)
    if name == "boolean":
        return cell if isinstance(cell, bool | str) else _number(f, cell)
    if name in ("number", "money", "percent", "rating") or f.type.json_type in (
        "number",
        "integer",
    ):
        return _number(f, cell)
    return cell if isinstance(cell, str) else cell_text(cell)


def _option(f: FieldSpec, text: str, values: list[str]) -> str:
    """An option's stored value from its value or its label in either language; anything
    else is passed on for the pipeline to refuse with the list of options."""
    if text in values:
        return text
    wanted = text.strip().casefold()
    for option in f.schema.get("x-options", ()):
        label = option.get("label", option["value"])
        labels = label.values() if isinstance(label, dict) else [label]
        if any(str(item).strip().casefold() == wanted for item in labels):
            return option["value"]
    return next((v for v in values if v.casefold() == wanted), text)


def _parts(cell: Any, whole: list[str] | None = None) -> list[str]:
    """A multi-value cell split on commas, semicolons, 、 or line breaks (unless the whole
    text is itself one of ``whole``)."""
    text = cell_text(cell).strip()
    if whole is not None and text in whole:
        return [text]
    return [part for part in _SEPARATORS.split(text) if part]


def _number(f: FieldSpec, cell: Any) -> Any:
    if isinstance(cell, bool):
        raise FieldValueError("must be a number", "type", expected="number")
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        return float_decimal(cell)
    if not isinstance(cell, str):
        raise FieldValueError("must be a number", "type", expected="number")
    if f.type.name == "rating" and "★" in cell:
        return cell.count("★")
    return _CURRENCY.sub("", cell)


def _excel_moment(cell: Any) -> dt.datetime:
    from openpyxl.utils.datetime import from_excel

    if not 0 < cell < 2_958_466:  # Excel's dates end on 9999-12-31
        raise FieldValueError("must be a date like 2026-03-31", "format", format="date")
    return from_excel(cell)


def _date(cell: Any) -> Any:
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return _excel_moment(cell).date().isoformat()
    text = cell_text(cell).strip()
    match = _DATE_TEXT.match(text)
    if match and match.group(4) is None:
        year, month, day = (int(g) for g in match.groups()[:3])
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            raise FieldValueError(
                "must be a date like 2026-03-31", "format", format="date"
            ) from None
    return text


def _datetime(cell: Any) -> Any:
    if isinstance(cell, dt.datetime):
        return cell  # a spreadsheet's time has no zone: the organisation's
    if isinstance(cell, dt.date):
        return dt.datetime.combine(cell, dt.time())
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return _excel_moment(cell)
    text = cell_text(cell).strip()
    match = _DATE_TEXT.match(text)
    if match:
        year, month, day, hour, minute, second = (int(g or 0) for g in match.groups())
        try:
            return dt.datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise FieldValueError(
                "must be a date and time like 2026-03-31 14:30", "format", format="date-time"
            ) from None
    return text


class _Names:
    """Names to ids for member, department and relation cells, each name looked up once.

    ``#12`` is always id 12. A user is found by username, else by display name; a
    department by name; a linked record by its title among the records the importer may
    see in the target form. None found, or more than one, is an error naming the name.
    """

    def __init__(self, work: Work, loaded: LoadedForm) -> None:
        self.work = work
        self.loaded = loaded
        self.memo: dict[tuple[str, str], int | FieldValueError] = {}

    def resolve(self, f: FieldSpec, cell: Any) -> Any:
        kind = f.type.references
        assert kind is not None
        multiple = f.type.multiple or (
            kind == "record" and f.type.is_multiple(f)  # type: ignore[attr-defined]
        )
        texts = _parts(cell) if multiple else [cell_text(cell).strip()]
        target = f.type.target(f) if kind == "record" else kind  # type: ignore[attr-defined]
        ids = [self._one(kind, target, text) for text in texts]
        return ids if multiple else ids[0]

    def _one(self, kind: str, target: str, text: str) -> int:
        if re.fullmatch(r"#\d{1,18}", text):
            return int(text[1:])
        key = (target, text)
        if key not in self.memo:
            try:
                self.memo[key] = self._lookup(kind, target, text)
            except FieldValueError as error:
                self.memo[key] = error
        found = self.memo[key]
        if isinstance(found, FieldValueError):
            raise found
        return found

    def _lookup(self, kind: str, target: str, text: str) -> int:
        session = self.work.session
        if kind == "user":
            rows = session.execute(
                select(User.id, User.username).where(
                    User.is_active, or_(User.username == text, User.display_name == text)
                )
            ).all()
            exact = [r.id for r in rows if r.username == text]
            ids = exact or [r.id for r in rows]
            return _single(ids, text, "user", "users")
        if kind == "department":
            ids = list(session.scalars(select(Department.id).where(Department.name == text)))
            return _single(ids, text, "department", "departments")
        return _single(self._titled(target, text), text, "record", "records")

    def _titled(self, target: str, text: str) -> list[int]:
        name = target if "." in target else f"{self.loaded.app.name}.{target}"
        try:
            form = get_form(self.work, name)
        except NotFound:
            return []
        title = form.spec.title_field
        if title is None:
            return []
        try:
            named = Query(filters=[Filter(title.key, "eq", text)], limit=2)
            listing = browse(self.work, form, named)
        except (Forbidden, BadRequest):
            return []  # records the importer may not see cannot be named
        return [r.id for r in listing.records]


def _single(ids: list[int], text: str, what: str, plural: str) -> int:
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise FieldValueError(f"no {what} named '{text}'", f"unknown_{what}", name=text)
    raise FieldValueError(
        f"{len(ids)} {plural} are named '{text}'; use a unique name or #id",
        f"ambiguous_{what}",
        name=text,
        count=len(ids),
    )


__all__ = [
    "EXPORT_ROW_LIMIT",
    "IMPORT_ROW_LIMIT",
    "Column",
    "ColumnKind",
    "Export",
    "ImportMode",
    "ImportReport",
    "RowOutcome",
    "RowStatus",
    "Upload",
    "cell_text",
    "claimed",
    "column_letter",
    "data_rows",
    "discard_upload",
    "export_columns",
    "export_records",
    "float_decimal",
    "import_value",
    "importable_fields",
    "may_import",
    "neutralise",
    "open_upload",
    "read_mapping",
    "run_import",
    "sample_rows",
    "save_upload",
    "suggest_mapping",
    "write_csv",
    "write_xlsx",
]
