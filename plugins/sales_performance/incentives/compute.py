"""A period's incentives computed: each person's plan turned into statement lines.

Everything a run reads is fetched once per run (``Context``): each measure's actuals for
everybody (one SQL aggregate each, credit splits included), the period's sales targets,
and the KPI scores that gates and honours look at. The arithmetic is ``rules``; this module
only decides which numbers go in, and records which records each line stands on — written
``form:id=value`` so a later run can tell when one of them stopped counting (a cancelled
contract) and claw back what was paid on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from formflow.people.models import Membership
from formflow.runtime import Work

from .. import measures, org
from ..explanations import Said, said, steps, target_amount
from ..kpi import scorecards
from ..periods import Period
from ..split import format_number
from ..targets.tree import Target
from . import rules
from .plans import IncentivePlan, Rule, plans_for

APP = "sales_performance"
RECORDS_LIMIT = 3900  # the statement line's records column holds 4,000 characters


@dataclass
class Statement:
    member: int
    period: Period
    plan: IncentivePlan
    lines: list[rules.Line] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    def names(self) -> dict[str, str]:
        return {rule.key: rule.name for rule in self.plan.rules}


class Context:
    """The numbers of one period, each read once. ``extra`` adds hypothetical amounts to
    measures (the what-if estimator): {measure key: {member: amount}}. The measures,
    targets, actuals and teams are the KPI scorecards' (``scorecards.Numbers``): the
    scorecards gates and honours look at read them from here rather than again (without
    ``extra``: a what-if moves the pay, not the KPI score)."""

    def __init__(
        self, work: Work, period: Period, extra: dict[str, dict[int, Decimal]] | None = None
    ) -> None:
        self.work = work
        self.period = period
        self.extra = extra or {}
        self.numbers = scorecards.Numbers(work, period)
        self.measures = self.numbers.measures
        self.targets: list[Target] = self.numbers.targets
        self._actuals: dict[str, dict[int, Decimal]] = {}  # with ``extra``
        self._counted: dict[str, dict[int, list[tuple[int, Decimal]]]] = {}
        self._scores: dict[int, Decimal] | None = None
        self._departments: dict[int, int | None] | None = None
        #: A team award's split per (rule, team): every member's line reads the same one.
        self.team_awards: dict[tuple[str, int], Any] = {}

    def measure(self, key: str) -> measures.Measure:
        found = self.measures.get(key)
        if found is None:
            raise LookupError(f"there is no measure '{key}'")
        return found

    def prefetch(self, keys: set[str], listed: Iterable[str] = ()) -> None:
        """Read these measures at once (one query per form: ``measures.actuals_many``);
        those whose records the lines list (``listed``), when their value is a sum or a
        count, from the listing alone: its rows are what each record contributed, so one
        scan gives the records and, added up, the number."""
        for key in sorted(keys.intersection(listed)):
            measure = self.measures.get(key)
            if measure is None or measure.aggregate not in ("sum", "count"):
                continue
            self.numbers.actuals.setdefault(
                key,
                {
                    member: sum((value for _, value in rows), Decimal(0))
                    for member, rows in self._listing(key).items()
                },
            )
        self.numbers.prefetch(keys)

    def actuals(self, key: str) -> dict[int, Decimal]:
        if key not in self._actuals:
            found = self.numbers.of(self.measure(key).key)
            more = self.extra.get(key)
            if more:
                found = dict(found)
                for member, amount in more.items():
                    found[member] = found.get(member, Decimal(0)) + amount
            self._actuals[key] = found
        return self._actuals[key]

    def actual(self, key: str, person: int) -> Decimal:
        return self.actuals(key).get(person, Decimal(0))

    def rep_target(self, key: str, person: int) -> tuple[Decimal | None, Said]:
        measure = self.measure(key)
        for target in self.numbers.targets_of(measure.record_id, person):
            if target.level == "rep":
                amount, how = target_amount(target)
                return amount, said("target.rep", name=target.name, id=target.id, how=how)
        return None, said("target.none", period=self.period.key, measure=measure.name)

    def team_target(self, key: str, department: int) -> Target | None:
        measure = self.measure(key)
        for target in self.targets:
            team = target.level != "rep" and target.department == department
            if team and target.measure_id == measure.record_id:
                return target
        return None

    def scores(self) -> dict[int, Decimal]:
        """Everybody's KPI score for the period (as published, else live)."""
        if self._scores is None:
            self._scores = {
                card.member: card.total
                for card in scorecards.scorecards(
                    self.work, self.period.key, everyone=True, numbers=self.numbers, explain=False
                )
            }
        return self._scores

    def headed_team(self, person: int) -> set[int]:
        return self.numbers.team(person)

    def department(self, person: int) -> int | None:
        """A person's primary department (else their first), everybody's read at once."""
        if self._departments is None:
            self._departments = {}
            for user, department in self.work.session.execute(
                select(Membership.user_id, Membership.department_id).order_by(
                    Membership.user_id, Membership.is_primary.desc(), Membership.department_id
                )
            ):
                self._departments.setdefault(user, department)
        return self._departments.get(person)

    def counted(self, key: str, person: int) -> str:
        """The records behind a person's number, as ``form:id=value,…`` (everybody's read
        in one query per measure, the first time one is asked for)."""
        return records_text(self.measure(key).form, self._listing(key).get(person, []))

    def _listing(self, key: str) -> dict[int, list[tuple[int, Decimal]]]:
        if key not in self._counted:
            self._counted[key] = measures.counted_by_member(
                self.work, self.measure(key), self.period.start, self.period.end
            )
        return self._counted[key]


