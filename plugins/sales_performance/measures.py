"""Measures: what targets, KPI metrics and incentive rules count, as one SQL aggregate.

A measure is a record of the ``sales_measure`` form an admin edits in the browser: an
aggregate (count, sum, average, count distinct) over a form, with a filter, the member field
that attributes each record to a person, the date field that places it in a period, and
optionally a credit-split subform (rows of ``member`` and ``share`` in percent) that divides
a record's value among several people — a contract two reps won together.

``actuals`` turns a measure and a period into one ``GROUP BY member`` query over the records
(never loading the records into Python), for everybody at once. Sums are exact: SQLite sums
the values as integers of their smallest unit (cents), PostgreSQL sums ``NUMERIC``; either
way the result is a ``Decimal`` equal to the sum of the stored values.

The filter is one condition per line (or separated by ``;``)::

    status = signed
    type in visit, demo
    amount >= 1000
    received_on is not empty
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Numeric, and_, case, cast, func, literal_column, select, text, true
from sqlalchemy.sql.elements import ColumnElement

from formflow.dashboards.compile import scale_of
from formflow.definitions.service import LoadedForm, get_form
from formflow.definitions.spec import FieldSpec
from formflow.errors import BadRequest, NotFound
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.projection import SYSTEM_FIELDS, field_sql
from formflow.records.query import Filter, filter_clause, form_rows
from formflow.runtime import Work

APP = "sales_performance"
AGGREGATES = ("count", "sum", "avg", "count_distinct")
#: Shipped measures, created as ``sales_measure`` records on first use so admins can edit
#: them (and add their own) in the browser.
DEFAULT_MEASURES: list[dict[str, Any]] = [
    {
        "key": "contract_amount",
        "name": "签约金额 Signed contract amount",
        "form": "contract",
        "aggregate": "sum",
        "field": "amount",
        "filter": "status = signed",
        "member_field": "owner",
        "date_field": "signed_on",
        "credit_field": "team",
        "unit": "money",
    },
    {
        "key": "collected",
        "name": "回款金额 Collected payments",
        "form": "payment",
        "aggregate": "sum",
        "field": "actual_amount",
        "member_field": "owner",
        "date_field": "received_on",
        "unit": "money",
    },
    {
        "key": "new_customers",
        "name": "新增客户 New customers",
        "form": "customer",
        "aggregate": "count",
        "member_field": "owner",
        "date_field": "_created_at",
        "unit": "count",
    },
    {
        "key": "new_grade_a_customers",
        "name": "新增A级客户 New grade-A customers",
        "form": "customer",
        "aggregate": "count",
        "filter": "grade = A",
        "member_field": "owner",
        "date_field": "_created_at",
        "unit": "count",
    },
    {
        "key": "visits",
        "name": "拜访次数 Visits",
        "form": "follow_up",
        "aggregate": "count",
        "filter": "type = visit",
        "member_field": "owner",
        "date_field": "visited_at",
        "unit": "count",
    },
    {
        "key": "follow_ups",
        "name": "跟进次数 Follow-ups",
        "form": "follow_up",
        "aggregate": "count",
        "member_field": "owner",
        "date_field": "visited_at",
        "unit": "count",
    },
    {
        "key": "on_time_follow_ups",
        "name": "按时跟进次数 Follow-ups on time",
        "form": "follow_up",
        "aggregate": "count",
        "filter": "on_time = true",
        "member_field": "owner",
        "date_field": "visited_at",
        "unit": "count",
    },
    {
        "key": "satisfaction",
        "name": "客户满意度 Customer satisfaction",
        "form": "follow_up",
        "aggregate": "avg",
        "field": "satisfaction",
        "member_field": "owner",
        "date_field": "visited_at",
        "unit": "score",
    },
    {
        "key": "opportunities_closed",
        "name": "结束商机数 Opportunities closed",
        "form": "opportunity",
        "aggregate": "count",
        "filter": "stage in won, lost",
        "member_field": "owner",
        "date_field": "expected_close",
        "unit": "count",
    },
    {
        "key": "opportunities_won",
        "name": "赢单数 Opportunities won",
        "form": "opportunity",
        "aggregate": "count",
        "filter": "stage = won",
        "member_field": "owner",
        "date_field": "expected_close",
        "unit": "count",
    },
]

_OPERATORS = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    "<>": "ne",
    "<": "lt",
    "<=": "lte",
    ">": "gt",
    ">=": "gte",
    "in": "in",
    "contains": "contains",
}
_CONDITION = re.compile(
    r"^\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?:(?P<empty>is\s+(?P<not>not\s+)?empty)|(?P<op>!=|<>|<=|>=|==|=|<|>|in\b|contains\b)"
    r"\s*(?P<value>.*?))\s*$",
    re.IGNORECASE,
)


class MeasureError(ValueError):
    """A measure that cannot be computed: the message names the measure and the field."""


@dataclass(frozen=True)
class Measure:
    key: str
    name: str
    form: str
    aggregate: str
    field: str | None
    filter: str
    member_field: str
    date_field: str
    credit_field: str | None = None
    unit: str = "money"
    record_id: int | None = None


def parse_filter(text: str | None, *, measure: str = "") -> list[Filter]:
    """The filter's conditions; an unreadable line is an error quoting it."""
    found: list[Filter] = []
    for raw in re.split(r"[;\n]", text or ""):
        line = raw.strip()
        if not line:
            continue
        match = _CONDITION.match(line)
        if match is None or (match["op"] and not match["value"]):
            raise MeasureError(
                f"measure '{measure}': filter: cannot read '{line}' (write e.g. "
                "'status = signed', 'type in visit, demo' or 'received_on is not empty')"
            )
        field = match["field"]
        if match["empty"]:
            found.append(Filter(field, "is_empty", not match["not"]))
            continue
        op = _OPERATORS[match["op"].lower()]
        value: Any = match["value"].strip().strip("'\"")
        if op == "in":
            value = [v.strip().strip("'\"") for v in value.split(",") if v.strip()]
        elif value.lower() in ("true", "false"):
            value = value.lower() == "true"
        found.append(Filter(field, op, value))
    return found


