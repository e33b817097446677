"""Incentive plans (激励方案) as records admins edit: effective-dated, checked when saved.

A plan is an ``incentive_plan`` record: the role it pays, the date it takes effect, its
settlement period and a subform of rules. A change mid-year is a new plan record for the
same role with a later ``effective_from``: a period is paid by the plan in effect on its
first day, so earlier periods keep the old plan (and a statement names the plan it used).

Rule kinds and the columns each needs:

============== =====================================================================
commission     measure (the base), tiers, mode; optional target_measure (attainment),
               cap_amount / cap_multiple (× on-target pay), gate_score / gate_factor
manager_override  measure, rate — on the team the person heads (their own deals excluded)
team_award     measure, amount (the pool) — paid when the person's team reached its target
spif           measure (a count), amount per event
honours        top_n, title, optional amount — the top N KPI scores of the plan's role
clawback       measure — what was paid on records that no longer count (cancelled
               contracts, refunds) comes back as a negative line
============== =====================================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from formflow.definitions.service import LoadedForm, get_form
from formflow.errors import FieldError, ValidationFailed
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.prepare import from_document
from formflow.records.query import form_rows
from formflow.runtime import Work

from .. import measures, plan_numbers
from ..explanations import about, reason, said
from ..periods import KINDS as PERIOD_KINDS
from ..periods import Period
from . import rules as arithmetic

APP = "sales_performance"
KINDS = ("commission", "manager_override", "team_award", "spif", "honours", "clawback")
NEEDS = {
    "commission": ("measure", "tiers"),
    "manager_override": ("measure", "rate"),
    "team_award": ("measure", "amount"),
    "spif": ("measure", "amount"),
    "honours": ("top_n", "title"),
    "clawback": ("measure",),
}

DEFAULT_PLANS: list[dict[str, Any]] = [
    {
        "name": "销售代表激励方案 Sales rep incentives",
        "role": "sales_rep",
        "effective_from": "2024-01-01",
        "period_kind": "month",
        "active": True,
        "rules": [
            {"key": "commission", "name": "签约提成", "kind": "commission",
             "measure": "contract_amount", "tiers": "0-80:2%, 80-100:4%, 100-120:6%, 120-:8%",
             "mode": "marginal", "cap_multiple": 3, "gate_score": 60, "gate_factor": 0},
            {"key": "grade_a", "name": "A级新客户奖", "kind": "spif",
             "measure": "new_grade_a_customers", "amount": "500.00"},
            {"key": "team", "name": "团队达标奖", "kind": "team_award",
             "measure": "contract_amount", "amount": "20000.00"},
            {"key": "star", "name": "销售之星", "kind": "honours", "top_n": 3,
             "title": "销售之星", "amount": "1000.00"},
            {"key": "clawback", "name": "退单追回", "kind": "clawback",
             "measure": "contract_amount"},
        ],
    },
    {
        "name": "销售经理激励方案 Sales manager incentives",
        "role": "sales_manager",
        "effective_from": "2024-01-01",
        "period_kind": "month",
        "active": True,
        "rules": [
            {"key": "override", "name": "团队管理提成", "kind": "manager_override",
             "measure": "contract_amount", "rate": "0.005", "gate_score": 60,
             "gate_factor": "0.5"},
        ],
    },
]  # fmt: skip


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    kind: str
    measure: str | None = None
    target_measure: str | None = None
    tiers: tuple[arithmetic.Tier, ...] = ()
    mode: str = "marginal"
    rate: Decimal | None = None
    amount: Decimal | None = None
    cap_amount: Decimal | None = None
    cap_multiple: Decimal | None = None
    gate_score: Decimal | None = None
    gate_factor: Decimal = Decimal(0)
    top_n: int | None = None
    title: str | None = None


@dataclass(frozen=True)
class IncentivePlan:
    id: int
    name: str
    role: str
    effective_from: dt.date
    period_kind: str
    active: bool
    rules: tuple[Rule, ...]


def plan_form(work: Work) -> LoadedForm:
    return get_form(work, f"{APP}.incentive_plan")


#: Every number column a rule converts, checked when the plan is saved — whatever the form's
#: definition (which an admin may republish) lets through — so the arithmetic's own guards
#: (a negative rate or cap, a gate factor outside 0–1, top N below 1) never see a saved value.
COLUMNS = {
    "rate": plan_numbers.Column("incentive_plan.rate", percent=True),
    "amount": plan_numbers.Column("incentive_plan.amount", cents=True),
    "cap_amount": plan_numbers.Column("incentive_plan.cap_amount", cents=True),
    "cap_multiple": plan_numbers.Column("incentive_plan.cap_multiple"),
    "gate_score": plan_numbers.Column("incentive_plan.gate_score"),
    "gate_factor": plan_numbers.Column("incentive_plan.gate_factor", most=Decimal(1), percent=True),
    "top_n": plan_numbers.Column("incentive_plan.top_n", least=Decimal(1), whole=True),
}


def read_plan(
    values: dict[str, Any], record_id: int = 0
) -> tuple[IncentivePlan | None, list[FieldError]]:
    problems: list[FieldError] = []
    found: list[Rule] = []
    seen: set[str] = set()
    for i, row in enumerate(values.get("rules") or []):
        where = f"rules[{i}]"
        key = row.get("key") or f"rule_{i + 1}"
        if key in seen:
            problems.append(
                FieldError(f"{where}.key", about(key, said("incentive_plan.duplicate_key")))
            )
        seen.add(key)
        kind = row.get("kind") or "commission"
        if kind not in KINDS:
            problems.append(
                FieldError(
                    f"{where}.kind",
                    about(key, said("incentive_plan.kind", choices=", ".join(KINDS))),
                )
            )
            continue
        for needed in NEEDS[kind]:
            if row.get(needed) in (None, ""):
                problems.append(
                    FieldError(
                        f"{where}.{needed}",
                        about(key, said("incentive_plan.needs", kind=kind, field=needed)),
                    )
                )
        tiers: tuple[arithmetic.Tier, ...] = ()
        if row.get("tiers"):
            try:
                tiers = arithmetic.parse_tiers(str(row["tiers"]))
            except ValueError as error:
                problems.append(FieldError(f"{where}.tiers", about(key, reason(error))))
        mode = row.get("mode") or "marginal"
        if mode not in arithmetic.MODES:
            problems.append(
                FieldError(
                    f"{where}.mode",
                    about(key, said("incentive_plan.mode", choices=", ".join(arithmetic.MODES))),
                )
            )
        numbers: dict[str, Decimal | None] = {}
        for field in COLUMNS:
            read = plan_numbers.read(row, field, COLUMNS[field], where, key)
            if isinstance(read, FieldError):
                problems.append(read)
                read = None
            numbers[field] = read
        if (
            kind == "commission"
            and mode == "marginal"
            and row.get("target_measure") not in (None, "", row.get("measure"))
        ):
            problems.append(
                FieldError(
                    f"{where}.mode",
                    about(key, said("incentive_plan.marginal_target")),
                )
            )
        found.append(
            Rule(
                key=key,
                name=row.get("name") or key,
                kind=kind,
                measure=row.get("measure") or None,
                target_measure=row.get("target_measure") or None,
                tiers=tiers,
                mode=mode,
                rate=numbers["rate"],
                amount=numbers["amount"],
                cap_amount=numbers["cap_amount"],
                cap_multiple=numbers["cap_multiple"],
                gate_score=numbers["gate_score"],
                gate_factor=numbers["gate_factor"] or Decimal(0),
                top_n=None if numbers["top_n"] is None else int(numbers["top_n"]),
                title=row.get("title") or None,
            )
        )
    if not found and not problems:
        problems.append(FieldError("rules", said("plan.no_rules")))
    try:
        effective = dt.date.fromisoformat(str(values.get("effective_from")))
    except ValueError:
        problems.append(FieldError("effective_from", said("plan.must_be_date")))
        effective = dt.date.min
    kind = values.get("period_kind") or "month"
    if kind not in PERIOD_KINDS:
        problems.append(
            FieldError(
                "period_kind",
                said("incentive_plan.period_kind", choices=", ".join(PERIOD_KINDS)),
            )
        )
    if problems:
        return None, problems
    return (
        IncentivePlan(
            id=record_id,
            name=values.get("name") or f"#{record_id}",
            role=values.get("role") or "",
            effective_from=effective,
            period_kind=kind,
            active=values.get("active") is not False,
            rules=tuple(found),
        ),
        [],
    )


def check_measures(work: Work, plan: IncentivePlan) -> list[FieldError]:
    known = measures.all_measures(work)
    problems = []
    for i, rule in enumerate(plan.rules):
        for field in ("measure", "target_measure"):
            key = getattr(rule, field)
            if key and key not in known:
                problems.append(
                    FieldError(
                        f"rules[{i}].{field}",
                        about(rule.key, said("plan.unknown_measure", measure=key)),
                    )
                )
    return problems


def refuse_bad_plan(work: Work, loaded: LoadedForm, record: Any, *_: Any) -> None:
    """A records listener: an unusable incentive plan is refused when saved."""
    if loaded.name != f"{APP}.incentive_plan":
        return
    plan, problems = read_plan(dict(from_document(loaded.spec, record.data)), record.id)
    if plan is not None:
        problems = check_measures(work, plan)
    if problems:
        raise ValidationFailed(problems)


def all_plans(work: Work) -> list[IncentivePlan]:
    loaded = plan_form(work)
    found = []
    for record in work.session.scalars(
        select(Record).where(*form_rows(loaded.form.id)).order_by(Record.id)
    ):
        plan, _ = read_plan(dict(from_document(loaded.spec, record.data)), record.id)
        if plan is not None:
            found.append(plan)
    return found


def plans_for(work: Work, period: Period) -> list[IncentivePlan]:
    """For each role, the active plan of the period's kind in effect on its first day (the
    latest ``effective_from`` on or before it)."""
    chosen: dict[str, IncentivePlan] = {}
    for plan in all_plans(work):
        if not plan.active or plan.period_kind != period.kind:
            continue
        if plan.effective_from > period.start:
            continue
        current = chosen.get(plan.role)
        if current is None or (plan.effective_from, plan.id) > (current.effective_from, current.id):
            chosen[plan.role] = plan
    return list(chosen.values())


def ensure_defaults(work: Work) -> None:
    measures.ensure_defaults(work)
    loaded = plan_form(work)
    have = {plan.name for plan in all_plans(work)}
    for default in DEFAULT_PLANS:
        if default["name"] not in have:
            records.create_as_step(work, loaded, default)
