"""A chart's grouped rows as what the page draws (``ChartResult``): labelled groups, exact
values as text, measures computed from measures, the order asked for, and for each group
the record list it drills down to."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..expressions import ExpressionError
from ..expressions.expression import compile_expression
from ..records.query import Filter
from ..runtime import Work
from .compile import DimensionPlan, MeasurePlan, Plan, decimal_of
from .definition import ChartSpec, Measure, formula_order
from .labels import labels_for, option_order

#: (form name, record-list filters) → the list's URL; None when there is no web layer.
DrillUrl = Callable[[str, list[Filter]], str] | None
_QUANTUM = {"money": Decimal("0.01"), "percent": Decimal("0.0001"), "integer": Decimal(1)}


def measure_values(measures: tuple[MeasurePlan, ...], raw: tuple[Any, ...]) -> dict[str, Any]:
    """A row's aggregates (in the plan's column order) as exact values by measure key."""
    out: dict[str, Any] = {}
    position = 0
    for m in measures:
        width = len(m.columns)
        columns = raw[position : position + width]
        position += width
        if m.measure.agg in ("count", "count_distinct"):
            out[m.measure.key] = int(columns[0] or 0)
        elif m.measure.agg == "avg":
            total, count = decimal_of(columns[0], m.scale), int(columns[1] or 0)
            out[m.measure.key] = None if not count or total is None else total / count
        else:
            out[m.measure.key] = decimal_of(columns[0], m.scale)
    return out


def with_formulas(chart: ChartSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Formula measures computed over the group's other measures, each after the formulas
    it uses (an error or a division by zero gives an empty value, not a failed chart)."""
    for m in formula_order(chart.measures):
        assert m.formula is not None
        scope = {k: (Decimal(v) if isinstance(v, int) else v) for k, v in values.items()}
        try:
            result = compile_expression(m.formula).evaluate(scope)
        except ExpressionError:
            result = None
        values[m.key] = result if isinstance(result, (Decimal, int)) else None
    return values


def kind_of(chart: ChartSpec, plans: tuple[MeasurePlan, ...], m: Measure) -> str:
    if m.kind:
        return m.kind
    found = next((p for p in plans if p.measure.key == m.key), None)
    return found.kind if found else "number"


def shown(value: Any, kind: str) -> Any:
    """A value for JSON: integers as numbers, decimals as exact text."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        quantum = _QUANTUM.get(kind, Decimal("0.0001"))
        if kind == "number" and value == value.to_integral_value():
            quantum = Decimal(1)
        with contextlib.suppress(ArithmeticError):
            value = value.quantize(quantum)
        return format(value, "f")
    return str(value)


def bucket_range(key: str, bucket: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day of a bucket's key (``2026-Q4`` → Oct 1 … Dec 31)."""
    try:
        if bucket in ("day", "week"):
            first = dt.date.fromisoformat(key)
            return first, first + dt.timedelta(days=0 if bucket == "day" else 6)
        year = int(key[:4])
        if bucket == "year":
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        if bucket == "quarter":
            start = (int(key[-1]) - 1) * 3 + 1
            months = (start, start + 2)
        else:
            months = (int(key[5:7]), int(key[5:7]))
        first = dt.date(year, months[0], 1)
        after = dt.date(year + (months[1] == 12), months[1] % 12 + 1, 1)
        return first, after - dt.timedelta(days=1)
    except (ValueError, IndexError):
        return None


def _group_filter(plan: Plan, d: DimensionPlan, key: Any) -> Filter | None:
    if not d.drillable:
        return None
    name = d.dimension.field
    if key is None:
        return Filter(name, "is_empty", "true")
    if d.kind != "bucket":
        return Filter(name, "eq", str(key))
    days = bucket_range(str(key), d.dimension.bucket or "month")
    if days is None:
        return None
    if d.field is not None and d.field.type.name == "date":
        return Filter(name, "between", f"{days[0].isoformat()},{days[1].isoformat()}")
    zone = plan.loaded.spec.timezone
    start = dt.datetime.combine(days[0], dt.time(), zone)
    end = dt.datetime.combine(days[1] + dt.timedelta(days=1), dt.time(), zone)
    return Filter(
        name, "between", f"{start.isoformat()},{(end - dt.timedelta(seconds=1)).isoformat()}"
    )


def drill(plan: Plan, keys: tuple[Any, ...], drill_url: DrillUrl) -> str | None:
    if drill_url is None:
        return None
    filters = list(plan.base_filters)
    for d, key in zip(plan.dimensions, keys, strict=False):
        item = _group_filter(plan, d, key)
        if item is None:
            return None
        filters.append(item)
    return drill_url(plan.loaded.name, filters)


def header(
    chart: ChartSpec, plan_measures: tuple[MeasurePlan, ...], labels: dict[str, str]
) -> dict:
    return {
        "dimensions": [
            {"key": d.field, "label": labels.get(f"d:{d.field}", d.field)} for d in chart.dimensions
        ],
        "measures": [
            {
                "key": m.key,
                "label": labels.get(f"m:{m.key}", m.key),
                "kind": kind_of(chart, plan_measures, m),
            }
            for m in chart.measures
        ],
    }


def sort_groups(
    chart: ChartSpec, dimensions: tuple[DimensionPlan, ...], groups: list[tuple[tuple, dict]]
) -> list[tuple[tuple, dict]]:
    """The groups in the chart's order, cut to its limit."""
    orders = [option_order(d.field) if d.kind == "option" else {} for d in dimensions]
    return ordered_groups(chart, orders, groups)


