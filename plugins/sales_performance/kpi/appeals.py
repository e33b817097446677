"""Appeals (绩效申诉): a rep disputes one metric of their published scorecard.

The appeal is a ``kpi_appeal`` record; filing it starts the appeal flow to the rep's
manager, who may set the decided score. Accepted, it becomes a recorded adjustment on that
metric's line of the ``kpi_result`` (score + adjustment = the decided score), the total and
grade are recomputed, and the line says which appeal changed it — the original score stays
visible beside the adjustment.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from formflow.definitions.service import LoadedForm, get_form
from formflow.errors import BadRequest, FieldError
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.prepare import from_document
from formflow.runtime import Work

from ..explanations import appended, said
from ..split import format_number
from . import scoring
from .plans import all_plans

APP = "sales_performance"


def appeal_form(work: Work) -> LoadedForm:
    return get_form(work, f"{APP}.kpi_appeal")


def _values(work: Work, loaded: LoadedForm, record_id: int) -> dict[str, Any]:
    return dict(
        from_document(loaded.spec, records.get(work, record_id, form_id=loaded.form.id).data)
    )


def check_appeal(work: Work, loaded: LoadedForm, record: Any, *_: Any) -> None:
    """A records listener: an appeal names a published scorecard of the appellant's own and
    one of its metrics; anything else is refused with the field that is wrong."""
    if loaded.name != f"{APP}.kpi_appeal":
        return
    values = dict(from_document(loaded.spec, record.data))
    results = get_form(work, f"{APP}.kpi_result")
    found = work.session.get(Record, values.get("result") or -1)
    if found is None or found.form_id != results.form.id or found.deleted_at is not None:
        raise BadRequest([FieldError("result", "there is no such scorecard")])
    result = dict(from_document(results.spec, found.data))
    if result.get("status") != "published":
        raise BadRequest([FieldError("result", "only a published scorecard can be appealed")])
    actor = work.actor
    if actor is not None and not actor.is_admin and result.get("member") != actor.id:
        raise BadRequest([FieldError("result", "you may only appeal your own scorecard")])
    metrics = [row.get("metric") for row in result.get("lines") or []]
    if values.get("metric") not in metrics:
        raise BadRequest(
            [FieldError("metric", f"the scorecard has no metric '{values.get('metric')}' "
                        f"(it has {', '.join(m for m in metrics if m)})")]
        )  # fmt: skip


def apply_appeal(work: Work, appeal_id: int) -> dict[str, Any]:
    loaded = appeal_form(work)
    appeal = _values(work, loaded, appeal_id)
    if appeal.get("status") == "accepted":
        return {"appeal": appeal_id, "applied": False, "why": "already applied"}
    decided = appeal.get("decided_score")
    if decided is None:
        decided = appeal.get("proposed_score")
    if decided is None:
        raise BadRequest([FieldError("decided_score", "the manager set no score to apply")])
    decided = Decimal(str(decided))
    results = get_form(work, f"{APP}.kpi_result")
    result_id = int(appeal["result"])
    result = _values(work, results, result_id)
    lines = [dict(row) for row in result.get("lines") or []]
    plans = {plan.id: plan for plan in all_plans(work, active_only=False)}
    plan = plans.get(result.get("plan") or -1)
    terms = []
    for row in lines:
        score = Decimal(str(row["score"])) if row.get("score") is not None else Decimal(0)
        if row.get("metric") == appeal.get("metric"):
            adjustment = decided - score
            row["adjustment"] = str(adjustment.quantize(Decimal("0.0001")))
            note = said(
                "kpi.appeal",
                id=appeal_id,
                score=format_number(score),
                decided=format_number(decided),
                adjustment=format_number(adjustment),
            )
            row["explanation"] = appended(row.get("explanation"), note)
        adjusted = score + Decimal(str(row.get("adjustment") or 0))
        terms.append(Decimal(str(row.get("weight") or 0)) * adjusted / 100)
    total = scoring.round_score(sum(terms, Decimal(0)))
    grades = plan.grades if plan is not None else scoring.DEFAULT_GRADES
    records.change_as_step(
        work,
        results,
        result_id,
        {"lines": lines, "score": str(total), "grade": scoring.grade(total, grades)},
        None,
    )
    records.change_as_step(
        work, loaded, appeal_id, {"status": "accepted", "decided_score": str(decided)}, None
    )
    return {"appeal": appeal_id, "applied": True, "result": result_id, "score": str(total)}


def reject_appeal(work: Work, appeal_id: int) -> dict[str, Any]:
    records.change_as_step(work, appeal_form(work), appeal_id, {"status": "rejected"}, None)
    return {"appeal": appeal_id, "applied": False}
