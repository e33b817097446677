"""What the incentive automations call (``workflows/sales_performance/incentive_run.json``,
``bonus_rejected.json``)."""

from __future__ import annotations

from typing import Any

from formflow.automations.functions import Call
from formflow.runtime import Work

from ..functions import period_argument
from . import statements

APP = "sales_performance"


def run_incentives(work: Work, call: Call) -> dict[str, Any]:
    return statements.run_period(work, period_argument(work, call))


def bonus_rejected(work: Work, call: Call) -> dict[str, Any]:
    assert call.record_id is not None
    return statements.rejected(work, call.record_id)


FUNCTIONS = {
    f"{APP}.run_incentives": run_incentives,
    f"{APP}.bonus_rejected": bonus_rejected,
}
