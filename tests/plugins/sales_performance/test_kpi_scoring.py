"""KPI scoring (plugins/sales_performance/kpi/scoring.py): attainment in both directions,
linear and banded rules at their edges, plan checks that name the metric and field, the
weighted total, grades — and an explanation for every number."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sales_performance.kpi.scoring import (
    BEST_WHEN_ZERO,
    DEFAULT_GRADES,
    Metric,
    attainment,
    bands,
    check_plan,
    format_bands,
    grade,
    grade_explained,
    linear,
    manual,
    parse_bands,
    parse_grades,
    round_score,
    score,
    total,
    total_explained,
)

D = Decimal
BANDS = [(D("0.8"), D(60)), (D("1.0"), D(80)), (D("1.2"), D(100))]


def metric(key: str = "revenue", **fields) -> Metric:
    """A one-metric plan's metric, named after its key, weight 100 unless given."""
    fields.setdefault("name", key.title())
    fields.setdefault("weight", D(100))
    return Metric(key=key, dimension="result", **fields)


# -- attainment ---------------------------------------------------------------------------


def test_higher_is_better_attainment_is_actual_over_target():
    assert attainment(D("1200000"), D("1000000"), "higher") == D("1.2")
    assert attainment(D(0), D(10), "higher") == 0


def test_lower_is_better_attainment_is_target_over_actual():
    # target: respond within 2 days; took 4 → 50 %, took 1 → 200 %
    assert attainment(D(4), D(2), "lower") == D("0.5")
    assert attainment(D(1), D(2), "lower") == D(2)


def test_a_lower_is_better_actual_of_zero_counts_as_200_percent():
    assert attainment(D(0), D(2), "lower") == BEST_WHEN_ZERO == D(2)


@pytest.mark.parametrize("target", [D(0), D(-5)])
def test_without_a_target_there_is_no_attainment(target):
    assert attainment(D(100), target, "higher") is None
    assert attainment(D(100), target, "lower") is None


def test_unknown_direction_and_negative_lower_actuals_are_refused():
    with pytest.raises(ValueError, match="unknown direction 'up'"):
        attainment(D(1), D(1), "up")
    with pytest.raises(ValueError, match="cannot be negative"):
        attainment(D(-1), D(1), "lower")


# -- rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reached", "expected"),
    [
        (D("0.59"), D(0)),  # below the 60 % floor
        (D("0.6"), D(60)),  # exactly the floor scores
        (D("0.95"), D(95)),
        (D("1.2"), D(120)),  # exactly the cap
        (D("1.5"), D(120)),  # capped
    ],
)
def test_linear_between_floor_and_cap(reached, expected):
    assert linear(reached, floor=D("0.6"), cap=D("1.2")) == expected


@pytest.mark.parametrize(
    ("reached", "expected"),
    [
        (D("0.79"), D(0)),
        (D("0.8"), D(60)),  # a threshold belongs to its band
        (D("0.99"), D(60)),
        (D("1.0"), D(80)),
        (D("1.05"), D(80)),
        (D("1.2"), D(100)),
        (D("3"), D(100)),
    ],
)
def test_bands_score_the_highest_threshold_reached(reached, expected):
    assert bands(reached, BANDS) == expected


def test_band_thresholds_must_strictly_increase():
    with pytest.raises(ValueError, match="strictly increase"):
        bands(D(1), [(D("1.0"), D(80)), (D("1.0"), D(90))])
    with pytest.raises(ValueError, match="strictly increase"):
        bands(D(1), [(D("1.0"), D(80)), (D("0.8"), D(60))])


def test_bands_are_read_as_percent_thresholds_to_scores():
    assert parse_bands("80:60, 100:80, 120:100") == BANDS
    assert parse_bands("80%:60，100 : 80") == BANDS[:2]
    assert format_bands(BANDS) == "80:60, 100:80, 120:100"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no bands given"),
        ("80-60", 'band "80-60" is not threshold:score'),
        ("80:60, abc:80", '"abc" in band "abc:80" is not a number'),
        ("80:sixty", '"sixty" in band "80:sixty" is not a number'),
        ("80:60, 80:70", 'band "80:70": thresholds must increase'),
        ("100:80, 80:60", 'band "80:60": thresholds must increase'),
        ("80:60,, 100:80", 'band "" is not threshold:score'),
    ],
)
def test_bad_bands_are_refused_quoting_the_bad_part(text, message):
    with pytest.raises(ValueError, match=message):
        parse_bands(text)


