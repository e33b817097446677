"""The sandbox bounds every expression is held to.

They exist so that no formula an admin types, and no value a record holds, can make the
server spend more than milliseconds or megabytes on one evaluation.
"""

from __future__ import annotations

MAX_SOURCE_LENGTH = 4_000
"""Longest expression source accepted, in characters."""

MAX_DEPTH = 64
"""Deepest nesting of parentheses, calls and operators accepted at compile time."""

MAX_STEPS = 100_000
"""Default evaluation budget: each node evaluated, and each list element visited, is a step."""

TEXT_CHARACTERS_PER_STEP = 64
"""Building text costs a step per this many characters, so text work counts against the budget."""

MAX_TEXT_LENGTH = 65_536
"""Longest text value any operation may produce or receive."""

MAX_LIST_LENGTH = 10_000
"""Longest list (subform column, multi-value field) any operation may produce or receive."""

MAX_POWER_EXPONENT = 1_024
"""Largest absolute exponent accepted by ``^`` and POWER."""

MAX_DECIMAL_EXPONENT = 9_999
"""Adjusted exponent range of every number (the local decimal context's Emax / -Emin)."""

DECIMAL_PRECISION = 34
"""Significant digits of every number, as in IEEE 754 decimal128."""

MAX_PATTERN_LENGTH = 255
"""Longest wildcard pattern (COUNTIF criteria, SEARCH text) accepted, as in Excel."""