# -- the measures admins keep -----------------------------------------------------------------


def measure_form(work: Work) -> LoadedForm:
    return get_form(work, f"{APP}.sales_measure")


def ensure_defaults(work: Work) -> None:
    """Create the shipped measures that are missing (by key); never touch edited ones."""
    loaded = measure_form(work)
    have = {m.key for m in _stored(work, loaded)}
    for default in DEFAULT_MEASURES:
        if default["key"] not in have:
            records.create_as_step(work, loaded, dict(default))


def _stored(work: Work, loaded: LoadedForm) -> list[Measure]:
    by_key = loaded.spec.by_key
    found = []
    for record in work.session.scalars(
        select(Record).where(*form_rows(loaded.form.id)).order_by(Record.id)
    ):
        data = {k: record.data.get(f.id) for k, f in by_key.items()}
        found.append(
            Measure(
                key=data.get("key") or f"measure_{record.id}",
                name=data.get("name") or "",
                form=data.get("form") or "",
                aggregate=data.get("aggregate") or "count",
                field=data.get("field") or None,
                filter=data.get("filter") or "",
                member_field=data.get("member_field") or "owner",
                date_field=data.get("date_field") or "_created_at",
                credit_field=data.get("credit_field") or None,
                unit=data.get("unit") or "money",
                record_id=record.id,
            )
        )
    return found


def all_measures(work: Work) -> dict[str, Measure]:
    return {m.key: m for m in _stored(work, measure_form(work))}


def get_measure(work: Work, key: str, *, where: str = "") -> Measure:
    found = all_measures(work).get(key)
    if found is None:
        place = f"{where}: " if where else ""
        raise MeasureError(f"{place}there is no measure '{key}' (see the 业绩度量 form)")
    return found


