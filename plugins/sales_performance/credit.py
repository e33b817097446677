"""Sales credit splits: a contract's ``team`` subform shares its credit between reps by
percent, and the percentages must sum to exactly 100 (checked when the contract is saved,
so a measure never counts a contract for more or less than its amount)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from formflow.definitions.service import LoadedForm
from formflow.errors import BadRequest, FieldError
from formflow.records.prepare import from_document
from formflow.runtime import Work

APP = "sales_performance"


def check_credit_split(work: Work, loaded: LoadedForm, record: Any, *_: Any) -> None:
    """A records listener on contracts: a credit split sums to 100 % and names each rep once."""
    if loaded.name != f"{APP}.contract" or "team" not in loaded.spec.by_key:
        return
    rows = dict(from_document(loaded.spec, record.data)).get("team") or []
    if not rows:
        return
    total = sum((Decimal(str(row.get("share") or 0)) for row in rows), Decimal(0))
    members = [row.get("member") for row in rows]
    problems = []
    if total != 100:
        problems.append(
            FieldError("team", f"the shares sum to {total.normalize():f} %, not 100 %", "sum")
        )
    if None in members:
        problems.append(FieldError("team", "every share needs a rep", "required"))
    elif len(set(members)) != len(members):
        problems.append(FieldError("team", "a rep appears twice in the split", "unique"))
    if problems:
        raise BadRequest(problems)
