"""Scorecards (绩效考核结果): each person's KPI plan scored for a period, live or frozen.

For a period, every active plan of that period kind scores the people holding its role.
Each metric's actual comes from one SQL aggregate per measure for everybody at once
(``measures.actuals``), never from records loaded into Python; a team metric adds up the
members of the departments the person heads. The target is fixed in the plan or taken
from the person's sales target of the same measure and period (prorated for joiners). The
score, the weighted total and the grade come from ``scoring``, each with its arithmetic.

While the period runs the scorecard is live (computed on every request). At period end
``publish`` freezes it into a ``kpi_result`` record the person can read, with every line's
actual, target, attainment, score and how; an accepted appeal (``appeals``) later adds a
recorded adjustment to one line, never a silent change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from formflow.definitions.service import LoadedForm, get_form
from formflow.errors import BadRequest, FieldError, Forbidden
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.prepare import from_document
from formflow.records.projection import field_sql
from formflow.records.query import form_rows
from formflow.runtime import Work

from .. import measures, org
from ..explanations import Said, said, steps, stored, target_amount
from ..periods import Period
from ..split import format_number
from ..targets.tree import Target, all_targets
from . import scoring
from .plans import Plan, PlanMetric, all_plans, ensure_defaults

APP = "sales_performance"
SIX = Decimal("0.000001")
FOUR = Decimal("0.0001")


@dataclass
class Line:
    item: PlanMetric
    result: scoring.MetricScore
    adjustment: Decimal = Decimal(0)
    note: str = ""

    @property
    def explanation(self) -> str:
        """How the line was scored (a Said, or the text stored when it was published)."""
        if not self.note:
            return self.result.explanation
        return steps([self.result.explanation, self.note])

    @property
    def score(self) -> Decimal | None:
        if self.result.score is None:
            return None if not self.adjustment else self.adjustment
        return self.result.score + self.adjustment

    def as_dict(self) -> dict[str, Any]:
        metric, result = self.item.metric, self.result
        return {
            "metric": metric.key,
            "name": metric.name,
            "dimension": metric.dimension,
            "weight": str(metric.weight),
            "source": self.item.source,
            "measure": self.item.measure,
            "actual": _text(result.actual),
            "target": _text(result.target),
            "attainment": _text(result.attainment),
            "score": _text(result.score),
            "adjustment": str(self.adjustment) if self.adjustment else None,
            "explanation": self.explanation,
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class Scorecard:
    member: int
    period: Period
    plan: Plan
    lines: list[Line]
    status: str = "live"
    result_id: int | None = None
    steps: list[str] = field(default_factory=list)

    def weighted(self) -> list[tuple[scoring.Metric, scoring.MetricScore]]:
        found = []
        for line in self.lines:
            result = line.result
            if line.adjustment:
                result = scoring.MetricScore(
                    result.actual,
                    result.target,
                    result.attainment,
                    line.score,
                    result.explanation,
                    result.manual,
                    result.comment,
                )
            found.append((line.item.metric, result))
        return found

    @property
    def total(self) -> Decimal:
        return scoring.round_score(scoring.total(self.weighted()))

    @property
    def grade(self) -> str:
        return scoring.grade(self.total, self.plan.grades)

    def explanation(self) -> list[Said]:
        _, done = scoring.total_explained(self.weighted())
        _, how = scoring.grade_explained(self.total, self.plan.grades)
        return [*done, said("kpi.grade", how=how)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "period": self.period.key,
            "plan": self.plan.id,
            "plan_name": self.plan.name,
            "status": self.status,
            "result": self.result_id,
            "score": str(self.total),
            "grade": self.grade,
            "lines": [line.as_dict() for line in self.lines],
            "explanation": self.explanation(),
        }


class Numbers:
    """Everything a period's scorecards read, each fetched once: measure actuals for
    everybody, the period's sales targets, the managers' manual scores, whom each manager's
    team counts. An incentive run reads the same period's measures, targets and teams, and
    hands its ``Numbers`` to the scorecards its gates look at (``scorecards(numbers=…)``)."""

    def __init__(self, work: Work, period: Period) -> None:
        self.work = work
        self.period = period
        self.measures = measures.all_measures(work)
        self.actuals: dict[str, dict[int, Decimal]] = {}
        self.targets = all_targets(work, period=period.key)
        self.manual = manual_scores(work, period)
        self.teams: dict[int, set[int]] = {}
        self._holders: dict[str, list[int]] = {}
        self._by_member: dict[tuple[int | None, int | None], list[Target]] | None = None

    def measure(self, key: str) -> measures.Measure:
        found = self.measures.get(key)
        if found is None:
            raise BadRequest([FieldError("measure", f"there is no measure '{key}'")])
        return found

    def prefetch(self, keys: set[str]) -> None:
        """Read these measures at once (one query per form: ``measures.actuals_many``)."""
        wanted = [self.measures[k] for k in sorted(keys) if k in self.measures]
        wanted = [m for m in wanted if m.key not in self.actuals]
        if wanted:
            self.actuals.update(
                measures.actuals_many(self.work, wanted, self.period.start, self.period.end)
            )

    def of(self, key: str) -> dict[int, Decimal]:
        if key not in self.actuals:
            self.actuals[key] = measures.actuals(
                self.work, self.measure(key), self.period.start, self.period.end
            )
        return self.actuals[key]

    def holders(self, role: str) -> list[int]:
        """``org.holders_of``, each role read once."""
        if role not in self._holders:
            self._holders[role] = org.holders_of(self.work, role)
        return self._holders[role]

    def team(self, person: int) -> set[int]:
        if person not in self.teams:
            self.teams[person] = org.team_of(self.work, person)
        return self.teams[person]

    def value(self, key: str, person: int, of: str) -> Decimal:
        values = self.of(key)
        if of == "team":
            return sum((values.get(m, Decimal(0)) for m in self.team(person)), Decimal(0))
        return values.get(person, Decimal(0))

    def target(
        self, item: PlanMetric, person: int, explain: bool = True
    ) -> tuple[Decimal | None, Said | None]:
        measure = self.measure(item.measure or "")
        for target in self.targets_of(measure.record_id, person):
            if (item.of == "team") == (target.level == "rep"):
                continue
            if not explain:
                return target.effective()[0], None
            amount, how = target_amount(target)
            return amount, said("kpi.target_from", name=target.name, id=target.id, how=how)
        if not explain:
            return None, None
        return None, said("kpi.target_none", measure=measure.name, period=self.period.key)

    def targets_of(self, measure_id: int | None, member: int | None) -> list[Target]:
        """The period's targets of a measure set for a person, by id (everybody's sorted
        out once)."""
        if self._by_member is None:
            self._by_member = {}
            for target in self.targets:
                key = (target.measure_id, target.member)
                self._by_member.setdefault(key, []).append(target)
        return self._by_member.get((measure_id, member), [])


def manual_scores(work: Work, period: Period) -> dict[tuple[int, str], tuple[Decimal, str]]:
    """(member, metric key) → (score, comment): the latest a manager gave in the period."""
    loaded = get_form(work, f"{APP}.kpi_manual_score")
    keys = loaded.spec.by_key
    found: dict[tuple[int, str], tuple[Decimal, str]] = {}
    statement = (
        select(Record)
        .where(
            *form_rows(loaded.form.id),
            field_sql(keys["period"], work.dialect) == period.key,
        )
        .order_by(Record.id)
    )
    for record in work.session.scalars(statement):
        values = dict(from_document(loaded.spec, record.data))
        if values.get("member") and values.get("metric") and values.get("score") is not None:
            found[(int(values["member"]), values["metric"])] = (
                Decimal(str(values["score"])),
                values.get("comment") or "",
            )
    return found


def check_manual_score(work: Work, loaded: LoadedForm, record: Any, *_: Any) -> None:
    """A records listener: only the person's manager (a head of their department or above)
    or an admin gives a manual score; nobody scores themselves."""
    if loaded.name != f"{APP}.kpi_manual_score":
        return
    values = dict(from_document(loaded.spec, record.data))
    member = values.get("member")
    actor = work.actor
    if actor is None or actor.is_admin:
        return
    if member == actor.id or not org.may_manage(work, None, member):
        raise BadRequest(
            [FieldError("member", "only their manager may give this person a manual score")]
        )
    try:
        Period.parse(values.get("period") or "")
    except ValueError as error:
        raise BadRequest([FieldError("period", str(error))]) from None


def _line(numbers: Numbers, item: PlanMetric, person: int, explain: bool = True) -> Line:
    """One line scored, and (with ``explain``) how: its explanation stays empty without."""
    metric = item.metric
    if item.source == "manual":
        given = numbers.manual.get((person, metric.key))
        if given is None:
            missing = said("kpi.manual_missing") if explain else ""
            return Line(item, scoring.MetricScore(None, None, None, None, missing, manual=True))
        return Line(item, scoring.manual(metric, given[0], given[1]))
    actual = numbers.value(item.measure or "", person, item.of)
    denominator = None
    if item.source == "ratio":
        denominator = numbers.value(item.denominator or "", person, item.of)
        if denominator == 0:
            name = numbers.measure(item.denominator or "").name
            zero = said("kpi.ratio_zero", name=name) if explain else ""
            return Line(item, scoring.MetricScore(None, item.target, None, None, zero))
    value = actual if denominator is None else actual / denominator
    if item.target_kind == "target":
        target, how_target = numbers.target(item, person, explain)
    else:
        target = item.target
        how_target = (
            said("kpi.target_fixed", target=format_number(item.target or 0)) if explain else None
        )
    result = None if target is None else scoring.score(metric, value, target, explain=explain)
    if not explain:
        unscored = scoring.MetricScore(value, None, None, None, "")
        return Line(item, unscored if result is None else result)
    how_actual = f"{numbers.measure(item.measure or '').name} = {format_number(actual)}"
    if denominator is not None:
        name = numbers.measure(item.denominator or "").name
        how_actual = (
            f"{how_actual} / {name} = {format_number(denominator)} → {format_number(value)}"
        )
    if result is None:
        return Line(
            item, scoring.MetricScore(value, None, None, None, steps([how_actual, how_target]))
        )
    return Line(
        item,
        scoring.MetricScore(
            result.actual,
            result.target,
            result.attainment,
            result.score,
            steps([how_actual, how_target, result.explanation]),
        ),
    )


def _people(
    work: Work, numbers: Numbers, plan: Plan, members: set[int] | None, everyone: bool
) -> list[int]:
    scope = org.scope_of(work)
    return [
        person
        for person in numbers.holders(plan.role)
        if (everyone or scope.sees_member(person)) and (members is None or person in members)
    ]


def scorecards(
    work: Work,
    period_key: str,
    *,
    members: set[int] | None = None,
    live: bool = False,
    everyone: bool = False,
    numbers: Numbers | None = None,
    explain: bool = True,
) -> list[Scorecard]:
    """The period's scorecards of everybody the viewer may see (published ones as they
    were frozen, unless ``live``). ``everyone`` is for computations that rank or gate on
    everybody's score (incentives), never for showing; ``numbers``: the period's numbers
    the caller has read already; without ``explain`` the live lines carry their numbers
    but not how they were worked out (for a computation that reads only the scores)."""
    period = _period(period_key)
    published = {} if live else published_results(work, period)
    if numbers is None or numbers.period != period:
        numbers = Numbers(work, period)
    chosen = [plan for plan in all_plans(work) if plan.period_kind == period.kind]
    numbers.prefetch(
        {
            key
            for plan in chosen
            for item in plan.metrics
            if item.source != "manual"
            for key in (item.measure, item.denominator if item.source == "ratio" else None)
            if key
        }
    )
    found = []
    for plan in chosen:
        for person in _people(work, numbers, plan, members, everyone):
            frozen = published.get((person, plan.id))
            if frozen is not None:
                found.append(frozen)
                continue
            lines = [_line(numbers, item, person, explain) for item in plan.metrics]
            found.append(Scorecard(person, period, plan, lines))
    return found


def scorecard(work: Work, period_key: str, member: int) -> Scorecard:
    if not org.scope_of(work).sees_member(member):
        raise Forbidden(f"you may not see the scorecard of user #{member}")
    found = scorecards(work, period_key, members={member})
    if not found:
        raise BadRequest(
            [
                FieldError(
                    "member", f"user #{member} holds no role a KPI plan of {period_key} assesses"
                )
            ]
        )
    return found[0]


def _period(key: str) -> Period:
    try:
        return Period.parse(key)
    except ValueError as error:
        raise BadRequest([FieldError("period", str(error))]) from None


# -- the frozen results -------------------------------------------------------------------


def result_form(work: Work) -> LoadedForm:
    return get_form(work, f"{APP}.kpi_result")


def _stored_lines(card: Scorecard) -> list[dict[str, Any]]:
    rows = []
    for line in card.lines:
        metric, result = line.item.metric, line.result
        rows.append(
            {
                "metric": metric.key,
                "name": metric.name[:60],
                "dimension": metric.dimension,
                "weight": str(metric.weight),
                "actual": _q(result.actual, SIX),
                "target": _q(result.target, SIX),
                "attainment": _q(result.attainment, FOUR),
                "score": _q(result.score, FOUR),
                "adjustment": _q(line.adjustment, FOUR) if line.adjustment else None,
                "explanation": stored(line.explanation),
            }
        )
    return rows


def _q(value: Decimal | None, places: Decimal) -> str | None:
    return None if value is None else str(value.quantize(places))


def published_results(work: Work, period: Period) -> dict[tuple[int, int], Scorecard]:
    """(member, plan id) → the scorecard as it was published."""
    loaded = result_form(work)
    keys = loaded.spec.by_key
    plans = {plan.id: plan for plan in all_plans(work, active_only=False)}
    found: dict[tuple[int, int], Scorecard] = {}
    for record in work.session.scalars(
        select(Record).where(
            *form_rows(loaded.form.id),
            field_sql(keys["period"], work.dialect) == period.key,
        )
    ):
        values = dict(from_document(loaded.spec, record.data))
        plan = plans.get(values.get("plan") or -1)
        if values.get("status") != "published" or plan is None:
            continue
        found[(int(values["member"]), plan.id)] = _card_of(record.id, values, plan, period)
    return found


def _card_of(record_id: int, values: dict[str, Any], plan: Plan, period: Period) -> Scorecard:
    by_key = {item.metric.key: item for item in plan.metrics}
    lines = []
    for row in values.get("lines") or []:
        item = by_key.get(row.get("metric"))
        if item is None:  # the metric left the plan after publishing: keep what was scored
            item = PlanMetric(
                scoring.Metric(
                    row.get("metric") or "?",
                    row.get("name") or "",
                    row.get("dimension") or "result",
                    Decimal(str(row.get("weight") or 0)),
                ),
                "measure",
                None,
                None,
                "self",
                "fixed",
                None,
            )
        else:  # the weight it was scored with
            item = PlanMetric(
                scoring.Metric(
                    item.metric.key,
                    row.get("name") or item.metric.name,
                    row.get("dimension") or item.metric.dimension,
                    Decimal(str(row.get("weight") or item.metric.weight)),
                    item.metric.direction,
                    item.metric.rule,
                    item.metric.floor,
                    item.metric.cap,
                    item.metric.bands,
                ),
                *(item.source, item.measure, item.denominator, item.of, item.target_kind),
                item.target,
            )
        dec = {k: None if row.get(k) is None else Decimal(str(row[k])) for k in
               ("actual", "target", "attainment", "score", "adjustment")}  # fmt: skip
        result = scoring.MetricScore(
            dec["actual"], dec["target"], dec["attainment"], dec["score"],
            row.get("explanation") or "", item.source == "manual",
        )  # fmt: skip
        lines.append(Line(item, result, dec["adjustment"] or Decimal(0)))
    return Scorecard(int(values["member"]), period, plan, lines, "published", record_id)


def publish(work: Work, period_key: str) -> dict[str, Any]:
    """Freeze the period's live scorecards into published ``kpi_result`` records (those
    already published stay as they are)."""
    period = _period(period_key)
    ensure_defaults(work)
    loaded = result_form(work)
    existing = _results_by_owner(work, period)
    made, kept = [], 0
    for card in scorecards(work, period.key, live=False):
        if card.status == "published":
            kept += 1
            continue
        data = {
            "member": card.member,
            "period": period.key,
            "plan": card.plan.id,
            "score": str(card.total),
            "grade": card.grade,
            "status": "published",
            "published_at": work.now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lines": _stored_lines(card),
        }
        found = existing.get((card.member, card.plan.id))
        if found is not None:
            records.change_as_step(work, loaded, found, data, None)
            made.append(found)
        else:
            made.append(records.create_as_step(work, loaded, data).id)
    return {"period": period.key, "published": made, "already_published": kept}


def _results_by_owner(work: Work, period: Period) -> dict[tuple[int, int], int]:
    loaded = result_form(work)
    keys = loaded.spec.by_key
    found = {}
    for record in work.session.scalars(
        select(Record).where(
            *form_rows(loaded.form.id), field_sql(keys["period"], work.dialect) == period.key
        )
    ):
        values = dict(from_document(loaded.spec, record.data))
        found[(int(values["member"]), int(values.get("plan") or 0))] = record.id
    return found


def counted_records(
    work: Work, period_key: str, member: int, metric_key: str
) -> list[dict[str, Any]]:
    """The records behind one metric of one person's scorecard (the click-through)."""
    card = scorecard(work, period_key, member)
    item = card.plan.metric(metric_key)
    if item.source == "manual" or item.measure is None:
        return []
    period = card.period
    known = measures.all_measures(work)
    people = [member]
    if item.of == "team":
        people = sorted(Numbers(work, period).team(member))
    found = []
    for key in (item.measure, item.denominator if item.source == "ratio" else None):
        if key is None or key not in known:
            continue
        measure = known[key]
        form = measure.form if "." in measure.form else f"{APP}.{measure.form}"
        for person in people:
            for record_id, value in measures.counted(
                work, measure, period.start, period.end, person
            ):
                found.append(
                    {
                        "measure": key,
                        "form": form,
                        "record": record_id,
                        "member": person,
                        "value": str(value),
                        "link": f"/f/{form}/{record_id}",
                    }
                )
    return found