# -- compiling a measure ----------------------------------------------------------------------


@dataclass
class Compiled:
    """A measure resolved against its form's current definition."""

    measure: Measure
    loaded: LoadedForm
    conditions: list[ColumnElement[bool]]  # the form's live rows and the filter
    filters: list[ColumnElement[bool]]  # the filter alone
    member: ColumnElement[Any]
    value: FieldSpec | None
    date: FieldSpec | None
    credit: FieldSpec | None
    dialect: str


def _field(loaded: LoadedForm, measure: Measure, role: str, key: str) -> FieldSpec:
    found = loaded.spec.by_key.get(key)
    if found is None or not found.stores:
        raise MeasureError(
            f"measure '{measure.key}': {role} '{key}' is not a field of form "
            f"'{loaded.name}' any more (removed or renamed in the form builder?)"
        )
    return found


def compile_measure(work: Work, measure: Measure) -> Compiled:
    if measure.aggregate not in AGGREGATES:
        raise MeasureError(
            f"measure '{measure.key}': aggregate must be one of {', '.join(AGGREGATES)}"
        )
    name = measure.form if "." in measure.form else f"{APP}.{measure.form}"
    try:
        loaded = get_form(work, name)
    except NotFound:
        raise MeasureError(f"measure '{measure.key}': there is no form '{measure.form}'") from None
    dialect = work.dialect
    try:
        filters = [
            filter_clause(loaded.spec, item, dialect)
            for item in parse_filter(measure.filter, measure=measure.key)
        ]
    except BadRequest as error:
        problem = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
        raise MeasureError(f"measure '{measure.key}': filter: {problem}") from None
    conditions = [*form_rows(loaded.form.id), *filters]
    if measure.member_field in SYSTEM_FIELDS:
        member: ColumnElement[Any] = SYSTEM_FIELDS[measure.member_field][0]
    else:
        member_spec = _field(loaded, measure, "member field", measure.member_field)
        if member_spec.type.name != "member":
            raise MeasureError(
                f"measure '{measure.key}': member field '{measure.member_field}' is a "
                f"{member_spec.type.name} field, not a member field"
            )
        member = field_sql(member_spec, dialect)
    value = None
    if measure.aggregate != "count":
        if not measure.field:
            raise MeasureError(f"measure '{measure.key}': {measure.aggregate} needs a field")
        value = _field(loaded, measure, "field", measure.field)
        if measure.aggregate in ("sum", "avg") and value.type.projection(value) not in (
            "number",
            "integer",
        ):
            raise MeasureError(
                f"measure '{measure.key}': cannot {measure.aggregate} '{measure.field}', a "
                f"{value.type.name} field"
            )
    date = None
    if measure.date_field not in SYSTEM_FIELDS:
        date = _field(loaded, measure, "date field", measure.date_field)
        if date.type.name not in ("date", "datetime"):
            raise MeasureError(
                f"measure '{measure.key}': date field '{measure.date_field}' is a "
                f"{date.type.name} field, not a date"
            )
    credit = None
    if measure.credit_field:
        credit = _field(loaded, measure, "credit field", measure.credit_field)
        keys = {c.key for c in credit.children}
        if credit.type.name != "subform" or not {"member", "share"} <= keys:
            raise MeasureError(
                f"measure '{measure.key}': credit field '{measure.credit_field}' must be a "
                "subform with 'member' and 'share' columns"
            )
    return Compiled(measure, loaded, conditions, filters, member, value, date, credit, dialect)


def _bounds(compiled: Compiled, start: dt.date, end: dt.date) -> list[ColumnElement[bool]]:
    """Records whose date lies in [start, end) in the organisation's time zone."""
    zone: ZoneInfo = compiled.loaded.spec.timezone
    if compiled.date is None:
        column = SYSTEM_FIELDS[compiled.measure.date_field][0]
        low, high = (_utc(day, zone) for day in (start, end))
        return [column >= low, column < high]
    expression = field_sql(compiled.date, compiled.dialect)
    if compiled.date.type.name == "date":
        return [expression >= start.isoformat(), expression < end.isoformat()]
    low, high = (_utc(day, zone).strftime("%Y-%m-%dT%H:%M:%SZ") for day in (start, end))
    return [expression >= low, expression < high]


