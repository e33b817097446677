"""Fields as SQL: the typed expression a field's value projects to, per database.

The same expression is used in ``CREATE INDEX`` (``formflow.records.indexes``) and in every
filter and sort (``formflow.records.query``), so the planner matches the two and a filter
on an indexed field is an index lookup. Paths are literals, never bound parameters: a
planner can only match an index expression it can see.

================  =============================  ======================================
kind              SQLite                         PostgreSQL (``data`` is JSONB)
================  =============================  ======================================
text              json_extract(data,'$.id')      data ->> 'id'
number            json_extract(data,'$.id')      CAST(data ->> 'id' AS NUMERIC)
integer           json_extract(data,'$.id')      CAST(data ->> 'id' AS BIGINT)
boolean           json_extract(data,'$.id')      CAST(data ->> 'id' AS BOOLEAN)
================  =============================  ======================================
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Numeric,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from .. import jsoncodec
from ..db import DriverStatement
from ..definitions.spec import FieldSpec
from .models import Record

if TYPE_CHECKING:
    from ..runtime import Work

SCALAR_KINDS = frozenset({"text", "number", "integer", "boolean"})
MULTI_KINDS = frozenset({"multi_text", "multi_integer"})

#: System columns every record has, by the name filters and sorts use.
SYSTEM_FIELDS: dict[str, tuple[Any, str]] = {
    "_id": (Record.id, "integer"),
    "_created_at": (Record.created_at, "datetime"),
    "_updated_at": (Record.updated_at, "datetime"),
    "_created_by": (Record.created_by, "integer"),
    "_updated_by": (Record.updated_by, "integer"),
    "_owner": (Record.owner_id, "integer"),
    "_department": (Record.department_id, "integer"),
    "_deleted_at": (Record.deleted_at, "datetime"),
}


def json_path(field: FieldSpec) -> str:
    """The field's stable id; ids match ``[A-Za-z][A-Za-z0-9_]*`` so no quoting is needed."""
    return field.id


def stored_json(field: FieldSpec, dialect: str) -> ColumnElement[Any]:
    """A field's stored value as JSON text, exactly as stored (NULL when the document lacks
    it; JSON text is never empty)."""
    if dialect == "sqlite":
        return literal_column(f"records.data -> '$.{json_path(field)}'", Text)
    return literal_column(f"(records.data -> '{json_path(field)}')::text", Text)


def stored_parts(
    work: Work, form_id: int, fields: Iterable[FieldSpec]
) -> Iterator[tuple[int, bool, dict[str, Any]]]:
    """(record id, live, the document cut down to ``fields``' values by id) for every record
    of the form, deleted ones too, by id: a pass over a million records that looks at a few
    fields reads their JSON instead of parsing each whole document."""
    read = list({f.id: f for f in fields}.values())
    query = (
        select(Record.id, Record.deleted_at, *(stored_json(f, work.dialect) for f in read))
        .where(Record.form_id == bindparam("form_id"))
        .order_by(Record.id)
    )
    loads = jsoncodec.loads
    for record_id, deleted_at, *values in _streamed(work, query, {"form_id": form_id}):
        part = {f.id: loads(v) for f, v in zip(read, values, strict=True) if v}
        yield record_id, deleted_at is None, part


def _streamed(work: Work, query: Any, params: dict[str, Any]) -> Iterator[Any]:
    """``query``'s rows a batch at a time, in constant memory, columns as the driver gives
    them. SQLite steps its cursor lazily, so the rows are read straight on the driver
    (SQLAlchemy's result machinery cost more per row than a conversion check itself);
    PostgreSQL streams through a server-side cursor (``yield_per``)."""
    if work.dialect != "sqlite":
        yield from work.session.execute(query, params, execution_options={"yield_per": 2000})
        return
    work.flush()  # read on the driver: pending ORM changes go first
    cursor = work.run(DriverStatement(query), params)
    while rows := cursor.fetchmany(2000):
        yield from rows


def field_sql(field: FieldSpec, dialect: str) -> ColumnElement[Any]:
    """The scalar SQL value of a (non-multiple) field of a record."""
    kind = field.type.projection(field)
    if kind not in SCALAR_KINDS:
        raise ValueError(f"{field.type.name} fields have no scalar SQL value")
    if dialect == "sqlite":
        return func.json_extract(Record.data, literal_column(f"'$.{json_path(field)}'"))
    text = Record.data.op("->>", return_type=Text())(literal_column(f"'{json_path(field)}'"))
    if kind == "number":
        return cast(text, Numeric)
    if kind == "integer":
        return cast(text, BigInteger)
    if kind == "boolean":
        return cast(text, Boolean)
    return text


def presence_sql(field: FieldSpec, dialect: str) -> ColumnElement[Any]:
    """A SQL value that is NULL exactly when the field is empty (any kind)."""
    if dialect == "sqlite":
        return func.json_type(Record.data, literal_column(f"'$.{json_path(field)}'"))
    return Record.data.op("->")(literal_column(f"'{json_path(field)}'"))


def bind_value(kind: str, value: Any, dialect: str) -> Any:
    """A Python value as a bound parameter comparable with the kind's projection.

    SQLite cannot bind a Decimal; it compares the double that ``json_extract`` parses from
    the stored text, so binding the nearest double of the same decimal compares exactly.
    """
    if value is None:
        return None
    if kind in ("number", "integer") and isinstance(value, Decimal) and dialect == "sqlite":
        return int(value) if value == value.to_integral_value() else float(value)
    if kind == "boolean" and dialect == "sqlite":
        return 1 if value else 0
    return value
