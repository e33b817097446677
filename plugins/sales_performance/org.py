"""The sales organisation as targets, scorecards and statements see it: who belongs to a
department (and the departments under it), who holds a role, and whose numbers a viewer
may see.

A viewer sees everybody when they are an admin or hold one of the company-wide roles
(sales VP, finance, HR); a department head sees the people of the departments they head and
every department below; everybody sees themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from formflow.people import service as people
from formflow.people.models import Department, Membership, Role, User, UserRole
from formflow.runtime import Work

#: Roles that see every number of the sales organisation.
COMPANY_WIDE = frozenset({"sales_vp", "finance", "hr"})


@dataclass(frozen=True)
class Scope:
    """Whose numbers a viewer may see: everybody, or these people and departments."""

    everyone: bool
    members: frozenset[int]
    departments: frozenset[int]

    def sees_member(self, user_id: int | None) -> bool:
        return self.everyone or (user_id is not None and user_id in self.members)

    def sees_department(self, department_id: int | None) -> bool:
        return self.everyone or (department_id is not None and department_id in self.departments)


def members_of(work: Work, department_id: int | None, *, below: bool = True) -> set[int]:
    """The active users of a department (and, with ``below``, of every department under
    it); every active user for None (the company)."""
    statement = select(User.id).where(User.is_active.is_(True))
    if department_id is not None:
        departments = people.departments_below(work, {department_id}) if below else {department_id}
        statement = (
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.department_id.in_(departments), User.is_active.is_(True))
        )
    return set(work.session.scalars(statement))


def holders_of(work: Work, role: str) -> list[int]:
    """The active users holding a role (by the role's name), by id."""
    return list(
        work.session.scalars(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(Role.name == role, User.is_active.is_(True))
            .order_by(User.id)
        )
    )


def role_names(work: Work, user_id: int) -> set[str]:
    return set(
        work.session.scalars(
            select(Role.name)
            .join(UserRole, UserRole.role_id == Role.id)
            .where(UserRole.user_id == user_id)
        )
    )


def headed_by(work: Work, user_id: int) -> set[int]:
    """The departments a user heads, and every department below them."""
    roots = set(work.session.scalars(select(Department.id).where(Department.head_id == user_id)))
    return people.departments_below(work, roots)


def team_of(work: Work, person: int) -> set[int]:
    """The members of the departments ``person`` heads and every department below them
    (themselves included when they are a member); empty for someone heading nothing."""
    departments = headed_by(work, person)
    if not departments:
        return set()
    return set(
        work.session.scalars(
            select(Membership.user_id).where(Membership.department_id.in_(departments))
        )
    )


def scope_of(work: Work, user: User | None = None) -> Scope:
    """What the acting user (or ``user``) may see; system work (no actor) sees everything."""
    user = user if user is not None else work.actor
    key = ("sales_scope", user.id if user is not None else None)
    if key in work.memo:
        return work.memo[key]
    if user is None or user.is_admin or role_names(work, user.id) & COMPANY_WIDE:
        found = Scope(True, frozenset(), frozenset())
    else:
        departments = headed_by(work, user.id)
        members = {user.id} | team_of(work, user.id)
        found = Scope(False, frozenset(members), frozenset(departments))
    work.memo[key] = found
    return found


def may_manage(work: Work, department_id: int | None, member_id: int | None) -> bool:
    """Whether the acting user may set targets for a department or person: admins, and the
    heads of the department (or of a department above it / of the person's department)."""
    user = work.actor
    if user is None or user.is_admin:
        return True
    departments = headed_by(work, user.id)
    if department_id is not None and department_id in departments:
        return True
    if member_id is not None and member_id != user.id:
        return bool(set(people.user_departments(work, member_id)) & departments)
    return False
