"""Targets as a tree of ``sales_target`` records: decomposed top-down, kept summing up.

A target is a measure, a period and an owner (the company, a region or team — a department —
or a rep). It is split into children either over time (a year into quarters or months, a
quarter into months, a month into the ISO weeks that overlap it) or over the organisation
(a department into the departments under it, or into its members when it has none), by
weights:

- ``equal`` — the same weight for every child; weeks that straddle the month's edge weigh
  the days they have in it;
- ``seasonality`` — weights the admin enters, one per child (monthly weights, say);
- ``last_year`` — each child's actual over the same period a year earlier;
- ``custom`` — a weight per child, given by whoever decomposes.

The amount is split with the largest-remainder method on cents (on whole units for a count
measure), so the children always sum exactly to the parent. When a manager overrides one
child, its unlocked siblings are rebalanced in proportion to what they had, keeping the
parent's total — or, when the parent says ``on_override: approval``, the change becomes a
``target_adjustment`` record that goes through the target adjustment flow, and when
approved changes the child and every target above it by the same difference. A changed
target rescales its own children the same way, so every level keeps summing up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from formflow.definitions.service import LoadedForm, get_form
from formflow.errors import BadRequest, FieldError, Forbidden, NotFound
from formflow.people.models import Department, User
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.prepare import from_document
from formflow.records.projection import field_sql
from formflow.records.query import form_rows
from formflow.runtime import Work

from .. import measures, org
from ..explanations import reason, said
from ..periods import Period, prorate_explained
from ..split import format_number, largest_remainder, largest_remainder_explained

APP = "sales_performance"
LEVELS = ("company", "region", "team", "rep")
METHODS = ("equal", "seasonality", "last_year", "custom")
CENT = Decimal("0.01")
UNIT = Decimal(1)


@dataclass
class Target:
    id: int
    revision: int
    name: str
    measure_id: int | None
    period: Period
    level: str
    department: int | None
    member: int | None
    product_line: str | None
    amount: Decimal
    parent: int | None
    method: str | None
    weight: Decimal | None
    locked: bool
    on_override: str
    tolerance: Decimal
    active_from: dt.date | None
    active_to: dt.date | None
    children: list[Target] = field(default_factory=list)

    def effective(self) -> tuple[Decimal, str]:
        """The amount for the days the owner is active in the period (a joiner or a
        leaver gets the share of their days), and how it was prorated."""
        return prorate_explained(self.amount, self.period, self.active_from, self.active_to)

    def as_dict(self) -> dict[str, Any]:
        effective, how = self.effective()
        return {
            "id": self.id,
            "revision": self.revision,
            "name": self.name,
            "measure": self.measure_id,
            "period": self.period.key,
            "level": self.level,
            "department": self.department,
            "member": self.member,
            "product_line": self.product_line,
            "amount": str(self.amount),
            "effective_amount": str(effective),
            "proration": how if effective != self.amount else None,
            "parent": self.parent,
            "method": self.method,
            "weight": None if self.weight is None else str(self.weight),
            "locked": self.locked,
            "children": [child.as_dict() for child in self.children],
        }


def target_form(work: Work) -> LoadedForm:
    return get_form(work, f"{APP}.sales_target")


def _date(raw: Any) -> dt.date | None:
    return dt.date.fromisoformat(raw) if raw else None


def _target(loaded: LoadedForm, record: Record) -> Target:
    values = dict(from_document(loaded.spec, record.data))
    return Target(
        id=record.id,
        revision=record.revision,
        name=values.get("name") or f"#{record.id}",
        measure_id=values.get("measure"),
        period=Period.parse(values["period"]),
        level=values.get("level") or "rep",
        department=values.get("department"),
        member=values.get("member"),
        product_line=values.get("product_line"),
        amount=Decimal(str(values.get("amount") or 0)),
        parent=values.get("parent"),
        method=values.get("method"),
        weight=None if values.get("weight") is None else Decimal(str(values["weight"])),
        locked=bool(values.get("locked")),
        on_override=values.get("on_override") or "rebalance",
        tolerance=Decimal(
            str(values.get("tolerance") if values.get("tolerance") is not None else "0.1")
        ),
        active_from=_date(values.get("active_from")),
        active_to=_date(values.get("active_to")),
    )


def load(work: Work, target_id: int) -> Target:
    loaded = target_form(work)
    record = work.session.get(Record, target_id)
    if record is None or record.deleted_at is not None or record.form_id != loaded.form.id:
        raise NotFound(said("target.missing", id=target_id))
    return _target(loaded, record)


def all_targets(work: Work, *, period: str | None = None) -> list[Target]:
    """Every live target (of a period), by id."""
    loaded = target_form(work)
    statement = select(Record).where(*form_rows(loaded.form.id)).order_by(Record.id)
    if period is not None:
        statement = statement.where(field_sql(loaded.spec.by_key["period"], work.dialect) == period)
    return [_target(loaded, record) for record in work.session.scalars(statement)]


def children_of(work: Work, target_id: int) -> list[Target]:
    loaded = target_form(work)
    parent = field_sql(loaded.spec.by_key["parent"], work.dialect)
    statement = (
        select(Record).where(*form_rows(loaded.form.id), parent == target_id).order_by(Record.id)
    )
    return [_target(loaded, record) for record in work.session.scalars(statement)]


def tree(work: Work, root_id: int) -> Target:
    """A target with its children, grandchildren…, as the viewer may see them."""
    root = load(work, root_id)
    _check_sees(work, root)
    everything = all_targets(work)
    by_parent: dict[int | None, list[Target]] = {}
    for target in everything:
        by_parent.setdefault(target.parent, []).append(target)
    stack = [root]
    while stack:
        current = stack.pop()
        current.children = by_parent.get(current.id, [])
        stack += current.children
    return root


def visible(work: Work, target: Target) -> bool:
    scope = org.scope_of(work)
    return (
        scope.everyone
        or scope.sees_member(target.member)
        or scope.sees_department(target.department)
    )


def _check_sees(work: Work, target: Target) -> None:
    if not visible(work, target):
        raise Forbidden(said("target.not_visible", id=target.id))


def _check_manages(work: Work, target: Target) -> None:
    if not org.may_manage(work, target.department, target.member):
        raise Forbidden(said("target.not_manager", id=target.id, name=target.name))


def quantum_of(work: Work, target: Target) -> Decimal:
    """Money splits on cents; a count (visits, customers) on whole units."""
    if target.measure_id is None:
        return CENT
    for measure in measures.all_measures(work).values():
        if measure.record_id == target.measure_id:
            return UNIT if measure.unit == "count" else CENT
    return CENT


def measure_of(work: Work, target: Target) -> measures.Measure:
    for measure in measures.all_measures(work).values():
        if measure.record_id == target.measure_id:
            return measure
    raise BadRequest([FieldError("measure", said("target.no_measure", id=target.id))])


# -- decomposing ------------------------------------------------------------------------------


@dataclass
class Child:
    """A child about to be made: its period and owner, and its weight."""

    name: str
    period: Period
    level: str
    department: int | None
    member: int | None
    weight: Decimal = Decimal(1)


def period_children(target: Target, into: str) -> list[Child]:
    try:
        periods = target.period.children(into)
    except ValueError as error:
        raise BadRequest([FieldError("into", reason(error), "invalid")]) from None
    found = []
    for period in periods:
        weight = Decimal(period.overlap_days(target.period)) if into == "week" else Decimal(1)
        found.append(
            Child(
                f"{_base_name(target)} {period.key}",
                period,
                target.level,
                target.department,
                target.member,
                weight,
            )
        )
    return found


def _base_name(target: Target) -> str:
    key = target.period.key
    return target.name[: -len(key)].rstrip() if target.name.endswith(key) else target.name


def org_children(work: Work, target: Target) -> list[Child]:
    if target.level == "rep":
        raise BadRequest([FieldError("by", said("target.rep_by_org"))])
    departments = list(
        work.session.scalars(
            select(Department)
            .where(Department.parent_id == target.department)
            .order_by(Department.name)
        )
    )
    if target.department is None and not departments:
        raise BadRequest([FieldError("department", said("target.no_departments"))])
    level = LEVELS[min(LEVELS.index(target.level) + 1, len(LEVELS) - 2)]
    if departments:
        return [
            Child(f"{d.name} {target.period.key}", target.period, level, d.id, d.head_id)
            for d in departments
        ]
    members = sorted(org.members_of(work, target.department, below=False))
    if not members:
        raise BadRequest([FieldError("department", said("target.no_members"))])
    names = dict(
        work.session.execute(select(User.id, User.display_name).where(User.id.in_(members))).all()
    )
    return [
        Child(f"{names[m]} {target.period.key}", target.period, "rep", target.department, m)
        for m in members
    ]


def _weights_from(
    work: Work, target: Target, children: list[Child], method: str, weights: Any
) -> list[Decimal]:
    if method == "equal":
        return [c.weight for c in children]
    if method in ("seasonality", "custom"):
        if not isinstance(weights, list) or len(weights) != len(children):
            raise BadRequest(
                [
                    FieldError(
                        "weights",
                        said(
                            "target.weights_count",
                            method=method,
                            count=len(children),
                            names=", ".join(c.name for c in children),
                        ),
                        "invalid",
                    )
                ]
            )
        found = []
        for i, raw in enumerate(weights):
            try:
                value = Decimal(str(raw))
            except ArithmeticError:
                raise BadRequest([FieldError(f"weights[{i}]", said("value.number"))]) from None
            if not value.is_finite() or value < 0:
                raise BadRequest([FieldError(f"weights[{i}]", said("value.non_negative"))])
            found.append(value * children[i].weight)
        if not any(found):
            raise BadRequest([FieldError("weights", said("target.weights_zero"))])
        return found
    if method == "last_year":
        measure = measure_of(work, target)
        found = []
        for child in children:
            last = child.period.same_last_year()
            got = measures.actuals(work, measure, last.start, last.end, None)
            found.append(_owned_sum(work, got, child.department, child.member, child.level))
        if not any(found):
            raise BadRequest([FieldError("method", said("target.no_last_year"))])
        return found
    raise BadRequest([FieldError("method", said("target.method", choices=", ".join(METHODS)))])


def _owned_sum(
    work: Work, actuals: dict[int, Decimal], department: int | None, member: int | None, level: str
) -> Decimal:
    if level == "rep":
        return actuals.get(member or -1, Decimal(0))
    people = org.members_of(work, department)
    return sum((v for k, v in actuals.items() if k in people), Decimal(0))


def decompose(
    work: Work,
    target_id: int,
    *,
    by: str = "period",
    into: str | None = None,
    method: str = "equal",
    weights: Any = None,
    replace: bool = False,
) -> Target:
    """Split a target into children (see the module docstring); returns it with them."""
    target = load(work, target_id)
    _check_manages(work, target)
    if method not in METHODS:
        raise BadRequest([FieldError("method", said("target.method", choices=", ".join(METHODS)))])
    if by == "period":
        if into is None:
            raise BadRequest([FieldError("into", said("target.into"))])
        children = period_children(target, into)
    elif by == "org":
        children = org_children(work, target)
    else:
        raise BadRequest([FieldError("by", said("target.by"))])
    existing = children_of(work, target.id)
    if existing and not replace:
        raise BadRequest(
            [
                FieldError(
                    "replace",
                    said("target.has_children", id=target.id, count=len(existing)),
                    "conflict",
                )
            ]
        )
    weights_used = _weights_from(work, target, children, method, weights)
    parts = largest_remainder(target.amount, weights_used, quantum_of(work, target))
    loaded = target_form(work)
    # The split is the manager's to replace (checked above), whatever their grants on the
    # records: the old children go to the recycle bin as the system's step.
    actor, work.actor = work.actor, None
    try:
        for old in existing:
            records.delete(work, loaded, old.id)
    finally:
        work.actor = actor
    base = {
        "measure": target.measure_id,
        "product_line": target.product_line,
        "parent": target.id,
        "method": method,
        "on_override": target.on_override,
        "tolerance": str(target.tolerance),
    }
    for child, part, weight in zip(children, parts, weights_used, strict=True):
        data = {
            **base,
            "name": child.name,
            "period": child.period.key,
            "level": child.level,
            "department": child.department,
            "member": child.member,
            "amount": str(part),
            "weight": str(weight.quantize(Decimal("0.000001"))),
            "locked": False,
        }
        records.create_as_step(work, loaded, {k: v for k, v in data.items() if v is not None})
    return tree(work, target.id)


def explain_split(work: Work, target_id: int) -> list[str]:
    """How a target's children were split from it: the largest-remainder steps."""
    target = tree(work, target_id)
    if not target.children:
        return [f"{target.name} has no children"]
    quantum = quantum_of(work, target)
    locked = [c for c in target.children if c.locked]
    if not locked:
        weights = [c.weight if c.weight is not None else Decimal(1) for c in target.children]
        return largest_remainder_explained(target.amount, _or_equal(weights), quantum)[1]
    steps = [
        "overridden by hand (kept as set): "
        + ", ".join(f"{c.name} {format_number(c.amount)}" for c in locked)
    ]
    free = [c for c in target.children if not c.locked]
    if free:
        rest = target.amount - sum((c.amount for c in locked), Decimal(0))
        steps += largest_remainder_explained(rest, _or_equal([c.amount for c in free]), quantum)[1]
    return steps