def records_text(form: str, rows: list[tuple[int, Decimal]]) -> str:
    text, parts = f"{form}:", []
    length = len(text)  # of the text so far, each part with its comma
    for record_id, value in rows:
        part = f"{record_id}={value.normalize():f}"
        if length + len(part) > RECORDS_LIMIT:
            parts.append("…")
            break
        parts.append(part)
        length += len(part) + 1
    return text + ",".join(parts)


def parse_records(text: str | None) -> tuple[str, dict[int, Decimal]]:
    """``form:id=value,…`` back into (form, {id: value})."""
    if not text or ":" not in text:
        return "", {}
    form, _, rest = text.partition(":")
    found = {}
    for part in rest.split(","):
        record_id, sep, value = part.partition("=")
        if sep and record_id.strip().isdigit():
            found[int(record_id)] = Decimal(value)
    return form, found


# -- the rules ---------------------------------------------------------------------------------


def _commission(ctx: Context, rule: Rule, person: int) -> rules.Line:
    assert rule.measure is not None
    base = ctx.actual(rule.measure, person)
    goal = rule.target_measure or rule.measure
    target, how_target = ctx.rep_target(goal, person)
    counted = ctx.counted(rule.measure, person)
    if target is None or target <= 0:
        return rules.Line(
            rule.key, "commission", base, None, None, Decimal("0.00"),
            said("commission.no_target", how=how_target), (),
        )  # fmt: skip
    actual = None if goal == rule.measure else ctx.actual(goal, person)
    line = rules.commission_line(rule.key, base, target, rule.tiers, rule.mode, actual=actual)
    amount, done = line.amount, [how_target, line.explanation]
    if rule.cap_amount is not None or rule.cap_multiple is not None:
        on_target = rules.on_target_pay(target, rule.tiers, rule.mode, explain=False)[0]
        amount, note = rules.cap(
            amount, absolute=rule.cap_amount, multiple=rule.cap_multiple, on_target=on_target
        )
        if note:
            done.append(note)
    if rule.gate_score is not None:
        amount, note = _gate(ctx, rule, person, amount)
        done.append(note)
    return dataclasses.replace(line, amount=amount, explanation=steps(done), records=(counted,))


def _gate(ctx: Context, rule: Rule, person: int, amount: Decimal) -> tuple[Decimal, Said]:
    assert rule.gate_score is not None
    score = ctx.scores().get(person)
    if score is None:
        paid, note = rules.gate(amount, Decimal(0), rule.gate_score, rule.gate_factor)
        return paid, said("gate.no_scorecard", period=ctx.period.key, how=note)
    return rules.gate(amount, score, rule.gate_score, rule.gate_factor)


def _override(ctx: Context, rule: Rule, person: int) -> rules.Line:
    assert rule.measure is not None and rule.rate is not None
    team = sorted(ctx.headed_team(person) - {person})
    base = sum((ctx.actual(rule.measure, m) for m in team), Decimal(0))
    amount, how = rules.override(base, rule.rate)
    done = [said("override.base", measure=ctx.measure(rule.measure).name, count=len(team)), how]
    if rule.gate_score is not None:
        amount, note = _gate(ctx, rule, person, amount)
        done.append(note)
    return rules.Line(rule.key, "manager_override", base, None, rule.rate, amount, steps(done))


def _team_award(ctx: Context, rule: Rule, person: int) -> rules.Line:
    assert rule.measure is not None and rule.amount is not None
    department = ctx.department(person)
    target = ctx.team_target(rule.measure, department) if department is not None else None
    if target is None:
        return rules.Line(
            rule.key, "team_award", None, None, None, Decimal("0.00"),
            said("team.no_target", period=ctx.period.key, measure=ctx.measure(rule.measure).name),
        )  # fmt: skip
    key = (rule.key, department)
    if key not in ctx.team_awards:  # one split of the pool per team, whoever asks first
        members = sorted(org.members_of(ctx.work, department))
        actuals = {m: ctx.actual(rule.measure, m) for m in members}
        team_actual = sum(actuals.values(), Decimal(0))
        goal, _ = target.effective()
        parts, how = rules.team_award_explained(rule.amount, actuals, team_actual, goal)
        ctx.team_awards[key] = (team_actual, goal, parts, how)
    team_actual, goal, parts, how = ctx.team_awards[key]
    return rules.Line(
        rule.key, "team_award", team_actual, team_actual / goal if goal else None, None,
        parts.get(person, Decimal("0.00")), said("named", name=target.name, how=how.get(person)),
    )  # fmt: skip