# -- scoring a metric ---------------------------------------------------------------------


def test_a_linear_score_explains_its_arithmetic():
    result = score(metric(floor=D("0.6"), cap=D("1.2")), D("1200000"), D("1000000"))
    assert (result.attainment, result.score) == (D("1.2"), D(120))
    assert result.explanation == (
        "attainment 1,200,000 / 1,000,000 = 120 %; linear, cap 120 %: 100 × 1.2 = 120"
    )


def test_a_capped_score_says_it_was_capped():
    result = score(metric(cap=D("1.2")), D("1500000"), D("1000000"))
    assert result.score == 120
    assert "150 % capped at 120 %" in result.explanation


def test_below_the_floor_scores_zero_and_says_so():
    result = score(metric(floor=D("0.6")), D("500000"), D("1000000"))
    assert result.score == 0
    assert result.explanation.endswith("linear, floor 60 %: 50 % is below the floor → 0")


def test_a_banded_score_names_the_band_reached():
    result = score(metric(rule="bands", bands=BANDS), D(105), D(100))
    assert result.score == 80
    assert result.explanation == (
        "attainment 105 / 100 = 105 %; bands 80 %→60, 100 %→80, 120 %→100: 105 % reaches 100 % → 80"
    )
    below = score(metric(rule="bands", bands=BANDS), D(50), D(100))
    assert below.score == 0 and "below the lowest band (80 %)" in below.explanation


def test_a_lower_is_better_score():
    # target 2 days, took 3: attainment 2/3 = 66.67 %, linear → 66.67
    result = score(metric(direction="lower"), D(3), D(2))
    assert round_score(result.score) == D("66.67")
    assert result.explanation.startswith(
        "attainment (lower is better) target 2 / actual 3 = 66.67 %"
    )
    best = score(metric(direction="lower", cap=D(2)), D(0), D(2))
    assert best.score == 200 and "counted as 200 %" in best.explanation


def test_a_metric_without_a_target_is_not_scored():
    result = score(metric(), D(100), D(0))
    assert result.score is None and result.attainment is None
    assert result.explanation == "no target (target 0): revenue (Revenue) is not scored"


def test_a_manual_score_keeps_the_managers_comment():
    result = manual(metric("attitude", name="Attitude"), D(85), "helped onboard two new reps")
    assert result.manual and result.score == 85
    assert (result.actual, result.target, result.attainment) == (None, None, None)
    assert result.explanation == "manual score 85: helped onboard two new reps"
    with pytest.raises(ValueError, match="cannot be negative"):
        manual(metric(), D(-1))


# -- plans --------------------------------------------------------------------------------


def good_plan() -> list[Metric]:
    return [
        Metric("revenue", "签约额", "result", D(50), cap=D("1.2")),
        Metric("visits", "拜访量", "process", D(30), rule="bands", bands=tuple(BANDS)),
        Metric("response", "响应天数", "capability", D(20), direction="lower"),
    ]


def test_a_sound_plan_has_no_problems():
    assert check_plan(good_plan()) == []


def test_weights_must_sum_to_exactly_100():
    plan = good_plan()
    plan[2] = Metric("response", "响应天数", "capability", D(15), direction="lower")
    assert check_plan(plan) == ["weights sum to 95, not 100"]


def test_every_problem_names_the_metric_and_the_field():
    twin_bands = ((D(1), D(80)), (D(1), D(90)))
    plan = [
        Metric("revenue", "签约额", "results", D(0), direction="up", rule="curve"),
        Metric("visits", "拜访量", "process", D(60), floor=D("1.3"), cap=D("1.2")),
        Metric("calls", "电话", "process", D(20), rule="bands"),
        Metric("demos", "演示", "process", D(20), rule="bands", bands=twin_bands),
        Metric("visits", "拜访量", "process", D(-10)),
    ]
    assert check_plan(plan) == [
        "visits: key is used by 2 metrics; keys must be unique",
        "revenue (签约额): weight must be more than 0, not 0",
        "revenue (签约额): dimension 'results' is not one of result, process, capability",
        "revenue (签约额): direction 'up' is not one of higher, lower",
        "revenue (签约额): rule 'curve' is not one of linear, bands",
        "visits (拜访量): floor 130 % is above cap 120 %",
        "calls (电话): bands: none given",
        "demos (演示): bands: thresholds must strictly increase, but 100 % follows 100 %",
        "visits (拜访量): weight must be more than 0, not -10",
        "weights sum to 90, not 100",
    ]


