"""Data sources beyond forms: a plugin's computed tables (scorecards, target progress)
charted like a form.

A plugin returns them from ``formflow_data_sources`` as ``{name: DataSource}``. A source
computes its rows in SQL itself, narrowed to what the acting user may see and to the
dashboard's filters; they are small (a row per rep and period), so grouping them here is
cheap. Columns have a kind so groups get names: ``member`` and ``department`` ids,
``option`` values with labels (grouped in their options' order), ``date`` (bucketed like a
form's dates), numbers. The kind also says how a chart's filters compare a column — as
numbers, days or text, with the record list's operators — so a filter means on a source
what it means on a form.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import FieldError, ValidationFailed
from ..fields.base import SCALAR_OPERATORS, TEXT_OPERATORS, FieldValueError
from ..fields.dates import parse_date
from ..fields.numbers import parse_decimal
from ..fields.people import parse_id
from ..fields.text import TEXTAREA_CAP, clean_text

# The record list's own readings of a filter's value, so that a filter on a source means
# what it means on a form (an ``in`` list as text or JSON, ``is_empty`` with "false").
from ..records.query import OPERATORS, _bounded, _truthy, _values
from ..runtime import Work
from .definition import ChartFilter, ChartSpec
from .labels import labels_for
from .results import ordered_groups

NUMERIC = ("number", "money", "integer", "percent")
#: Kinds compared as numbers (member and department ids too).
_NUMBERS = (*NUMERIC, "member", "department")
#: A row's test for one of a chart's filters.
Condition = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class SourceColumn:
    key: str
    label: dict[str, str]
    #: text / option / member / department / date / number / money / integer / percent
    kind: str
    options: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class DataSource:
    """A named table a plugin computes; ``rows(work, filters)`` returns dicts keyed by the
    columns' keys, only what ``work``'s actor may see."""

    name: str
    title: dict[str, str]
    columns: tuple[SourceColumn, ...]
    rows: Callable[..., list[dict[str, Any]]]
    #: Where a group drills down to: (row keys by dimension key) → URL, or None.
    drill: Callable[[dict[str, Any]], str | None] | None = None
    #: The forms (``app.form``) whose records the rows are computed from, all of them (or
    #: a function of the unit of work naming them, for sources an admin configures): a
    #: chart over the source is then cached like a form's chart, until a record of one
    #: of them changes (or five minutes pass). Empty: computed on every view.
    reads: tuple[str, ...] | Callable[[Work], Sequence[str]] = ()
    #: Whether ``rows`` also takes ``columns``, the set of columns a chart reads, and may
    #: leave the others out of its rows (a source whose columns each cost a query).
    narrows: bool = False

    def column(self, key: str) -> SourceColumn | None:
        return next((c for c in self.columns if c.key == key), None)


def _bucket(value: Any, bucket: str | None) -> Any:
    """A date's bucket key, the same keys a form's dates get in SQL."""
    if value is None or bucket is None:
        return value
    text = str(value)[:10]
    if bucket == "day":
        return text
    if bucket == "month":
        return text[:7]
    if bucket == "year":
        return text[:4]
    if bucket == "quarter":
        return f"{text[:4]}-Q{(int(text[5:7]) + 2) // 3}"
    day = dt.date.fromisoformat(text)
    return (day - dt.timedelta(days=day.weekday())).isoformat()


def _operators(column: SourceColumn) -> frozenset[str]:
    """The operators a form field of the same kind takes (``contains`` only on text)."""
    return SCALAR_OPERATORS if column.kind in _NUMBERS else TEXT_OPERATORS


def _operand(column: SourceColumn, raw: Any) -> Any:
    """One filter value read as the column compares: a number, a date or trimmed text."""
    if column.kind in ("member", "department"):
        value: Any = parse_id(raw, column.kind)
    elif column.kind in NUMERIC:
        value = parse_decimal(raw)
    elif column.kind == "date":
        value = parse_date(raw)
    else:
        value = clean_text(raw, TEXTAREA_CAP)
    if value is None:
        raise FieldValueError("needs a value", "required")
    return value


def _cell(column: SourceColumn, raw: Any) -> Any:
    """A row's value as the column compares; None when empty or unreadable, so that it is
    empty to ``is_empty`` and passes no comparison, as NULL in a form's SQL."""
    if raw is None or raw == "":
        return None
    try:
        if column.kind in _NUMBERS:
            return Decimal(int(raw)) if isinstance(raw, bool) else parse_decimal(raw)
        if column.kind == "date":
            return parse_date(raw)
    except FieldValueError:
        return None
    return raw if isinstance(raw, str) else str(raw)


