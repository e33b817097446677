"""Bonus statements (奖金单): a period's run stored, approved, locked — and never changed
silently.

``run_period`` computes everybody's statement (``compute``) and stores it as a
``bonus_statement`` record, one per person and plan (someone holding two paid roles gets a
statement from each plan):

- no statement yet, or a draft / rejected one: the draft is (re)written — rerunning a
  period before approval replaces the draft;
- one in approval: left alone (the run reports it);
- approved: the new result is compared rule by rule with everything approved for the
  period, and any difference becomes an *adjustment statement* (``adjusts`` → the approved
  one) that goes through approval itself. An approved statement is locked: nobody edits
  or deletes it (``statement_locked``).

Clawbacks look back at the approved commission lines of earlier periods (``paid_before``):
each record paid on that no longer counts comes back once, as a negative line in the
period being run — unless an adjustment of its own period already took it back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from formflow.definitions.service import LoadedForm, get_form
from formflow.errors import BadRequest, FieldError, Forbidden
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.prepare import from_document
from formflow.records.projection import field_sql
from formflow.records.query import form_rows
from formflow.runtime import Work

from .. import org
from ..explanations import said, stored
from ..periods import Period
from ..split import format_number
from . import rules
from .compute import Statement, compute, parse_records, records_text
from .plans import Rule, ensure_defaults

APP = "sales_performance"
FLOW = f"{APP}.bonus_approval"
OPEN = ("draft", "rejected")


def statement_form(work: Work) -> LoadedForm:
    return get_form(work, f"{APP}.bonus_statement")


def _period(key: Any) -> Period:
    try:
        return Period.parse(str(key or ""))
    except ValueError as error:
        raise BadRequest([FieldError("period", str(error))]) from None


def _stored(
    work: Work,
    *,
    period: str | None = None,
    member: int | None = None,
    other_than: str | None = None,
) -> list[dict]:
    return [
        values for _, values in _records(work, period=period, member=member, other_than=other_than)
    ]


def _records(
    work: Work,
    *,
    period: str | None = None,
    member: int | None = None,
    other_than: str | None = None,
) -> list[tuple[Record, dict]]:
    """The statements (of a period, of a member, of any period but ``other_than``) as
    records and their values, by id."""
    loaded = statement_form(work)
    keys = loaded.spec.by_key
    statement = select(Record).where(*form_rows(loaded.form.id)).order_by(Record.id)
    if period is not None:
        statement = statement.where(field_sql(keys["period"], work.dialect) == period)
    if other_than is not None:
        statement = statement.where(
            field_sql(keys["period"], work.dialect).is_distinct_from(other_than)
        )
    if member is not None:
        statement = statement.where(field_sql(keys["member"], work.dialect) == member)
    found = []
    for record in work.session.scalars(statement):
        values = dict(from_document(loaded.spec, record.data))
        values["id"] = record.id
        values["revision"] = record.revision
        found.append((record, values))
    return found


def _row(line: rules.Line, names: dict[str, str]) -> dict[str, Any]:
    def fixed(value: Decimal | None, places: str) -> str | None:
        return None if value is None else str(value.quantize(Decimal(places)))

    return {
        "rule": line.rule,
        "name": names.get(line.rule, line.rule)[:60],
        "kind": line.kind,
        "base": fixed(line.base, "0.000001"),
        "attainment": fixed(line.attainment, "0.0001"),
        "rate": fixed(line.rate, "0.000001"),
        "amount": str(line.amount),
        "explanation": stored(line.explanation),
        "records": ";".join(line.records)[:4000] or None,
    }


def _data(statement: Statement, lines: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    total = sum((Decimal(row["amount"]) for row in lines), Decimal("0.00"))
    return {
        "member": statement.member,
        "period": statement.period.key,
        "plan": statement.plan.id,
        "total": str(total),
        "lines": lines,
        **more,
    }


def may_run(work: Work) -> bool:
    """Whether the acting user runs, submits and exports incentives: admins, finance and HR
    (and system work)."""
    actor = work.actor
    return (
        actor is None or actor.is_admin or bool(org.role_names(work, actor.id) & {"finance", "hr"})
    )


def check_runs(work: Work) -> None:
    if not may_run(work):
        raise Forbidden("only finance, HR or an admin may run incentives")


def run_period(work: Work, period_key: Any) -> dict[str, Any]:
    """Compute and store the period's statements (see the module docstring)."""
    check_runs(work)
    period = _period(period_key)
    ensure_defaults(work)
    loaded = statement_form(work)
    # The period's records stay referenced while the run rewrites them, so the session
    # (whose identity map holds them weakly) does not read each again.
    kept = _records(work, period=period.key)
    existing: dict[tuple[int, int], list[dict]] = {}
    for _, values in kept:
        if values.get("status") != "superseded":
            key = (int(values["member"]), int(values.get("plan") or 0))
            existing.setdefault(key, []).append(values)
    report: dict[str, Any] = {
        "period": period.key,
        "drafts": [],
        "adjustments": [],
        "unchanged": [],
        "in_approval": [],
    }
    computed = compute(work, period, paid_before=_paid_before(work, period))
    produced = {(statement.member, statement.plan.id) for statement in computed}
    for key, stale in existing.items():  # a plan no longer paying them: its drafts go
        if key not in produced:
            for draft in stale:
                if draft.get("status") in OPEN:
                    _supersede(work, loaded, draft["id"])
    for statement in computed:
        mine = existing.get((statement.member, statement.plan.id), [])
        names = statement.names()
        lines = [_row(line, names) for line in statement.lines]
        if any(s.get("status") == "in_approval" for s in mine):
            report["in_approval"].append(statement.member)
            continue
        approved = [s for s in mine if s.get("status") == "approved"]
        drafts = [s for s in mine if s.get("status") in OPEN]
        if approved:
            lines = _differences(approved, lines, names)
            if not lines:
                for draft in drafts:
                    _supersede(work, loaded, draft["id"])
                report["unchanged"].append(statement.member)
                continue
        adjusts = {"adjusts": approved[0]["id"]} if approved else {}
        note = (
            {"note": stored(said("adjustment.note", id=approved[0]["id"]), 2000)}
            if approved
            else {}
        )
        data = _data(statement, lines, status="draft", **adjusts, **note)
        if drafts:
            records.change_as_step(work, loaded, drafts[0]["id"], data, None)
            made = drafts[0]["id"]
            for extra in drafts[1:]:
                _supersede(work, loaded, extra["id"])
        else:
            made = records.create_as_step(work, loaded, data).id
        report["adjustments" if approved else "drafts"].append(made)
    return report


