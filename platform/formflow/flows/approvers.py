"""Who a node names: approvers of an approval node, people copied by a cc node.

A node lists people by rule — ``{"user": name}``, ``{"role": name}``, ``{"manager": n}``
(the initiator's manager, n levels up), ``{"department_head": name}``, ``{"field": key}``
(a member or members field of the record) — and they resolve here, in the order written,
each person once, active users only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from ..people.models import Department, Role, User, UserRole
from ..people.service import manager_of
from ..runtime import Work


def resolve(
    work: Work, rules: Iterable[Mapping[str, Any]], initiator_id: int | None, values: Mapping
) -> list[int]:
    """User ids the rules name, in order, without repeats; inactive users are left out."""
    found: list[int] = []
    for rule in rules:
        found.extend(_one(work, rule, initiator_id, values))
    ordered = list(dict.fromkeys(found))
    if not ordered:
        return []
    active = set(work.session.scalars(select(User.id).where(User.id.in_(ordered), User.is_active)))
    return [user_id for user_id in ordered if user_id in active]


def admins(work: Work) -> list[int]:
    """The fallback when a node names nobody: every active admin."""
    return list(
        work.session.scalars(select(User.id).where(User.is_admin, User.is_active).order_by(User.id))
    )


def _one(
    work: Work, rule: Mapping[str, Any], initiator_id: int | None, values: Mapping
) -> list[int]:
    if "user" in rule:
        found = work.session.scalar(select(User.id).where(User.username == rule["user"]))
        return [found] if found is not None else []
    if "role" in rule:
        return list(
            work.session.scalars(
                select(UserRole.user_id)
                .join(Role, Role.id == UserRole.role_id)
                .where(Role.name == rule["role"])
                .order_by(UserRole.user_id)
            )
        )
    if "manager" in rule:
        if initiator_id is None:
            return []
        found = manager_of(work, initiator_id, int(rule["manager"]))
        return [found] if found is not None else []
    if "department_head" in rule:
        heads = work.session.scalars(
            select(Department.head_id)
            .where(Department.name == rule["department_head"], Department.head_id.is_not(None))
            .order_by(Department.id)
        )
        return [head for head in heads if head is not None]
    if "field" in rule:
        value = values.get(rule["field"])
        if value is None:
            return []
        people = value if isinstance(value, list) else [value]
        return [int(person) for person in people if person is not None]
    return []