def _or_equal(weights: list[Decimal]) -> list[Decimal]:
    """The weights, or equal ones when they are all zero (nothing to go by)."""
    return weights if any(weights) else [Decimal(1)] * len(weights)


# -- overriding a child -----------------------------------------------------------------------


def override(
    work: Work, target_id: int, amount: Any, *, reason: str | None = None
) -> dict[str, Any]:
    """A manager sets one child's amount. With ``rebalance`` its unlocked siblings share
    the difference (the parent keeps its total); with ``approval`` a target adjustment
    is filed and goes through the approval flow."""
    target = load(work, target_id)
    new = _amount(amount)
    if target.parent is None:
        _check_manages(work, target)
        return {"adjustment": request_adjustment(work, target, new, reason)}
    parent = load(work, target.parent)
    _check_manages(work, parent)
    if parent.on_override == "approval":
        return {"adjustment": request_adjustment(work, target, new, reason)}
    siblings = [c for c in children_of(work, parent.id) if c.id != target.id]
    fixed = sum((c.amount for c in siblings if c.locked), Decimal(0))
    free = [c for c in siblings if not c.locked]
    rest = parent.amount - fixed - new
    if rest < 0 or (not free and rest != 0):
        refused = said(
            "target.over_parent" if rest < 0 else "target.all_locked",
            amount=format_number(new),
            total=format_number(parent.amount),
            locked=format_number(fixed),
            left=format_number(parent.amount - fixed),
        )
        raise BadRequest([FieldError("amount", refused, "maximum")])
    loaded = target_form(work)
    _set_amount(work, loaded, target, new, locked=True)
    if free:
        weights = _or_equal([c.amount for c in free])
        for child, part in zip(
            free, largest_remainder(rest, weights, quantum_of(work, parent)), strict=True
        ):
            _set_amount(work, loaded, child, part)
    return {"target": tree(work, parent.id).as_dict()}


