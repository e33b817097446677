"""The what-if estimator: "if I close these opportunities, my payout becomes …".

The person's statement for the period is computed twice with the same plan and the same
numbers — once as things stand, once with the chosen open opportunities counted as signed
contracts in the period (their amounts added to every summed contract measure, credited to
the opportunity's owner) — and the two are shown line by line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from formflow.definitions.service import get_form
from formflow.errors import BadRequest, FieldError, Forbidden
from formflow.records import service as records
from formflow.records.prepare import from_document
from formflow.runtime import Work

from .. import measures, org
from ..periods import Period
from .compute import Statement, compute

APP = "sales_performance"
CLOSED = ("won", "lost")


def _lines(statement: Statement | None) -> list[dict[str, Any]]:
    if statement is None:
        return []
    names = statement.names()
    return [
        {"rule": line.rule, "name": names.get(line.rule, line.rule), "kind": line.kind,
         "amount": str(line.amount), "explanation": line.explanation}
        for line in statement.lines
    ]  # fmt: skip


def estimate(
    work: Work, member: int, period_key: str, opportunity_ids: list[int]
) -> dict[str, Any]:
    if not org.scope_of(work).sees_member(member):
        raise Forbidden(f"you may not see the payout of user #{member}")
    try:
        period = Period.parse(period_key)
    except ValueError as error:
        raise BadRequest([FieldError("period", str(error))]) from None
    loaded = get_form(work, f"{APP}.opportunity")
    added = Decimal(0)
    chosen = []
    for i, opportunity_id in enumerate(opportunity_ids):
        try:
            record = records.get(work, int(opportunity_id), form_id=loaded.form.id)
        except Exception:
            raise BadRequest(
                [FieldError(f"opportunities[{i}]", f"there is no opportunity #{opportunity_id}")]
            ) from None
        values = dict(from_document(loaded.spec, record.data))
        if values.get("owner") != member:
            raise BadRequest(
                [FieldError(f"opportunities[{i}]", f"opportunity #{opportunity_id} is not theirs")]
            )
        if values.get("stage") in CLOSED:
            raise BadRequest(
                [FieldError(f"opportunities[{i}]", f"opportunity #{opportunity_id} is closed")]
            )
        amount = Decimal(str(values.get("amount") or 0))
        added += amount
        chosen.append({"id": record.id, "name": values.get("name"), "amount": str(amount)})
    extra = {
        key: {member: added}
        for key, measure in measures.all_measures(work).items()
        if measure.form.split(".")[-1] == "contract" and measure.aggregate == "sum"
    }
    now = compute(work, period, members={member})
    then = compute(work, period, members={member}, extra=extra)
    if not now:
        raise BadRequest(
            [FieldError("member", f"no incentive plan of {period.key} pays user #{member}")]
        )
    current = sum((s.total for s in now), Decimal("0.00"))
    estimated = sum((s.total for s in then), Decimal("0.00"))
    return {
        "member": member,
        "period": period.key,
        "opportunities": chosen,
        "added": str(added),
        "current": str(current),
        "estimated": str(estimated),
        "difference": str(estimated - current),
        "current_lines": [line for s in now for line in _lines(s)],
        "estimated_lines": [line for s in then for line in _lines(s)],
    }
