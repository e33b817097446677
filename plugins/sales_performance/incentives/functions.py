"""What the incentive automations call (``workflows/sales_performance/incentive_run.json``,
``bonus_rejected.json``)."""

from __future__ import annotations

from typing import Any

from formflow.automations.functions import Call
from formflow.runtime import Work

from ..periods import Period
from ..targets.progress import local_today
from . import statements

APP = "sales_performance"


def run_incentives(work: Work, call: Call) -> dict[str, Any]:
    key = call.arguments.get("period")
    if not key:
        kind = str(call.arguments.get("period_kind", "month"))
        key = Period.containing(kind, local_today(work)).previous().key
    return statements.run_period(work, key)


def bonus_rejected(work: Work, call: Call) -> dict[str, Any]:
    assert call.record_id is not None
    return statements.rejected(work, call.record_id)


FUNCTIONS = {
    f"{APP}.run_incentives": run_incentives,
    f"{APP}.bonus_rejected": bonus_rejected,
}
