"""Targets against actuals: roll-up, progress beside the time elapsed, forecast, warnings.

Actuals roll up bottom-up by construction: a rep's actual is the measure over the records
attributed to them; a team's, region's or the company's is the same measure over every
member of the department and the departments below it — so a team's actual is always the
sum of its members'. Each number comes with the sentence that explains it.

- progress = actual / effective target (the target prorated for a joiner or leaver),
  shown beside the share of the period elapsed;
- trailing: attainment below the elapsed share by more than the target's tolerance;
- forecast = actual + Σ open opportunity amount × its stage's win probability (the stage
  options' ``score`` in the opportunity form), for opportunities expected to close in the
  period.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, cast, func, select

from formflow.definitions.service import get_form
from formflow.notifications.service import notify
from formflow.records.projection import field_sql
from formflow.records.query import form_rows
from formflow.runtime import Work

from .. import measures, org
from ..explanations import said, target_amount
from ..functions import local_today
from ..periods import Period, elapsed_share_explained
from ..split import format_number, format_percent
from .tree import Target, all_targets, measure_of, visible

APP = "sales_performance"


@dataclass
class Progress:
    target: Target
    effective: Decimal
    actual: Decimal
    attainment: Decimal | None
    elapsed: Decimal
    pipeline: Decimal
    forecast: Decimal
    trailing: bool
    explanation: list[str]

    def as_dict(self) -> dict[str, Any]:
        target = self.target
        return {
            "target": target.id,
            "name": target.name,
            "period": target.period.key,
            "level": target.level,
            "department": target.department,
            "member": target.member,
            "measure": target.measure_id,
            "amount": str(target.amount),
            "effective_amount": str(self.effective),
            "actual": str(self.actual),
            "attainment": None if self.attainment is None else str(self.attainment),
            "elapsed": str(self.elapsed),
            "pipeline": str(self.pipeline),
            "forecast": str(self.forecast),
            "trailing": self.trailing,
            "explanation": self.explanation,
        }


class _Actuals:
    """Measure values per member per period, each computed once (one query) per request."""

    def __init__(self, work: Work) -> None:
        self.work = work
        self.cache: dict[tuple[Any, ...], dict[int, Decimal]] = {}

    def of(self, measure: measures.Measure, period: Period) -> dict[int, Decimal]:
        key = (measure, period)
        if key not in self.cache:
            self.cache[key] = measures.actuals(self.work, measure, period.start, period.end)
        return self.cache[key]


def owners(work: Work, target: Target) -> set[int] | None:
    """The people whose records count for a target; None: everybody (the company)."""
    if target.level == "rep":
        return {target.member} if target.member is not None else set()
    if target.department is None:
        return None
    return org.members_of(work, target.department)


def _total(values: dict[int, Decimal], people: set[int] | None) -> Decimal:
    if people is None:
        return sum(values.values(), Decimal(0))
    return sum((v for k, v in values.items() if k in people), Decimal(0))


def _measure_for(work: Work, target: Target) -> measures.Measure:
    measure = measure_of(work, target)
    if target.product_line:
        compiled = measures.compile_measure(work, measure)
        if "product_line" in compiled.loaded.spec.by_key:
            measure = dataclasses.replace(
                measure, filter=f"{measure.filter}\nproduct_line = {target.product_line}"
            )
    return measure


def stage_probabilities(work: Work) -> dict[str, Decimal]:
    """Each opportunity stage's win probability (its option's score in the form)."""
    loaded = get_form(work, f"{APP}.opportunity")
    stage = loaded.spec.by_key.get("stage")
    if stage is None:
        return {}
    return {
        option["value"]: Decimal(str(option.get("score", 0)))
        for option in stage.schema.get("x-options", [])
    }


def pipeline(work: Work, period: Period) -> dict[int, Decimal]:
    """Σ amount × win probability of the open opportunities expected to close in the
    period, per owner (won and lost ones are not open: probabilities of 1 and 0)."""
    loaded = get_form(work, f"{APP}.opportunity")
    keys = loaded.spec.by_key
    if not {"stage", "amount", "expected_close", "owner"} <= set(keys):
        return {}
    odds = {k: p for k, p in stage_probabilities(work).items() if 0 < p < 1}
    if not odds:
        return {}
    dialect = work.dialect
    stage = field_sql(keys["stage"], dialect)
    owner = field_sql(keys["owner"], dialect)
    amount = field_sql(keys["amount"], dialect)
    close = field_sql(keys["expected_close"], dialect)
    total = (
        func.sum(cast(func.round(amount * 100), Integer))
        if dialect == "sqlite"
        else func.sum(amount)
    )
    found: dict[int, Decimal] = {}
    for who, name, raw in work.session.execute(
        select(owner, stage, total)
        .where(
            *form_rows(loaded.form.id),
            stage.in_(sorted(odds)),
            close >= period.start.isoformat(),
            close < period.end.isoformat(),
        )
        .group_by(owner, stage)
    ):
        if who is None or raw is None:
            continue
        value = Decimal(raw).scaleb(-2) if dialect == "sqlite" else Decimal(str(raw))
        found[int(who)] = found.get(int(who), Decimal(0)) + value * odds[name]
    return found


def progress_of(
    work: Work, target: Target, today: dt.date, actuals: _Actuals | None = None
) -> Progress:
    actuals = actuals or _Actuals(work)
    measure = _measure_for(work, target)
    people = owners(work, target)
    actual = _total(actuals.of(measure, target.period), people)
    effective, _ = target.effective()
    elapsed, elapsed_how = elapsed_share_explained(target.period, today)
    attainment = actual / effective if effective > 0 else None
    piped = Decimal(0)
    if measure.key == "contract_amount" or measure.form.endswith("contract"):
        key = ("pipeline", target.period)
        if key not in actuals.cache:
            actuals.cache[key] = pipeline(work, target.period)
        piped = _total(actuals.cache[key], people)
    forecast = actual + piped
    trailing = attainment is not None and attainment < elapsed - target.tolerance
    scope = "rep" if target.level == "rep" else "department" if people is not None else "company"
    _, prorated = target_amount(target)
    explanation = [
        said("progress.target", amount=format_number(target.amount), how=prorated),
        said(f"progress.actual.{scope}", measure=measure.name, period=target.period.key,
             actual=format_number(actual)),
        said("progress.attainment", actual=format_number(actual),
             target=format_number(effective), share=format_percent(attainment))
        if attainment is not None
        else said("progress.no_target"),
        said("progress.elapsed", how=elapsed_how),
    ]  # fmt: skip
    if piped:
        explanation.append(
            said("progress.forecast", actual=format_number(actual), pipeline=format_number(piped),
                 forecast=format_number(forecast))
        )  # fmt: skip
    if trailing:
        explanation.append(
            said("progress.trailing", share=format_percent(attainment or Decimal(0)),
                 tolerance=format_percent(target.tolerance), elapsed=format_percent(elapsed))
        )  # fmt: skip
    return Progress(
        target, effective, actual, attainment, elapsed, piped, forecast, trailing, explanation
    )


def progress(
    work: Work, period: str, *, level: str | None = None, today: dt.date | None = None
) -> list[Progress]:
    """Every target of a period (of one level) the viewer may see, with its progress."""
    today = today or local_today(work)
    actuals = _Actuals(work)
    found = []
    for target in all_targets(work, period=period):
        if level is not None and target.level != level:
            continue
        if not visible(work, target):
            continue
        found.append(progress_of(work, target, today, actuals))
    return found


def warn_trailing(
    work: Work, kind: str = "month", levels: tuple[str, ...] = ("rep",)
) -> dict[str, Any]:
    """Tell each trailing rep, and their manager, where they stand (the weekly automation)."""
    from formflow.flows import approvers

    today = local_today(work)
    period = Period.containing(kind, today)
    warned = []
    for item in progress(work, period.key, today=today):
        if item.target.level not in levels or not item.trailing:
            continue
        target = item.target
        title = (
            f"目标进度落后：{target.name} 完成 {format_percent(item.attainment or Decimal(0))}，"
            f"时间已过 {format_percent(item.elapsed)} · Behind target: "
            f"{format_percent(item.attainment or Decimal(0))} done, "
            f"{format_percent(item.elapsed)} of the period gone"
        )
        body = "\n".join(item.explanation)
        link = f"/sales/targets/{target.id}"
        people = []
        if target.member is not None:
            people.append(target.member)
            people += approvers.resolve(work, [{"manager": 1}], target.member, {})
        for person in dict.fromkeys(people):
            notify(work, person, title, body, link)
        warned.append(target.id)
    return {"period": period.key, "warned": warned}
