"""The sales dashboards' data sources: what a chart over one form cannot say.

Each is a table the plugin computes for the acting user and the dashboard's filters, which
the engine then groups and charts like a form (``formflow.dashboards.sources``):

- ``target_progress`` — every target of the period with its actual, attainment beside the
  share of the period gone, pipeline and forecast (``targets.progress``);
- ``scorecards`` — each person's KPI score per plan period, live or as published
  (``kpi.scorecards``), with the points each dimension earned;
- ``payout_estimate`` — each person's payout so far per plan period (``incentives.compute``),
  by kind of rule;
- ``actuals`` — the shipped measures per person (credit splits included:
  ``measures.actuals_many``), for leaderboards and ratios such as follow-up timeliness;
- ``stage_flow`` — a row per stage an opportunity entered (its stage history): days spent
  there, whether it moved on to a later stage, and on a won or lost entry the cycle length;
- ``receivables`` — payments overdue at the end of the period, by age;
- ``follow_up_gaps`` — customers with the days since their last follow-up at the end of
  the period.

Who sees what: the computed numbers (targets, scores, payouts, measures) follow the sales
organisation as the performance pages do (``org.scope_of``: a rep themselves, a head their
departments' people, admins and the company-wide roles everybody). The tables read from
records are cut to the rows the viewer may view in that form (its data permissions, as a
form chart is) *and* to the people the organisation lets them see; a field the viewer may
not see is left empty. Every row has ``me`` = 1 when it is the viewer's own, so a "my"
dashboard shows a manager their own numbers rather than their team's.

The period filter: targets take the calendar period the dashboard's period is (a month, a
quarter…; any other range, the month of its last day); scorecards and payouts every plan
period the range covers (up to today); measures and stage entries the range itself;
receivables and follow-up gaps are what stood at the end of the range (or now).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    true,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from formflow.dashboards.compile import Filters, local_day
from formflow.dashboards.periods import Range
from formflow.dashboards.sources import DataSource, SourceColumn
from formflow.definitions.service import LoadedForm
from formflow.definitions.spec import FieldSpec
from formflow.errors import BadRequest, FieldError, Forbidden, FormflowError
from formflow.fields.dates import format_datetime
from formflow.people.models import Membership
from formflow.permissions.models import Action
from formflow.permissions.policy import policy_for
from formflow.records.models import Record
from formflow.records.projection import field_sql
from formflow.records.query import form_rows
from formflow.runtime import Work

from . import measures, org
from .functions import MissingField, form, local_today
from .periods import KINDS, Period

APP = "sales_performance"
#: Plan periods a range is broken into, at most (a year of months).
MAX_PERIODS = 12
#: Measure values for "all time".
EVER = (dt.date(1900, 1, 1), dt.date(9999, 1, 1))
ZERO = Decimal("0.00")

Rows = list[dict[str, Any]]


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


# -- columns -----------------------------------------------------------------------------------

MEMBER = SourceColumn("member", _t("成员", "Member"), "member")
OWNER = SourceColumn("owner", _t("负责人", "Owner"), "member")
DEPARTMENT = SourceColumn("department", _t("部门", "Department"), "department")
PERIOD = SourceColumn("period", _t("期间", "Period"), "text")
ME = SourceColumn("me", _t("本人", "Mine"), "integer")

LEVELS = {
    "company": _t("公司", "Company"),
    "region": _t("大区", "Region"),
    "team": _t("团队", "Team"),
    "rep": _t("销售代表", "Rep"),
}
MEASURE_NAMES = {
    m["key"]: _t(*m["name"].split(" ", 1)) for m in measures.DEFAULT_MEASURES
}  # "签约金额 Signed contract amount" → zh, en
STAGES = {
    "initial": _t("初步接洽", "First contact"),
    "needs": _t("需求确认", "Needs confirmed"),
    "proposal": _t("方案报价", "Proposal"),
    "negotiation": _t("谈判", "Negotiation"),
    "won": _t("赢单", "Won"),
    "lost": _t("输单", "Lost"),
}
PRODUCT_LINES = {
    "hardware": _t("硬件", "Hardware"),
    "software": _t("软件", "Software"),
    "service": _t("服务", "Services"),
}
GRADES = {g: _t(g, g) for g in ("S", "A", "B", "C", "D")}
CARD_STATUS = {"live": _t("实时", "Live"), "published": _t("已发布", "Published")}
RULE_KINDS = ("commission", "manager_override", "team_award", "spif", "honours", "clawback")
#: (smallest days, key, label): how long a payment is overdue (keys sort as the ages do).
AGES = (
    (91, "91+", _t("90天以上", "Over 90 days")),
    (61, "61-90", _t("61–90天", "61–90 days")),
    (31, "31-60", _t("31–60天", "31–60 days")),
    (1, "1-30", _t("1–30天", "1–30 days")),
)
#: (smallest days, key, label): how long a customer has gone without a follow-up (keys sort
#: as the spans do).
GAPS = (
    (61, "61+", _t("60天以上", "Over 60 days")),
    (31, "31-60", _t("31–60天", "31–60 days")),
    (15, "15-30", _t("15–30天", "15–30 days")),
    (8, "08-14", _t("8–14天", "8–14 days")),
    (0, "00-07", _t("7天内", "Within 7 days")),
)


def _option(key: str, label: dict[str, str], options: dict[str, dict[str, str]]) -> SourceColumn:
    return SourceColumn(key, label, "option", options)


# -- what every source shares ------------------------------------------------------------------


def _source(compute: Callable[..., Rows]) -> Callable[..., Rows]:
    """A plugin problem — a measure or field an admin broke — shown on the chart as a
    message rather than failing the dashboard. ``columns`` (for a source that narrows) is
    passed on. (The engine computes a source's rows once per unit of work.)"""

    @functools.wraps(compute)
    def rows(work: Work, filters: Filters, **narrowed: Any) -> Rows:
        try:
            return compute(work, filters, **narrowed)
        except FormflowError:
            raise
        except (measures.MeasureError, MissingField, LookupError, ValueError) as error:
            raise BadRequest([FieldError("source", str(error), "source")]) from None

    return rows


def reads(work: Work) -> list[str]:
    """The forms every source here is computed from: the app's (targets, plans, scores,
    statements and the sales records) and those the measures an admin defines count."""
    from formflow.definitions.models import App
    from formflow.definitions.models import Form as FormRow

    key = "sales_performance.source_reads"
    if not work.writes and key in work.memo:
        return work.memo[key]
    mine = work.session.scalars(
        select(FormRow.name).join(App, App.id == FormRow.app_id).where(App.name == APP)
    )
    counted = (m.form for m in measures.all_measures(work).values())
    found = sorted({f"{APP}.{name}" for name in mine} | {_named(name) for name in counted})
    if not work.writes:
        work.memo[key] = found
    return found


def _named(form_name: str) -> str:
    return form_name if "." in form_name else f"{APP}.{form_name}"


def _departments_of(work: Work, members: set[int]) -> dict[int, int]:
    """Each person's primary department (else their first)."""
    found: dict[int, int] = {}
    for user, department in work.session.execute(
        select(Membership.user_id, Membership.department_id)
        .where(Membership.user_id.in_(sorted(members) or [-1]))
        .order_by(Membership.user_id, Membership.is_primary.desc(), Membership.department_id)
    ):
        found.setdefault(user, department)
    return found


def _people(work: Work, filters: Filters) -> Callable[[int | None], bool]:
    """Whether a person's numbers are shown: the viewer may see them, and they are the
    dashboard's owner / belong to one of its departments when those filters are set."""
    scope = org.scope_of(work)
    inside: set[int] | None = None
    if filters.departments is not None:
        inside = set(
            work.session.scalars(
                select(Membership.user_id).where(
                    Membership.department_id.in_(list(filters.departments) or [-1])
                )
            )
        )

    def keeps(member: int | None) -> bool:
        if member is None or not scope.sees_member(member):
            return False
        if filters.owner is not None and member != filters.owner:
            return False
        return inside is None or member in inside

    return keeps


def _mine(work: Work, member: int | None) -> int:
    return int(member is not None and member == work.actor_id)


def calendar_period(span: Range | None, today: dt.date) -> Period:
    """The calendar period (year, quarter, month or ISO week) a dashboard's range is; for
    any other range the month of its last day (not after today); for none, this month."""
    if span is None:
        return Period.containing("month", today)
    for kind in KINDS:
        period = Period.containing(kind, span.start)
        if (period.start, period.end) == (span.start, span.end):
            return period
    return Period.containing("month", min(span.last_day, today))


def plan_periods(span: Range | None, today: dt.date, kind: str) -> list[Period]:
    """The periods of ``kind`` the range touches, up to the one holding today (the current
    one for no range), at most :data:`MAX_PERIODS`."""
    if span is None:
        return [Period.containing(kind, today)]
    found: list[Period] = []
    period = Period.containing(kind, span.start)
    while period.start < span.end and period.start <= today and len(found) < MAX_PERIODS:
        found.append(period)
        period = period.next()
    return found


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def _utc_text(day: dt.date, zone: ZoneInfo) -> str:
    return format_datetime(dt.datetime.combine(day, dt.time(), zone))


def _end_of(span: Range | None, work: Work, zone: ZoneInfo) -> dt.datetime:
    """The moment a snapshot is taken: the end of the range, or now when that is later."""
    if span is None:
        return work.now
    return min(dt.datetime.combine(span.end, dt.time(), zone), work.now)


def _bucket(days: int | None, buckets: tuple[tuple[int, str, Any], ...]) -> str | None:
    if days is None:
        return None
    return next((key for low, key, _ in buckets if days >= low), None)


# -- records: the viewer's rows of a form -----------------------------------------------------


class _Form:
    """A plugin form as the viewer may read it: its live rows they may view (data
    permissions and the sales organisation), narrowed by the dashboard's department and
    owner, and its fields as SQL (None for a field hidden from them)."""

    def __init__(self, work: Work, local: str, filters: Filters, *keys: str) -> None:
        self.loaded: LoadedForm = form(work, local, *keys, purpose="draw the sales dashboards")
        self.dialect = work.dialect
        policy = policy_for(work, self.loaded)
        if not policy.allows(Action.VIEW):
            raise Forbidden([FieldError("source", f"you may not view {self.loaded.name}", "view")])
        self.hidden = policy.hidden_anywhere()
        self.where: list[ColumnElement[bool]] = list(form_rows(self.loaded.form.id))
        rows = policy.rows(Action.VIEW, self.dialect)
        if rows is not None:
            self.where.append(rows)
        scope = org.scope_of(work)
        if not scope.everyone:
            self.where.append(Record.owner_id.in_(sorted(scope.members) or [-1]))
        if filters.owner is not None:
            self.where.append(Record.owner_id == filters.owner)
        if filters.departments is not None:
            self.where.append(Record.department_id.in_(list(filters.departments) or [-1]))

    @property
    def zone(self) -> ZoneInfo:
        return self.loaded.spec.timezone

    def spec(self, key: str) -> FieldSpec:
        return self.loaded.spec.by_key[key]

    def sql(self, key: str) -> ColumnElement[Any]:
        """The field's SQL value, NULL when the viewer may not see it."""
        if key in self.hidden:
            return literal(None)
        return field_sql(self.spec(key), self.dialect)

    def needs(self, key: str) -> None:
        if key in self.hidden:
            raise Forbidden([FieldError("source", f"you may not see '{key}'", "hidden")])


def _days_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """Days from one UTC timestamp (ISO text or a timestamp column) to another, fractional."""
    if dialect == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    moment = DateTime(timezone=True)
    return func.extract("epoch", cast(later, moment) - cast(earlier, moment)) / 86400


def _round(value: ColumnElement[Any], places: int, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.round(value, places)
    return func.round(cast(value, Numeric), places)


# -- targets -----------------------------------------------------------------------------------


@_source
def target_rows(work: Work, filters: Filters) -> Rows:
    from .targets import progress

    today = local_today(work)
    period = calendar_period(filters.period, today)
    keys = {m.record_id: m.key for m in measures.all_measures(work).values()}
    keeps = _people(work, filters)
    found = progress.progress(work, period.key, today=today)
    members = {p.target.member for p in found if p.target.member is not None}
    departments = _departments_of(work, members)
    rows = []
    for item in found:
        target = item.target
        if target.member is not None:
            if not keeps(target.member):
                continue
        elif filters.owner is not None or (
            filters.departments is not None and target.department not in filters.departments
        ):
            continue
        attainment = item.attainment
        rows.append(
            {
                "name": target.name,
                "level": target.level,
                "period": target.period.key,
                "department": target.department
                if target.department is not None
                else departments.get(target.member or -1),
                "member": target.member,
                "measure": keys.get(target.measure_id),
                "target": item.effective,
                "actual": item.actual,
                "attainment": attainment,
                "elapsed": item.elapsed,
                "gap": None if attainment is None else attainment - item.elapsed,
                "pipeline": item.pipeline,
                "forecast": item.forecast,
                "trailing": int(item.trailing),
                "me": _mine(work, target.member),
            }
        )
    return rows


TARGET_PROGRESS = DataSource(
    name=f"{APP}.target_progress",
    title=_t("目标达成", "Target progress"),
    columns=(
        SourceColumn("name", _t("目标", "Target"), "text"),
        _option("level", _t("层级", "Level"), LEVELS),
        PERIOD,
        DEPARTMENT,
        MEMBER,
        _option("measure", _t("度量", "Measure"), MEASURE_NAMES),
        SourceColumn("target", _t("目标值", "Target"), "number"),
        SourceColumn("actual", _t("实际", "Actual"), "number"),
        SourceColumn("attainment", _t("达成率", "Attainment"), "percent"),
        SourceColumn("elapsed", _t("时间进度", "Time gone"), "percent"),
        SourceColumn("gap", _t("达成率 − 时间进度", "Attainment − time gone"), "percent"),
        SourceColumn("pipeline", _t("加权商机", "Weighted pipeline"), "number"),
        SourceColumn("forecast", _t("预测", "Forecast"), "number"),
        SourceColumn("trailing", _t("落后", "Trailing"), "integer"),
        ME,
    ),
    rows=target_rows,
    reads=reads,
    drill=lambda keys: "/sales/targets",
)


# -- scorecards --------------------------------------------------------------------------------


@_source
def scorecard_rows(work: Work, filters: Filters) -> Rows:
    from .kpi import plans, scorecards

    today = local_today(work)
    keeps = _people(work, filters)
    rows = []
    for kind in sorted({plan.period_kind for plan in plans.all_plans(work)}):
        for period in plan_periods(filters.period, today, kind):
            for card in scorecards.scorecards(work, period.key):
                if not keeps(card.member) or card.plan.period_kind != kind:
                    continue
                points = {"result": Decimal(0), "process": Decimal(0), "capability": Decimal(0)}
                for line in card.lines:
                    if line.score is not None:
                        dimension = line.item.metric.dimension
                        points[dimension] = points.get(dimension, Decimal(0)) + (
                            line.item.metric.weight * line.score / 100
                        )
                rows.append(
                    {
                        "member": card.member,
                        "period": period.key,
                        "plan": card.plan.name,
                        "score": card.total,
                        "grade": card.grade,
                        "status": card.status,
                        **points,
                        "me": _mine(work, card.member),
                    }
                )
    departments = _departments_of(work, {row["member"] for row in rows})
    for row in rows:
        row["department"] = departments.get(row["member"])
    return rows


SCORECARDS = DataSource(
    name=f"{APP}.scorecards",
    title=_t("KPI 考核得分", "KPI scorecards"),
    columns=(
        MEMBER,
        DEPARTMENT,
        PERIOD,
        SourceColumn("plan", _t("考核方案", "KPI plan"), "text"),
        SourceColumn("score", _t("得分", "Score"), "number"),
        _option("grade", _t("等级", "Grade"), GRADES),
        _option("status", _t("状态", "Status"), CARD_STATUS),
        SourceColumn("result", _t("结果类得分", "Result points"), "number"),
        SourceColumn("process", _t("过程类得分", "Process points"), "number"),
        SourceColumn("capability", _t("能力类得分", "Capability points"), "number"),
        ME,
    ),
    rows=scorecard_rows,
    reads=reads,
    drill=lambda keys: "/sales/kpi",
)


# -- payouts -----------------------------------------------------------------------------------


@_source
def payout_rows(work: Work, filters: Filters) -> Rows:
    from .incentives.compute import compute
    from .incentives.plans import all_plans

    today = local_today(work)
    scope = org.scope_of(work)
    keeps = _people(work, filters)
    chosen = None if scope.everyone else set(scope.members)
    if filters.owner is not None:
        chosen = {filters.owner} & (chosen if chosen is not None else {filters.owner})
    rows = []
    for kind in sorted({plan.period_kind for plan in all_plans(work) if plan.active}):
        for period in plan_periods(filters.period, today, kind):
            for statement in compute(work, period, members=chosen):
                if not keeps(statement.member):
                    continue
                by_kind = dict.fromkeys(RULE_KINDS, ZERO)
                names = statement.names()
                honours = []
                for line in statement.lines:
                    by_kind[line.kind] = by_kind.get(line.kind, ZERO) + line.amount
                    if line.kind == "honours":
                        honours.append(names.get(line.rule, line.rule))
                rows.append(
                    {
                        "member": statement.member,
                        "period": period.key,
                        "plan": statement.plan.name,
                        "payout": statement.total,
                        **by_kind,
                        "honour": "、".join(honours) or None,
                        "me": _mine(work, statement.member),
                    }
                )
    departments = _departments_of(work, {row["member"] for row in rows})
    for row in rows:
        row["department"] = departments.get(row["member"])
    return rows


PAYOUT_ESTIMATE = DataSource(
    name=f"{APP}.payout_estimate",
    title=_t("预计奖金", "Estimated payout"),
    columns=(
        MEMBER,
        DEPARTMENT,
        PERIOD,
        SourceColumn("plan", _t("激励方案", "Incentive plan"), "text"),
        SourceColumn("payout", _t("预计奖金", "Payout so far"), "money"),
        SourceColumn("commission", _t("提成", "Commission"), "money"),
        SourceColumn("manager_override", _t("团队管理提成", "Manager override"), "money"),
        SourceColumn("team_award", _t("团队达标奖", "Team award"), "money"),
        SourceColumn("spif", _t("专项奖励", "SPIFs"), "money"),
        SourceColumn("honours", _t("荣誉奖金", "Honours"), "money"),
        SourceColumn("clawback", _t("追回", "Clawbacks"), "money"),
        SourceColumn("honour", _t("荣誉", "Honour"), "text"),
        ME,
    ),
    rows=payout_rows,
    reads=reads,
    drill=lambda keys: "/sales/bonus",
)


# -- measures by person ------------------------------------------------------------------------

#: The shipped measures a chart may read by key (an admin's edits to them count).
MEASURE_COLUMNS = tuple(m["key"] for m in measures.DEFAULT_MEASURES)


def _assessed(work: Work) -> set[int]:
    """The people a KPI plan assesses (holders of its role): in a table of measures by
    person with a zero where they did nothing, whichever measures a chart reads."""
    from .kpi import plans

    return {person for plan in plans.all_plans(work) for person in org.holders_of(work, plan.role)}


@_source
def actual_rows(work: Work, filters: Filters, columns: frozenset[str] | None = None) -> Rows:
    """Each person's value of every default measure (of those ``columns`` names, when
    given: each measure costs a query, a chart reads one or two), for the people who have
    a value and the people a KPI plan assesses."""
    start, end = (filters.period.start, filters.period.end) if filters.period else EVER
    known = measures.all_measures(work)
    keys = [k for k in MEASURE_COLUMNS if k in known and (columns is None or k in columns)]
    wanted = [known[key] for key in keys]
    values = measures.actuals_many(work, wanted, start, end)
    keeps = _people(work, filters)
    members = {m for found in values.values() for m in found if keeps(m)} | {
        m for m in _assessed(work) if keeps(m)
    }
    departments = _departments_of(work, members)
    rows = []
    for member in sorted(members):
        row: dict[str, Any] = {"member": member, "department": departments.get(member)}
        for key in keys:
            measure = known.get(key)
            found = values.get(key, {}).get(member)
            if found is None and measure is not None and measure.aggregate != "avg":
                found = Decimal(0)
            row[key] = found
        row["me"] = _mine(work, member)
        rows.append(row)
    return rows


def _measure_kind(key: str) -> str:
    unit = next(m.get("unit") for m in measures.DEFAULT_MEASURES if m["key"] == key)
    return {"money": "money", "count": "integer"}.get(unit or "", "number")


ACTUALS = DataSource(
    name=f"{APP}.actuals",
    title=_t("个人业绩度量", "Measures by person"),
    columns=(
        MEMBER,
        DEPARTMENT,
        *(SourceColumn(key, MEASURE_NAMES[key], _measure_kind(key)) for key in MEASURE_COLUMNS),
        ME,
    ),
    rows=actual_rows,
    reads=reads,
    narrows=True,
)


# -- opportunity stage flow --------------------------------------------------------------------


def _stage_rows(opportunity: _Form) -> tuple[Any, Any, Any, Any]:
    """The stage history's entries as a table joined to each record: (table, stage,
    entered at, position)."""
    history = opportunity.spec("stage_history")
    children = {c.key: c for c in history.children}
    if not {"stage", "entered_at"} <= set(children):
        raise MissingField(
            f"the stage history of form '{opportunity.loaded.name}' has no 'stage' and "
            "'entered_at' columns any more; the sales dashboards need them"
        )
    stage_id, entered_id = children["stage"].id, children["entered_at"].id
    if opportunity.dialect == "sqlite":
        rows = func.json_each(Record.data, literal_column(f"'$.{history.id}'")).table_valued(
            "value", "key"
        )
        stage = func.json_extract(rows.c.value, literal_column(f"'$.{stage_id}'"))
        entered = func.json_extract(rows.c.value, literal_column(f"'$.{entered_id}'"))
        return rows, stage, entered, rows.c["key"]
    array = Record.data.op("->")(literal_column(f"'{history.id}'"))
    rows = (
        func.jsonb_array_elements(array)
        .table_valued("value", with_ordinality="position")
        .render_derived()
    )
    stage = rows.c.value.op("->>")(literal_column(f"'{stage_id}'"))
    entered = rows.c.value.op("->>")(literal_column(f"'{entered_id}'"))
    return rows, stage, entered, rows.c.position


def stage_path(loaded: LoadedForm) -> tuple[list[str], set[str], set[str]]:
    """The stages an opportunity moves along, in the form's order (lost ones left out), the
    won stages (win probability 1) and the lost ones (0)."""
    options = loaded.spec.by_key["stage"].schema.get("x-options") or []
    odds = {o["value"]: Decimal(str(o.get("score", 0))) for o in options}
    if not odds:
        odds = {v: Decimal("0.5") for v in loaded.spec.by_key["stage"].schema.get("enum", [])}
    won = {k for k, p in odds.items() if p == 1}
    lost = {k for k, p in odds.items() if p == 0}
    return [k for k in odds if k not in lost], won, lost


@_source
def stage_flow_rows(work: Work, filters: Filters) -> Rows:
    opportunity = _Form(work, "opportunity", filters, "stage", "stage_history", "amount")
    opportunity.needs("stage_history")
    dialect = work.dialect
    path, won, lost = stage_path(opportunity.loaded)
    table, stage, entered, position = _stage_rows(opportunity)
    ordinal = case({s: i for i, s in enumerate(path)}, value=stage, else_=None)
    line = (
        opportunity.sql("product_line")
        if "product_line" in opportunity.loaded.spec.by_key
        else literal(None)
    )
    window = {"partition_by": Record.id, "order_by": position}
    inner = (
        select(
            Record.id.label("opportunity"),
            Record.owner_id.label("owner"),
            Record.department_id.label("department"),
            opportunity.sql("amount").label("amount"),
            line.label("product_line"),
            stage.label("stage"),
            entered.label("entered"),
            ordinal.label("ordinal"),
            func.lead(entered).over(**window).label("next_entered"),
            func.min(entered).over(partition_by=Record.id).label("first_entered"),
            func.max(ordinal).over(**window, rows=(1, None)).label("later"),
        )
        .select_from(Record)
        .join(table, true())
        .where(*opportunity.where)
        .subquery()
    )
    terminal = inner.c.stage.in_(sorted(won | lost) or [""])
    now = format_datetime(work.now)
    days = case(
        (terminal, None),
        else_=_round(
            _days_between(func.coalesce(inner.c.next_entered, now), inner.c.entered, dialect),
            2,
            dialect,
        ),
    )
    cycle = case(
        (
            terminal,
            _round(_days_between(inner.c.entered, inner.c.first_entered, dialect), 2, dialect),
        ),
        else_=None,
    )
    conditions = [inner.c.entered.is_not(None)]
    if filters.period is not None:
        zone = opportunity.zone
        conditions += [
            inner.c.entered >= _utc_text(filters.period.start, zone),
            inner.c.entered < _utc_text(filters.period.end, zone),
        ]
    entered_at = opportunity.spec("stage_history").children
    entered_spec = next(c for c in entered_at if c.key == "entered_at")
    day = local_day(opportunity.loaded.spec, entered_spec, inner.c.entered, dialect, work.now)
    statement = (
        select(
            inner.c.opportunity,
            inner.c.owner,
            inner.c.department,
            inner.c.amount,
            inner.c.product_line,
            inner.c.stage,
            day.label("entered_on"),
            days.label("days_in_stage"),
            case((inner.c.later > inner.c.ordinal, 1), else_=0).label("moved_on"),
            case((inner.c.stage.in_(sorted(won) or [""]), 1), else_=0).label("won"),
            case((terminal, 1), else_=0).label("closed"),
            cycle.label("cycle_days"),
        )
        .where(and_(*conditions))
        # in the stages' order: a chart sorted "by" the stage keeps the order rows come in
        .order_by(
            case(
                {s: i for i, s in enumerate([*path, *sorted(lost)])}, value=inner.c.stage, else_=99
            ),
            inner.c.opportunity,
            inner.c.entered,
        )
    )
    rows = []
    for row in work.session.execute(statement):
        rows.append(
            {
                "opportunity": str(row.opportunity),
                "owner": row.owner,
                "department": row.department,
                "amount": _decimal(row.amount),
                "product_line": row.product_line,
                "stage": row.stage,
                "entered_on": row.entered_on,
                "days_in_stage": _decimal(row.days_in_stage),
                "moved_on": int(row.moved_on),
                "won": int(row.won),
                "closed": int(row.closed),
                "cycle_days": _decimal(row.cycle_days),
                "me": _mine(work, row.owner),
            }
        )
    return rows


STAGE_FLOW = DataSource(
    name=f"{APP}.stage_flow",
    title=_t("商机阶段流转", "Opportunity stage flow"),
    columns=(
        SourceColumn("opportunity", _t("商机", "Opportunity"), "text"),
        OWNER,
        DEPARTMENT,
        SourceColumn("amount", _t("预计金额", "Amount"), "money"),
        _option("product_line", _t("产品线", "Product line"), PRODUCT_LINES),
        _option("stage", _t("阶段", "Stage"), STAGES),
        SourceColumn("entered_on", _t("进入日期", "Entered on"), "date"),
        SourceColumn("days_in_stage", _t("停留天数", "Days in stage"), "number"),
        SourceColumn("moved_on", _t("推进到后续阶段", "Moved on"), "integer"),
        SourceColumn("won", _t("赢单", "Won"), "integer"),
        SourceColumn("closed", _t("已结束", "Closed"), "integer"),
        SourceColumn("cycle_days", _t("销售周期（天）", "Sales cycle (days)"), "number"),
        ME,
    ),
    rows=stage_flow_rows,
    reads=reads,
)


# -- receivables -------------------------------------------------------------------------------


@_source
def receivable_rows(work: Work, filters: Filters) -> Rows:
    payment = _Form(
        work, "payment", filters, "planned_amount", "planned_on", "received_on", "actual_amount"
    )
    payment.needs("planned_on")
    payment.needs("received_on")
    dialect = work.dialect
    # overdue on a day (the period's last, or today): planned before it, not received by it
    today = local_today(work)
    day = min(filters.period.last_day, today) if filters.period else today
    planned_on = payment.sql("planned_on")
    received_on = payment.sql("received_on")
    if dialect == "sqlite":
        late = cast(func.julianday(day.isoformat()) - func.julianday(planned_on), Integer)
    else:
        late = cast(literal(day.isoformat()), Date) - cast(planned_on, Date)
    statement = (
        select(
            Record.owner_id,
            Record.department_id,
            planned_on.label("planned_on"),
            late.label("days"),
            payment.sql("planned_amount").label("amount"),
        )
        .where(
            *payment.where,
            planned_on < day.isoformat(),
            (received_on.is_(None)) | (received_on > day.isoformat()),
        )
        .order_by(late, Record.id)
    )
    rows = []
    for owner, department, planned, days, amount in work.session.execute(statement):
        rows.append(
            {
                "owner": owner,
                "department": department,
                "planned_on": planned,
                "days_overdue": int(days),
                "age": _bucket(int(days), AGES),
                "amount": _decimal(amount),
                "me": _mine(work, owner),
            }
        )
    return rows


RECEIVABLES = DataSource(
    name=f"{APP}.receivables",
    title=_t("逾期应收", "Overdue receivables"),
    columns=(
        OWNER,
        DEPARTMENT,
        SourceColumn("planned_on", _t("计划回款日", "Due on"), "date"),
        SourceColumn("days_overdue", _t("逾期天数", "Days overdue"), "integer"),
        _option("age", _t("账龄", "Age"), {key: label for _, key, label in reversed(AGES)}),
        SourceColumn("amount", _t("应收金额", "Amount due"), "money"),
        ME,
    ),
    rows=receivable_rows,
    reads=reads,
)


# -- follow-up gaps ----------------------------------------------------------------------------


@_source
def follow_up_gap_rows(work: Work, filters: Filters) -> Rows:
    customer = _Form(work, "customer", filters, "status")
    follow_up = form(
        work, "follow_up", "customer", "visited_at", purpose="draw the sales dashboards"
    )
    dialect = work.dialect
    as_of = _end_of(filters.period, work, customer.zone)
    moment = format_datetime(as_of)
    # the customer's latest follow-up before then: a lookup in the follow-ups' index on their
    # customer, per customer. (``id + 0`` has no type affinity: compared with the integer
    # column itself, SQLite would not use an index on an expression.)
    other = Record.__table__.alias("follow_ups")
    adapt = ClauseAdapter(other).traverse
    visited_at = follow_up.spec.by_key["visited_at"]
    visited = adapt(field_sql(visited_at, dialect))
    last = (
        select(func.max(visited))
        .where(
            *(adapt(c) for c in form_rows(follow_up.form.id)),
            adapt(field_sql(follow_up.spec.by_key["customer"], dialect))
            == Record.id + literal_column("0"),
            visited < moment,
        )
        .scalar_subquery()
    )
    status = customer.sql("status")
    grade = customer.sql("grade") if "grade" in customer.loaded.spec.by_key else literal(None)
    # created_at as stored (parsed below only for the few customers never followed up)
    created_at = (
        type_coerce(Record.created_at, String) if dialect == "sqlite" else Record.created_at
    )
    statement = select(
        Record.owner_id, Record.department_id, grade.label("grade"), last.label("last"),
        created_at,
    ).where(
        *customer.where,
        Record.created_at <= as_of,
        (status.is_(None)) | (status != "lost"),
    )  # fmt: skip
    # the subquery once a customer, the days and the local day from it here: in SQL each
    # would run it again (SQLite repeats a correlated subquery wherever it is used)
    zone = follow_up.spec.timezone
    rows = []
    # Core, not the ORM session: 40,000 customers at the demo's 10×, and a row here is a
    # few tuples' worth of Python
    for owner, department, grade_value, last_text, created in work.connection.execute(statement):
        when = _utc(last_text) if last_text else _utc(created)
        gone = max(0, int((as_of - when).total_seconds() // 86400))
        rows.append(
            {
                "owner": owner,
                "department": department,
                "grade": grade_value,
                "last_follow_up": when.astimezone(zone).date().isoformat() if last_text else None,
                "days_since": gone,
                "gap": _bucket(gone, GAPS),
                "me": _mine(work, owner),
            }
        )
    return rows


def _utc(value: Any) -> dt.datetime:
    """A stored moment (ISO text with a Z, or a timestamp; naive ones are UTC) as UTC."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


FOLLOW_UP_GAPS = DataSource(
    name=f"{APP}.follow_up_gaps",
    title=_t("客户跟进间隔", "Days since the last follow-up"),
    columns=(
        OWNER,
        DEPARTMENT,
        _option("grade", _t("客户等级", "Grade"), {g: _t(g, g) for g in "ABCD"}),
        SourceColumn("last_follow_up", _t("最近跟进", "Last follow-up"), "date"),
        SourceColumn("days_since", _t("未跟进天数", "Days without follow-up"), "integer"),
        _option(
            "gap",
            _t("未跟进时长", "Time without follow-up"),
            {key: label for _, key, label in reversed(GAPS)},
        ),
        ME,
    ),
    rows=follow_up_gap_rows,
    reads=reads,
)


def data_sources() -> dict[str, DataSource]:
    """Every source by name (the plugin's ``formflow_data_sources``)."""
    return {
        source.name: source
        for source in (
            TARGET_PROGRESS,
            SCORECARDS,
            PAYOUT_ESTIMATE,
            ACTUALS,
            STAGE_FLOW,
            RECEIVABLES,
            FOLLOW_UP_GAPS,
        )
    }