def _supersede(work: Work, loaded: LoadedForm, statement_id: int) -> None:
    records.change_as_step(work, loaded, statement_id, {"status": "superseded"}, None)


def _differences(
    approved: list[dict], lines: list[dict[str, Any]], names: dict[str, str]
) -> list[dict[str, Any]]:
    """Rule by rule, what the new result differs from everything approved for the period."""
    paid: dict[str, Decimal] = {}
    kinds: dict[str, str] = {}
    paid_records: dict[str, dict[int, Decimal]] = {}
    form_of: dict[str, str] = {}
    for statement in approved:
        for row in statement.get("lines") or []:
            key = row.get("rule") or "?"
            paid[key] = paid.get(key, Decimal(0)) + Decimal(str(row.get("amount") or 0))
            kinds[key] = row.get("kind") or kinds.get(key, "commission")
            if not statement.get("adjusts"):
                form, values = parse_records(_first(row.get("records")))
                paid_records.setdefault(key, {}).update(values)
                form_of[key] = form
    now: dict[str, Decimal] = {}
    now_records: dict[str, dict[int, Decimal]] = {}
    for row in lines:
        key = row["rule"]
        now[key] = now.get(key, Decimal(0)) + Decimal(row["amount"])
        kinds[key] = row["kind"]
        form, values = parse_records(_first(row.get("records")))
        now_records.setdefault(key, {}).update(values)
        form_of.setdefault(key, form)
    found = []
    for key in sorted(set(paid) | set(now)):
        before, after = paid.get(key, Decimal(0)), now.get(key, Decimal(0))
        if before == after:
            continue
        dropped = {
            record_id: value
            for record_id, value in paid_records.get(key, {}).items()
            if record_id not in now_records.get(key, {})
        }
        found.append(
            {
                "rule": key,
                "name": names.get(key, key)[:60],
                "kind": kinds.get(key, "commission"),
                "base": None,
                "attainment": None,
                "rate": None,
                "amount": str(after - before),
                "explanation": stored(
                    said(
                        "rerun",
                        after=format_number(after),
                        before=format_number(before),
                        difference=format_number(after - before),
                    )
                ),
                "records": records_text(form_of.get(key, ""), sorted(dropped.items()))
                if dropped
                else None,
            }
        )
    return found


def _first(text: str | None) -> str | None:
    return text.split(";")[0] if text else None