def test_an_empty_plan_is_a_problem():
    assert check_plan([]) == ["the plan has no metrics"]


# -- totals and grades --------------------------------------------------------------------


def test_the_total_is_the_weighted_sum_of_scores():
    revenue, visits, response = good_plan()
    scored = [
        (revenue, score(revenue, D("1200000"), D("1000000"))),  # 120
        (visits, score(visits, D(95), D(100))),  # 95 % → band 80 % → 60
        (response, manual(response, D(90))),
    ]
    # 50 × 120 / 100 + 30 × 60 / 100 + 20 × 90 / 100 = 60 + 18 + 18 = 96
    assert total(scored) == D(96)
    value, steps = total_explained(scored)
    assert value == D(96)
    assert steps == [
        "revenue (签约额): 50 × 120 / 100 = 60",
        "visits (拜访量): 30 × 60 / 100 = 18",
        "response (响应天数): 20 × 90 / 100 = 18",
        "total: 60 + 18 + 18 = 96",
    ]


def test_an_unscored_metric_counts_zero_in_the_total_and_says_so():
    revenue, visits, _ = good_plan()
    scored = [(revenue, score(revenue, D(100), D(0))), (visits, manual(visits, D(100)))]
    value, steps = total_explained(scored)
    assert value == 30
    assert steps[0] == "revenue (签约额): not scored, counts 0"


def test_the_total_stays_unrounded_until_rounded_half_up():
    response = Metric("response", "Response", "process", D(100), direction="lower")
    exact = total([(response, score(response, D(3), D(2)))])  # 66.666…
    assert exact != round_score(exact)
    assert round_score(exact) == D("66.67")
    assert round_score(D("89.995")) == D("90.00")
    assert round_score(D("89.994")) == D("89.99")
    assert round_score(D("72.5"), places=0) == D(73)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D(100), "S"),
        (D(90), "S"),
        (D("89.99"), "A"),
        (D(80), "A"),
        (D(70), "B"),
        (D(60), "C"),
        (D("59.99"), "D"),
        (D(0), "D"),
    ],
)
def test_default_grades(value, expected):
    assert grade(value) == expected


def test_grades_are_editable_and_explained():
    grades = parse_grades("S:90, A:80, B:70, C:60, D:0")
    assert grades == list(DEFAULT_GRADES)
    assert grade(D(85), [(D(95), "卓越"), (D(75), "良好"), (D(0), "待改进")]) == "良好"
    assert grade_explained(D("89.99")) == ("A", "89.99 ≥ 80 → A")
    # below every minimum falls to the lowest grade
    assert grade_explained(D(40), [(D(60), "pass"), (D(50), "weak")]) == (
        "weak",
        "40 is below every minimum → the lowest grade, weak",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no grades given"),
        ("S90", 'grade "S90" is not grade:minimum'),
        (":90", 'grade ":90" is not grade:minimum'),
        ("S:high", '"high" in grade "S:high" is not a number'),
        ("S:90, A:90", 'grade "A:90": another grade has the minimum 90'),
    ],
)
def test_bad_grades_are_refused_quoting_the_bad_part(text, message):
    with pytest.raises(ValueError, match=message):
        parse_grades(text)


# -- properties ----------------------------------------------------------------------------

fractions = st.integers(0, 400).map(lambda n: D(n) / 100)


@given(fractions, fractions, st.integers(0, 150).map(lambda n: D(n) / 100))
def test_linear_is_monotonic_and_bounded_by_the_cap(a, b, floor):
    cap = D("1.2")
    low, high = min(a, b), max(a, b)
    assert linear(low, floor, cap) <= linear(high, floor, cap)
    assert 0 <= linear(high, floor, cap) <= 100 * cap


@given(fractions, fractions)
def test_bands_are_monotonic_for_increasing_scores(a, b):
    low, high = min(a, b), max(a, b)
    assert bands(low, BANDS) <= bands(high, BANDS)


@given(st.lists(st.integers(0, 120).map(D), min_size=3, max_size=3))
def test_the_total_of_a_plan_lies_between_its_lowest_and_highest_score(values):
    plan = good_plan()
    scored = [(m, manual(m, v)) for m, v in zip(plan, values, strict=True)]
    assert min(values) <= total(scored) <= max(values)


@given(
    st.integers(1, 10**7).map(D),
    st.integers(1, 10**7).map(D),
)
def test_lower_is_better_rewards_a_smaller_actual(target, actual):
    worse = attainment(actual + 1, target, "lower")
    better = attainment(actual, target, "lower")
    assert better > worse
