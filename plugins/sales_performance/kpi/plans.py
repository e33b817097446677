"""KPI plans (考核方案) as records admins edit: read, checked, and refused when wrong.

A plan is a ``kpi_plan`` record: the role it assesses, its period (month, quarter…), its
grade bands and a subform of metrics. Each metric row says what it measures — a measure
(``sales_measure`` key), the ratio of two measures, or a manager's manual score — over the
person or the team they head, the target (fixed, or the person's sales target of the same
measure and period) and how attainment becomes a score (``scoring``).

A plan that cannot be used is refused when saved, every problem naming the metric and the
field (weights that do not sum to 100, an unknown measure, bands that do not increase…), so
nothing half-valid is ever stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from formflow.definitions.service import LoadedForm, get_form
from formflow.errors import BadRequest, FieldError, NotFound, ValidationFailed
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.prepare import from_document
from formflow.records.query import form_rows
from formflow.runtime import Work

from .. import measures, plan_numbers
from ..explanations import Said, about, reason, said
from ..periods import KINDS as PERIOD_KINDS
from . import scoring

APP = "sales_performance"
SOURCES = ("measure", "ratio", "manual")
OF = ("self", "team")
TARGET_KINDS = ("fixed", "target")
#: A metric's number columns, checked when the plan is saved (:mod:`..plan_numbers`).
NUMBERS = {
    "weight": plan_numbers.Column("kpi_plan.weight_number", least=None),
    "floor": plan_numbers.Column("kpi_plan.floor", percent=True),
    "cap": plan_numbers.Column("kpi_plan.cap", percent=True),
    "target": plan_numbers.Column("kpi_plan.target_number", least=None),
}
#: The plan-wide checks (scoring.check_plan) that only repeat an unreadable number's problem.
FROM_NUMBERS = {
    "kpi_plan.weight": ("weight",),
    "kpi_plan.weights": ("weight",),
    "kpi_plan.floor_above_cap": ("floor", "cap"),
}

#: The shipped plans, created as records on first use (admins edit them afterwards).
DEFAULT_PLANS: list[dict[str, Any]] = [
    {
        "name": "销售代表月度考核 Sales rep, monthly",
        "role": "sales_rep",
        "period_kind": "month",
        "grades": "S:90, A:80, B:70, C:60, D:0",
        "active": True,
        "metrics": [
            {"key": "contract_amount", "name": "签约金额", "dimension": "result", "weight": 40,
             "source": "measure", "measure": "contract_amount", "target_kind": "target",
             "rule": "linear", "floor": "0.3", "cap": "1.2"},
            {"key": "collected", "name": "回款金额", "dimension": "result", "weight": 20,
             "source": "measure", "measure": "collected", "target_kind": "target",
             "rule": "linear", "floor": "0.3", "cap": "1.2"},
            {"key": "visits", "name": "客户拜访", "dimension": "process", "weight": 15,
             "source": "measure", "measure": "visits", "target_kind": "fixed", "target": 30,
             "rule": "linear", "floor": "0", "cap": "1.2"},
            {"key": "timeliness", "name": "跟进及时率", "dimension": "process", "weight": 10,
             "source": "ratio", "measure": "on_time_follow_ups", "denominator": "follow_ups",
             "target_kind": "fixed", "target": "0.9", "rule": "bands",
             "bands": "60:60, 80:80, 100:100"},
            {"key": "satisfaction", "name": "客户满意度", "dimension": "capability", "weight": 10,
             "source": "measure", "measure": "satisfaction", "target_kind": "fixed",
             "target": "4.5", "rule": "linear", "floor": "0", "cap": "1.1"},
            {"key": "collaboration", "name": "团队协作", "dimension": "capability", "weight": 5,
             "source": "manual"},
        ],
    },
    {
        "name": "销售经理月度考核 Sales manager, monthly",
        "role": "sales_manager",
        "period_kind": "month",
        "grades": "S:90, A:80, B:70, C:60, D:0",
        "active": True,
        "metrics": [
            {"key": "team_contract_amount", "name": "团队签约金额", "dimension": "result",
             "weight": 50, "source": "measure", "measure": "contract_amount", "of": "team",
             "target_kind": "target", "rule": "linear", "floor": "0.3", "cap": "1.2"},
            {"key": "team_collected", "name": "团队回款", "dimension": "result", "weight": 20,
             "source": "measure", "measure": "collected", "of": "team", "target_kind": "target",
             "rule": "linear", "floor": "0.3", "cap": "1.2"},
            {"key": "team_visits", "name": "团队拜访", "dimension": "process", "weight": 10,
             "source": "measure", "measure": "visits", "of": "team", "target_kind": "fixed",
             "target": 100, "rule": "linear", "floor": "0", "cap": "1.2"},
            {"key": "coaching", "name": "辅导与管理", "dimension": "capability", "weight": 20,
             "source": "manual"},
        ],
    },
]  # fmt: skip


@dataclass(frozen=True)
class PlanMetric:
    """A plan's metric: how it scores (``scoring.Metric``) and where its numbers come from."""

    metric: scoring.Metric
    source: str
    measure: str | None
    denominator: str | None
    of: str
    target_kind: str
    target: Decimal | None