def _spif(ctx: Context, rule: Rule, person: int) -> rules.Line:
    assert rule.measure is not None and rule.amount is not None
    count = ctx.actual(rule.measure, person)
    amount, how = rules.spif(int(count), rule.amount)
    return rules.Line(
        rule.key, "spif", count, None, None, amount,
        said("named", name=ctx.measure(rule.measure).name, how=how),
        (ctx.counted(rule.measure, person),),
    )  # fmt: skip


def _honours(ctx: Context, rule: Rule, person: int, holders: list[int]) -> rules.Line | None:
    assert rule.top_n is not None
    everybody = ctx.scores()
    # ranked: those of the plan's role with a scorecard scoring above 0
    scores = {m: everybody[m] for m in holders if everybody.get(m, 0) > 0}
    winners = rules.honours(scores, rule.top_n, rule.title or rule.name, rule.amount or Decimal(0))
    honour = winners.get(person)
    if honour is None:
        return None
    return rules.Line(
        rule.key, "honours", honour.score, None, None, honour.bonus, honour.explanation
    )


def compute(
    work: Work,
    period: Period,
    *,
    members: set[int] | None = None,
    extra: dict[str, dict[int, Decimal]] | None = None,
    paid_before: Any = None,
) -> list[Statement]:
    """Statements of everybody (or ``members``) holding a role a plan of the period pays.
    ``paid_before(person, rule) -> list[line lines]`` supplies what was paid earlier on the
    clawback rules' records (see ``statements``)."""
    ctx = Context(work, period, extra)
    plans = plans_for(work, period)
    ctx.prefetch(
        {
            key
            for plan in plans
            for rule in plan.rules
            for key in (rule.measure, rule.target_measure)
            if key and rule.kind != "clawback"
        },
        listed={
            rule.measure
            for plan in plans
            for rule in plan.rules
            if rule.measure and rule.kind in ("commission", "spif")
        },
    )
    found = []
    for plan in plans:
        holders = ctx.numbers.holders(plan.role)
        for person in holders:
            if members is not None and person not in members:
                continue
            statement = Statement(person, period, plan)
            for rule in plan.rules:
                line = _line(ctx, rule, person, holders, paid_before)
                if isinstance(line, list):
                    statement.lines.extend(line)
                elif line is not None:
                    statement.lines.append(line)
            found.append(statement)
    return found


def _line(
    ctx: Context, rule: Rule, person: int, holders: list[int], paid_before: Any
) -> rules.Line | list[rules.Line] | None:
    if rule.kind == "commission":
        return _commission(ctx, rule, person)
    if rule.kind == "manager_override":
        return _override(ctx, rule, person)
    if rule.kind == "team_award":
        return _team_award(ctx, rule, person)
    if rule.kind == "spif":
        return _spif(ctx, rule, person)
    if rule.kind == "honours":
        return _honours(ctx, rule, person, holders)
    if rule.kind == "clawback" and paid_before is not None:
        return _clawbacks(ctx, rule, person, paid_before)
    return None


def _clawbacks(ctx: Context, rule: Rule, person: int, paid_before: Any) -> list[rules.Line]:
    """Records paid on in earlier approved statements that no longer count (deleted, or no
    longer matching the measure — a cancelled contract): each one's share of the line it
    was paid on comes back, once."""
    assert rule.measure is not None
    measure = ctx.measure(rule.measure)
    found = []
    for earlier in paid_before(person, rule):
        form, values = parse_records(earlier["records"])
        base = Decimal(str(earlier["base"] or 0))
        if not values or base <= 0 or Decimal(str(earlier["amount"])) <= 0:
            continue
        still = {
            record_id
            for record_id, _ in measures.counted(
                ctx.work, measure, earlier["period"].start, earlier["period"].end, person, 100000
            )
        }
        for record_id, value in values.items():
            if record_id in still or (form, record_id) in earlier["clawed"]:
                continue
            paid = Decimal(str(earlier["amount"])) * value / base
            amount, how = rules.clawback(paid)
            found.append(
                rules.Line(
                    rule.key, "clawback", -value, None, None, amount,
                    said(
                        "clawback.record",
                        form=form,
                        record=record_id,
                        measure=measure.name,
                        statement=earlier["statement"],
                        period=earlier["period"].key,
                        paid=format_number(Decimal(str(earlier["amount"]))),
                        base=format_number(base),
                        value=format_number(value),
                        how=how,
                    ),
                    (f"{form}:{record_id}={value.normalize():f}",),
                )
            )  # fmt: skip
    return found
