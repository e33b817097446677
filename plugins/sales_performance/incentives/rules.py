"""The arithmetic of incentive rules: from the numbers the service gathers for one person and
period to the money on their statement, each amount with the steps that produced it.

**Commission tiers.** Tiers are attainment ranges with a rate each, written
``"0-80:2%, 80-100:4%, 100-120:6%, 120-:8%"``: contiguous from 0 %, no gaps or overlaps, the
last one open-ended. A boundary belongs to the upper tier (exactly 100 % is in ``100-120``).
Rates that rise above 100 % are accelerators; lower rates below it are decelerators.

- *marginal*: each tier pays its rate on the slice of the base that falls in it — tier
  ``[lower, upper)`` covers the base between ``lower × target`` and ``upper × target``.
  Target 1,000,000, actual 1,300,000 with the tiers above: 800,000 × 2 % + 200,000 × 4 %
  + 200,000 × 6 % + 100,000 × 8 % = 16,000 + 8,000 + 12,000 + 8,000 = 44,000.
- *retroactive*: the whole base at the rate of the tier the attainment reached:
  130 % reaches the 8 % tier, so 1,300,000 × 8 % = 104,000.

**Rounding.** Every function here returns the amount of one statement line, rounded to the
cent half up (:func:`round_cents`) at the line — never before (tier slices are exact) and
never again after: a statement's total is the sum of its rounded lines, so the lines on
screen always add up to it. Money split between people (credit shares, team awards) is
split with :func:`~sales_performance.split.largest_remainder` so the cents add up exactly.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeVar

from sales_performance.split import CENT, format_number, format_percent, largest_remainder

from ..explanations import Said, said, steps

P = TypeVar("P", bound=Hashable)  # whoever is paid: a member id, a username …

MODES = ("marginal", "retroactive")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Tier:
    """One commission tier: attainment from ``lower`` up to, not including, ``upper``
    (``None``: no upper end), paid at ``rate``. All three are fractions: 0.8, 1.0, 0.04."""

    lower: Decimal
    upper: Decimal | None
    rate: Decimal

    @property
    def label(self) -> str:
        """``80–100 %`` or ``≥ 120 %``."""
        if self.upper is None:
            return f"≥ {format_percent(self.lower)}"
        return f"{format_number(self.lower * HUNDRED, 2)}–{format_percent(self.upper)}"


@dataclass
class Line:
    """One line of a bonus statement. ``amount`` is its money, already rounded to the cent;
    ``records`` are the ids of the records it was computed from."""

    rule: str  # the rule's key in the incentive plan
    kind: str  # commission | team_award | spif | honours | manager_override | clawback
    base: Decimal | None
    attainment: Decimal | None
    rate: Decimal | None
    amount: Decimal
    explanation: str  # a Said where computed here: shown in the reader's language
    records: tuple[int, ...] = ()


@dataclass(frozen=True)
class Honour:
    """A place in an honours ranking (see :func:`honours`)."""

    rank: int
    score: Decimal
    title: str
    bonus: Decimal
    explanation: Said


def round_cents(x: Decimal) -> Decimal:
    """``x`` rounded half up to the cent: the rounding of every statement line."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


# -- tiers --------------------------------------------------------------------------------


def parse_tiers(text: str) -> tuple[Tier, ...]:
    """Tiers as people type them: ``"0-80:2%, 80-100:4%, 100-120:6%, 120-:8%"`` (attainment
    percentages, then the rate; the ``%`` signs are optional). The tiers must pass
    :func:`check_tiers`; errors quote the tier at fault."""
    parts = [p.strip() for p in text.replace("，", ",").split(",")]
    if not any(parts):
        raise ValueError(said("tiers.none"))
    tiers: list[Tier] = []
    for i, part in enumerate(parts):
        span, sep, rate = part.partition(":")
        lower, dash, upper = span.strip().partition("-")
        if not sep or not dash:
            raise ValueError(said("tiers.form", part=part))
        tier = Tier(
            _percent(lower, part),
            _percent(upper, part) if upper.strip() else None,
            _percent(rate, part),
        )
        problem = _tier_problem(tiers[-1] if tiers else None, tier, last=i == len(parts) - 1)
        if problem:
            raise ValueError(said("tiers.typed", part=part, problem=problem))
        tiers.append(tier)
    return tuple(tiers)


def check_tiers(tiers: Sequence[Tier]) -> None:
    """Raise ``ValueError`` unless the tiers start at 0 %, each begins where the one before
    ends, only the last is open-ended, and no rate is negative."""
    if not tiers:
        raise ValueError(said("tiers.empty"))
    for i, tier in enumerate(tiers):
        problem = _tier_problem(tiers[i - 1] if i else None, tier, last=i == len(tiers) - 1)
        if problem:
            raise ValueError(said("tiers.tier", tier=tier.label, problem=problem))


