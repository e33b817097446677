"""What the KPI automations call (``workflows/sales_performance/kpi_*.json``)."""

from __future__ import annotations

from typing import Any

from formflow.automations.functions import Call
from formflow.runtime import Work

from ..functions import period_argument
from . import appeals, scorecards

APP = "sales_performance"


def publish_scorecards(work: Work, call: Call) -> dict[str, Any]:
    """Freeze the period that just ended (or ``period`` when given)."""
    return scorecards.publish(work, period_argument(work, call))


def apply_kpi_appeal(work: Work, call: Call) -> dict[str, Any]:
    assert call.record_id is not None
    return appeals.apply_appeal(work, call.record_id)


def reject_kpi_appeal(work: Work, call: Call) -> dict[str, Any]:
    assert call.record_id is not None
    return appeals.reject_appeal(work, call.record_id)


FUNCTIONS = {
    f"{APP}.publish_scorecards": publish_scorecards,
    f"{APP}.apply_kpi_appeal": apply_kpi_appeal,
    f"{APP}.reject_kpi_appeal": reject_kpi_appeal,
}
