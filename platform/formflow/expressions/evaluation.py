"""The state of one evaluation: the scope, the step budget and, on demand, the clock."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from .context import DEFAULT_TIMEZONE, EvalContext
from .errors import LimitError
from .limits import MAX_STEPS

_DEFAULT_ZONE = ZoneInfo(DEFAULT_TIMEZONE)


class Evaluation:
    """Carried through every compiled node of one ``Expression.evaluate`` call.

    Without a caller-supplied context the clock is read only if TODAY() or NOW() asks for it,
    so formulas that never look at the time do not pay for reading it.
    """

    __slots__ = ("_context", "scope", "steps_left", "timezone")

    def __init__(
        self, scope: Mapping[str, Any], context: EvalContext | None, initial_cost: int = 0
    ) -> None:
        self.scope = scope
        self._context = context
        if context is None:
            self.timezone: datetime.tzinfo = _DEFAULT_ZONE
            self.steps_left = MAX_STEPS - initial_cost
        else:
            self.timezone = context.timezone
            self.steps_left = context.max_steps - initial_cost
        if self.steps_left < 0:
            raise LimitError("evaluation limit exceeded")

    @property
    def context(self) -> EvalContext:
        """The caller's context, or one read from the clock the first time it is needed."""
        if self._context is None:
            self._context = EvalContext.current(_DEFAULT_ZONE)
        return self._context

    def charge(self, steps: int) -> None:
        """Spend ``steps`` of the budget; running out stops the evaluation."""
        self.steps_left -= steps
        if self.steps_left < 0:
            raise LimitError("evaluation limit exceeded")