def _natural(key: Any) -> tuple[int, Any, str]:
    """A group key's place among its dimension's keys: empty first, then numbers, then
    text (keys of mixed types, as a plugin's rows may hold, still sort)."""
    if key is None:
        return (0, 0, "")
    if isinstance(key, (int, Decimal, float)) and not isinstance(key, bool):
        return (1, key, "")
    return (2, 0, str(key))


def ordered_groups(
    chart: ChartSpec, orders: list[dict[Any, int]], groups: list[tuple[tuple, dict]]
) -> list[tuple[tuple, dict]]:
    """The groups in the chart's order, cut to its limit: by the measure it sorts by, else
    by each dimension's keys — ``orders[i]`` (key → position: a select's options) when
    given, other keys after them in natural order."""
    by = chart.sort_by
    descending = chart.descending
    if by is None and chart.type == "ranking":
        by, descending = chart.measures[0].key, True
    if by is not None and any(m.key == by for m in chart.measures):

        def value(group: tuple[tuple, dict]) -> tuple[int, Any]:
            v = group[1].get(by)
            return (0, 0) if v is None else (1, v)

        groups = sorted(groups, key=value, reverse=descending)
    elif orders:

        def position(group: tuple[tuple, dict]) -> tuple:
            out = []
            for key, order in zip(group[0], orders, strict=False):
                out.append((order.get(key, len(order)) if order else 0, _natural(key)))
            return tuple(out)

        groups = sorted(groups, key=position, reverse=descending)
    return groups[: chart.limit] if chart.limit else groups


def rows_result(
    work: Work,
    plan: Plan,
    fetched: list[Any],
    language: str,
    drill_url: DrillUrl,
    labels: dict[str, str],
) -> dict[str, Any]:
    chart = plan.chart
    width = len(plan.dimensions)
    groups = [
        (
            tuple(row[:width]),
            with_formulas(chart, measure_values(plan.measures, tuple(row[width:]))),
        )
        for row in fetched
    ]
    groups = sort_groups(chart, plan.dimensions, groups)
    names = [
        labels_for(work, d.kind, d.field, (g[0][i] for g in groups), language)
        for i, d in enumerate(plan.dimensions)
    ]
    kinds = {m.key: kind_of(chart, plan.measures, m) for m in chart.measures}
    rows = [
        {
            "keys": [None if k is None else str(k) for k in keys],
            "labels": [names[i][k] for i, k in enumerate(keys)],
            "values": [shown(values.get(m.key), kinds[m.key]) for m in chart.measures],
            "drill": drill(plan, keys, drill_url),
        }
        for keys, values in groups
    ]
    return {**header(chart, plan.measures, labels), "rows": rows, "empty": not rows}


def pivot_result(
    work: Work,
    plan: Plan,
    fetched: list[Any],
    language: str,
    drill_url: DrillUrl,
    labels: dict[str, str],
) -> dict[str, Any]:
    chart = plan.chart
    kinds = {m.key: kind_of(chart, plan.measures, m) for m in chart.measures}

    def values(row: Any) -> list[Any]:
        computed = with_formulas(chart, measure_values(plan.measures, tuple(row[3:])))
        return [shown(computed.get(m.key), kinds[m.key]) for m in chart.measures]

    cells: dict[Any, dict[Any, list[Any]]] = {}
    row_totals: dict[Any, list[Any]] = {}
    column_totals: dict[Any, list[Any]] = {}
    grand: list[Any] = []
    flat = []
    for row in fetched:
        level, r, c = int(row[0]), row[1], row[2]
        if level == 0:
            cells.setdefault(r, {})[c] = values(row)
            flat.append(((r, c), values(row)))
        elif level == 1:
            row_totals[r] = values(row)
        elif level == 2:
            column_totals[c] = values(row)
        else:
            grand = values(row)
    row_dim, column_dim = plan.dimensions
    row_keys = [g[0][0] for g in sort_groups(chart, (row_dim,), [((k,), {}) for k in row_totals])]
    column_keys = [
        g[0][0] for g in sort_groups(chart, (column_dim,), [((k,), {}) for k in column_totals])
    ]
    row_names = labels_for(work, row_dim.kind, row_dim.field, row_keys, language)
    column_names = labels_for(work, column_dim.kind, column_dim.field, column_keys, language)

    def key(k: Any) -> str:
        return "" if k is None else str(k)

    pivot = {
        "rows": [{"key": key(k), "label": row_names[k]} for k in row_keys],
        "columns": [{"key": key(k), "label": column_names[k]} for k in column_keys],
        "cells": {key(r): {key(c): v for c, v in cols.items()} for r, cols in cells.items()},
        "row_totals": {key(k): v for k, v in row_totals.items()},
        "column_totals": {key(k): v for k, v in column_totals.items()},
        "grand": grand,
    }
    rows = [
        {
            "keys": [key(r), key(c)],
            "labels": [row_names.get(r, key(r)), column_names.get(c, key(c))],
            "values": v,
            "drill": drill(plan, (r, c), drill_url),
        }
        for (r, c), v in flat
    ]
    return {**header(chart, plan.measures, labels), "rows": rows, "pivot": pivot, "empty": not rows}
