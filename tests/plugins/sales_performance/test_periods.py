"""Calendar periods (plugins/sales_performance/periods.py): keys read and written back, ISO
weeks that straddle months and years, moving between periods, how much of a period has
passed, and prorating a target for a rep who joined or left part-way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sales_performance.periods import (
    KINDS,
    Period,
    current,
    elapsed_share,
    elapsed_share_explained,
    prorate,
    prorate_explained,
)

D = Decimal
day = dt.date


@pytest.mark.parametrize(
    ("key", "kind", "start", "end"),
    [
        ("2026", "year", day(2026, 1, 1), day(2027, 1, 1)),
        ("2026-Q1", "quarter", day(2026, 1, 1), day(2026, 4, 1)),
        ("2026-Q4", "quarter", day(2026, 10, 1), day(2027, 1, 1)),
        ("2026-03", "month", day(2026, 3, 1), day(2026, 4, 1)),
        ("2026-12", "month", day(2026, 12, 1), day(2027, 1, 1)),
        ("2026-W05", "week", day(2026, 1, 26), day(2026, 2, 2)),
        # 1 January 2026 is a Thursday, so week 1 starts on Monday 29 December 2025
        ("2026-W01", "week", day(2025, 12, 29), day(2026, 1, 5)),
        ("2026-W53", "week", day(2026, 12, 28), day(2027, 1, 4)),
    ],
)
def test_keys_name_their_days_and_read_back(key, kind, start, end):
    period = Period.parse(key)
    assert (period.kind, period.start, period.end) == (kind, start, end)
    assert period.key == key
    assert str(period) == key


def test_keys_are_read_leniently_and_written_canonically():
    assert Period.parse(" 2026-q2 ").key == "2026-Q2"
    assert Period.parse("2026-w05").key == "2026-W05"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("26", "is not a period"),
        ("2026-3", "is not a period"),
        ("2026-M03", "is not a period"),
        ("2026/03", "is not a period"),
        ("", "is not a period"),
        ("2026-Q5", "a quarter is Q1 to Q4"),
        ("2026-13", "a month is 01 to 12"),
        ("2026-00", "a month is 01 to 12"),
        ("2027-W53", "ISO year 2027 has weeks W01 to W52"),
        ("2026-W00", "has weeks W01 to W53"),
        ("0000", "between 0001 and 9998"),
    ],
)
def test_bad_keys_are_refused_quoting_the_key_and_the_accepted_forms(key, reason):
    with pytest.raises(ValueError, match=reason) as caught:
        Period.parse(key)
    assert repr(key) in str(caught.value)
    if "is not a period" in reason:
        assert "2026-Q1" in str(caught.value) and "2026-W05" in str(caught.value)


def test_a_period_must_be_a_real_calendar_period():
    with pytest.raises(ValueError, match="not a calendar month"):
        Period("month", day(2026, 1, 5), day(2026, 2, 5))
    with pytest.raises(ValueError, match="unknown period kind"):
        Period("fortnight", day(2026, 1, 5), day(2026, 1, 19))


def test_days_contains_and_overlap():
    march = Period.parse("2026-03")
    assert march.days == 31
    assert Period.parse("2024-02").days == 29
    assert Period.parse("2024").days == 366
    assert march.contains(day(2026, 3, 1)) and march.contains(day(2026, 3, 31))
    assert not march.contains(day(2026, 4, 1))  # the end is exclusive
    # week 14 of 2026 runs Monday 30 March – Sunday 5 April: 2 days in March, 5 in April
    week = Period.parse("2026-W14")
    assert week.overlap_days(march) == 2
    assert week.overlap_days(Period.parse("2026-04")) == 5
    assert week.overlap_days(Period.parse("2026-05")) == 0


def test_previous_and_next_cross_year_ends():
    assert Period.parse("2026-Q1").previous().key == "2025-Q4"
    assert Period.parse("2026-01").previous().key == "2025-12"
    assert Period.parse("2026-W01").previous().key == "2025-W52"
    assert Period.parse("2026-W53").next().key == "2027-W01"
    assert Period.parse("2026").previous().key == "2025"


def test_same_period_last_year():
    assert Period.parse("2026-Q3").same_last_year().key == "2025-Q3"
    assert Period.parse("2026-02").same_last_year().key == "2025-02"
    assert Period.parse("2026-W05").same_last_year().key == "2025-W05"
    # 2025 has only 52 ISO weeks: week 53 maps to its last week
    assert Period.parse("2026-W53").same_last_year().key == "2025-W52"
    assert Period.parse("2021-W10").same_last_year().key == "2020-W10"


def test_parents_and_a_week_belongs_where_its_thursday_is():
    assert Period.parse("2026-05").parent("quarter").key == "2026-Q2"
    assert Period.parse("2026-05").parent("year").key == "2026"
    assert Period.parse("2026-Q3").parent("year").key == "2026"
    # week 1 of 2026 starts in December 2025, but its Thursday is 1 January 2026
    week1 = Period.parse("2026-W01")
    assert week1.parent("month").key == "2026-01"
    assert week1.parent("quarter").key == "2026-Q1"
    assert week1.parent("year").key == "2026"
    # week 14 (30 March – 5 April) has its Thursday on 2 April: April, Q2
    assert Period.parse("2026-W14").parent("month").key == "2026-04"
    assert Period.parse("2026-W14").parent("quarter").key == "2026-Q2"


def test_a_parent_must_be_coarser():
    with pytest.raises(ValueError, match="a month has no enclosing week"):
        Period.parse("2026-03").parent("week")
    with pytest.raises(ValueError, match="a year has no enclosing month"):
        Period.parse("2026").parent("month")


def test_children_of_years_and_quarters():
    assert [p.key for p in Period.parse("2026").children("quarter")] == [
        "2026-Q1",
        "2026-Q2",
        "2026-Q3",
        "2026-Q4",
    ]
    assert len(Period.parse("2026").children("month")) == 12
    assert [p.key for p in Period.parse("2026-Q2").children("month")] == [
        "2026-04",
        "2026-05",
        "2026-06",
    ]


def test_the_weeks_of_a_month_include_both_straddling_weeks():
    january = Period.parse("2026-01")
    weeks = january.children("week")
    assert [w.key for w in weeks] == ["2026-W01", "2026-W02", "2026-W03", "2026-W04", "2026-W05"]
    # W01 has 4 days in January (1–4), W05 has 6 (26–31): weigh them by overlap
    assert [w.overlap_days(january) for w in weeks] == [4, 7, 7, 7, 6]
    assert sum(w.overlap_days(january) for w in weeks) == january.days


def test_children_must_be_finer():
    with pytest.raises(ValueError, match="a month cannot be broken into quarters"):
        Period.parse("2026-03").children("quarter")
    with pytest.raises(ValueError, match="smallest period"):
        Period.parse("2026-W05").children("week")


def test_elapsed_share_counts_today_as_elapsed():
    march = Period.parse("2026-03")
    assert elapsed_share(march, day(2026, 3, 1)) == D(1) / D(31)
    assert elapsed_share(march, day(2026, 3, 16)) == D(16) / D(31)
    assert elapsed_share(march, day(2026, 3, 31)) == 1
    share, how = elapsed_share_explained(march, day(2026, 3, 16))
    assert share == D(16) / D(31)
    assert how == "2026-03-16 is day 16 of 31 in 2026-03: 16 / 31 = 51.61 %"


def test_elapsed_share_is_clamped_to_the_period():
    march = Period.parse("2026-03")
    assert elapsed_share(march, day(2026, 2, 28)) == 0
    assert elapsed_share(march, day(2026, 4, 1)) == 1
    assert elapsed_share(march, day(2027, 1, 1)) == 1


def test_the_current_period_is_on_the_organisations_calendar():
    # 31 March 23:30 UTC is already 1 April 07:30 in Shanghai
    late = dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC)
    assert current("month", late).key == "2026-04"
    assert current("month", late, tz="UTC").key == "2026-03"
    assert current("quarter", late).key == "2026-Q2"
    # Sunday 5 April 20:00 UTC is Monday 6 April in Shanghai: the next ISO week
    sunday = dt.datetime(2026, 4, 5, 20, 0, tzinfo=dt.UTC)
    assert current("week", sunday).key == "2026-W15"
    assert current("week", sunday, tz="Europe/London").key == "2026-W14"


def test_the_current_period_needs_an_aware_time():
    with pytest.raises(ValueError, match="naive"):
        current("month", dt.datetime(2026, 3, 16, 10, 0))


def test_a_rep_joining_on_the_17th_gets_14_30ths_of_a_june_target():
    # June has 30 days; active 17–30 June is 14 days: 30,000 × 14 / 30 = 14,000
    june = Period.parse("2026-06")
    assert prorate(D("30000"), june, day(2026, 6, 17), None) == D("14000")
    amount, how = prorate_explained(D("30000"), june, day(2026, 6, 17), None)
    assert amount == D("14000")
    assert how == (
        "active 2026-06-17 – 2026-06-30, 14 of 30 days of 2026-06: 30,000 × 14 / 30 = 14,000"
    )


def test_prorate_counts_the_last_active_day():
    june = Period.parse("2026-06")
    # leaving on 10 June: active 1–10 June, 10 days → 10,000
    assert prorate(D("30000"), june, None, day(2026, 6, 10)) == D("10000")
    # joined 11 June, left 20 June: 10 days
    assert prorate(D("30000"), june, day(2026, 6, 11), day(2026, 6, 20)) == D("10000")


def test_prorate_the_whole_period_and_none_of_it():
    june = Period.parse("2026-06")
    assert prorate(D("30000"), june, None, None) == D("30000")
    assert prorate(D("30000"), june, day(2025, 1, 1), day(2027, 1, 1)) == D("30000")
    assert prorate(D("30000"), june, day(2026, 7, 1), None) == 0
    assert prorate(D("30000"), june, None, day(2026, 5, 31)) == 0
    assert prorate_explained(D("30000"), june, None, None)[1] == (
        "active all 30 days of 2026-06: 30,000"
    )


def test_prorate_is_unrounded():
    # active on the last day of March only: 100 × 1 / 31, kept exact for the caller to round
    march = Period.parse("2026-03")
    assert prorate(D("100"), march, day(2026, 3, 31), None) == D(100) / D(31)


# -- properties ----------------------------------------------------------------------------

dates = st.dates(min_value=day(1900, 1, 8), max_value=day(2200, 12, 20))
kinds = st.sampled_from(KINDS)


@st.composite
def periods(draw):
    return Period.containing(draw(kinds), draw(dates))


@given(periods())
def test_every_key_reads_back_to_its_period(period):
    assert Period.parse(period.key) == period


@given(periods())
def test_previous_and_next_meet_the_period_edge_to_edge(period):
    assert period.previous().end == period.start
    assert period.next().start == period.end
    assert period.next().previous() == period


@given(kinds, dates)
def test_containing_contains(kind, d):
    assert Period.containing(kind, d).contains(d)


@given(periods(), kinds)
def test_children_cover_the_period_exactly(period, kind):
    if KINDS.index(kind) <= KINDS.index(period.kind):
        return
    children = period.children(kind)
    assert sum(child.overlap_days(period) for child in children) == period.days
    assert all(child.overlap_days(period) > 0 for child in children)
    if kind != "week":  # calendar children tile their parent
        assert children[0].start == period.start and children[-1].end == period.end
        assert all(child.parent(period.kind) == period for child in children)


@given(st.sampled_from(["month", "quarter", "year"]), dates)
def test_a_week_belongs_to_the_period_holding_its_thursday(kind, d):
    week = Period.containing("week", d)
    parent = week.parent(kind)
    assert parent.contains(week.start + dt.timedelta(days=3))
    assert week in parent.children("week")


@given(periods())
def test_same_last_year_is_about_a_year_earlier(period):
    earlier = period.same_last_year()
    assert earlier.kind == period.kind
    assert 357 <= (period.start - earlier.start).days <= 371


@given(periods(), dates, dates, st.integers(0, 10**9).map(D))
def test_prorate_never_exceeds_the_amount_and_adds_up_over_a_split(period, a, b, amount):
    first, last = min(a, b), max(a, b)
    share = prorate(amount, period, first, last)
    assert 0 <= share <= amount
    # active until `last`, then from the day after: the two shares make the whole
    after = prorate(amount, period, last + dt.timedelta(days=1), None)
    before = prorate(amount, period, None, last)
    assert abs(before + after - amount) <= D("1e-15") * max(amount, 1)


@given(periods(), dates)
def test_elapsed_share_is_a_fraction_that_grows_with_time(period, today):
    share = elapsed_share(period, today)
    assert 0 <= share <= 1
    assert elapsed_share(period, today + dt.timedelta(days=1)) >= share