@dataclass(frozen=True)
class Plan:
    id: int
    name: str
    role: str
    period_kind: str
    grades: tuple[tuple[Decimal, str], ...]
    active: bool
    metrics: tuple[PlanMetric, ...]

    def metric(self, key: str) -> PlanMetric:
        for item in self.metrics:
            if item.metric.key == key:
                return item
        raise NotFound([FieldError("metric", said("plan.no_metric", plan=self.name, metric=key))])


def plan_form(work: Work) -> LoadedForm:
    return get_form(work, f"{APP}.kpi_plan")


def _repeats(problem: Said, unreadable: set[str]) -> bool:
    """Whether a plan-wide problem only follows from a number already refused as unreadable."""
    inner = problem.params.get("problem") if problem.key == "problem.of" else problem
    key = inner.key if isinstance(inner, Said) else ""
    return any(field in unreadable for field in FROM_NUMBERS.get(key, ()))


def read_plan(values: dict[str, Any], record_id: int = 0) -> tuple[Plan | None, list[FieldError]]:
    """A plan from a record's values, or the problems that stop it from being one."""
    problems: list[FieldError] = []
    metrics: list[PlanMetric] = []
    unreadable: set[str] = set()
    for i, row in enumerate(values.get("metrics") or []):
        where = f"metrics[{i}]"
        key = row.get("key") or f"metric_{i + 1}"
        numbers: dict[str, Decimal | None] = {}
        refused: set[str] = set()
        for field in NUMBERS:
            read = plan_numbers.read(row, field, NUMBERS[field], where, key)
            if isinstance(read, FieldError):
                problems.append(read)
                refused.add(field)
                read = None
            numbers[field] = read
        unreadable |= refused
        try:
            bands = tuple(scoring.parse_bands(str(row["bands"]))) if row.get("bands") else ()
        except ValueError as error:
            problems.append(FieldError(f"{where}.bands", about(key, reason(error))))
            bands = ()
        source = row.get("source") or "measure"
        if source not in SOURCES:
            problems.append(
                FieldError(
                    f"{where}.source",
                    about(key, said("kpi_plan.source", choices=", ".join(SOURCES))),
                )
            )
        rule = row.get("rule") or "linear"
        if source != "manual" and rule == "bands" and not bands:
            problems.append(FieldError(f"{where}.bands", about(key, said("kpi_plan.needs_bands"))))
        metric = scoring.Metric(
            key=key,
            name=row.get("name") or key,
            dimension=row.get("dimension") or "result",
            weight=numbers["weight"] or Decimal(0),
            direction=row.get("direction") or "higher",
            rule=rule,
            floor=numbers["floor"] or Decimal(0),
            # Empty: 120 %; a cap the admin typed, 0 included, is the cap.
            cap=Decimal("1.2") if numbers["cap"] is None else numbers["cap"],
            bands=bands,
        )
        target_kind = row.get("target_kind") or "fixed"
        target = numbers["target"]
        of = row.get("of") or "self"
        for field, value, choices in (("of", of, OF), ("target_kind", target_kind, TARGET_KINDS)):
            if value not in choices:
                problems.append(
                    FieldError(
                        f"{where}.{field}",
                        about(key, said(f"kpi_plan.{field}", choices=", ".join(choices))),
                    )
                )
        if source != "manual" and not row.get("measure"):
            problems.append(
                FieldError(f"{where}.measure", about(key, said("kpi_plan.needs_measure")))
            )
        if source == "ratio" and not row.get("denominator"):
            problems.append(
                FieldError(f"{where}.denominator", about(key, said("kpi_plan.needs_denominator")))
            )
        if (
            source != "manual"
            and target_kind == "fixed"
            and "target" not in refused
            and (target is None or target <= 0)
        ):
            problems.append(
                FieldError(f"{where}.target", about(key, said("kpi_plan.fixed_target")))
            )
        if source == "ratio" and target_kind == "target":
            problems.append(
                FieldError(f"{where}.target_kind", about(key, said("kpi_plan.ratio_target")))
            )
        metrics.append(
            PlanMetric(
                metric,
                source,
                row.get("measure"),
                row.get("denominator"),
                of,
                target_kind,
                target,
            )
        )
    problems += [
        FieldError("metrics", problem)
        for problem in scoring.check_plan([m.metric for m in metrics])
        if (problem.key != "plan.no_metrics" or not metrics) and not _repeats(problem, unreadable)
    ]
    try:
        grades = tuple(
            scoring.parse_grades(str(values.get("grades") or "S:90, A:80, B:70, C:60, D:0"))
        )
    except ValueError as error:
        problems.append(FieldError("grades", reason(error)))
        grades = scoring.DEFAULT_GRADES
    period_kind = values.get("period_kind") or "month"
    if period_kind not in PERIOD_KINDS:
        problems.append(
            FieldError("period_kind", said("kpi_plan.period_kind", choices=", ".join(PERIOD_KINDS)))
        )
    if problems:
        return None, problems
    plan = Plan(
        id=record_id,
        name=values.get("name") or f"#{record_id}",
        role=values.get("role") or "",
        period_kind=period_kind,
        grades=grades,
        active=values.get("active") is not False,
        metrics=tuple(metrics),
    )
    return plan, []