def _utc(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


def _value_sum(compiled: Compiled, weight: Any = None) -> tuple[ColumnElement[Any], int]:
    """SUM of the value (times an integer weight), and the decimals of the result.

    SQLite sums integers of the smallest unit, so a sum of money is exact; PostgreSQL's
    NUMERIC is exact already."""
    if compiled.value is None:  # count: each record counts 1 (times its weight)
        if weight is None:
            return func.count(), 0
        return func.sum(weight), 0
    expression = field_sql(compiled.value, compiled.dialect)
    scale = scale_of(compiled.value) if compiled.dialect == "sqlite" else 0
    if compiled.dialect == "sqlite":
        expression = cast(func.round(expression * (10**scale)), Integer)
    if weight is not None:
        expression = expression * weight
    return func.sum(expression), scale


def _shares(compiled: Compiled) -> tuple[Any, ColumnElement[Any], ColumnElement[Any], Any]:
    """The credit subform's rows as a table: (from, member, share × 100 as an integer,
    the condition 'this record has no credit rows')."""
    assert compiled.credit is not None
    children = {c.key: c for c in compiled.credit.children}
    member_id, share_id, credit_id = children["member"].id, children["share"].id, compiled.credit.id
    if compiled.dialect == "sqlite":
        rows = func.json_each(Record.data, literal_column(f"'$.{credit_id}'")).table_valued("value")
        member = cast(func.json_extract(rows.c.value, literal_column(f"'$.{member_id}'")), Integer)
        share = cast(
            func.round(func.json_extract(rows.c.value, literal_column(f"'$.{share_id}'")) * 100),
            Integer,
        )
        none = (
            func.coalesce(
                func.json_array_length(Record.data, literal_column(f"'$.{credit_id}'")), 0
            )
            == 0
        )
        return rows, member, share, none
    array = Record.data.op("->")(literal_column(f"'{credit_id}'"))
    rows = func.jsonb_array_elements(array).table_valued("value")
    member = cast(rows.c.value.op("->>")(literal_column(f"'{member_id}'")), Integer)
    share = func.round(cast(rows.c.value.op("->>")(literal_column(f"'{share_id}'")), Numeric) * 100)
    none = func.coalesce(func.jsonb_array_length(func.coalesce(array, text("'[]'::jsonb"))), 0) == 0
    return rows, member, share, none


def _decimal(raw: Any, scale: int) -> Decimal:
    if raw is None:
        return Decimal(0)
    return Decimal(raw).scaleb(-scale) if scale else Decimal(str(raw))


def actuals(
    work: Work,
    measure: Measure,
    start: dt.date,
    end: dt.date,
    members: list[int] | None = None,
) -> dict[int, Decimal]:
    """The measure's value per member for records dated in [start, end), in one query (two
    with a credit split: the records without split rows, then the split rows)."""
    book = _book(work)
    key = (measure, start, end, None if members is None else tuple(members))
    if book is not None and key in book:
        return dict(book[key])
    found = _actuals(work, measure, start, end, members)
    if book is not None:
        book[key] = dict(found)
    return found


def _book(work: Work) -> dict[tuple[Any, ...], dict[int, Decimal]] | None:
    """The measures' values already read in this unit of work, when it only reads: a
    dashboard's charts (the top signers, the scorecards, the targets' progress) and a
    scorecard's lines read the same month's aggregates, and a read-only unit of work sees
    one unchanging state of the records. A unit of work that writes reads afresh."""
    if work.writes:
        return None
    return work.memo.setdefault("sales_performance.actuals", {})


def _actuals(
    work: Work,
    measure: Measure,
    start: dt.date,
    end: dt.date,
    members: list[int] | None,
) -> dict[int, Decimal]:
    compiled = compile_measure(work, measure)
    where = compiled.conditions + _bounds(compiled, start, end)
    found: dict[int, Decimal] = {}

    def add(member: Any, value: Decimal) -> None:
        if member is not None:
            found[int(member)] = found.get(int(member), Decimal(0)) + value

    credit = compiled.credit is not None and measure.aggregate in ("count", "sum")
    if not credit:
        member = compiled.member
        clauses = list(where)
        if members is not None:
            clauses.append(member.in_(members))
        if measure.aggregate == "avg":
            total, scale = _value_sum(compiled)
            counted = func.count(field_sql(compiled.value, compiled.dialect))  # type: ignore[arg-type]
            for who, raw, n in work.session.execute(
                select(member, total, counted).where(*clauses).group_by(member)
            ):
                if n:
                    add(who, _decimal(raw, scale) / n)
            return found
        if measure.aggregate == "count_distinct":
            value = func.count(field_sql(compiled.value, compiled.dialect).distinct())  # type: ignore[arg-type]
            for who, n in work.session.execute(
                select(member, value).where(*clauses).group_by(member)
            ):
                add(who, Decimal(n))
            return found
        total, scale = _value_sum(compiled)
        for who, raw in work.session.execute(
            select(member, total).where(*clauses).group_by(member)
        ):
            add(who, _decimal(raw, scale))
        return found
    rows, split_member, share, unsplit = _shares(compiled)
    total, scale = _value_sum(compiled)
    clauses = [*where, unsplit]
    if members is not None:
        clauses.append(compiled.member.in_(members))
    for who, raw in work.session.execute(
        select(compiled.member, total).where(*clauses).group_by(compiled.member)
    ):
        add(who, _decimal(raw, scale))
    weighted, scale = _value_sum(compiled, share)
    clauses = list(where)
    if members is not None:
        clauses.append(split_member.in_(members))
    for who, raw in work.session.execute(
        select(split_member, weighted)
        .select_from(Record)
        .join(rows, true())
        .where(*clauses)
        .group_by(split_member)
    ):
        add(who, _decimal(raw, scale + 4))
    return found


def actuals_many(
    work: Work, wanted: list[Measure], start: dt.date, end: dt.date
) -> dict[str, dict[int, Decimal]]:
    """Several measures' values per member for [start, end), by key — the measures over
    the same form, member field and date field in ONE query (each its own aggregate of the
    rows its filter picks: ``SUM(CASE WHEN filter THEN value END)``), so a scorecard's four
    follow-up measures read the month's follow-ups once. Credit-split measures take
    :func:`actuals`'s two queries. The same numbers as :func:`actuals`, one by one."""
    found: dict[str, dict[int, Decimal]] = {}
    groups: dict[tuple[Any, ...], list[Compiled]] = {}
    book = _book(work)
    for measure in dict.fromkeys(wanted):
        if book is not None and (measure, start, end, None) in book:
            found[measure.key] = dict(book[(measure, start, end, None)])
            continue
        compiled = compile_measure(work, measure)
        if compiled.credit is not None and measure.aggregate in ("count", "sum"):
            found[measure.key] = actuals(work, measure, start, end)
            continue
        key = (compiled.loaded.form.id, measure.member_field, measure.date_field)
        groups.setdefault(key, []).append(compiled)
    for group in groups.values():
        if len(group) == 1:
            found[group[0].measure.key] = actuals(work, group[0].measure, start, end)
            continue
        first = group[0]
        columns: list[Any] = []
        at: list[tuple[int, int]] = []  # each measure's (count, aggregate) column positions
        for compiled in group:
            made = _conditional(compiled)
            at.append((len(columns), len(columns) + len(made) - 1))
            columns += made
        statement = (
            select(first.member, *columns)
            .where(*form_rows(first.loaded.form.id), *_bounds(first, start, end))
            .group_by(first.member)
        )
        for row in work.session.execute(statement):
            who, values = row[0], row[1:]
            if who is None:
                continue
            for compiled, (at_n, at_raw) in zip(group, at, strict=True):
                n, raw = values[at_n], values[at_raw]
                if not n:
                    continue
                mine = found.setdefault(compiled.measure.key, {})
                aggregate = compiled.measure.aggregate
                if aggregate == "count" or aggregate == "count_distinct":
                    mine[int(who)] = Decimal(raw)
                    continue
                scale = scale_of(compiled.value) if compiled.dialect == "sqlite" else 0  # type: ignore[arg-type]
                total = _decimal(raw, scale)
                mine[int(who)] = total / n if aggregate == "avg" else total
        for compiled in group:
            found.setdefault(compiled.measure.key, {})
            if book is not None:
                book[(compiled.measure, start, end, None)] = dict(found[compiled.measure.key])
    return found


def _conditional(compiled: Compiled) -> list[Any]:
    """(how many rows the measure's filter picks, its aggregate over them) as two columns;
    a count is both, so one column (written twice, SQLite would evaluate the filter twice
    a row: each copy binds its own parameters)."""
    when = and_(*compiled.filters) if compiled.filters else true()
    aggregate = compiled.measure.aggregate
    if compiled.value is None:
        return [func.count(case((when, 1)))]
    value = field_sql(compiled.value, compiled.dialect)
    picked = func.count(case((when, value)))
    if aggregate == "count_distinct":
        return [picked, func.count(case((when, value)).distinct())]
    if compiled.dialect == "sqlite":
        value = cast(func.round(value * (10 ** scale_of(compiled.value))), Integer)
    return [picked, func.sum(case((when, value)))]


def counted(
    work: Work, measure: Measure, start: dt.date, end: dt.date, member: int, limit: int = 500
) -> list[tuple[int, Decimal]]:
    """The records a measure counted for one member, with what each contributed (its
    credited share of the value; 1 for a count): the click-through behind a number."""
    return _contributions(work, measure, start, end, member).get(member, [])[:limit]


def counted_by_member(
    work: Work, measure: Measure, start: dt.date, end: dt.date
) -> dict[int, list[tuple[int, Decimal]]]:
    """:func:`counted` for everybody at once (one query, two with a credit split): member →
    [(record id, what it contributed)], by record id — for a run that lists the records
    behind every person's line."""
    return _contributions(work, measure, start, end, None)


def _contributions(
    work: Work, measure: Measure, start: dt.date, end: dt.date, member: int | None
) -> dict[int, list[tuple[int, Decimal]]]:
    """Member → [(record id, contribution)] for one member or (None) everybody."""
    compiled = compile_measure(work, measure)
    where = compiled.conditions + _bounds(compiled, start, end)
    value = (
        field_sql(compiled.value, compiled.dialect)
        if compiled.value is not None
        else literal_column("1")
    )
    whole = literal_column("10000")  # a share of 100 %, in hundredths of a percent
    statements = []
    if compiled.credit is None:
        mine = [] if member is None else [compiled.member == member]
        statements.append(select(compiled.member, Record.id, value, whole).where(*where, *mine))
    else:
        rows, split_member, share, unsplit = _shares(compiled)
        mine = [] if member is None else [compiled.member == member]
        statements.append(
            select(compiled.member, Record.id, value, whole).where(*where, unsplit, *mine)
        )
        mine = [] if member is None else [split_member == member]
        statements.append(
            select(split_member, Record.id, value, share)
            .select_from(Record)
            .join(rows, true())
            .where(*where, *mine)
        )
    found: dict[int, list[tuple[int, Decimal]]] = {}
    for statement in statements:
        for who, record_id, raw, part in work.session.execute(statement):
            if who is not None:
                contribution = _plain(raw) * Decimal(part) / 10000
                found.setdefault(int(who), []).append((record_id, contribution))
    for rows_of in found.values():
        rows_of.sort()
    return found


def _plain(raw: Any) -> Decimal:
    return Decimal(0) if raw is None else Decimal(str(raw))
