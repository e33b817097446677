"""Splitting money exactly (plugins/sales_performance/split.py): the parts are whole quanta,
add up to the total to the last cent, and each is within one quantum of its exact share."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sales_performance.split import (
    format_number,
    format_percent,
    largest_remainder,
    largest_remainder_explained,
    split_equal,
)

D = Decimal


def test_a_year_target_splits_into_equal_quarters_and_months():
    assert split_equal(D("13200000"), 4) == [D("3300000")] * 4
    assert split_equal(D("13200000"), 12) == [D("1100000")] * 12


def test_the_odd_cent_of_an_equal_split_goes_to_the_first_part():
    assert split_equal(D("100.00"), 3) == [D("33.34"), D("33.33"), D("33.33")]


def test_a_single_cent_split_60_40_goes_to_the_larger_share():
    # exact shares 0.006 and 0.004: both floor to 0, the leftover cent goes to the 0.006
    assert largest_remainder(D("0.01"), [D(60), D(40)]) == [D("0.01"), D("0.00")]


def test_one_thousand_and_one_cent_split_60_40():
    # 1,000.01 × 60 % = 600.006 → 600.00, remainder 0.006
    # 1,000.01 × 40 % = 400.004 → 400.00, remainder 0.004
    # floors sum to 1,000.00; the one leftover cent goes to the larger remainder (part 1)
    assert largest_remainder(D("1000.01"), [D(60), D(40)]) == [D("600.01"), D("400.00")]


def test_a_tie_between_remainders_goes_to_the_earlier_part():
    # 0.02 in three equal parts: each exact share is 0.00666…, two leftover cents
    assert split_equal(D("0.02"), 3) == [D("0.01"), D("0.01"), D("0.00")]


def test_a_zero_weight_gets_nothing_even_when_cents_are_left_over():
    assert largest_remainder(D("0.05"), [D(1), D(0), D(1)]) == [D("0.03"), D("0"), D("0.02")]


def test_a_negative_total_splits_like_its_absolute_value():
    assert split_equal(D("-100.00"), 3) == [D("-33.34"), D("-33.33"), D("-33.33")]


def test_splitting_into_whole_yuan():
    assert split_equal(D("100"), 3, quantum=D(1)) == [D(34), D(33), D(33)]


def test_seasonality_weights():
    # 1,200,000 by seasonality 1 : 2 : 3 : 4 → 120,000 · 240,000 · 360,000 · 480,000
    weights = [D(1), D(2), D(3), D(4)]
    assert largest_remainder(D("1200000"), weights) == [
        D("120000"),
        D("240000"),
        D("360000"),
        D("480000"),
    ]


def test_the_explanation_shows_each_share_and_where_the_leftover_went():
    parts, steps = largest_remainder_explained(D("1000.01"), [D(60), D(40)])
    assert parts == [D("600.01"), D("400.00")]
    assert steps[0] == "1,000.01 split by weights 60 : 40 in steps of 0.01"
    assert "exact share 600.006" in steps[1] and "remainder 0.006" in steps[1]
    assert "+0.01" in steps[1] and "+0.01" not in steps[2]
    assert "part 1" in steps[3] and "largest remainder" in steps[3]
    assert steps[-1] == "parts: 600.01, 400.00 (sum 1,000.01)"


@pytest.mark.parametrize(
    ("total", "weights", "message"),
    [
        (D("10.005"), [D(1)], "not a whole multiple of 0.01"),
        (D("10"), [], "no weights"),
        (D("10"), [D(1), D(-1)], "weight 2 is negative"),
        (D("10"), [D(0), D(0)], "all weights are zero"),
    ],
)
def test_bad_inputs_are_refused_with_the_reason(total, weights, message):
    with pytest.raises(ValueError, match=message):
        largest_remainder(total, weights)


def test_split_equal_needs_at_least_one_part():
    with pytest.raises(ValueError, match="at least 1"):
        split_equal(D("1.00"), 0)


def test_numbers_are_written_for_people():
    assert format_number(D("1300000.00")) == "1,300,000"
    assert format_number(D("33.340")) == "33.34"
    assert format_number(D("-0.00")) == "0"
    assert format_number(D(2) / D(3)) == "0.6667"
    assert format_percent(D("1.2")) == "120 %"
    assert format_percent(D(2) / D(3)) == "66.67 %"


# -- properties ----------------------------------------------------------------------------

QUANTA = st.sampled_from([D("0.01"), D("1"), D("0.1"), D("100")])
WEIGHTS = st.lists(
    st.integers(0, 10**6).map(lambda n: D(n).scaleb(-2)), min_size=1, max_size=12
).filter(any)


@st.composite
def splits(draw):
    quantum = draw(QUANTA)
    total = draw(st.integers(-(10**10), 10**10)) * quantum
    return total, draw(WEIGHTS), quantum


@given(splits())
def test_parts_always_add_up_exactly_to_the_total(case):
    total, weights, quantum = case
    assert sum(largest_remainder(total, weights, quantum)) == total


@given(splits())
def test_every_part_is_a_whole_number_of_quanta(case):
    total, weights, quantum = case
    for part in largest_remainder(total, weights, quantum):
        assert Fraction(part) / Fraction(quantum) == int(Fraction(part) / Fraction(quantum))


@given(splits())
def test_every_part_is_within_one_quantum_of_its_exact_share(case):
    total, weights, quantum = case
    weight_sum = sum(Fraction(w) for w in weights)
    for part, weight in zip(largest_remainder(total, weights, quantum), weights, strict=True):
        exact = Fraction(total) * Fraction(weight) / weight_sum
        assert abs(Fraction(part) - exact) < Fraction(quantum)
        if weight == 0:
            assert part == 0


@given(splits())
def test_the_split_is_deterministic(case):
    total, weights, quantum = case
    assert largest_remainder(total, weights, quantum) == largest_remainder(
        total, list(weights), quantum
    )