def _test(column: SourceColumn, op: str, raw: Any) -> Callable[[Any], bool]:
    """A cell's test for ``op`` and ``raw``, read as ``records.query`` reads them on a form:
    ``ne`` keeps empty cells, every other comparison drops them. Raises FieldValueError."""
    if op == "is_empty":
        empty = _truthy(raw)
        return lambda cell: (cell is None) == empty
    if op == "in":
        wanted = {_operand(column, v) for v in _bounded(_values(raw))}
        return lambda cell: cell is not None and cell in wanted
    if op == "between":
        bounds = _values(raw)
        if len(bounds) != 2:
            raise FieldValueError("needs two values: low,high", "between")
        low, high = (_operand(column, v) for v in bounds)
        return lambda cell: cell is not None and low <= cell <= high
    if op == "contains":  # LIKE on SQLite, ILIKE on PostgreSQL: case does not matter
        if not isinstance(raw, str) or not raw:
            raise FieldValueError("needs text", "type")
        needle = raw.casefold()
        return lambda cell: cell is not None and needle in str(cell).casefold()
    value = _operand(column, raw)
    if op == "ne":
        return lambda cell: cell is None or cell != value
    compare: Callable[[Any, Any], bool] = {
        "eq": operator.eq,
        "lt": operator.lt,
        "lte": operator.le,
        "gt": operator.gt,
        "gte": operator.ge,
    }[op]
    return lambda cell: cell is not None and compare(cell, value)


def _condition(column: SourceColumn, item: ChartFilter, where: str) -> Condition:
    """The row test of one chart filter; raises ValidationFailed naming the filter's op or
    value (``charts[2].filters[0].op``) when the column cannot be filtered that way."""
    if item.op not in OPERATORS:
        raise ValidationFailed(
            [FieldError(f"{where}.op", f"unknown operator '{item.op}'", "operator")]
        )
    allowed = _operators(column)
    if item.op not in allowed:
        usable = ", ".join(o for o in OPERATORS if o in allowed)
        raise ValidationFailed(
            [FieldError(f"{where}.op", f"cannot use '{item.op}' here (use {usable})", "operator")]
        )
    try:
        test = _test(column, item.op, item.value)
    except FieldValueError as error:
        message = f"{item.op}: {error.message}"
        raise ValidationFailed(
            [FieldError(f"{where}.value", message, error.code, error.params)]
        ) from None
    return lambda row: test(_cell(column, row.get(column.key)))


def _conditions(
    source: DataSource, chart: ChartSpec, where: str
) -> tuple[list[Condition], list[FieldError]]:
    """Each chart filter's row test, and the problems of those that cannot be applied."""
    conditions: list[Condition] = []
    errors: list[FieldError] = []
    for i, item in enumerate(chart.filters):
        at = f"{where}.filters[{i}]"
        column = source.column(item.field)
        if column is None:
            errors.append(FieldError(f"{at}.field", "not a column", "unknown"))
            continue
        try:
            conditions.append(_condition(column, item, at))
        except ValidationFailed as error:
            errors += error.errors
    return conditions, errors


