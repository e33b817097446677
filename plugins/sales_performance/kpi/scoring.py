"""Scoring a KPI plan: from each metric's actual and target to a score, from the scores to a
weighted total, from the total to a grade.

A plan is a list of :class:`Metric`. Each metric turns its *attainment* into a score:

- **attainment** is ``actual / target`` when higher is better (revenue, visits), and
  ``target / actual`` when lower is better (days to respond), so that beating the target is
  always above 100 %. A lower-is-better actual of 0 is the best possible result and counts
  as 200 %, above any sensible cap. A metric without a target (target ≤ 0) cannot be scored:
  its score is ``None`` and the caller says so on the scorecard.
- **linear** scoring gives ``100 × min(attainment, cap)`` once attainment reaches the
  floor, and 0 below it: 120 % attainment with a 120 % cap scores 120; 50 % with a 60 %
  floor scores 0.
- **banded** scoring gives the score of the highest band threshold the attainment reached:
  with bands ``80:60, 100:80, 120:100`` (percent thresholds : scores), 105 % scores 80 and
  79 % scores 0.

The plan's total is ``Σ weight × score / 100`` with weights summing to 100, so a total is on
the same 0–100(+) scale as the scores. Totals are kept unrounded; round once, with
:func:`round_score`, for what is shown and graded.

Thresholds, floors and caps are attainment *fractions* here (1.2 means 120 %);
:func:`parse_bands` reads the percentages people type.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import pairwise

from sales_performance.split import format_number, format_percent

from ..explanations import Said, about, reason, said, steps

DIMENSIONS = ("result", "process", "capability")
DIRECTIONS = ("higher", "lower")
RULES = ("linear", "bands")
#: The attainment of a lower-is-better metric whose actual is 0 (nothing could be better).
BEST_WHEN_ZERO = Decimal(2)
#: Score for each grade from its minimum; below every minimum is the lowest grade.
DEFAULT_GRADES: tuple[tuple[Decimal, str], ...] = (
    (Decimal(90), "S"),
    (Decimal(80), "A"),
    (Decimal(70), "B"),
    (Decimal(60), "C"),
    (Decimal(0), "D"),
)
HUNDRED = Decimal(100)

Band = tuple[Decimal, Decimal]  # (attainment threshold as a fraction, score)


@dataclass(frozen=True)
class Metric:
    """One line of a KPI plan: what is measured (the caller computes actual and target) and
    how attainment becomes a score. ``floor`` and ``cap`` apply to linear scoring, ``bands``
    to banded scoring; all are attainment fractions."""

    key: str
    name: str
    dimension: str  # "result" | "process" | "capability"
    weight: Decimal  # the plan's weights sum to 100
    direction: str = "higher"  # "higher" | "lower" is better
    rule: str = "linear"  # "linear" | "bands"
    floor: Decimal = Decimal(0)
    cap: Decimal = Decimal("1.2")
    bands: tuple[Band, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", tuple(tuple(b) for b in self.bands))

    @property
    def label(self) -> str:
        """How problems and explanations name the metric: ``revenue (签约额)``."""
        return self.key if self.name in ("", self.key) else f"{self.key} ({self.name})"


@dataclass(frozen=True)
class MetricScore:
    """A metric's result for one person and period. ``score`` is ``None`` when the metric
    could not be scored (no target); ``manual`` scores carry no actual or target."""

    actual: Decimal | None
    target: Decimal | None
    attainment: Decimal | None
    score: Decimal | None
    explanation: str  # a Said where scored here: shown in the reader's language
    manual: bool = False
    comment: str = ""


# -- attainment and rules -----------------------------------------------------------------


def attainment(actual: Decimal, target: Decimal, direction: str) -> Decimal | None:
    """How far ``actual`` reached ``target`` as a fraction (1.2 = 120 %), ``None`` when
    there is no target (≤ 0). See the module docstring for lower-is-better metrics."""
    if direction not in DIRECTIONS:
        raise ValueError(
            said("kpi.unknown_direction", direction=repr(direction), choices=", ".join(DIRECTIONS))
        )
    if target <= 0:
        return None
    if direction == "higher":
        return actual / target
    if actual < 0:
        raise ValueError(said("kpi.negative_actual", actual=actual))
    return BEST_WHEN_ZERO if actual == 0 else target / actual


def linear(attainment: Decimal, floor: Decimal, cap: Decimal) -> Decimal:
    """``100 × min(attainment, cap)`` if attainment ≥ floor, else 0."""
    return Decimal(0) if attainment < floor else HUNDRED * min(attainment, cap)


def linear_explained(attainment: Decimal, floor: Decimal, cap: Decimal) -> tuple[Decimal, Said]:
    """:func:`linear` and how it was applied."""
    value = linear(attainment, floor, cap)
    if attainment < floor:
        return value, said(
            "kpi.linear_below", floor=format_percent(floor), attainment=format_percent(attainment)
        )
    used = min(attainment, cap)
    return value, said(
        "kpi.linear_capped" if used < attainment else "kpi.linear",
        cap=format_percent(cap),
        attainment=format_percent(attainment),
        used=format_number(used),
        score=format_number(value, 2),
    )


def bands(attainment: Decimal, bands: Sequence[Band]) -> Decimal:
    """The score of the highest threshold ≤ ``attainment``, or 0 below every threshold.
    Thresholds are attainment fractions and must strictly increase."""
    reached = _reached(attainment, bands)
    return reached[1] if reached else Decimal(0)


def _reached(attainment: Decimal, bands: Sequence[Band]) -> Band | None:
    _check_increasing(bands)
    reached = [(t, s) for t, s in bands if t <= attainment]
    return reached[-1] if reached else None


def bands_explained(attainment: Decimal, bands: Sequence[Band]) -> tuple[Decimal, Said]:
    """:func:`bands` and which band was reached."""
    reached = _reached(attainment, bands)
    table = ", ".join(f"{format_percent(t)}→{format_number(s)}" for t, s in bands)
    if reached is None:
        return Decimal(0), said(
            "kpi.bands_below" if bands else "kpi.bands_none",
            table=table,
            attainment=format_percent(attainment),
            lowest=format_percent(bands[0][0]) if bands else "",
        )
    threshold, value = reached
    return value, said(
        "kpi.bands",
        table=table,
        attainment=format_percent(attainment),
        threshold=format_percent(threshold),
        score=format_number(value),
    )


def parse_bands(text: str) -> list[Band]:
    """Bands as people type them — ``"80:60, 100:80, 120:100"``, percent thresholds to
    scores — as (fraction, score) pairs. A ``%`` after a threshold is allowed."""
    parts = [p.strip() for p in text.replace("，", ",").split(",")]
    if not any(parts):
        raise ValueError(said("bands.none"))
    found: list[Band] = []
    for part in parts:
        threshold, sep, value = part.partition(":")
        if not sep:
            raise ValueError(said("bands.form", part=part))
        band = (_number(threshold.strip().rstrip("%"), part) / HUNDRED, _number(value, part))
        if found and not band[0] > found[-1][0]:
            raise ValueError(
                said(
                    "bands.increase",
                    part=part,
                    threshold=format_percent(band[0]),
                    previous=format_percent(found[-1][0]),
                )
            )
        found.append(band)
    return found


def format_bands(bands: Sequence[Band]) -> str:
    """Bands written back the way :func:`parse_bands` reads them."""
    return ", ".join(f"{format_number(t * HUNDRED)}:{format_number(s)}" for t, s in bands)


# -- plans and scorecards -----------------------------------------------------------------


def check_plan(metrics: Sequence[Metric]) -> list[Said]:
    """Everything wrong with a plan, each problem naming the metric and the field (in the
    reader's language where shown); an empty list means the plan can be used."""
    if not metrics:
        return [said("plan.no_metrics")]
    problems = []
    counts = Counter(m.key for m in metrics)
    for key in (k for k, n in counts.items() if n > 1):
        problems.append(about(key, said("kpi_plan.duplicate_key", count=counts[key])))
    for m in metrics:
        problems.extend(about(m.label, problem) for problem in _metric_problems(m))
    weights = sum((m.weight for m in metrics), Decimal(0))
    if weights != HUNDRED:
        problems.append(said("kpi_plan.weights", weights=format_number(weights)))
    return problems


def score(metric: Metric, actual: Decimal, target: Decimal, *, explain: bool = True) -> MetricScore:
    """Score one metric from its actual and target by the metric's rule, with the arithmetic
    spelled out in ``explanation`` (left empty without ``explain``: for a computation that
    only reads the score)."""
    if not explain:
        att = attainment(actual, target, metric.direction)
        if att is None:
            return MetricScore(actual, target, None, None, "")
        return MetricScore(actual, target, att, _rule(metric, att), "")
    att, how = _attainment_explained(actual, target, metric.direction)
    if att is None:
        return MetricScore(
            actual, target, None, None, said("kpi.unscored", how=how, metric=metric.label)
        )
    if metric.rule == "linear":
        value, rule = linear_explained(att, metric.floor, metric.cap)
    elif metric.rule == "bands":
        value, rule = bands_explained(att, metric.bands)
    else:
        raise ValueError(_unknown_rule(metric))
    return MetricScore(actual, target, att, value, steps([how, rule]))


def _rule(metric: Metric, attainment: Decimal) -> Decimal:
    if metric.rule == "linear":
        return linear(attainment, metric.floor, metric.cap)
    if metric.rule == "bands":
        return bands(attainment, metric.bands)
    raise ValueError(_unknown_rule(metric))


def manual(metric: Metric, score: Decimal, comment: str = "") -> MetricScore:
    """A score a manager gave by hand (no actual, no target), kept with their comment."""
    if score < 0:
        raise ValueError(about(metric.label, said("kpi.negative_manual", score=score)))
    how = said(
        "kpi.manual_comment" if comment else "kpi.manual",
        score=format_number(score),
        comment=comment,
    )
    return MetricScore(None, None, None, score, how, True, comment)


def total(scores: Sequence[tuple[Metric, MetricScore]]) -> Decimal:
    """``Σ weight × score / 100``, unrounded. A metric that could not be scored counts 0."""
    return sum(_terms(scores), Decimal(0))


def _terms(scores: Sequence[tuple[Metric, MetricScore]]) -> list[Decimal]:
    return [
        Decimal(0) if result.score is None else metric.weight * result.score / HUNDRED
        for metric, result in scores
    ]


def total_explained(scores: Sequence[tuple[Metric, MetricScore]]) -> tuple[Decimal, list[Said]]:
    """:func:`total` and one step per metric, then the sum."""
    done, terms = [], _terms(scores)
    for (metric, result), term in zip(scores, terms, strict=True):
        if result.score is None:
            done.append(said("kpi.term_unscored", metric=metric.label))
            continue
        done.append(
            said(
                "kpi.term",
                metric=metric.label,
                weight=format_number(metric.weight),
                score=format_number(result.score, 2),
                term=format_number(term, 2),
            )
        )
    value = sum(terms, Decimal(0))
    shown = " + ".join(format_number(t, 2) for t in terms) or "0"
    done.append(said("kpi.total", terms=shown, total=format_number(value, 2)))
    return value, done


def round_score(x: Decimal, places: int = 2) -> Decimal:
    """A score rounded half up for showing, grading and publishing (89.995 → 90.00)."""
    return x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def grade(score: Decimal, bands: Sequence[tuple[Decimal, str]] = DEFAULT_GRADES) -> str:
    """The grade of the highest minimum ≤ ``score`` (S ≥ 90, A ≥ 80, B ≥ 70, C ≥ 60, else D
    by default); below every minimum, the lowest grade. Pass the rounded score people see,
    so the grade agrees with the number on screen."""
    return grade_explained(score, bands)[0]


def grade_explained(
    score: Decimal, bands: Sequence[tuple[Decimal, str]] = DEFAULT_GRADES
) -> tuple[str, Said]:
    """:func:`grade` and the minimum that decided it."""
    if not bands:
        raise ValueError(said("grades.empty"))
    ordered = sorted(bands, key=lambda band: band[0], reverse=True)
    if len({minimum for minimum, _ in ordered}) != len(ordered):
        raise ValueError(said("grades.same_minimum"))
    for minimum, name in ordered:
        if score >= minimum:
            return name, said(
                "kpi.grade_reached",
                score=format_number(score, 2),
                minimum=format_number(minimum),
                grade=name,
            )
    minimum, name = ordered[-1]
    return name, said("kpi.grade_lowest", score=format_number(score, 2), grade=name)


def parse_grades(text: str) -> list[tuple[Decimal, str]]:
    """Grades as a plan stores them — ``"S:90, A:80, B:70, C:60, D:0"``, each grade with its
    minimum score — as (minimum, grade) pairs for :func:`grade`."""
    parts = [p.strip() for p in text.replace("，", ",").split(",")]
    if not any(parts):
        raise ValueError(said("grades.none"))
    found: list[tuple[Decimal, str]] = []
    for part in parts:
        name, sep, minimum = part.partition(":")
        if not sep or not name.strip():
            raise ValueError(said("grades.form", part=part))
        value = _number(minimum, part, "grades")
        if any(value == seen for seen, _ in found):
            raise ValueError(said("grades.same", part=part, minimum=minimum.strip()))
        found.append((value, name.strip()))
    return found


# -- helpers -------------------------------------------------------------------------------


def _attainment_explained(
    actual: Decimal, target: Decimal, direction: str
) -> tuple[Decimal | None, Said]:
    value = attainment(actual, target, direction)
    if value is None:
        return None, said("kpi.no_target", target=format_number(target))
    if direction == "higher":
        return value, said(
            "attainment",
            actual=format_number(actual),
            target=format_number(target),
            attainment=format_percent(value),
        )
    if actual == 0:
        return value, said(
            "kpi.best_when_zero",
            target=format_number(target),
            attainment=format_percent(BEST_WHEN_ZERO),
        )
    return value, said(
        "kpi.attainment_lower",
        target=format_number(target),
        actual=format_number(actual),
        attainment=format_percent(value),
    )


def _metric_problems(m: Metric) -> list[Said]:
    problems = []
    if not m.weight > 0:
        problems.append(said("kpi_plan.weight", weight=format_number(m.weight)))
    for field, value, choices in (
        ("dimension", m.dimension, DIMENSIONS),
        ("direction", m.direction, DIRECTIONS),
        ("rule", m.rule, RULES),
    ):
        if value not in choices:
            problems.append(
                said(f"kpi_plan.{field}", value=repr(value), choices=", ".join(choices))
            )
    if m.rule == "linear" and m.floor > m.cap:
        problems.append(
            said(
                "kpi_plan.floor_above_cap", floor=format_percent(m.floor), cap=format_percent(m.cap)
            )
        )
    if m.rule == "bands":
        if not m.bands:
            problems.append(said("kpi_plan.no_bands"))
        else:
            try:
                _check_increasing(m.bands)
            except ValueError as error:
                problems.append(said("kpi_plan.bands", problem=reason(error)))
    return problems


def _unknown_rule(metric: Metric) -> Said:
    return about(
        metric.label, said("kpi.unknown_rule", rule=repr(metric.rule), choices=", ".join(RULES))
    )


def _check_increasing(bands: Sequence[Band]) -> None:
    for (low, _), (high, _) in pairwise(bands):
        if not high > low:
            raise ValueError(
                said("bands.strictly", high=format_percent(high), low=format_percent(low))
            )


def _number(text: str, part: str, what: str = "bands") -> Decimal:
    """``text`` as a number; ``what`` says where it was typed (``bands`` or ``grades``)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValueError(said(f"{what}.not_number", text=text.strip(), part=part))
    return value