def _amount(raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        raise BadRequest([FieldError("amount", said("value.number"))]) from None
    if not value.is_finite() or value < 0:
        raise BadRequest([FieldError("amount", said("value.non_negative"))])
    if value != value.quantize(CENT):
        raise BadRequest([FieldError("amount", said("value.cents"))])
    return value


def _set_amount(
    work: Work, loaded: LoadedForm, target: Target, amount: Decimal, *, locked: bool | None = None
) -> None:
    """Change a target's amount, and rescale its children to keep summing to it."""
    data: dict[str, Any] = {"amount": str(amount)}
    if locked is not None:
        data["locked"] = locked
    records.change_as_step(work, loaded, target.id, data, None)
    children = children_of(work, target.id)
    if not children:
        return
    fixed = sum((c.amount for c in children if c.locked), Decimal(0))
    free = [c for c in children if not c.locked]
    rest = amount - fixed
    if not free or rest < 0:  # locked children no longer fit: they give way too
        free, rest = children, amount
    weights = [c.weight or c.amount or Decimal(1) for c in free]  # never all zero
    for child, part in zip(
        free, largest_remainder(rest, weights, quantum_of(work, target)), strict=True
    ):
        if part != child.amount:
            _set_amount(work, loaded, child, part)


# -- target adjustments (the approval path) ---------------------------------------------------


def adjustment_form(work: Work) -> LoadedForm:
    return get_form(work, f"{APP}.target_adjustment")


def request_adjustment(work: Work, target: Target, new: Decimal, reason: str | None) -> int:
    if not reason:
        raise BadRequest([FieldError("reason", said("target.reason"))])
    row = records.create_as_step(
        work,
        adjustment_form(work),
        {
            "target": target.id,
            "current_amount": str(target.amount),
            "new_amount": str(new),
            "reason": reason,
            **({"owner": work.actor.id} if work.actor is not None else {}),
        },
    )
    return row.id


def apply_adjustment(work: Work, adjustment_id: int) -> dict[str, Any]:
    """An approved adjustment: the target takes the new amount and every target above it
    changes by the same difference (their other children keep theirs)."""
    loaded = adjustment_form(work)
    record = records.get(work, adjustment_id, form_id=loaded.form.id)
    values = dict(from_document(loaded.spec, record.data))
    if values.get("status") == "applied":
        return {"adjustment": adjustment_id, "applied": False, "why": "already applied"}
    target = load(work, int(values["target"]))
    new = Decimal(str(values["new_amount"]))
    delta = new - target.amount
    targets = target_form(work)
    _set_amount(work, targets, target, new, locked=True)
    changed = [target.id]
    parent_id = target.parent
    while parent_id is not None:
        parent = load(work, parent_id)
        records.change_as_step(
            work, targets, parent.id, {"amount": str(parent.amount + delta)}, None
        )
        changed.append(parent.id)
        parent_id = parent.parent
    records.change_as_step(work, loaded, adjustment_id, {"status": "applied"}, None)
    return {"adjustment": adjustment_id, "applied": True, "delta": str(delta), "targets": changed}


def reject_adjustment(work: Work, adjustment_id: int) -> dict[str, Any]:
    loaded = adjustment_form(work)
    records.change_as_step(work, loaded, adjustment_id, {"status": "rejected"}, None)
    return {"adjustment": adjustment_id, "applied": False}
