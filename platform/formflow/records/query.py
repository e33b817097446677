"""Listing records: filters, multi-field sort, and cursor (keyset) pagination.

A query is data — ``Query(filters=[Filter("amount", "gte", 1000)], sort=[Sort("amount",
True)])`` — parsed from the API's query string or JSON body, and compiled to one SQL
statement over the records table using each field's projection, so indexed fields are
index scans. Empty values sort first ascending and last descending, on both databases.

Pages are cut by keyset, not offset: the cursor holds the last row's sort values and id,
and the next page starts strictly after it, so page 1,000 costs what page 1 does and
concurrent inserts never shift a page. The leading sort key is split into its non-empty
and empty segments so each segment is one index range.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, exists, false, func, literal_column, or_, select, true
from sqlalchemy import text as sql_text
from sqlalchemy.sql.elements import ColumnElement

from .. import jsoncodec
from ..definitions import conversions
from ..definitions.spec import FieldSpec, FormSpec
from ..errors import BadRequest, Conflict, FieldError
from ..fields import FieldValueError
from ..fields.base import EMPTY_ONLY, MULTI_OPERATORS, SCALAR_OPERATORS, TEXT_OPERATORS
from ..fields.dates import parse_datetime
from ..fields.people import parse_id
from ..runtime import Work
from .models import RECORD_COLUMNS, Record, RecordRow
from .projection import MULTI_KINDS, SYSTEM_FIELDS, bind_value, field_sql, json_path, presence_sql

_COLUMNS = [Record.__table__.c[name] for name in RECORD_COLUMNS]

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "between", "is_empty")
MAX_LIMIT = 500
MAX_FILTERS = 30
MAX_IN_VALUES = 500


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool = False


@dataclass
class Query:
    filters: list[Filter] = field(default_factory=list)
    sort: list[Sort] = field(default_factory=list)
    limit: int = 50
    cursor: str | None = None
    search: str | None = None
    deleted: bool = False
    #: Field keys the reader may not see anywhere: not filterable, sortable or searchable.
    forbidden: frozenset[str] = frozenset()


@dataclass
class Page:
    records: list[RecordRow]
    next_cursor: str | None
    total: int | None = None


@dataclass(frozen=True)
class _Column:
    """A filterable/sortable thing: a field's projection or a system column."""

    name: str
    kind: str  # text/number/integer/boolean/datetime/multi_text/multi_integer/none
    expression: ColumnElement[Any] | None
    zone: ZoneInfo
    field: FieldSpec | None = None


def _column(
    spec: FormSpec, name: str, dialect: str, forbidden: frozenset[str] = frozenset()
) -> _Column:
    if name in forbidden:
        raise BadRequest([FieldError(name, "is not a field of this form", "unknown")])
    if name in SYSTEM_FIELDS:
        column, kind = SYSTEM_FIELDS[name]
        return _Column(name, kind, column, spec.timezone)
    f = spec.by_key.get(name)
    if f is None or not f.stores:
        raise BadRequest([FieldError(name, "is not a field of this form", "unknown")])
    if f.parent is not None:
        raise BadRequest([FieldError(name, "subform fields cannot be filtered here", "invalid")])
    kind = f.type.projection(f) or "none"
    expression = field_sql(f, dialect) if kind not in MULTI_KINDS and kind != "none" else None
    return _Column(name, kind, expression, spec.timezone, f)


# -- filters -------------------------------------------------------------------------------


def _operators(column: _Column) -> frozenset[str]:
    if column.kind in MULTI_KINDS:
        return MULTI_OPERATORS
    if column.kind == "none":
        return EMPTY_ONLY
    if column.kind == "text":
        return TEXT_OPERATORS
    return SCALAR_OPERATORS


def _operand(column: _Column, value: Any, dialect: str) -> Any:
    """One filter value, coerced like the field's input and bound for SQL."""
    if column.kind == "datetime":
        parsed = parse_datetime(value, column.zone)  # without an offset: the org's zone
        if parsed is None:
            raise FieldValueError("needs a value", "required")
        return parsed
    if column.field is None:
        parsed_id = parse_id(value, "record")
        if parsed_id is None:
            raise FieldValueError("needs a value", "required")
        return parsed_id
    f = column.field
    kind = column.kind
    if kind in MULTI_KINDS:
        items = f.type.coerce([value], f)
        if not items:
            raise FieldValueError("needs a value", "required")
        return items[0]
    if f.type.name == "formula" or kind == "number":
        # A comparison needs a number, not a storable value: no scale or range rules.
        return _formula_operand(f, kind, value, dialect)
    if f.type.computed and kind == "text":
        if not isinstance(value, str):
            raise FieldValueError("must be text", "type")
        return value
    coerced = f.type.coerce(value, f)
    if coerced is None:
        raise FieldValueError("needs a value", "required")
    return bind_value(kind, Decimal(coerced) if kind == "number" else coerced, dialect)