def format_tiers(tiers: Sequence[Tier]) -> str:
    """Tiers written back the way :func:`parse_tiers` reads them."""

    def pct(x: Decimal | None) -> str:
        return "" if x is None else format_number(x * HUNDRED)

    return ", ".join(f"{pct(t.lower)}-{pct(t.upper)}:{pct(t.rate)}%" for t in tiers)


def tier_for(tiers: Sequence[Tier], attainment: Decimal) -> Tier:
    """The tier an attainment reached (a boundary belongs to the upper tier; below 0 %, the
    first tier)."""
    check_tiers(tiers)
    reached = [t for t in tiers if t.lower <= attainment]
    return reached[-1] if reached else tiers[0]


# -- commission ---------------------------------------------------------------------------


def commission(
    base: Decimal,
    target: Decimal,
    tiers: Sequence[Tier],
    mode: str,
    *,
    actual: Decimal | None = None,
    explain: bool = True,
) -> tuple[Decimal, list[Said]]:
    """Tiered commission on ``base`` (see the module docstring) and its steps (none without
    ``explain``: for an amount only compared with, as a cap compares on-target pay).

    Attainment is ``actual / target``; ``actual`` defaults to ``base``. A different actual
    (tiers chosen by revenue, commission paid on margin, say) only makes sense in
    retroactive mode — marginal tiers slice the base itself — so marginal mode refuses one.
    A base of 0 or less earns nothing (reverse paid commission with :func:`clawback`).
    """
    check_tiers(tiers)
    if mode not in MODES:
        raise ValueError(said("rules.mode", mode=repr(mode), choices=", ".join(MODES)))
    if target <= 0:
        raise ValueError(
            f"the target must be more than 0 to compute attainment, not {format_number(target)}"
        )
    if actual is None:
        actual = base
    elif mode == "marginal" and actual != base:
        raise ValueError(
            "marginal tiers slice the base itself, so the actual must equal the base "
            f"({format_number(actual)} ≠ {format_number(base)}); use retroactive mode"
        )
    reached = actual / target
    done: list[Said] = []
    words = done if explain else None
    if explain:
        done.append(
            said(
                "attainment",
                actual=format_number(actual),
                target=format_number(target),
                attainment=format_percent(reached),
            )
        )
    if base <= 0:
        if explain:
            done.append(said("commission.no_base", base=format_number(base)))
        return ZERO, done
    if mode == "marginal":
        exact = _marginal(base, target, tiers, words)
    else:
        tier = tier_for(tiers, reached)
        exact = base * tier.rate
        if explain:
            done.append(
                said(
                    "commission.retroactive",
                    attainment=format_percent(reached),
                    tier=tier.label,
                    rate=format_percent(tier.rate),
                    base=format_number(base),
                    amount=format_number(exact),
                )
            )
    return _rounded(exact, words), done


def commission_line(
    rule: str,
    base: Decimal,
    target: Decimal,
    tiers: Sequence[Tier],
    mode: str,
    *,
    actual: Decimal | None = None,
    records: tuple[int, ...] = (),
) -> Line:
    """:func:`commission` as a statement line. Its ``rate`` is the tier's rate in
    retroactive mode and ``None`` in marginal mode, where no single rate applies."""
    amount, done = commission(base, target, tiers, mode, actual=actual)
    reached = (base if actual is None else actual) / target
    rate = tier_for(tiers, reached).rate if mode == "retroactive" else None
    return Line(rule, "commission", base, reached, rate, amount, steps(done), records)


def on_target_pay(
    target: Decimal, tiers: Sequence[Tier], mode: str, *, explain: bool = True
) -> tuple[Decimal, list[Said]]:
    """What commission pays at exactly 100 % (base = actual = target): the yardstick for a
    cap of "N × on-target pay"."""
    return commission(target, target, tiers, mode, explain=explain)


def override(base: Decimal, rate: Decimal) -> tuple[Decimal, str]:
    """A flat rate on a base — a manager's override on their team's revenue."""
    if rate < 0:
        raise ValueError(said("tiers.negative_rate", rate=format_percent(rate)))
    exact = base * rate
    amount = round_cents(exact)
    # the same in every language: figures and signs only
    return amount, f"{format_number(base)} × {format_percent(rate)} = {format_number(amount)}"


# -- adjustments --------------------------------------------------------------------------


