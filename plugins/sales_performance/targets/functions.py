"""What the targets' automations call (``workflows/sales_performance/target_*.json``)."""

from __future__ import annotations

from typing import Any

from formflow.automations.functions import Call
from formflow.runtime import Work

from . import progress, tree


def apply_target_adjustment(work: Work, call: Call) -> dict[str, Any]:
    assert call.record_id is not None
    return tree.apply_adjustment(work, call.record_id)


def reject_target_adjustment(work: Work, call: Call) -> dict[str, Any]:
    assert call.record_id is not None
    return tree.reject_adjustment(work, call.record_id)


def warn_trailing_targets(work: Work, call: Call) -> dict[str, Any]:
    kind = str(call.arguments.get("period_kind", "month"))
    levels = tuple(call.arguments.get("levels", ["rep"]))
    return progress.warn_trailing(work, kind, levels)


APP = "sales_performance"
FUNCTIONS = {
    f"{APP}.apply_target_adjustment": apply_target_adjustment,
    f"{APP}.reject_target_adjustment": reject_target_adjustment,
    f"{APP}.warn_trailing_targets": warn_trailing_targets,
}