def _formula_operand(f: FieldSpec, kind: str, value: Any, dialect: str) -> Any:
    from ..fields.numbers import parse_decimal

    if kind == "number":
        number = parse_decimal(value)
        if number is None:
            raise FieldValueError("needs a value", "required")
        return bind_value(kind, number, dialect)
    if kind == "boolean":
        return bind_value(kind, bool(value), dialect)
    return str(value)


def _values(raw: Any) -> list[Any]:
    if isinstance(raw, str):
        return [part for part in raw.split(",")]
    if isinstance(raw, list):
        return raw
    return [raw]


def filter_clause(
    spec: FormSpec, item: Filter, dialect: str, forbidden: frozenset[str] = frozenset()
) -> ColumnElement[bool]:
    """One filter as a SQL condition; raises BadRequest naming the field."""
    column = _column(spec, item.field, dialect, forbidden)
    if item.op not in OPERATORS:
        raise BadRequest([FieldError(item.field, f"unknown operator '{item.op}'", "operator")])
    if item.op not in _operators(column):
        allowed = ", ".join(o for o in OPERATORS if o in _operators(column))
        raise BadRequest(
            [FieldError(item.field, f"cannot use '{item.op}' here (use {allowed})", "operator")]
        )
    try:
        return _clause(column, item, dialect)
    except FieldValueError as error:
        raise BadRequest(
            [FieldError(item.field, f"{item.op}: {error.message}", error.code, error.params)]
        ) from None


def _clause(column: _Column, item: Filter, dialect: str) -> ColumnElement[bool]:
    op, raw = item.op, item.value
    if op == "is_empty":
        empty = _truthy(raw)
        target = (
            column.expression
            if column.expression is not None
            else presence_sql(
                column.field,
                dialect,  # type: ignore[arg-type]
            )
        )
        if column.kind in MULTI_KINDS or column.kind == "none":
            target = presence_sql(column.field, dialect)  # type: ignore[arg-type]
        return target.is_(None) if empty else target.is_not(None)
    if column.kind in MULTI_KINDS:
        values = [_operand(column, v, dialect) for v in _bounded(_values(raw))]
        return or_(*(_multi_contains(column, v, dialect) for v in values))
    expression = column.expression
    assert expression is not None
    if op == "in":
        values = [_operand(column, v, dialect) for v in _bounded(_values(raw))]
        return expression.in_(values)
    if op == "between":
        bounds = _values(raw)
        if len(bounds) != 2:
            raise FieldValueError("needs two values: low,high", "between")
        low, high = (_operand(column, v, dialect) for v in bounds)
        return expression.between(low, high)
    if op == "contains":
        if not isinstance(raw, str) or not raw:
            raise FieldValueError("needs text", "type")
        pattern = "%" + raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if dialect == "postgresql":
            return expression.ilike(pattern, escape="\\")
        return expression.like(pattern, escape="\\")
    value = _operand(column, raw, dialect)
    if op == "eq":
        return expression == value
    if op == "ne":
        return or_(expression != value, expression.is_(None))
    return {
        "lt": expression < value,
        "lte": expression <= value,
        "gt": expression > value,
        "gte": expression >= value,
    }[op]


def _bounded(values: list[Any]) -> list[Any]:
    if not values:
        raise FieldValueError("needs at least one value", "required")
    if len(values) > MAX_IN_VALUES:
        raise FieldValueError(f"takes at most {MAX_IN_VALUES} values", "maxItems")
    return values


def _truthy(raw: Any) -> bool:
    if raw is None or raw is True:
        return True
    if isinstance(raw, str):
        return raw.strip().lower() not in ("false", "0", "no")
    return bool(raw)


def _multi_contains(column: _Column, value: Any, dialect: str) -> ColumnElement[bool]:
    assert column.field is not None
    path = json_path(column.field)
    if dialect == "sqlite":
        each = func.json_each(Record.data, literal_column(f"'$.{path}'")).table_valued("value")
        return exists(select(literal_column("1")).select_from(each).where(each.c.value == value))
    return Record.data.op("->")(literal_column(f"'{path}'")).op("@>")(func.jsonb_build_array(value))


# -- sorting and cursors -------------------------------------------------------------------


