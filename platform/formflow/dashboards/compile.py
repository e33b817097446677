"""A chart over a form as one SQL statement: ``GROUP BY`` its dimensions, its aggregates
as columns, the form's live rows narrowed by the viewer's data permissions, the chart's own
filters and the dashboard's period, department and owner.

Nothing is loaded into Python to be aggregated: the statement returns one row a group.
Sums are exact — SQLite sums integers of the field's smallest unit (cents for money),
PostgreSQL sums ``NUMERIC``. A pivot is one ``UNION ALL`` of three groupings (cells, row
subtotals, the grand total), so a subtotal of a distinct count or an average is computed,
not added up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    Text,
    cast,
    distinct,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from ..definitions.service import LoadedForm
from ..definitions.spec import FieldSpec, FormSpec
from ..errors import FieldError, Forbidden, FormflowError, ValidationFailed
from ..fields.dates import format_datetime
from ..people.models import Membership
from ..permissions.models import Action
from ..permissions.policy import policy_for
from ..records.projection import MULTI_KINDS, SYSTEM_FIELDS, field_sql
from ..records.query import Filter, filter_clause, form_rows
from ..runtime import Work
from .definition import ChartSpec, Dimension, Measure
from .periods import Range

#: More groups than this are cut (a chart of 5,000 bars helps nobody).
MAX_GROUPS = 1000
NUMERIC_KINDS = ("number", "integer")
DATE_TYPES = ("date", "datetime")
_USER_COLUMNS = ("_owner", "_created_by", "_updated_by")


@dataclass(frozen=True)
class Filters:
    """The dashboard-wide filters: a period, a department (with its sub-departments' ids
    already expanded) and an owner."""

    period: Range | None = None
    departments: tuple[int, ...] | None = None
    owner: int | None = None


@dataclass(frozen=True)
class DimensionPlan:
    dimension: Dimension
    #: What the grouped value is: ``user``, ``department``, ``record`` (a relation),
    #: ``option`` (select), ``bucket`` (a date bucketed), ``value``.
    kind: str
    field: FieldSpec | None
    expression: ColumnElement[Any]
    #: For a drill-down: the record-list filter of one group (None: cannot be listed).
    drillable: bool


@dataclass(frozen=True)
class MeasurePlan:
    measure: Measure
    kind: str  # money / number / integer / percent
    scale: int  # SQLite sums integers of 10**-scale; the result is scaled back
    columns: tuple[ColumnElement[Any], ...]


@dataclass(frozen=True)
class Plan:
    loaded: LoadedForm
    chart: ChartSpec
    dimensions: tuple[DimensionPlan, ...]
    measures: tuple[MeasurePlan, ...]
    statement: Select[Any]
    #: The record-list filters every drill-down of this chart carries.
    base_filters: tuple[Filter, ...]
    #: What the viewer may see, as SQL text: part of the cache key.
    scope_text: str


def _error(where: str, message: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed([FieldError(where, message, code)])


def scale_of(field: FieldSpec) -> int:
    """The decimals a field's values carry (sums are exact to this many places)."""
    schema = field.schema
    if schema.get("type") == "integer" or field.type.name == "rating":
        return 0
    if field.type.name == "money":
        return int(schema.get("x-scale", 2))
    if field.type.name == "percent":
        return int(schema.get("x-scale", 4))
    return int(schema.get("x-precision", schema.get("x-scale", 6)))


def _field(spec: FormSpec, name: str, where: str, hidden: set[str]) -> FieldSpec | None:
    """A top-level stored field by key (None for a system column); refuses what the viewer
    may not see, so a chart never reveals a hidden field group by group."""
    if name in SYSTEM_FIELDS:
        return None
    f = spec.by_key.get(name)
    if f is None or not f.stores or f.parent is not None:
        raise _error(where, f"'{name}' is not a field of {spec.name}", "unknown")
    if name in hidden:
        raise Forbidden([FieldError(where, f"you may not see '{name}'", "hidden")])
    return f


