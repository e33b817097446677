"""A dashboard definition as data: its charts, each a declarative query, and who may see it.

A definition is a JSON document like a form's or a flow's::

    {"name": "sales.pipeline", "title": {"zh-CN": "销售漏斗", "en": "Pipeline"},
     "visible_to": {"roles": ["sales_manager"]},
     "filters": ["period", "department", "owner"], "period": "this_month",
     "charts": [{"id": "by_stage", "type": "funnel", "form": "sales.opportunity",
                 "dimensions": [{"field": "stage"}],
                 "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
                 "layout": {"x": 0, "y": 0, "w": 6, "h": 4}}]}

:func:`parse` checks the shape (a JSON Schema) and returns typed specs; whether the fields
exist is checked against the forms when the charts are compiled (``dashboards.query``), so
every problem is reported with its path (``charts[2].measures[0].field``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from ..definitions.spec import localized
from ..errors import FieldError, ValidationFailed
from ..expressions import ExpressionError
from ..expressions.expression import compile_expression

CHART_TYPES = (
    "number",
    "bar",
    "stacked_bar",
    "line",
    "area",
    "pie",
    "funnel",
    "pivot",
    "ranking",
    "gauge",
)
AGGREGATES = ("count", "sum", "avg", "min", "max", "count_distinct")
BUCKETS = ("day", "week", "month", "quarter", "year")
DASHBOARD_FILTERS = ("period", "department", "owner")
PERIODS = (
    "all",
    "this_month",
    "last_month",
    "this_quarter",
    "last_quarter",
    "this_year",
    "last_year",
    "last_30_days",
    "last_90_days",
)
MAX_CHARTS = 40
NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
KEY = r"^[A-Za-z_][A-Za-z0-9_]*$"

_TEXT = {
    "oneOf": [
        {"type": "string", "maxLength": 200},
        {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 200},
            "minProperties": 1,
        },
    ]
}
_FILTER = {
    "type": "object",
    "required": ["field", "op"],
    "additionalProperties": False,
    "properties": {
        "field": {"type": "string", "maxLength": 64},
        "op": {"type": "string", "maxLength": 16},
        "value": {},
    },
}
_CHART = {
    "type": "object",
    "required": ["id", "type", "measures"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": KEY, "maxLength": 64},
        "title": _TEXT,
        "type": {"enum": list(CHART_TYPES)},
        "form": {"type": "string", "maxLength": 130},
        "source": {"type": "string", "maxLength": 130},
        "filters": {"type": "array", "items": _FILTER, "maxItems": 30},
        "dimensions": {
            "type": "array",
            "maxItems": 2,
            "items": {
                "type": "object",
                "required": ["field"],
                "additionalProperties": False,
                "properties": {
                    "field": {"type": "string", "maxLength": 64},
                    "bucket": {"enum": list(BUCKETS)},
                    "by": {"enum": ["department"]},
                    "label": _TEXT,
                },
            },
        },
        "measures": {
            "type": "array",
            "minItems": 1,
            "maxItems": 8,
            "items": {
                "type": "object",
                "required": ["key"],
                "additionalProperties": False,
                "properties": {
                    "key": {"type": "string", "pattern": KEY, "maxLength": 64},
                    "agg": {"enum": list(AGGREGATES)},
                    "field": {"type": "string", "maxLength": 64},
                    "formula": {"type": "string", "maxLength": 500},
                    "kind": {"enum": ["money", "number", "integer", "percent"]},
                    "label": _TEXT,
                },
            },
        },
        "sort": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "by": {"type": "string", "maxLength": 64},
                "descending": {"type": "boolean"},
            },
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
        "date_field": {"type": "string", "maxLength": 64},
        "owner_field": {"type": "string", "maxLength": 64},
        "department_field": {"type": "string", "maxLength": 64},
        "compare": {"type": "boolean"},
        "target": {"type": ["string", "number"]},
        "target_measure": {"type": "string", "maxLength": 64},
        "layout": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "x": {"type": "integer", "minimum": 0, "maximum": 11},
                "y": {"type": "integer", "minimum": 0, "maximum": 1000},
                "w": {"type": "integer", "minimum": 1, "maximum": 12},
                "h": {"type": "integer", "minimum": 1, "maximum": 12},
            },
        },
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "title", "charts"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 130},
        "title": _TEXT,
        "description": _TEXT,
        "visible_to": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "roles": {"type": "array", "items": {"type": "string"}, "maxItems": 100},
                "users": {"type": "array", "items": {"type": "string"}, "maxItems": 500},
            },
        },
        "filters": {
            "type": "array",
            "items": {"enum": list(DASHBOARD_FILTERS)},
            "uniqueItems": True,
        },
        "period": {"enum": list(PERIODS)},
        "phone": {"type": "boolean"},
        "charts": {"type": "array", "items": _CHART, "maxItems": MAX_CHARTS},
    },
}
_VALIDATOR = Draft202012Validator(SCHEMA)


@dataclass(frozen=True)
class Dimension:
    field: str
    bucket: str | None = None
    by: str | None = None
    label: Any = None


@dataclass(frozen=True)
class Measure:
    key: str
    agg: str | None = None
    field: str | None = None
    formula: str | None = None
    kind: str | None = None
    label: Any = None


@dataclass(frozen=True)
class ChartFilter:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class ChartSpec:
    id: str
    type: str
    measures: tuple[Measure, ...]
    title: Any = None
    form: str | None = None
    source: str | None = None
    filters: tuple[ChartFilter, ...] = ()
    dimensions: tuple[Dimension, ...] = ()
    sort_by: str | None = None
    descending: bool = False
    limit: int | None = None
    date_field: str = "_created_at"
    owner_field: str = "_owner"
    department_field: str = "_department"
    compare: bool = False
    target: str | None = None
    target_measure: str | None = None
    layout: dict[str, int] = field(default_factory=dict)

    @property
    def stored(self) -> tuple[Measure, ...]:
        """The measures the query computes (formulas are computed from them)."""
        return tuple(m for m in self.measures if m.formula is None)


@dataclass(frozen=True)
class DashboardSpec:
    name: str
    title: Any
    charts: tuple[ChartSpec, ...]
    roles: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    period: str = "all"
    phone: bool = False
    description: Any = None

    def chart(self, chart_id: str) -> ChartSpec | None:
        return next((c for c in self.charts if c.id == chart_id), None)


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_error(error: Any, parts: list[Any]) -> FieldError:
    """A JSON Schema failure named by its path ("" is the whole document, as in form and
    flow definitions), coded by the keyword that failed."""
    keyword = str(error.validator)
    return FieldError(_path(parts), error.message, keyword or "invalid")


def parse(document: Any) -> DashboardSpec:
    """The dashboard ``document`` as a spec; raises ValidationFailed naming each problem."""
    errors = [
        _schema_error(e, list(e.absolute_path))
        for e in sorted(_VALIDATOR.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        raise ValidationFailed(errors[:20])
    if not NAME.match(document["name"]):
        errors.append(FieldError("name", "must look like app.dashboard (lowercase)", "pattern"))
    charts = []
    seen: set[str] = set()
    for index, raw in enumerate(document["charts"]):
        where = f"charts[{index}]"
        if raw["id"] in seen:
            errors.append(FieldError(f"{where}.id", f"'{raw['id']}' is used twice", "unique"))
        seen.add(raw["id"])
        chart, problems = _chart(raw, where)
        errors += problems
        charts.append(chart)
    if errors:
        raise ValidationFailed(errors)
    visible = document.get("visible_to") or {}
    return DashboardSpec(
        name=document["name"],
        title=document["title"],
        description=document.get("description"),
        charts=tuple(charts),
        roles=tuple(visible.get("roles", ())),
        users=tuple(visible.get("users", ())),
        filters=tuple(document.get("filters", ())),
        period=document.get("period", "all"),
        phone=bool(document.get("phone", False)),
    )


def parse_chart(raw: Any, where: str = "chart") -> ChartSpec:
    """One chart alone (the designer's live preview); raises ValidationFailed."""
    errors = [
        _schema_error(e, [where, *e.absolute_path])
        for e in Draft202012Validator(_CHART).iter_errors(raw)
    ]
    if errors:
        raise ValidationFailed(errors[:20])
    chart, problems = _chart(raw, where)
    if problems:
        raise ValidationFailed(problems)
    return chart


def _chart(raw: dict[str, Any], where: str) -> tuple[ChartSpec, list[FieldError]]:
    errors: list[FieldError] = []
    if bool(raw.get("form")) == bool(raw.get("source")):
        errors.append(
            FieldError(f"{where}.form", "give either a form or a data source", "required")
        )
    measures = []
    keys: set[str] = set()
    for i, m in enumerate(raw["measures"]):
        at = f"{where}.measures[{i}]"
        if m["key"] in keys:
            errors.append(FieldError(f"{at}.key", f"'{m['key']}' is used twice", "unique"))
        if m.get("formula") is not None:
            if m.get("agg") or m.get("field"):
                errors.append(
                    FieldError(f"{at}.formula", "a formula measure has no agg or field", "formula")
                )
            try:
                compile_expression(m["formula"])
            except ExpressionError as error:
                errors.append(FieldError(f"{at}.formula", str(error), "formula"))
        elif not m.get("agg"):
            errors.append(FieldError(f"{at}.agg", "is required (or give a formula)", "required"))
        elif m["agg"] != "count" and not m.get("field"):
            errors.append(FieldError(f"{at}.field", f"{m['agg']} needs a field", "required"))
        keys.add(m["key"])
        measures.append(
            Measure(
                m["key"],
                m.get("agg"),
                m.get("field"),
                m.get("formula"),
                m.get("kind"),
                m.get("label"),
            )
        )
    errors += _formula_errors(measures, where)
    dimensions = tuple(
        Dimension(d["field"], d.get("bucket"), d.get("by"), d.get("label"))
        for d in raw.get("dimensions", ())
    )
    kind = raw["type"]
    wants = {"number": (0, 0), "gauge": (0, 0), "pivot": (2, 2), "stacked_bar": (1, 2)}
    low, high = wants.get(kind, (1, 2 if kind in ("bar", "line", "area") else 1))
    if not low <= len(dimensions) <= high:
        count = f"{low}" if low == high else f"{low} to {high}"
        errors.append(
            FieldError(f"{where}.dimensions", f"a {kind} chart takes {count} dimension(s)", "count")
        )
    sort = raw.get("sort") or {}
    if (
        sort.get("by")
        and sort["by"] not in keys
        and sort["by"] not in {d.field for d in dimensions}
    ):
        errors.append(FieldError(f"{where}.sort.by", "is not a measure or dimension", "unknown"))
    if raw.get("target_measure") and raw["target_measure"] not in keys:
        errors.append(FieldError(f"{where}.target_measure", "is not a measure", "unknown"))
    chart = ChartSpec(
        id=raw["id"],
        type=kind,
        title=raw.get("title"),
        form=raw.get("form"),
        source=raw.get("source"),
        filters=tuple(
            ChartFilter(f["field"], f["op"], f.get("value")) for f in raw.get("filters", ())
        ),
        dimensions=dimensions,
        measures=tuple(measures),
        sort_by=sort.get("by"),
        descending=bool(sort.get("descending", False)),
        limit=raw.get("limit"),
        date_field=raw.get("date_field", "_created_at"),
        owner_field=raw.get("owner_field", "_owner"),
        department_field=raw.get("department_field", "_department"),
        compare=bool(raw.get("compare", False)),
        target=None if raw.get("target") is None else str(raw["target"]),
        target_measure=raw.get("target_measure"),
        layout=dict(raw.get("layout") or {}),
    )
    return chart, errors


def _uses(m: Measure) -> frozenset[str]:
    """The measure keys a formula reads (none when it does not compile: reported apart)."""
    try:
        return compile_expression(m.formula or "").references
    except ExpressionError:
        return frozenset()


def formula_order(measures: tuple[Measure, ...]) -> list[Measure]:
    """The formula measures, each after the formulas it uses (otherwise in the chart's
    order); any on a cycle, which :func:`parse` refuses, come last."""
    pending = [m for m in measures if m.formula is not None]
    formulas = {m.key for m in pending}
    ordered: list[Measure] = []
    while pending:
        computed = {m.key for m in ordered}
        ready = [m for m in pending if _uses(m) & formulas <= computed]
        if not ready:
            return ordered + pending
        ordered += ready
        pending = [m for m in pending if m.key not in {r.key for r in ready}]
    return ordered


def _cycle(start: str, uses: dict[str, frozenset[str]]) -> list[str] | None:
    """The shortest chain of formulas from ``start`` back to itself, if there is one."""
    paths = [[start]]
    seen: set[str] = set()
    while paths:
        path = paths.pop(0)
        for key in sorted(uses.get(path[-1], ())):
            if key == start:
                return [*path, start]
            if key not in seen:
                seen.add(key)
                paths.append([*path, key])
    return None


def _formula_errors(measures: list[Measure], where: str) -> list[FieldError]:
    """A formula may use any of the chart's measures, stored or computed, wherever it is
    listed; not a name that is no measure, and not itself through other formulas."""
    keys = {m.key for m in measures}
    formulas = {m.key for m in measures if m.formula is not None}
    uses = {m.key: _uses(m) & formulas for m in measures if m.formula is not None}
    errors = []
    for i, m in enumerate(measures):
        if m.formula is None:
            continue
        at = f"{where}.measures[{i}].formula"
        unknown = sorted(_uses(m) - keys)
        if unknown:
            errors.append(
                FieldError(
                    at,
                    f"uses {', '.join(unknown)}, which is not a measure of this chart",
                    "formula",
                )
            )
        cycle = _cycle(m.key, uses)
        if cycle:
            errors.append(
                FieldError(at, f"is computed from itself: {' → '.join(cycle)}", "formula_cycle")
            )
    return errors


def text_of(value: Any, language: str) -> str:
    """A title given as text or as ``{"zh-CN": …, "en": …}`` in ``language``."""
    return localized(value, language)
