"""A chart's data for the acting user: compiled, run (or found in the cache), shaped.

A chart that cannot be drawn — a field since removed, a form the viewer may not see —
comes back with an ``error`` naming the problem instead of failing the whole dashboard.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..definitions.service import get_form
from ..errors import FormflowError
from ..runtime import Work
from . import sources as data_sources
from .cache import cache_key, data_version
from .compile import Filters, plan
from .definition import ChartSpec, text_of
from .results import DrillUrl, header, kind_of, pivot_result, rows_result, shown
from .results import with_formulas as computed

SYSTEM_LABELS = {
    "_owner": {"en": "Owner", "zh-CN": "负责人"},
    "_created_by": {"en": "Created by", "zh-CN": "创建人"},
    "_updated_by": {"en": "Updated by", "zh-CN": "修改人"},
    "_department": {"en": "Department", "zh-CN": "部门"},
    "_created_at": {"en": "Created", "zh-CN": "创建时间"},
    "_updated_at": {"en": "Updated", "zh-CN": "更新时间"},
    "_id": {"en": "Record", "zh-CN": "记录"},
}
AGG_LABELS = {
    "count": {"en": "Count", "zh-CN": "数量"},
    "sum": {"en": "Sum of {}", "zh-CN": "{}合计"},
    "avg": {"en": "Average {}", "zh-CN": "平均{}"},
    "min": {"en": "Lowest {}", "zh-CN": "最小{}"},
    "max": {"en": "Highest {}", "zh-CN": "最大{}"},
    "count_distinct": {"en": "Distinct {}", "zh-CN": "{}去重数"},
}
PREVIOUS = {"en": "previous period", "zh-CN": "上期"}


def say(texts: dict[str, str], language: str) -> str:
    return texts["zh-CN"] if language.startswith("zh") else texts["en"]


def sources(work: Work) -> dict[str, data_sources.DataSource]:
    found: dict[str, data_sources.DataSource] = {}
    for part in work.runtime.plugins.hook.formflow_data_sources():
        found.update(part or {})
    return found


def _labels(chart: ChartSpec, name_of: Any, language: str) -> dict[str, str]:
    """Header labels: the chart's own, else the field's, else what the aggregate says."""
    out = {}
    for d in chart.dimensions:
        out[f"d:{d.field}"] = text_of(d.label, language) or name_of(d.field)
    for m in chart.measures:
        if m.label:
            out[f"m:{m.key}"] = text_of(m.label, language)
        elif m.agg:
            out[f"m:{m.key}"] = say(AGG_LABELS[m.agg], language).format(name_of(m.field or ""))
        else:
            out[f"m:{m.key}"] = m.key
    return out


def chart_result(
    work: Work,
    chart: ChartSpec,
    filters: Filters,
    *,
    language: str,
    drill_url: DrillUrl = None,
    where: str = "chart",
    cache: bool = True,
) -> dict[str, Any]:
    """The chart's ChartResult (see ``static/dashboard.js``) for ``work``'s actor."""
    out: dict[str, Any] = {
        "id": chart.id,
        "type": chart.type,
        "title": text_of(chart.title, language),
        "compare": None,
        "target": chart.target,
        "pivot": None,
        "error": None,
        "layout": chart.layout,
    }
    try:
        out.update(_data(work, chart, filters, language, drill_url, where, cache))
        if chart.type == "number" and chart.compare and filters.period is not None:
            previous = dataclasses.replace(filters, period=filters.period.previous())
            before = _data(work, chart, previous, language, None, where, cache)
            if before["rows"]:
                out["compare"] = {
                    "values": before["rows"][0]["values"],
                    "label": say(PREVIOUS, language),
                }
        if chart.type == "gauge" and chart.target_measure and out["rows"]:
            index = [m.key for m in chart.measures].index(chart.target_measure)
            out["target"] = out["rows"][0]["values"][index]
    except FormflowError as error:
        out.update(
            rows=[],
            empty=True,
            dimensions=[],
            measures=[],
            error="; ".join(
                f"{e.field}: {e.message}" if e.field else e.message for e in error.errors
            ),
        )
    return out


def _data(
    work: Work,
    chart: ChartSpec,
    filters: Filters,
    language: str,
    drill_url: DrillUrl,
    where: str,
    cache: bool,
) -> dict[str, Any]:
    if chart.source:
        return _source_data(work, chart, filters, language, drill_url, where, cache)
    assert chart.form is not None
    loaded = get_form(work, chart.form)
    spec = loaded.spec

    def name_of(key: str) -> str:
        if key in SYSTEM_LABELS:
            return say(SYSTEM_LABELS[key], language)
        f = spec.by_key.get(key)
        return f.label(language) if f is not None else key

    compiled = plan(work, loaded, chart, filters, where)
    key = None
    if cache:
        key = cache_key(
            chart,
            filters,
            compiled.scope_text,
            language,
            loaded.form.current_version,
            data_version(work, loaded.form.id),
            drill_url is not None,
        )
        found = work.runtime.charts.get(key)
        if found is not None:
            return found
    fetched = work.connection.execute(compiled.statement).all()
    labels = _labels(chart, name_of, language)
    shape = pivot_result if chart.type == "pivot" else rows_result
    result = shape(work, compiled, fetched, language, drill_url, labels)
    if key is not None:
        work.runtime.charts.put(key, result)
    return result


def _source_data(
    work: Work,
    chart: ChartSpec,
    filters: Filters,
    language: str,
    drill_url: DrillUrl,
    where: str,
    cache: bool,
) -> dict[str, Any]:
    from ..errors import FieldError, ValidationFailed

    source = sources(work).get(chart.source or "")
    if source is None:
        raise ValidationFailed(
            [FieldError(f"{where}.source", f"no data source named '{chart.source}'", "unknown")]
        )
    data_sources.check(source, chart, where)
    key = None
    if cache and source.reads:
        key = cache_key(
            "source",
            chart,
            filters,
            work.actor_id,
            language,
            [(name, _version(work, name)) for name in _reads(work, source)],
            drill_url is not None,
        )
        found = work.runtime.charts.get(key)
        if found is not None:
            return found

    def name_of(key: str) -> str:
        column = source.column(key)
        return text_of(column.label, language) if column else key

    table = _source_rows(work, source, chart, filters)
    groups = [
        (keys, computed(chart, values))
        for keys, values in data_sources.aggregate(source, chart, table, where)
    ]
    groups = data_sources.ordered(source, chart, groups)
    names = data_sources.group_labels(work, source, chart, groups, language)
    kinds = {m.key: m.kind or _source_kind(source, m) for m in chart.measures}
    rows = []
    for keys, values in groups:
        by_dimension = {d.field: k for d, k in zip(chart.dimensions, keys, strict=False)}
        rows.append(
            {
                "keys": [None if k is None else str(k) for k in keys],
                "labels": [names[i][k] for i, k in enumerate(keys)],
                "values": [shown(values.get(m.key), kinds[m.key]) for m in chart.measures],
                "drill": source.drill(by_dimension) if source.drill else None,
            }
        )
    head = header(chart, (), _labels(chart, name_of, language))
    for m, described in zip(chart.measures, head["measures"], strict=True):
        described["kind"] = kinds[m.key]
    result = {**head, "rows": rows, "empty": not rows}
    if key is not None:
        work.runtime.charts.put(key, result)
    return result


def _reads(work: Work, source: data_sources.DataSource) -> list[str]:
    return sorted(source.reads(work) if callable(source.reads) else source.reads)


def _version(work: Work, form: str) -> tuple[Any, ...]:
    loaded = get_form(work, form)
    return (loaded.form.current_version, *data_version(work, loaded.form.id))


def _source_rows(
    work: Work, source: data_sources.DataSource, chart: ChartSpec, filters: Filters
) -> tuple[dict[str, Any], ...]:
    """The source's rows for the viewer and the dashboard's filters, computed once per unit
    of work: a dashboard's charts over one source share them (a source that narrows its
    rows to the columns a chart reads, once per set of columns). Rows are not kept longer;
    a chart's result is, when the source says which forms it reads."""
    columns = data_sources.read_columns(chart) if source.narrows else None
    key = ("dashboards.source_rows", source.name, filters, work.actor_id, columns)
    if key not in work.memo:
        rows = (
            source.rows(work, filters, columns=columns)
            if columns is not None
            else source.rows(work, filters)
        )
        work.memo[key] = tuple(rows)
    return work.memo[key]


def _source_kind(source: data_sources.DataSource, m: Any) -> str:
    if m.agg in ("count", "count_distinct"):
        return "integer"
    column = source.column(m.field or "")
    if column is not None and column.kind in data_sources.NUMERIC:
        return column.kind
    return "number"


__all__ = ["chart_result", "kind_of", "sources"]