def _paid_before(work: Work, period: Period) -> Any:
    """What earlier approved statements paid per commission rule (for clawbacks), and which
    of their records were already taken back."""
    by_member: dict[int, list[dict]] | None = None

    def of(person: int) -> list[dict]:
        nonlocal by_member
        if by_member is None:  # everybody's in one query, when a rule first asks
            by_member = {}
            for values in _stored(work, other_than=period.key):
                if values.get("status") != "superseded" and values.get("member") is not None:
                    by_member.setdefault(int(values["member"]), []).append(values)
        return by_member.get(person, [])

    def paid(person: int, rule: Rule) -> list[dict[str, Any]]:
        statements = of(person)
        clawed: set[tuple[str, int]] = set()
        for statement in statements:  # (not this period's: the run recomputes its clawbacks)
            for row in statement.get("lines") or []:
                taken_back = row.get("kind") == "clawback" or (
                    statement.get("adjusts") and row.get("kind") == "commission"
                )
                if taken_back:
                    for text in (row.get("records") or "").split(";"):
                        form, values = parse_records(text)
                        clawed |= {(form, record_id) for record_id in values}
        found = []
        for statement in statements:
            if statement.get("status") != "approved" or statement.get("adjusts"):
                continue
            earlier = Period.parse(statement["period"])
            if earlier.start >= period.start:
                continue
            for row in statement.get("lines") or []:
                if row.get("kind") != "commission":
                    continue
                found.append(
                    {
                        "statement": statement["id"],
                        "period": earlier,
                        "records": _first(row.get("records")),
                        "base": row.get("base"),
                        "amount": row.get("amount"),
                        "clawed": clawed,
                    }
                )
        return found

    return paid


# -- reading, approving, locking -----------------------------------------------------------


def as_dict(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": values["id"],
        "revision": values.get("revision"),
        "member": values.get("member"),
        "period": values.get("period"),
        "plan": values.get("plan"),
        "total": values.get("total"),
        "status": values.get("status"),
        "adjusts": values.get("adjusts"),
        "note": values.get("note"),
        "lines": [
            {
                k: row.get(k)
                for k in (
                    "rule",
                    "name",
                    "kind",
                    "base",
                    "attainment",
                    "rate",
                    "amount",
                    "explanation",
                    "records",
                )
            }
            for row in values.get("lines") or []
        ],
    }


def list_statements(work: Work, period_key: Any, *, member: int | None = None) -> list[dict]:
    period = _period(period_key)
    scope = org.scope_of(work)
    return [
        as_dict(values)
        for values in _stored(work, period=period.key, member=member)
        if scope.sees_member(values.get("member")) and values.get("status") != "superseded"
    ]


def get_statement(work: Work, statement_id: int) -> dict[str, Any]:
    loaded = statement_form(work)
    record = records.get(work, statement_id, form_id=loaded.form.id)
    values = dict(from_document(loaded.spec, record.data))
    if not org.scope_of(work).sees_member(values.get("member")):
        raise Forbidden(f"you may not see bonus statement #{statement_id}")
    values["id"], values["revision"] = record.id, record.revision
    return as_dict(values)


def submit(work: Work, statement_id: int) -> dict[str, Any]:
    """Send a draft (or rejected) statement to the bonus approval flow, as the person's
    request: their manager approves first, then finance and HR countersign."""
    from formflow.flows.actions import start
    from formflow.people.models import User

    check_runs(work)
    loaded = statement_form(work)
    current = get_statement(work, statement_id)
    if current["status"] not in OPEN:
        raise BadRequest(
            [FieldError("status", f"statement #{statement_id} is {current['status']}, not a draft")]
        )
    records.change_as_step(work, loaded, statement_id, {"status": "in_approval"}, None)
    person = work.session.get(User, current["member"])
    actor, work.actor = work.actor, person or work.actor
    try:
        instance = start(work, FLOW, loaded, statement_id)
    finally:
        work.actor = actor
    return {"statement": statement_id, "status": "in_approval", "instance": instance.id}


def statement_locked(work: Work, loaded: LoadedForm, record: Any, action: str) -> None:
    """A records guard: an approved statement is what was paid; nobody changes or deletes
    it (a rerun makes an adjustment statement instead)."""
    if loaded.name != f"{APP}.bonus_statement" or "status" not in loaded.spec.by_key:
        return
    if record.data.get(loaded.spec.by_key["status"].id) == "approved":
        raise Forbidden(
            f"bonus statement #{record.id} is approved and locked; rerun the period to make "
            "an adjustment"
        )


def rejected(work: Work, statement_id: int) -> dict[str, Any]:
    records.change_as_step(work, statement_form(work), statement_id, {"status": "rejected"}, None)
    return {"statement": statement_id, "status": "rejected"}