def check_measures(work: Work, plan: Plan) -> list[FieldError]:
    """The plan's measures must exist (and compile against their forms)."""
    known = measures.all_measures(work)
    problems = []
    for i, item in enumerate(plan.metrics):
        for field, key in (("measure", item.measure), ("denominator", item.denominator)):
            if key is None or (field == "denominator" and item.source != "ratio"):
                continue
            if item.source == "manual":
                continue
            if key not in known:
                problems.append(
                    FieldError(
                        f"metrics[{i}].{field}",
                        about(item.metric.key, said("plan.unknown_measure_see", measure=key)),
                    )
                )
    return problems


def refuse_bad_plan(work: Work, loaded: LoadedForm, record: Any, *_: Any) -> None:
    """A records listener: a KPI plan that cannot be used is refused when saved (the whole
    write rolls back, so nothing half-valid is stored)."""
    if loaded.name != f"{APP}.kpi_plan":
        return
    plan, problems = read_plan(dict(from_document(loaded.spec, record.data)), record.id)
    if plan is not None:
        problems = check_measures(work, plan)
    if problems:
        raise ValidationFailed(problems)


def ensure_defaults(work: Work) -> None:
    """Create the shipped plans whose names are missing (never touch edited ones)."""
    measures.ensure_defaults(work)
    loaded = plan_form(work)
    have = {plan.name for plan in all_plans(work, active_only=False)}
    for default in DEFAULT_PLANS:
        if default["name"] not in have:
            records.create_as_step(work, loaded, default)


def all_plans(work: Work, *, active_only: bool = True) -> list[Plan]:
    loaded = plan_form(work)
    found = []
    for record in work.session.scalars(
        select(Record).where(*form_rows(loaded.form.id)).order_by(Record.id)
    ):
        plan, _ = read_plan(dict(from_document(loaded.spec, record.data)), record.id)
        if plan is not None and (plan.active or not active_only):
            found.append(plan)
    return found


def get_plan(work: Work, plan_id: int) -> Plan:
    loaded = plan_form(work)
    record = records.get(work, plan_id, form_id=loaded.form.id)
    plan, problems = read_plan(dict(from_document(loaded.spec, record.data)), record.id)
    if plan is None:
        raise BadRequest(problems)
    return plan
