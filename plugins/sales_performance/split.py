"""Splitting money exactly: a total shared out by weights so the parts always add up to it.

A target decomposed into quarters, a team award shared by contribution, a deal's commission
shared between two reps — each is one total cut into parts that must be whole cents (or
whole yuan, or any *quantum*) and must sum to the total to the last cent. Rounding each
part on its own cannot promise that (100.00 into 3 rounds to 33.33 three times, a cent
short), so we use the **largest-remainder method**:

1. each part's exact share is ``total × weight / Σ weights``, in quanta;
2. every part gets its share floored to a whole quantum;
3. the quanta left over (fewer than the number of parts) go one each to the parts whose
   floors cut off the most, ties to the earlier part.

Every part is then within one quantum of its exact share, and the sum is exact. The
arithmetic is done in exact fractions, so the result depends on nothing but the inputs.

This module also holds how numbers are written in explanations (:func:`format_number`,
:func:`format_percent`), shared by the plugin's other calculation modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")


def largest_remainder(
    total: Decimal, weights: Sequence[Decimal], quantum: Decimal = CENT
) -> list[Decimal]:
    """``total`` split in proportion to ``weights``, each part a multiple of ``quantum``,
    the parts summing exactly to ``total``. See the module docstring for the rule;
    :func:`largest_remainder_explained` also says how each part came about.

    ``total`` must itself be a multiple of ``quantum``; weights must be ≥ 0 and not all
    zero. A zero weight always gets a zero part. A negative total is split like its
    absolute value, every part negated.
    """
    return largest_remainder_explained(total, weights, quantum)[0]


def largest_remainder_explained(
    total: Decimal, weights: Sequence[Decimal], quantum: Decimal = CENT
) -> tuple[list[Decimal], list[str]]:
    """:func:`largest_remainder` and its steps: one line per part (exact share, floor,
    remainder) and one for where the leftover quanta went."""
    units = _units(total, quantum)
    _check_weights(weights)
    sign = -1 if units < 0 else 1
    units = abs(units)
    exact_weights = [Fraction(w) for w in weights]
    weight_sum = sum(exact_weights)
    shares = [units * w / weight_sum for w in exact_weights]  # in quanta, exact
    floors = [s.numerator // s.denominator for s in shares]
    leftover = units - sum(floors)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    lucky = set(by_remainder[:leftover])
    counts = [floors[i] + (1 if i in lucky else 0) for i in range(len(shares))]
    parts = [sign * count * quantum for count in counts]

    def money(quanta: Fraction | int) -> str:
        return format_number(Decimal(sign) * _decimal(quanta) * quantum, places=6)

    steps = [
        f"{format_number(total)} split by weights "
        f"{' : '.join(format_number(Decimal(w)) for w in weights)} "
        f"in steps of {format_number(quantum)}"
    ]
    for i, share in enumerate(shares):
        steps.append(
            f"part {i + 1}: exact share {money(share)}, floored to {money(floors[i])}, "
            f"remainder {money(share - floors[i])}"
            + (f" → +{format_number(quantum)}" if i in lucky else "")
        )
    if leftover:
        winners = ", ".join(f"part {i + 1}" for i in sorted(lucky))
        steps.append(
            f"{leftover} leftover step(s) of {format_number(quantum)} went to the largest "
            f"remainders ({winners}; ties to the earlier part)"
        )
    steps.append(f"parts: {', '.join(f'{p:,f}' for p in parts)} (sum {format_number(total)})")
    return parts, steps


def split_equal(total: Decimal, n: int, quantum: Decimal = CENT) -> list[Decimal]:
    """``total`` split into ``n`` equal parts by :func:`largest_remainder` (the earlier
    parts take the odd quanta: 100.00 into 3 is 33.34, 33.33, 33.33)."""
    if n < 1:
        raise ValueError(f"cannot split into {n} parts; need at least 1")
    return largest_remainder(total, [Decimal(1)] * n, quantum)


def format_number(x: Decimal, places: int = 4) -> str:
    """``x`` as written in explanations: thousands separators, at most ``places`` decimals
    (rounded half up), no trailing zeros — 1,300,000 · 33.34 · 0.006."""
    if not x.is_finite():
        return str(x)
    if int(x.as_tuple().exponent) < -places:  # only round what has more places
        x = x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    x = x.normalize()
    if x == 0:
        x = Decimal(0)  # never "-0"
    return f"{x:,f}"


def format_percent(fraction: Decimal, places: int = 2) -> str:
    """A fraction as a percentage in explanations: 1.2 → "120 %", 2/3 → "66.67 %"."""
    return f"{format_number(fraction * 100, places)} %"


def _units(total: Decimal, quantum: Decimal) -> int:
    if quantum <= 0:
        raise ValueError(f"the quantum must be more than 0, not {quantum}")
    units = Fraction(total) / Fraction(quantum)
    if units.denominator != 1:
        raise ValueError(f"the total {total} is not a whole multiple of {quantum}; round it first")
    return int(units)


def _check_weights(weights: Sequence[Decimal]) -> None:
    if not weights:
        raise ValueError("no weights: nothing to split into")
    for i, w in enumerate(weights):
        if not Decimal(w).is_finite():
            raise ValueError(f"weight {i + 1} is not a number ({w})")
        if w < 0:
            raise ValueError(f"weight {i + 1} is negative ({w}); weights must be ≥ 0")
    if all(w == 0 for w in weights):
        raise ValueError("all weights are zero; at least one must be more than 0")


def _decimal(x: Fraction | int) -> Decimal:
    if isinstance(x, int):
        return Decimal(x)
    return Decimal(x.numerator) / Decimal(x.denominator)
