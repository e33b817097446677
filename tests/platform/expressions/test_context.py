"""EvalContext: what an evaluation knows about the clock and the organisation's zone."""

from __future__ import annotations

import dataclasses
import datetime
from zoneinfo import ZoneInfo

import pytest

from formflow.expressions import EvalContext


def test_current_reads_the_clock_in_the_given_zone():
    context = EvalContext.current("America/New_York")
    assert context.timezone == ZoneInfo("America/New_York")
    assert context.now.tzinfo == ZoneInfo("America/New_York")
    assert context.today == context.now.date()
    assert abs(context.now - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(minutes=1)


def test_current_defaults_to_shanghai_and_the_default_budget():
    context = EvalContext.current()
    assert context.timezone.key == "Asia/Shanghai"
    assert context.max_steps == 100_000


def test_current_accepts_a_zoneinfo():
    zone = ZoneInfo("Europe/Berlin")
    assert EvalContext.current(zone).timezone is zone


def test_context_is_frozen():
    context = EvalContext.current()
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.max_steps = 1  # type: ignore[misc]


def test_now_must_be_timezone_aware():
    with pytest.raises(ValueError, match="aware"):
        EvalContext(today=datetime.date(2024, 1, 1), now=datetime.datetime(2024, 1, 1))


def test_today_must_be_a_plain_date():
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    with pytest.raises(TypeError):
        EvalContext(today=now, now=now)
