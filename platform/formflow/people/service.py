"""Users, departments, roles and memberships."""

from __future__ import annotations

import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from ..errors import Conflict, FieldError, NotFound, ValidationFailed
from ..runtime import Work
from .models import Department, Membership, Role, User, UserRole, UserSetting

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,80}$")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Argon2id: a slow, salted hash."""
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    work: Work,
    username: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    password: str | None = None,
    is_admin: bool = False,
    language: str = "zh-CN",
) -> User:
    if not USERNAME.match(username or ""):
        raise ValidationFailed(
            [FieldError("username", "use 2-80 letters, digits, or . _ @ -", "pattern")]
        )
    if password is not None and len(password) < 8:
        raise ValidationFailed(
            [FieldError("password", "must be at least 8 characters", "minLength")]
        )
    if work.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict([FieldError("username", f"'{username}' is taken", "unique")])
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password) if password else None,
        is_admin=is_admin,
        language=language,
        created_at=work.now,
    )
    work.session.add(user)
    work.session.flush()
    return user


def get_user(work: Work, username: str) -> User:
    user = work.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user


# -- roles and departments ---------------------------------------------------------------------


def roles_of(work: Work, user_id: int) -> list[int]:
    return list(work.session.scalars(select(UserRole.role_id).where(UserRole.user_id == user_id)))


def user_departments(work: Work, user_id: int) -> list[int]:
    """The departments a user belongs to, primary first."""
    return list(
        work.session.scalars(
            select(Membership.department_id)
            .where(Membership.user_id == user_id)
            .order_by(Membership.is_primary.desc(), Membership.department_id)
        )
    )


def department_tree(work: Work) -> dict[int | None, list[Department]]:
    """Departments by parent id (None for the roots), ordered by name; once per work."""
    key = ("department_tree",)
    if key not in work.memo:
        tree: dict[int | None, list[Department]] = {}
        for department in work.session.scalars(select(Department).order_by(Department.name)):
            tree.setdefault(department.parent_id, []).append(department)
        work.memo[key] = tree
    return work.memo[key]


def departments_below(work: Work, roots: frozenset[int] | set[int]) -> set[int]:
    """``roots`` and every department under them."""
    tree = department_tree(work)
    found: set[int] = set()
    stack = list(roots)
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack += [child.id for child in tree.get(current, ())]
    return found


def manager_of(work: Work, user_id: int, levels: int = 1) -> int | None:
    """The user's manager: the head of their primary department, or, when they head it
    themselves, the head of the department above (n levels up with ``levels``)."""
    departments = user_departments(work, user_id)
    if not departments:
        return None
    by_id = {d.id: d for ds in department_tree(work).values() for d in ds}
    current: int | None = departments[0]
    person = user_id
    manager = None
    for _ in range(levels):
        manager = None
        while current is not None:
            department = by_id[current]
            if department.head_id is not None and department.head_id != person:
                manager = department.head_id
                break
            current = department.parent_id
        if manager is None:
            return None
        person = manager
    return manager


def create_department(
    work: Work, name: str, *, parent_id: int | None = None, head_id: int | None = None
) -> Department:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed(
            [FieldError("name", "give a name of at most 120 characters", "name")]
        )
    if parent_id is not None and work.session.get(Department, parent_id) is None:
        raise ValidationFailed([FieldError("parent", f"no department #{parent_id}", "reference")])
    if head_id is not None and work.session.get(User, head_id) is None:
        raise ValidationFailed([FieldError("head", f"no user #{head_id}", "reference")])
    department = Department(name=name, parent_id=parent_id, head_id=head_id, created_at=work.now)
    work.session.add(department)
    work.session.flush()
    work.memo.pop(("department_tree",), None)
    return department