def cap(
    amount: Decimal,
    *,
    absolute: Decimal | None = None,
    multiple: Decimal | None = None,
    on_target: Decimal | None = None,
) -> tuple[Decimal, Said | None]:
    """``amount`` limited to an absolute cap and/or ``multiple × on_target`` pay (the lower
    one wins), with an explanation when the cap was hit and ``None`` when it was not."""
    limits: list[tuple[Decimal, Said]] = []
    if absolute is not None:
        if absolute < 0:
            raise ValueError(said("rules.negative_cap", cap=format_number(absolute)))
        limits.append((absolute, said("cap.absolute", cap=format_number(absolute))))
    if multiple is not None:
        if on_target is None:
            raise ValueError("a cap as a multiple of on-target pay needs the on-target pay")
        if multiple < 0:
            raise ValueError(said("rules.negative_multiple", multiple=format_number(multiple)))
        limit = round_cents(multiple * on_target)
        limits.append(
            (
                limit,
                said(
                    "cap.multiple",
                    multiple=format_number(multiple),
                    on_target=format_number(on_target),
                    cap=format_number(limit),
                ),
            )
        )
    if not limits:
        return amount, None
    limit, how = min(limits, key=lambda pair: pair[0])
    if amount <= limit:
        return amount, None
    return limit, said("cap.hit", how=how, amount=format_number(amount), cap=format_number(limit))


def gate(
    amount: Decimal, kpi_score: Decimal, minimum: Decimal, factor: Decimal = Decimal(0)
) -> tuple[Decimal, Said]:
    """``amount`` if ``kpi_score`` reached ``minimum`` (exactly the minimum passes), else
    ``amount × factor`` — 0 by default: no bonus. Pass the score as published (rounded)."""
    if not 0 <= factor <= 1:
        raise ValueError(said("rules.gate_factor", factor=format_number(factor)))
    score, floor = format_number(kpi_score, 2), format_number(minimum, 2)
    if kpi_score >= minimum:
        return amount, said("gate.passed", score=score, gate=floor)
    if factor == 0:
        return ZERO, said("gate.unpaid", score=score, gate=floor, amount=format_number(amount))
    paid = round_cents(amount * factor)
    return paid, said(
        "gate.factor",
        score=score,
        gate=floor,
        amount=format_number(amount),
        factor=format_percent(factor),
        paid=format_number(paid),
    )


# -- sharing ------------------------------------------------------------------------------


def split_credit(amount: Decimal, shares: Mapping[P, Decimal]) -> dict[P, Decimal]:
    """``amount`` (whole cents) shared by percentages that sum to exactly 100 — a deal two
    reps won together, 60/40. The odd cents go by largest remainder, so the parts always
    add up to the amount."""
    return split_credit_explained(amount, shares)[0]


def split_credit_explained(
    amount: Decimal, shares: Mapping[P, Decimal]
) -> tuple[dict[P, Decimal], dict[P, Said]]:
    """:func:`split_credit` and, per person, how their part was worked out."""
    if not shares:
        raise ValueError("no shares given: nobody to credit")
    for person, share in shares.items():
        if share < 0:
            raise ValueError(f"the share of {person} is negative ({format_number(share)} %)")
    total = sum(shares.values(), Decimal(0))
    if total != HUNDRED:
        raise ValueError(f"credit shares sum to {format_number(total)} %, not 100 %")
    parts = dict(zip(shares, largest_remainder(amount, list(shares.values())), strict=True))
    how = {
        person: _share_text(f"{format_number(share)} %", amount * share / HUNDRED, parts[person])
        for person, share in shares.items()
    }
    return parts, how


def team_award(
    pool: Decimal,
    actuals: Mapping[P, Decimal],
    team_actual: Decimal,
    team_target: Decimal,
) -> dict[P, Decimal]:
    """A team award: ``pool`` (whole cents) is paid only when ``team_actual`` reached
    ``team_target``, shared by each member's actual over the members' total (largest
    remainder on cents, so the parts sum to the pool). Members with no positive actual get
    0; so does everyone when the target was missed."""
    return team_award_explained(pool, actuals, team_actual, team_target)[0]


def team_award_explained(
    pool: Decimal,
    actuals: Mapping[P, Decimal],
    team_actual: Decimal,
    team_target: Decimal,
) -> tuple[dict[P, Decimal], dict[P, Said]]:
    """:func:`team_award` and, per member, how their part was worked out."""
    if team_target <= 0:
        raise ValueError(f"the team target must be more than 0, not {format_number(team_target)}")
    if pool < 0:
        raise ValueError(said("rules.negative_pool", pool=format_number(pool)))
    result = said(
        "team.result",
        actual=format_number(team_actual),
        target=format_number(team_target),
        attainment=format_percent(team_actual / team_target),
    )
    weights = [max(a, Decimal(0)) for a in actuals.values()]
    if team_actual < team_target or not any(weights):
        why = said("team.below" if team_actual < team_target else "team.nobody", result=result)
        return {p: ZERO for p in actuals}, {p: why for p in actuals}
    parts = dict(zip(actuals, largest_remainder(pool, weights), strict=True))
    members = sum(weights, Decimal(0))
    how = {}
    for person, weight in zip(actuals, weights, strict=True):
        share = f"{format_number(weight)} / {format_number(members)}"
        how[person] = said(
            "team.share",
            result=result,
            pool=format_number(pool),
            share=_share_text(share, pool * weight / members, parts[person]),
        )
    return parts, how


