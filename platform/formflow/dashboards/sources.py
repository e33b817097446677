"""Data sources beyond forms: a plugin's computed tables (scorecards, target progress)
charted like a form.

A plugin returns them from ``formflow_data_sources`` as ``{name: DataSource}``. A source
computes its rows in SQL itself, narrowed to what the acting user may see and to the
dashboard's filters; they are small (a row per rep and period), so grouping them here is
cheap. Columns have a kind so groups get names: ``member`` and ``department`` ids,
``option`` values with labels, ``date`` (bucketed like a form's dates), numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import FieldError, ValidationFailed
from ..runtime import Work
from .compile import Filters
from .definition import ChartSpec
from .labels import labels_for

NUMERIC = ("number", "money", "integer", "percent")


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
    rows: Callable[[Work, Filters], list[dict[str, Any]]]
    #: Where a group drills down to: (row keys by dimension key) → URL, or None.
    drill: Callable[[dict[str, Any]], str | None] | None = None

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


def _matches(row: dict[str, Any], op: str, key: str, value: Any) -> bool:
    have = row.get(key)
    if op == "is_empty":
        return have in (None, "")
    if op in ("in", "eq", "ne"):
        values = value.split(",") if isinstance(value, str) and op == "in" else [value]
        hit = str(have) in {str(v) for v in values}
        return not hit if op == "ne" else hit
    if have is None:
        return False
    try:
        left, right = Decimal(str(have)), Decimal(str(value))
    except ArithmeticError:
        left, right = str(have), str(value)  # type: ignore[assignment]
    return {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }.get(op, False)


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
    for i, f in enumerate(chart.filters):
        if source.column(f.field) is None:
            errors.append(FieldError(f"{where}.filters[{i}].field", "not a column", "unknown"))
    if errors:
        raise ValidationFailed(errors)


def aggregate(source: DataSource, chart: ChartSpec, rows: list[dict[str, Any]]) -> list[tuple]:
    """(keys, values by measure key) per group of the chart's dimensions."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        if not all(_matches(row, f.op, f.field, f.value) for f in chart.filters):
            continue
        keys = tuple(_bucket(row.get(d.field), d.bucket) for d in chart.dimensions)
        groups.setdefault(keys, []).append(row)
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