def check(source: DataSource, chart: ChartSpec, where: str) -> None:
    errors = []
    for i, d in enumerate(chart.dimensions):
        if source.column(d.field) is None:
            errors.append(FieldError(f"{where}.dimensions[{i}].field", "not a column", "unknown"))
    for i, m in enumerate(chart.measures):
        if m.formula is None and m.agg != "count":
            column = source.column(m.field or "")
            if column is None:
                errors.append(FieldError(f"{where}.measures[{i}].field", "not a column", "unknown"))
            elif m.agg != "count_distinct" and column.kind not in NUMERIC:
                errors.append(
                    FieldError(f"{where}.measures[{i}].field", f"{m.agg} needs a number", "measure")
                )
    errors += _conditions(source, chart, where)[1]
    if errors:
        raise ValidationFailed(errors)


def aggregate(
    source: DataSource, chart: ChartSpec, rows: Sequence[dict[str, Any]], where: str = "chart"
) -> list[tuple]:
    """(keys, values by measure key) per group of the chart's dimensions, over the rows the
    chart's filters pass; raises ValidationFailed for a filter :func:`check` refuses rather
    than drawing a chart that is silently empty."""
    conditions, errors = _conditions(source, chart, where)
    if errors:
        raise ValidationFailed(errors)
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        if not all(test(row) for test in conditions):
            continue
        keys = tuple(_bucket(row.get(d.field), d.bucket) for d in chart.dimensions)
        groups.setdefault(keys, []).append(row)
    if not chart.dimensions and not groups:
        groups[()] = []  # one total even over no rows, as SQL's: a count of 0, a sum of none
    out = []
    for keys, members in groups.items():
        values: dict[str, Any] = {}
        for m in chart.measures:
            if m.formula is not None:
                continue
            if m.agg == "count":
                values[m.key] = len(members)
                continue
            present = [r.get(m.field or "") for r in members]
            present = [v for v in present if v is not None]
            if m.agg == "count_distinct":
                values[m.key] = len({str(v) for v in present})
                continue
            numbers = [Decimal(str(v)) for v in present]
            if not numbers:
                values[m.key] = None
            elif m.agg == "sum":
                values[m.key] = sum(numbers, Decimal(0))
            elif m.agg == "avg":
                values[m.key] = sum(numbers, Decimal(0)) / len(numbers)
            elif m.agg == "min":
                values[m.key] = min(numbers)
            else:
                values[m.key] = max(numbers)
        out.append((keys, values))
    return out


def ordered(source: DataSource, chart: ChartSpec, groups: list[tuple]) -> list[tuple]:
    """The groups in the chart's order, cut to its limit: its sort, else option columns in
    their options' order (a funnel's stages) and other keys ascending, empty first — as a
    form's chart orders its select fields and values."""
    orders = []
    for i, d in enumerate(chart.dimensions):
        column = source.column(d.field)
        positions = {key: n for n, key in enumerate(column.options)} if column else {}
        keys = {g[0][i] for g in groups if g[0][i] is not None}
        orders.append({k: positions[str(k)] for k in keys if str(k) in positions})
    return ordered_groups(chart, orders, groups)


def group_labels(
    work: Work, source: DataSource, chart: ChartSpec, groups: list[tuple], language: str
) -> list[dict[Any, str]]:
    names = []
    for i, d in enumerate(chart.dimensions):
        column = source.column(d.field)
        assert column is not None
        keys = [g[0][i] for g in groups]
        if column.kind in ("member", "department"):
            kind = "user" if column.kind == "member" else "department"
            names.append(labels_for(work, kind, None, keys, language))
        elif column.kind == "option":
            found = labels_for(work, "plain", None, keys, language)
            for k in keys:
                label = column.options.get(str(k))
                if label:
                    found[k] = label.get(language) or next(iter(label.values()))
            names.append(found)
        else:
            names.append(labels_for(work, "plain", None, keys, language))
    return names


def read_columns(chart: ChartSpec) -> frozenset[str]:
    """The columns a chart over a source reads: its dimensions', measures' and filters'."""
    return frozenset(
        [d.field for d in chart.dimensions]
        + [m.field for m in chart.measures if m.field]
        + [f.field for f in chart.filters]
    )