def _order(expression: ColumnElement[Any], descending: bool, dialect: str) -> Any:
    ordered = expression.desc() if descending else expression.asc()
    if dialect == "postgresql":
        return ordered.nulls_last() if descending else ordered.nulls_first()
    return ordered  # SQLite's natural order: NULLs first ascending, last descending


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(jsoncodec.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = jsoncodec.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != size:
        raise BadRequest([FieldError("cursor", "is not a cursor this list gave out", "cursor")])
    return values


def _cursor_value(column: _Column, value: Any, dialect: str) -> Any:
    if value is None:
        return None
    if column.kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if column.kind in ("number", "integer"):
        return bind_value(column.kind, Decimal(str(value)), dialect)
    if column.kind == "boolean":
        return bind_value(column.kind, bool(value), dialect)
    return value


def _row_value(column: _Column, raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        if raw.tzinfo is None:
            raw = raw.replace(tzinfo=dt.UTC)
        return raw.isoformat()
    if isinstance(raw, float):
        return Decimal(repr(raw))
    return raw


def _after(
    keys: list[tuple[_Column, bool]], last: list[Any], last_id: int, descending_id: bool
) -> ColumnElement[bool]:
    """Rows strictly after ``last`` in the sort order (NULLs smallest)."""
    clauses = []
    for i, (column, descending) in enumerate(keys):
        equal_before = [
            _equal(c.expression, v) for (c, _), v in zip(keys[:i], last[:i], strict=True)
        ]
        clauses.append(and_(*equal_before, _beyond(column.expression, last[i], descending)))
    equal_all = [_equal(c.expression, v) for (c, _), v in zip(keys, last, strict=True)]
    clauses.append(and_(*equal_all, Record.id < last_id if descending_id else Record.id > last_id))
    return or_(*clauses)


def _equal(expression: Any, value: Any) -> ColumnElement[bool]:
    return expression.is_(None) if value is None else expression == value


def _beyond(expression: Any, value: Any, descending: bool) -> ColumnElement[bool]:
    if descending:
        return false() if value is None else or_(expression < value, expression.is_(None))
    return expression.is_not(None) if value is None else expression > value


def form_rows(form_id: int, *, deleted: bool = False) -> list[ColumnElement[bool]]:
    """A form's live (or deleted) rows. The form id is inlined, not bound, because the
    per-form partial indexes say ``WHERE form_id = 7`` and a planner can only match them
    against a literal."""
    return [
        Record.form_id == literal_column(str(int(form_id))),
        Record.deleted_at.is_not(None) if deleted else Record.deleted_at.is_(None),
    ]


@dataclass
class _Plan:
    keys: list[tuple[_Column, bool]]
    where: list[ColumnElement[bool]]
    order: list[Any]
    segments: list[ColumnElement[bool]]
    limit: int

    def statement(self, segment: ColumnElement[bool], rows: int) -> Select[Any]:
        return (
            select(*_COLUMNS, *(c.expression for c, _ in self.keys))  # type: ignore[misc]
            .where(*self.where, segment)
            .order_by(*self.order)
            .limit(literal_column(str(int(rows))))  # a literal: the planner needs to see it
        )


def _plan(
    work: Work, spec: FormSpec, form_id: int, query: Query, scope: ColumnElement[bool] | None
) -> _Plan:
    dialect = work.dialect
    limit = max(1, min(int(query.limit), MAX_LIMIT))
    if len(query.filters) > MAX_FILTERS:
        raise BadRequest([FieldError("filter", f"at most {MAX_FILTERS} filters", "maxItems")])
    _refuse_retyped(work, spec, form_id, query)
    where = form_rows(form_id, deleted=query.deleted)
    if scope is not None:
        where.append(scope)
    where += [filter_clause(spec, item, dialect, query.forbidden) for item in query.filters]
    if query.search:
        where.append(_search(spec, query.search, dialect, query.forbidden))
    keys: list[tuple[_Column, bool]] = []
    descending_id = True  # newest first when nothing else is asked
    for item in query.sort:
        column = _column(spec, item.field, dialect, query.forbidden)
        descending_id = item.descending  # ties follow the last key, so one index serves
        if column.name == "_id":
            break
        if column.expression is None:
            raise BadRequest([FieldError(item.field, "cannot sort by this field", "sort")])
        keys.append((column, item.descending))
    if len(keys) > 5:
        raise BadRequest([FieldError("sort", "sort by at most 5 fields", "maxItems")])
    order = [_order(c.expression, d, dialect) for c, d in keys]  # type: ignore[arg-type]
    order.append(Record.id.desc() if descending_id else Record.id.asc())
    segments = _segments(keys, query.cursor, descending_id, dialect)
    return _Plan(keys, where, order, segments, limit)


def record_page_statement(
    work: Work, spec: FormSpec, form_id: int, query: Query, scope: ColumnElement[bool] | None = None
) -> Select[Any]:
    """The SQL of a page's first segment (what :func:`explain` shows)."""
    plan = _plan(work, spec, form_id, query, scope)
    return plan.statement(plan.segments[0], plan.limit + 1)


def list_records(
    work: Work, spec: FormSpec, form_id: int, query: Query, scope: ColumnElement[bool] | None = None
) -> Page:
    """One page of a form's records, plus the cursor of the next page (None at the end)."""
    plan = _plan(work, spec, form_id, query, scope)
    rows: list[Any] = []
    wanted = plan.limit + 1
    for segment in plan.segments:
        rows += work.connection.execute(plan.statement(segment, wanted - len(rows))).all()
        if len(rows) >= wanted:
            break
    page, more = rows[: plan.limit], len(rows) > plan.limit
    width = len(_COLUMNS)
    records = [RecordRow(*row[:width]) for row in page]
    conversions.read_rows(work, form_id, spec.version, records)
    next_cursor = None
    if more and page:
        last = page[-1]
        values = [_row_value(c, last[width + i]) for i, (c, _) in enumerate(plan.keys)]
        next_cursor = encode_cursor([*values, last[0]])
    return Page(records, next_cursor)


def _segments(
    keys: list[tuple[_Column, bool]], cursor: str | None, descending_id: bool, dialect: str
) -> list[ColumnElement[bool]]:
    """Conditions whose results, concatenated in order, are the rows after the cursor.

    Splitting on the leading key's NULLs keeps each segment an index range instead of one
    OR that a planner can only filter row by row.
    """
    if cursor is None:
        return [true()]
    raw = decode_cursor(cursor, len(keys) + 1)
    last_id = parse_id(raw[-1], "record") or 0
    if not keys:
        return [Record.id < last_id if descending_id else Record.id > last_id]
    last = [_cursor_value(c, v, dialect) for (c, _), v in zip(keys, raw[:-1], strict=True)]
    lead, descending = keys[0]
    expression = lead.expression
    assert expression is not None
    after = _after(keys, last, last_id, descending_id)
    if last[0] is None:
        if descending:
            return [and_(expression.is_(None), after)]
        return [and_(expression.is_(None), after), expression.is_not(None)]
    bound = expression <= last[0] if descending else expression >= last[0]
    if descending:
        return [and_(bound, after), expression.is_(None)]
    return [and_(bound, after)]


def _search(
    spec: FormSpec, text: str, dialect: str, forbidden: frozenset[str] = frozenset()
) -> ColumnElement[bool]:
    """Rows where any text field the reader may see contains ``text`` (case-insensitive)."""
    columns = [
        field_sql(f, dialect)
        for f in spec.data_fields
        if f.type.projection(f) == "text"
        and f.type.name not in ("date", "datetime")
        and f.key not in forbidden
    ]
    if not columns or not text.strip():
        return true()
    pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if dialect == "postgresql":
        return or_(*(c.ilike(pattern, escape="\\") for c in columns))
    return or_(*(c.like(pattern, escape="\\") for c in columns))


def _refuse_retyped(work: Work, spec: FormSpec, form_id: int, query: Query) -> None:
    """Filtering or sorting by a field whose stored values are still being converted to a
    new type would compare old values with the new type's SQL (wrong rows, or an error on
    PostgreSQL's casts), so it waits for the conversion (the page says how far it is)."""
    named = [item.field for item in (*query.filters, *query.sort) if item.field in spec.by_key]
    if not named:
        return
    retyped = conversions.retyped_fields(work, form_id)
    if not retyped:
        return
    errors = [
        FieldError(
            name,
            "its records are still being converted to the field's new type; "
            "filter and sort by it when that has finished",
            "converting",
        )
        for name in dict.fromkeys(named)
        if spec.by_key[name].id in retyped
    ]
    if errors:
        raise Conflict(errors)


def count_records(
    work: Work, form_id: int, query: Query, spec: FormSpec, scope: ColumnElement[bool] | None = None
) -> int:
    dialect = work.dialect
    _refuse_retyped(work, spec, form_id, query)
    conditions = [
        *form_rows(form_id, deleted=query.deleted),
        *(filter_clause(spec, item, dialect, query.forbidden) for item in query.filters),
    ]
    if scope is not None:
        conditions.append(scope)
    if query.search:
        conditions.append(_search(spec, query.search, dialect, query.forbidden))
    return work.session.scalar(select(func.count()).select_from(Record).where(*conditions)) or 0


def explain(work: Work, statement: Select[Any]) -> str:
    """The database's query plan for ``statement`` (tests show indexes are used)."""
    compiled = statement.compile(
        dialect=work.session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    prefix = "EXPLAIN QUERY PLAN " if work.dialect == "sqlite" else "EXPLAIN "
    rows = work.session.execute(sql_text(prefix + str(compiled))).all()
    return "\n".join(" ".join(str(col) for col in row) for row in rows)


__all__ = [
    "Filter",
    "Page",
    "Query",
    "Sort",
    "count_records",
    "decode_cursor",
    "encode_cursor",
    "explain",
    "filter_clause",
    "list_records",
]