def _zone_offset_minutes(spec: FormSpec, when: dt.datetime) -> int:
    offset = when.astimezone(spec.timezone).utcoffset() or dt.timedelta()
    return int(offset.total_seconds() // 60)


def local_day(
    spec: FormSpec, f: FieldSpec | None, column: ColumnElement[Any], dialect: str, now: dt.datetime
) -> ColumnElement[Any]:
    """The ``YYYY-MM-DD`` (in the form's time zone) of a date, datetime or system column."""
    if f is not None and f.type.name == "date":
        return column
    if dialect == "sqlite":
        minutes = _zone_offset_minutes(spec, now)
        if f is not None:  # a datetime field: UTC text with a Z
            column = func.replace(func.replace(column, "T", " "), "Z", "")
        return func.date(column, f"{minutes:+d} minutes")
    if f is not None:  # a datetime field: ISO text
        column = cast(column, DateTime(timezone=True))
    return func.to_char(func.timezone(spec.timezone.key, column), "YYYY-MM-DD")


def bucketed(day: ColumnElement[Any], bucket: str, dialect: str) -> ColumnElement[Any]:
    """A local day as its bucket's key: ``2026-11-23``, week ``2026-11-23`` (its Monday),
    ``2026-11``, ``2026-Q4``, ``2026``."""
    if bucket == "day":
        return day
    if bucket == "month":
        return func.substr(day, 1, 7)
    if bucket == "year":
        return func.substr(day, 1, 4)
    if bucket == "quarter":
        month = cast(func.substr(day, 6, 2), Integer)
        return func.substr(day, 1, 4).concat("-Q").concat(cast((month + 2) // 3, Text))
    if dialect == "sqlite":
        back = (cast(func.strftime("%w", day), Integer) + 6) % 7
        return func.date(day, literal("-").concat(cast(back, Text)).concat(" days"))
    return func.to_char(func.date_trunc("week", cast(day, Date)), "YYYY-MM-DD")


def _period_clause(
    spec: FormSpec, name: str, period: Range, dialect: str, hidden: set[str]
) -> tuple[list[ColumnElement[bool]], list[Filter]]:
    """Rows whose ``name`` (a date, datetime or system timestamp) falls in ``period``, as SQL
    and as the record list's filters."""
    f = _field(spec, name, "date_field", hidden)
    zone = spec.timezone
    if f is None or f.type.name == "datetime":
        start = dt.datetime.combine(period.start, dt.time(), zone)
        end = dt.datetime.combine(period.end, dt.time(), zone)
        if f is None:
            column = SYSTEM_FIELDS[name][0]
            if SYSTEM_FIELDS[name][1] != "datetime":
                raise _error("date_field", f"'{name}' is not a date", "type")
            clauses = [column >= start.astimezone(dt.UTC), column < end.astimezone(dt.UTC)]
        else:
            column = field_sql(f, dialect)
            clauses = [column >= format_datetime(start), column < format_datetime(end)]
        last = end - dt.timedelta(seconds=1)
        shown = [Filter(name, "between", f"{start.isoformat()},{last.isoformat()}")]
        return clauses, shown
    if f.type.name != "date":
        raise _error("date_field", f"'{name}' is not a date", "type")
    column = field_sql(f, dialect)
    first, last = period.start.isoformat(), period.last_day.isoformat()
    return [column >= first, column <= last], [Filter(name, "between", f"{first},{last}")]


def _member_clause(
    spec: FormSpec, name: str, ids: tuple[int, ...], dialect: str, hidden: set[str], where: str
) -> tuple[ColumnElement[bool], Filter]:
    f = _field(spec, name, where, hidden)
    if f is None:
        column: ColumnElement[Any] = SYSTEM_FIELDS[name][0]
    else:
        if f.type.projection(f) != "integer":
            raise _error(where, f"'{name}' is not a member or department field", "type")
        column = field_sql(f, dialect)
    value = ",".join(str(i) for i in ids)
    return column.in_(list(ids) or [-1]), Filter(name, "in" if len(ids) != 1 else "eq", value)


def _dimension(
    work: Work, spec: FormSpec, d: Dimension, where: str, hidden: set[str]
) -> DimensionPlan:
    dialect = work.dialect
    f = _field(spec, d.field, f"{where}.field", hidden)
    if f is None:
        column, kind = SYSTEM_FIELDS[d.field]
        if kind == "datetime":
            day = local_day(spec, None, column, dialect, work.now)
            return DimensionPlan(
                d, "bucket", None, bucketed(day, d.bucket or "month", dialect), True
            )
        if d.field in _USER_COLUMNS:
            if d.by == "department":
                return DimensionPlan(d, "department", None, _primary_department(column), False)
            return DimensionPlan(d, "user", None, column, True)
        if d.field == "_department":
            return DimensionPlan(d, "department", None, column, True)
        raise _error(f"{where}.field", f"cannot group by '{d.field}'", "dimension")
    projection = f.type.projection(f)
    if projection in MULTI_KINDS or projection is None:
        raise _error(
            f"{where}.field", f"cannot group by '{d.field}' (it holds several values)", "dimension"
        )
    column = field_sql(f, dialect)
    name = f.type.name
    if name in DATE_TYPES:
        day = local_day(spec, f, column, dialect, work.now)
        return DimensionPlan(d, "bucket", f, bucketed(day, d.bucket or "month", dialect), True)
    if d.bucket:
        raise _error(f"{where}.bucket", "only dates are bucketed", "bucket")
    if name == "member":
        if d.by == "department":
            return DimensionPlan(d, "department", f, _primary_department(column), False)
        return DimensionPlan(d, "user", f, column, True)
    if name == "department":
        return DimensionPlan(d, "department", f, column, True)
    if name == "relation":
        return DimensionPlan(d, "record", f, column, True)
    if name in ("select", "radio"):
        return DimensionPlan(d, "option", f, column, True)
    return DimensionPlan(d, "value", f, column, True)


def _primary_department(user: ColumnElement[Any]) -> ColumnElement[Any]:
    return (
        select(Membership.department_id)
        .where(Membership.user_id == user, Membership.is_primary.is_(True))
        .order_by(Membership.department_id)
        .limit(1)
        .scalar_subquery()
    )


def measure_kind(m: Measure, f: FieldSpec | None) -> str:
    if m.kind:
        return m.kind
    if m.agg in ("count", "count_distinct") or f is None:
        return "integer"
    if f.type.name in ("money", "percent"):
        return f.type.name
    if f.schema.get("type") == "integer" or f.type.name == "rating":
        return "integer" if m.agg != "avg" else "number"
    return "number"


def _measure(work: Work, spec: FormSpec, m: Measure, where: str, hidden: set[str]) -> MeasurePlan:
    dialect = work.dialect
    if m.agg == "count":
        return MeasurePlan(m, measure_kind(m, None), 0, (func.count(),))
    assert m.field is not None and m.agg is not None
    f = _field(spec, m.field, f"{where}.field", hidden)
    if f is None:
        column = SYSTEM_FIELDS[m.field][0]
        if m.agg != "count_distinct":
            raise _error(f"{where}.field", f"cannot {m.agg} '{m.field}'", "measure")
        return MeasurePlan(m, "integer", 0, (func.count(distinct(column)),))
    projection = f.type.projection(f)
    if projection in MULTI_KINDS or projection is None:
        raise _error(f"{where}.field", f"cannot aggregate '{m.field}' (several values)", "measure")
    column = field_sql(f, dialect)
    if m.agg == "count_distinct":
        return MeasurePlan(m, "integer", 0, (func.count(distinct(column)),))
    if projection not in NUMERIC_KINDS:
        raise _error(f"{where}.field", f"'{m.field}' is not a number; {m.agg} needs one", "measure")
    kind = measure_kind(m, f)
    scale = scale_of(f) if dialect == "sqlite" else 0
    if m.agg in ("min", "max"):
        aggregate = func.min if m.agg == "min" else func.max
        return MeasurePlan(m, kind, -1, (aggregate(column),))
    exact = cast(func.round(column * (10**scale)), Integer) if dialect == "sqlite" else column
    if dialect != "sqlite":
        exact = cast(exact, Numeric)
    if m.agg == "sum":
        return MeasurePlan(m, kind, scale, (func.sum(exact),))
    return MeasurePlan(m, kind, scale, (func.sum(exact), func.count(column)))  # avg


def plan(
    work: Work,
    loaded: LoadedForm,
    chart: ChartSpec,
    filters: Filters,
    where: str,
    *,
    unrestricted: bool = False,
) -> Plan:
    """The chart's statement for the acting user (for every row when ``unrestricted``: a
    definition being checked); raises ValidationFailed naming the part of the chart that
    is wrong, Forbidden when the user may not view the form's records."""
    spec = loaded.spec
    dialect = work.dialect
    hidden: set[str] = set()
    scope = None
    if not unrestricted:
        policy = policy_for(work, loaded)
        if not policy.allows(Action.VIEW):
            raise Forbidden(
                [FieldError(f"{where}.form", f"you may not view {loaded.name}", "view")]
            )
        hidden = policy.hidden_anywhere()
        scope = policy.rows(Action.VIEW, dialect)
    conditions: list[ColumnElement[bool]] = list(form_rows(loaded.form.id))
    if scope is not None:
        conditions.append(scope)
    base: list[Filter] = []
    for i, item in enumerate(chart.filters):
        query_filter = Filter(item.field, item.op, item.value)
        try:
            conditions.append(filter_clause(spec, query_filter, dialect, frozenset(hidden)))
        except FormflowError as error:
            nested = [e.nested(f"{where}.filters[{i}]") for e in error.errors]
            raise ValidationFailed(nested) from None
        base.append(query_filter)
    if filters.period is not None:
        clauses, shown = _period_clause(spec, chart.date_field, filters.period, dialect, hidden)
        conditions += clauses
        base += shown
    if filters.departments is not None:
        clause, shown_one = _member_clause(
            spec, chart.department_field, filters.departments, dialect, hidden, "department_field"
        )
        conditions.append(clause)
        base.append(shown_one)
    if filters.owner is not None:
        clause, shown_one = _member_clause(
            spec, chart.owner_field, (filters.owner,), dialect, hidden, "owner_field"
        )
        conditions.append(clause)
        base.append(shown_one)
    dimensions = tuple(
        _dimension(work, spec, d, f"{where}.dimensions[{i}]", hidden)
        for i, d in enumerate(chart.dimensions)
    )
    measures = tuple(
        _measure(work, spec, m, f"{where}.measures[{i}]", hidden)
        for i, m in enumerate(chart.measures)
        if m.formula is None
    )
    keys = [d.expression.label(f"d{i}") for i, d in enumerate(dimensions)]
    values = [c.label(f"m{i}_{j}") for i, m in enumerate(measures) for j, c in enumerate(m.columns)]
    if chart.type == "pivot":
        statement = _pivot(dimensions, [c for m in measures for c in m.columns], conditions)
    else:
        statement = select(*keys, *values).where(*conditions)
        if keys:
            statement = statement.group_by(*keys)
        statement = _ordered(statement, chart, dimensions, measures, keys, values)
    scope_text = "" if scope is None else _scope_text(scope)
    return Plan(loaded, chart, dimensions, measures, statement, tuple(base), scope_text)


def _scope_text(scope: ColumnElement[bool]) -> str:
    """The viewer's row scope as text that differs whenever the rows it admits may."""
    compiled = scope.compile()
    return f"{compiled} {sorted((k, repr(v)) for k, v in compiled.params.items())}"


def _ordered(
    statement: Select[Any],
    chart: ChartSpec,
    dimensions: tuple[DimensionPlan, ...],
    measures: tuple[MeasurePlan, ...],
    keys: list[Any],
    values: list[Any],
) -> Select[Any]:
    """Sorted and cut in SQL when the sort is by a stored measure (a top-10 reads 10 rows);
    other orders (option order, formulas) are applied to the groups afterwards."""
    by = chart.sort_by
    if by is None and chart.type == "ranking":
        by, descending = chart.measures[0].key, True
    else:
        descending = chart.descending
    position = next((i for i, m in enumerate(measures) if m.measure.key == by), None)
    if position is not None and measures[position].measure.agg != "avg":
        column = measures[position].columns[0]
        ordered = column.desc() if descending else column.asc()
        statement = statement.order_by(ordered, *keys)
        return statement.limit(min(chart.limit or MAX_GROUPS, MAX_GROUPS))
    if keys:
        statement = statement.order_by(*keys)
    return statement.limit(MAX_GROUPS)


def _pivot(
    dimensions: tuple[DimensionPlan, ...],
    aggregates: list[ColumnElement[Any]],
    conditions: list[ColumnElement[bool]],
) -> Any:
    """Cells, row subtotals, column subtotals and the grand total in one statement; the
    ``level`` column says which (0 cell, 1 row total, 2 column total, 3 grand total)."""
    rows, columns = (d.expression for d in dimensions)
    parts = []
    for level, group in enumerate(([rows, columns], [rows], [columns], [])):
        row_key = rows if rows in group else null()
        column_key = columns if columns in group else null()
        part = select(
            literal(level).label("level"),
            row_key.label("d0"),
            column_key.label("d1"),
            *(a.label(f"m{i}") for i, a in enumerate(aggregates)),
        ).where(*conditions)
        if group:
            part = part.group_by(*group)
        parts.append(part)
    return union_all(*parts).limit(MAX_GROUPS * 4)


def decimal_of(raw: Any, scale: int) -> Decimal | None:
    """An aggregate's raw value as an exact Decimal (``scale`` = -1: as stored)."""
    if raw is None:
        return None
    if scale > 0:
        return Decimal(int(raw)).scaleb(-scale)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    return Decimal(raw)
