"""Incentive rules (plugins/sales_performance/incentives/rules.py): tiered commission in both
modes with its worked example and boundaries, caps, gates, shared credit, team awards,
SPIFs, honours and clawbacks — every amount rounded at the line and explained."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sales_performance.incentives.rules import (
    Line,
    Tier,
    cap,
    check_tiers,
    clawback,
    commission,
    commission_line,
    format_tiers,
    gate,
    honours,
    on_target_pay,
    override,
    parse_tiers,
    round_cents,
    spif,
    split_credit,
    split_credit_explained,
    team_award,
    team_award_explained,
    tier_for,
)

D = Decimal
TIERS = parse_tiers("0-80:2%, 80-100:4%, 100-120:6%, 120-:8%")
TARGET = D("1000000")


# -- tiers --------------------------------------------------------------------------------


def test_tiers_are_read_as_attainment_percentages_and_rates():
    assert parse_tiers("0-80:2%, 80-100:4%, 100-120:6%, 120-:8%") == (
        Tier(D(0), D("0.8"), D("0.02")),
        Tier(D("0.8"), D(1), D("0.04")),
        Tier(D(1), D("1.2"), D("0.06")),
        Tier(D("1.2"), None, D("0.08")),
    )
    assert format_tiers(TIERS) == "0-80:2%, 80-100:4%, 100-120:6%, 120-:8%"
    assert parse_tiers("0 - 100 : 3 ，100- : 5%") == parse_tiers("0-100:3%, 100-:5%")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no tiers given"),
        ("0-80 2%", 'tier "0-80 2%" is not from-to:rate'),
        ("0:2%", 'tier "0:2%" is not from-to:rate'),
        ("0-80:two%, 80-:4%", '"two%" in tier "0-80:two%" is not a number'),
        ("10-80:2%, 80-:4%", 'tier "10-80:2%": the first tier must start at 0 %, not 10 %'),
        ("0-80:2%, 90-:4%", 'tier "90-:4%": starts at 90 % but the tier before it ends at 80 %'),
        ("0-80:2%, 70-:4%", 'tier "70-:4%": starts at 70 %.*no gap or overlap'),
        ("0-80:2%, 80-100:4%", 'tier "80-100:4%": the last tier must be open-ended'),
        ("0-:2%, 80-:4%", 'tier "80-:4%": starts at 80 % but the tier before it is open-ended'),
        ("0-80:2%, 80-80:3%, 80-:4%", 'tier "80-80:3%": its upper end must be above'),
        ("0-80:-2%, 80-:4%", 'tier "0-80:-2%": the rate cannot be negative'),
    ],
)
def test_bad_tiers_are_refused_quoting_the_tier(text, message):
    with pytest.raises(ValueError, match=message):
        parse_tiers(text)


def test_tiers_built_in_code_are_checked_too():
    with pytest.raises(ValueError, match="tier 50–100 %: the first tier must start at 0 %"):
        check_tiers([Tier(D("0.5"), D(1), D("0.02")), Tier(D(1), None, D("0.04"))])
    with pytest.raises(ValueError, match="no tiers"):
        commission(D(1), D(1), [], "marginal")


def test_a_boundary_belongs_to_the_upper_tier():
    assert tier_for(TIERS, D("0.7999")).rate == D("0.02")
    assert tier_for(TIERS, D("0.8")).rate == D("0.04")
    assert tier_for(TIERS, D(1)).rate == D("0.06")
    assert tier_for(TIERS, D(5)).rate == D("0.08")
    assert tier_for(TIERS, D(-1)).rate == D("0.02")


# -- commission: the worked example -------------------------------------------------------


def test_marginal_commission_pays_each_slice_at_its_own_rate():
    # target 1,000,000, actual 1,300,000:
    #   0 –   800,000 at 2 % = 16,000
    #   800,000 – 1,000,000 at 4 % =  8,000
    #   1,000,000 – 1,200,000 at 6 % = 12,000
    #   1,200,000 – 1,300,000 at 8 % =  8,000
    #   total 44,000
    amount, steps = commission(D("1300000"), TARGET, TIERS, "marginal")
    assert amount == D("44000.00")
    assert steps == [
        "attainment 1,300,000 / 1,000,000 = 130 %",
        "tier 0–80 %: 0–800,000, 800,000 × 2 % = 16,000",
        "tier 80–100 %: 800,000–1,000,000, 200,000 × 4 % = 8,000",
        "tier 100–120 %: 1,000,000–1,200,000, 200,000 × 6 % = 12,000",
        "tier ≥ 120 %: 1,200,000–1,300,000, 100,000 × 8 % = 8,000",
        "marginal: 16,000 + 8,000 + 12,000 + 8,000 = 44,000",
    ]


def test_retroactive_commission_pays_the_whole_base_at_the_rate_reached():
    # 130 % reaches the 8 % tier: 1,300,000 × 8 % = 104,000
    amount, steps = commission(D("1300000"), TARGET, TIERS, "retroactive")
    assert amount == D("104000.00")
    assert steps == [
        "attainment 1,300,000 / 1,000,000 = 130 %",
        "130 % reaches tier ≥ 120 % at 8 %; retroactive on the whole base: "
        "1,300,000 × 8 % = 104,000",
    ]


@pytest.mark.parametrize(
    ("actual", "marginal", "retroactive"),
    [
        # exactly 80 %: marginal 800,000 × 2 % = 16,000; retroactive reaches 4 %: 32,000
        (D("800000"), D("16000"), D("32000")),
        # exactly 100 %: marginal 16,000 + 8,000 = 24,000; retroactive reaches 6 %: 60,000
        (D("1000000"), D("24000"), D("60000")),
        # a cent below 100 %: still the 4 % tier retroactively
        (D("999999.99"), D("24000.00"), D("40000.00")),
        # nothing sold
        (D("0"), D("0"), D("0")),
    ],
)
def test_commission_at_tier_boundaries(actual, marginal, retroactive):
    assert commission(actual, TARGET, TIERS, "marginal")[0] == marginal
    assert commission(actual, TARGET, TIERS, "retroactive")[0] == retroactive


def test_the_line_is_rounded_to_the_cent_half_up_and_says_so():
    # 1,000.25 × 2 % = 20.005 → 20.01
    amount, steps = commission(D("1000.25"), TARGET, TIERS, "retroactive")
    assert amount == D("20.01")
    assert steps[-1] == "rounded to the cent: 20.01"
    assert round_cents(D("0.005")) == D("0.01")
    assert round_cents(D("-0.005")) == D("-0.01")
    assert round_cents(D("0.0049")) == D("0.00")


def test_a_zero_target_is_refused_clearly():
    with pytest.raises(ValueError, match="target must be more than 0 to compute attainment"):
        commission(D(100), D(0), TIERS, "marginal")


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown commission mode 'flat'"):
        commission(D(100), TARGET, TIERS, "flat")


def test_retroactive_tiers_can_be_chosen_by_a_different_actual():
    # commission on 300,000 of margin, tier chosen by 1,100,000 revenue (110 % → 6 %)
    amount, steps = commission(D("300000"), TARGET, TIERS, "retroactive", actual=D("1100000"))
    assert amount == D("18000.00")
    assert steps[0] == "attainment 1,100,000 / 1,000,000 = 110 %"


def test_marginal_mode_refuses_an_actual_that_differs_from_the_base():
    with pytest.raises(ValueError, match="marginal tiers slice the base itself"):
        commission(D("300000"), TARGET, TIERS, "marginal", actual=D("1100000"))
    assert commission(D("5"), TARGET, TIERS, "marginal", actual=D("5"))[0] == D("0.10")


def test_a_negative_base_earns_nothing():
    amount, steps = commission(D("-5000"), TARGET, TIERS, "retroactive")
    assert amount == 0
    assert steps[-1] == "no commission on a base of -5,000"


def test_a_commission_line_carries_base_attainment_and_rate():
    line = commission_line("rev", D("1300000"), TARGET, TIERS, "retroactive", records=(7, 9))
    assert line == Line(
        rule="rev",
        kind="commission",
        base=D("1300000"),
        attainment=D("1.3"),
        rate=D("0.08"),
        amount=D("104000.00"),
        explanation="attainment 1,300,000 / 1,000,000 = 130 %; 130 % reaches tier ≥ 120 % "
        "at 8 %; retroactive on the whole base: 1,300,000 × 8 % = 104,000",
        records=(7, 9),
    )
    assert commission_line("rev", D("1300000"), TARGET, TIERS, "marginal").rate is None


def test_on_target_pay_is_commission_at_exactly_100_percent():
    assert on_target_pay(TARGET, TIERS, "marginal")[0] == D("24000")
    assert on_target_pay(TARGET, TIERS, "retroactive")[0] == D("60000")
    for mode in ("marginal", "retroactive"):  # the amount alone, for a cap to compare with
        assert on_target_pay(TARGET, TIERS, mode, explain=False) == (
            on_target_pay(TARGET, TIERS, mode)[0],
            [],
        )


def test_a_manager_override_is_a_flat_rate():
    assert override(D("2500000"), D("0.005")) == (D("12500.00"), "2,500,000 × 0.5 % = 12,500")


# -- caps and gates -----------------------------------------------------------------------


def test_an_absolute_cap():
    assert cap(D("80000"), absolute=D("100000")) == (D("80000"), None)
    assert cap(D("100000"), absolute=D("100000")) == (D("100000"), None)
    assert cap(D("104000"), absolute=D("100000")) == (
        D("100000"),
        "capped at the cap of 100,000: 104,000 → 100,000",
    )


def test_a_cap_as_a_multiple_of_on_target_pay():
    # retroactive on-target pay is 60,000; twice that is 120,000
    paid, why = cap(D("150000"), multiple=D(2), on_target=D("60000"))
    assert paid == D("120000")
    assert why == "capped at 2 × on-target pay 60,000 = 120,000: 150,000 → 120,000"


def test_the_lower_of_two_caps_wins():
    paid, why = cap(D("150000"), absolute=D("100000"), multiple=D(2), on_target=D("60000"))
    assert paid == D("100000") and "the cap of 100,000" in why


def test_a_multiple_cap_needs_the_on_target_pay():
    with pytest.raises(ValueError, match="needs the on-target pay"):
        cap(D(1), multiple=D(2))
    assert cap(D("5")) == (D("5"), None)


@pytest.mark.parametrize(
    ("score", "paid", "why"),
    [
        (D("60"), D("10000"), "KPI score 60 ≥ gate 60: paid in full"),  # exactly 60 passes
        (D("60.00"), D("10000"), "KPI score 60 ≥ gate 60: paid in full"),
        (D("59.99"), D("0"), "KPI score 59.99 is below the gate of 60: not paid (10,000 → 0)"),
        (D("95"), D("10000"), "KPI score 95 ≥ gate 60: paid in full"),
    ],
)
def test_a_gate_at_60(score, paid, why):
    assert gate(D("10000"), score, D(60)) == (paid, why)


def test_a_gate_can_pay_part_instead_of_nothing():
    assert gate(D("10000.01"), D(55), D(60), factor=D("0.5")) == (
        D("5000.01"),  # 5,000.005 rounds half up
        "KPI score 55 is below the gate of 60: 10,000.01 × 50 % = 5,000.01",
    )
    with pytest.raises(ValueError, match="between 0 and 1"):
        gate(D(1), D(1), D(60), factor=D("1.5"))


# -- sharing ------------------------------------------------------------------------------


def test_split_credit_60_40_with_odd_cents():
    # 1,000.01 × 60 % = 600.006, × 40 % = 400.004: the odd cent goes to the 60 % rep
    assert split_credit(D("1000.01"), {"amy": D(60), "bo": D(40)}) == {
        "amy": D("600.01"),
        "bo": D("400.00"),
    }
    parts, how = split_credit_explained(D("0.03"), {"amy": D(60), "bo": D(40)})
    # 0.018 and 0.012: floors 0.01 and 0.01, the leftover cent to amy (0.008 > 0.002)
    assert parts == {"amy": D("0.02"), "bo": D("0.01")}
    assert how["amy"] == "60 % = 0.018 → 0.02 (odd cents by largest remainder, so the parts add up)"


def test_split_credit_shares_must_sum_to_100():
    with pytest.raises(ValueError, match="credit shares sum to 90 %, not 100 %"):
        split_credit(D("100"), {"amy": D(60), "bo": D(30)})
    with pytest.raises(ValueError, match="the share of bo is negative"):
        split_credit(D("100"), {"amy": D(110), "bo": D(-10)})
    with pytest.raises(ValueError, match="nobody to credit"):
        split_credit(D("100"), {})


def test_a_team_award_is_shared_by_contribution_when_the_team_reaches_target():
    actuals = {"amy": D("500000"), "bo": D("300000"), "cy": D("200000"), "dee": D(0)}
    awards = team_award(D("10000.00"), actuals, D("1000000"), D("900000"))
    assert awards == {
        "amy": D("5000.00"),
        "bo": D("3000.00"),
        "cy": D("2000.00"),
        "dee": D("0.00"),
    }


def test_a_team_award_pays_nothing_below_target():
    actuals = {"amy": D("500000"), "bo": D("300000")}
    awards, how = team_award_explained(D("10000"), actuals, D("800000"), D("900000"))
    assert awards == {"amy": 0, "bo": 0}
    assert how["amy"] == "team 800,000 of target 900,000 (88.89 %): below target, no award"


def test_a_team_award_splits_odd_cents_by_largest_remainder():
    actuals = {"amy": D(1), "bo": D(1), "cy": D(1)}
    awards, how = team_award_explained(D("100.00"), actuals, D(3), D(3))  # exactly on target
    assert awards == {"amy": D("33.34"), "bo": D("33.33"), "cy": D("33.33")}
    assert how["bo"] == (
        "team 3 of target 3 (100 %): pool 100 × 1 / 3 = 33.333333 → 33.33 "
        "(odd cents by largest remainder, so the parts add up)"
    )


def test_a_team_award_ignores_negative_actuals_and_needs_a_target():
    awards = team_award(D("90.00"), {"amy": D(10), "bo": D(-5)}, D(5), D(5))
    assert awards == {"amy": D("90.00"), "bo": D("0.00")}
    with pytest.raises(ValueError, match="team target must be more than 0"):
        team_award(D("90.00"), {"amy": D(10)}, D(10), D(0))


# -- one-off lines ------------------------------------------------------------------------


def test_a_spif_pays_per_event():
    assert spif(3, D("500")) == (D("1500.00"), "3 × 500 = 1,500")
    assert spif(0, D("500"))[0] == 0
    with pytest.raises(ValueError, match="≥ 0"):
        spif(-1, D("500"))


def test_honours_go_to_the_top_n():
    won = honours({"amy": D(95), "bo": D(90), "cy": D(80)}, 2, "销售之星", D("2000"))
    assert list(won) == ["amy", "bo"]
    assert won["amy"].rank == 1 and won["amy"].bonus == D("2000.00")
    assert won["bo"].explanation == "rank 2 of 3 with 90, top 2: 销售之星 + 2,000"


def test_a_tie_at_the_last_place_honours_everyone_tied():
    scores = {"amy": D(95), "bo": D(88), "cy": D(88), "dee": D(80)}
    won = honours(scores, 2, "Star", D(500))
    assert {p: h.rank for p, h in won.items()} == {"amy": 1, "bo": 2, "cy": 2}
    assert "rank 2 (tied) of 4" in won["cy"].explanation
    # a tie at the top: all three share rank 1, and nobody is ranked 2
    won = honours({"amy": D(90), "bo": D(90), "cy": D(90), "dee": D(70)}, 2, "Star", D(1))
    assert {p: h.rank for p, h in won.items()} == {"amy": 1, "bo": 1, "cy": 1}


def test_honours_need_a_top_n():
    with pytest.raises(ValueError, match="at least 1"):
        honours({"amy": D(1)}, 0, "Star", D(1))
    assert honours({}, 3, "Star", D(1)) == {}


def test_a_clawback_is_negative():
    assert clawback(D("3000.00")) == (D("-3000.00"), "clawback of 3,000 paid earlier: -3,000")
    with pytest.raises(ValueError, match="cannot be negative"):
        clawback(D("-1"))


# -- properties ----------------------------------------------------------------------------

money = st.integers(0, 10**10).map(lambda cents: D(cents).scaleb(-2))
targets = st.integers(1, 10**9).map(lambda n: D(n).scaleb(-2))


@st.composite
def rising_tiers(draw):
    """Contiguous tiers from 0 with non-decreasing rates."""
    bounds = sorted(draw(st.sets(st.integers(1, 300), min_size=0, max_size=5)))
    rates = sorted(draw(st.lists(st.integers(0, 2000), min_size=len(bounds) + 1, max_size=6)))
    rates = rates[: len(bounds) + 1]
    lowers = [0, *bounds]
    uppers = [*bounds, None]
    return tuple(
        Tier(D(lo) / 100, None if up is None else D(up) / 100, D(rate).scaleb(-4))
        for lo, up, rate in zip(lowers, uppers, rates, strict=True)
    )


@given(rising_tiers(), money, targets)
def test_marginal_never_pays_more_than_retroactive_when_rates_rise(tiers, actual, target):
    marginal = commission(actual, target, tiers, "marginal")[0]
    retroactive = commission(actual, target, tiers, "retroactive")[0]
    assert 0 <= marginal <= retroactive


@given(rising_tiers(), money, money, targets, st.sampled_from(["marginal", "retroactive"]))
def test_more_sold_never_pays_less(tiers, a, b, target, mode):
    low, high = min(a, b), max(a, b)
    assert commission(low, target, tiers, mode)[0] <= commission(high, target, tiers, mode)[0]


@given(st.integers(0, 2000).map(lambda n: D(n).scaleb(-4)), money, targets)
def test_with_one_flat_rate_both_modes_agree(rate, actual, target):
    flat = (Tier(D(0), None, rate),)
    marginal = commission(actual, target, flat, "marginal")[0]
    assert marginal == commission(actual, target, flat, "retroactive")[0]
    assert marginal == round_cents(actual * rate)


@given(
    money,
    st.lists(st.integers(0, 100), min_size=1, max_size=8).filter(lambda xs: sum(xs) > 0),
)
def test_split_credit_always_sums_to_the_amount(amount, raw):
    # arbitrary weights as whole percentages summing to exactly 100: the last takes the rest
    total = sum(raw)
    shares = [D(100 * r // total) for r in raw[:-1]]
    shares.append(D(100) - sum(shares))
    parts = split_credit(amount, {i: s for i, s in enumerate(shares)})
    assert sum(parts.values()) == amount
    assert all(p >= 0 for p in parts.values())


@given(money, st.lists(money, min_size=1, max_size=10), money)
def test_a_paid_team_award_sums_to_the_pool(pool, actuals, extra):
    members = {f"m{i}": a for i, a in enumerate(actuals)}
    team_actual = sum(actuals) + extra
    awards = team_award(pool, members, team_actual, max(team_actual, D("0.01")))
    if team_actual >= D("0.01") and any(actuals):
        assert sum(awards.values()) == pool
    else:
        assert all(a == 0 for a in awards.values())
    assert all(awards[m] == 0 for m, a in members.items() if a == 0)