def update_department(
    work: Work, department_id: int, *, name: str, parent_id: int | None, head_id: int | None
) -> Department:
    department = work.session.get(Department, department_id)
    if department is None:
        raise NotFound(f"no department #{department_id}")
    if parent_id is not None:
        if work.session.get(Department, parent_id) is None:
            raise ValidationFailed(
                [FieldError("parent", f"no department #{parent_id}", "reference")]
            )
        if parent_id in departments_below(work, {department_id}):
            raise ValidationFailed(
                [
                    FieldError(
                        "parent", "a department cannot sit under itself or its children", "cycle"
                    )
                ]
            )
    if head_id is not None and work.session.get(User, head_id) is None:
        raise ValidationFailed([FieldError("head", f"no user #{head_id}", "reference")])
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed(
            [FieldError("name", "give a name of at most 120 characters", "name")]
        )
    department.name, department.parent_id, department.head_id = name, parent_id, head_id
    work.session.flush()
    work.memo.pop(("department_tree",), None)
    return department


def delete_department(work: Work, department_id: int) -> None:
    department = work.session.get(Department, department_id)
    if department is None:
        raise NotFound(f"no department #{department_id}")
    if work.session.scalar(
        select(Department.id).where(Department.parent_id == department_id).limit(1)
    ):
        raise Conflict([FieldError(None, "move or delete its sub-departments first", "in_use")])
    if work.session.scalar(
        select(Membership.user_id).where(Membership.department_id == department_id).limit(1)
    ):
        raise Conflict([FieldError(None, "move its members to another department first", "in_use")])
    work.session.delete(department)
    work.session.flush()
    work.memo.pop(("department_tree",), None)


def set_memberships(work: Work, user_id: int, department_ids: list[int]) -> None:
    """The user's departments; the first is their primary one."""
    ordered = list(dict.fromkeys(department_ids))
    known = set(
        work.session.scalars(select(Department.id).where(Department.id.in_(ordered or [-1])))
    )
    missing = [d for d in ordered if d not in known]
    if missing:
        raise ValidationFailed(
            [FieldError("departments", f"no department #{missing[0]}", "reference")]
        )
    work.session.execute(delete(Membership).where(Membership.user_id == user_id))
    for index, department_id in enumerate(ordered):
        work.session.add(
            Membership(user_id=user_id, department_id=department_id, is_primary=index == 0)
        )
    work.session.flush()


def ensure_role(work: Work, name: str, title: str) -> Role:
    role = work.session.scalar(select(Role).where(Role.name == name))
    if role is None:
        if not re.match(r"^[a-z][a-z0-9_]{0,63}$", name or ""):
            raise ValidationFailed(
                [FieldError("name", "lower-case letters, digits and _", "pattern")]
            )
        role = Role(name=name, title=title.strip() or name, created_at=work.now)
        work.session.add(role)
        work.session.flush()
    return role


def set_roles(work: Work, user_id: int, role_ids: list[int]) -> None:
    wanted = list(dict.fromkeys(role_ids))
    known = set(work.session.scalars(select(Role.id).where(Role.id.in_(wanted or [-1]))))
    missing = [r for r in wanted if r not in known]
    if missing:
        raise ValidationFailed([FieldError("roles", f"no role #{missing[0]}", "reference")])
    work.session.execute(delete(UserRole).where(UserRole.user_id == user_id))
    for role_id in wanted:
        work.session.add(UserRole(user_id=user_id, role_id=role_id))
    work.session.flush()


def set_password(work: Work, user: User, password: str) -> None:
    if len(password or "") < 8:
        raise ValidationFailed(
            [FieldError("password", "must be at least 8 characters", "minLength")]
        )
    if len(password) > 200:
        raise ValidationFailed(
            [FieldError("password", "must be at most 200 characters", "maxLength")]
        )
    user.password_hash = hash_password(password)
    work.session.flush()


def setting(work: Work, user_id: int, key: str, default: Any = None) -> Any:
    row = work.session.get(UserSetting, (user_id, key))
    return default if row is None else row.value


def remember(work: Work, user_id: int, key: str, value: Any) -> None:
    row = work.session.get(UserSetting, (user_id, key))
    if row is None:
        work.session.add(UserSetting(user_id=user_id, key=key, value=value))
    else:
        row.value = value
    work.session.flush()
