"""Shared helpers for the expression tests: a pinned clock and one-line evaluate/fail."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from formflow.expressions import EvalContext, ExpressionError, compile_expression

SHANGHAI = ZoneInfo("Asia/Shanghai")

CONTEXT = EvalContext(
    today=datetime.date(2024, 3, 15),
    now=datetime.datetime(2024, 3, 15, 10, 30, tzinfo=SHANGHAI),
    timezone=SHANGHAI,
)
"""A Friday morning in Shanghai, so date tests never depend on the real clock."""


def D(text: str | int) -> Decimal:
    return Decimal(str(text))


def run(source: str, scope: Mapping[str, Any] | None = None, context: EvalContext = CONTEXT) -> Any:
    """Compile and evaluate in one go, against the pinned context."""
    return compile_expression(source).evaluate({} if scope is None else scope, context)


def fails(
    source: str, scope: Mapping[str, Any] | None = None, context: EvalContext = CONTEXT
) -> ExpressionError:
    """The ExpressionError that compiling or evaluating ``source`` raises."""
    with pytest.raises(ExpressionError) as caught:
        run(source, scope, context)
    return caught.value
