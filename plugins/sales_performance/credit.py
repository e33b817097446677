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

from . import plan_numbers
from .explanations import said
from .split import format_number

APP = "sales_performance"
HUNDRED = Decimal(100)


def _share(raw: Any) -> Decimal | None:
    """A share as typed, when it is a percentage from 0 to 100 (empty: 0); else None."""
    if raw is None or raw == "":
        return Decimal(0)
    value = plan_numbers.number(raw)
    return value if value is not None and 0 <= value <= HUNDRED else None


def check_credit_split(work: Work, loaded: LoadedForm, record: Any, *_: Any) -> None:
    """A records listener on contracts: a credit split sums to 100 % and names each rep once."""
    if loaded.name != f"{APP}.contract" or "team" not in loaded.spec.by_key:
        return
    rows = dict(from_document(loaded.spec, record.data)).get("team") or []
    if not rows:
        return
    problems = []
    shares = []
    for i, row in enumerate(rows):
        share = _share(row.get("share"))
        if share is None:
            problems.append(
                FieldError(f"team[{i}].share", said("credit.share", value=row.get("share")))
            )
        else:
            shares.append(share)
    total = sum(shares, Decimal(0))
    if not problems and total != HUNDRED:
        problems.append(FieldError("team", said("credit.sum", total=format_number(total)), "sum"))
    members = [row.get("member") for row in rows]
    if None in members:
        problems.append(FieldError("team", said("credit.needs_rep"), "required"))
    elif len(set(members)) != len(members):
        problems.append(FieldError("team", said("credit.twice"), "unique"))
    if problems:
        raise BadRequest(problems)