# -- one-off lines ------------------------------------------------------------------------


def spif(count: int, amount_each: Decimal) -> tuple[Decimal, str]:
    """A per-event award (a SPIF): ``count × amount_each``."""
    if count < 0 or amount_each < 0:
        raise ValueError(said("rules.spif", count=count, amount=amount_each))
    amount = round_cents(count * amount_each)
    # the same in every language: figures and signs only
    return amount, f"{count} × {format_number(amount_each)} = {format_number(amount)}"


def honours(scores: Mapping[P, Decimal], top_n: int, title: str, bonus: Decimal) -> dict[P, Honour]:
    """The top ``top_n`` by score, each with ``title`` and the full ``bonus``, ordered by
    rank. Ranks are shared on ties (1, 2, 2, 4), and everyone ranked ``top_n`` or better is
    honoured — so a tie at the last place honours all who tied, and more than ``top_n``
    people can win."""
    if top_n < 1:
        raise ValueError(said("rules.top_n", top=top_n))
    if bonus < 0:
        raise ValueError(said("rules.negative_bonus", bonus=format_number(bonus)))
    ordered = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    winners: dict[P, Honour] = {}
    for person, score in ordered:
        rank = 1 + sum(1 for other in scores.values() if other > score)
        if rank > top_n:
            break
        tied = sum(1 for other in scores.values() if other == score) > 1
        winners[person] = Honour(
            rank,
            score,
            title,
            round_cents(bonus),
            said(
                "honours.rank_tied" if tied else "honours.rank",
                rank=rank,
                count=len(scores),
                score=format_number(score, 2),
                top=top_n,
                title=title,
                bonus=format_number(bonus),
            ),
        )
    return winners


def clawback(amount_paid_on_record: Decimal) -> tuple[Decimal, Said]:
    """Taking back what was paid on a record (a cancelled deal, a refunded payment): the
    same amount, negative."""
    if amount_paid_on_record < 0:
        raise ValueError(
            f"the amount paid cannot be negative ({format_number(amount_paid_on_record)})"
        )
    amount = -round_cents(amount_paid_on_record)
    return amount, said("clawback", paid=format_number(-amount), amount=format_number(amount))


# -- helpers -------------------------------------------------------------------------------


def _marginal(
    base: Decimal, target: Decimal, tiers: Sequence[Tier], done: list[Said] | None
) -> Decimal:
    """The sum of each tier's slice of ``base`` at its rate; each slice and the sum written
    into ``done`` (unless None)."""
    terms = []
    for tier in tiers:
        low = tier.lower * target
        high = base if tier.upper is None else min(base, tier.upper * target)
        if high <= low:
            break
        term = (high - low) * tier.rate
        terms.append(term)
        if done is None:
            continue
        done.append(
            said(
                "commission.tier",
                tier=tier.label,
                low=format_number(low),
                high=format_number(high),
                slice=format_number(high - low),
                rate=format_percent(tier.rate),
                amount=format_number(term),
            )
        )
    exact = sum(terms, Decimal(0))
    if done is not None:
        shown = " + ".join(format_number(t) for t in terms) or "0"
        done.append(said("commission.marginal", terms=shown, amount=format_number(exact)))
    return exact


def _rounded(exact: Decimal, done: list[Said] | None) -> Decimal:
    amount = round_cents(exact)
    if amount != exact and done is not None:
        done.append(said("commission.rounded", amount=f"{amount:,f}"))
    return amount


def _share_text(share: str, exact: Decimal, part: Decimal) -> Said:
    if part != exact:
        return said("share.rounded", share=share, exact=format_number(exact, 6), part=f"{part:,f}")
    return said("share", share=share, exact=format_number(exact, 6))


def _tier_problem(previous: Tier | None, tier: Tier, *, last: bool) -> Said | None:
    if previous is None and tier.lower != 0:
        return said("tiers.first", lower=format_percent(tier.lower))
    if previous is not None and tier.lower != previous.upper:
        if previous.upper is None:
            return said("tiers.after_open", lower=format_percent(tier.lower))
        return said(
            "tiers.gap", lower=format_percent(tier.lower), upper=format_percent(previous.upper)
        )
    if tier.upper is not None and tier.upper <= tier.lower:
        return said("tiers.upper")
    if tier.rate < 0:
        return said("tiers.negative_rate", rate=format_percent(tier.rate))
    if last and tier.upper is not None:
        return said("tiers.last_open")
    return None


def _percent(text: str, part: str) -> Decimal:
    cleaned = text.strip().rstrip("%").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValueError(said("tiers.not_number", text=text.strip(), part=part))
    return value / HUNDRED
