"""Users, departments, roles and memberships."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, literal, or_, select, union_all

from ..audit import security_event
from ..db import DriverStatement
from ..errors import Conflict, FieldError, FormflowError, NotFound, ValidationFailed
from ..runtime import Work
from . import notices
from .models import Department, Membership, Role, User, UserRole, UserSetting
from .passwords import password_problems

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
    if password is not None and (weak := password_problems(password)):
        raise ValidationFailed(weak)
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
    security_event("user.created", work=work, user=user.id, username=username, is_admin=is_admin)
    return user


def get_user(work: Work, username: str) -> User:
    user = work.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user


# -- roles and departments ---------------------------------------------------------------------


# Read for every request a person makes (their permissions): run on the driver.
_ROLES_OF = DriverStatement(
    select(UserRole.role_id).where(UserRole.user_id == bindparam("user_id"))
)
_DEPARTMENTS_OF = DriverStatement(
    select(Membership.department_id)
    .where(Membership.user_id == bindparam("user_id"))
    .order_by(Membership.is_primary.desc(), Membership.department_id)
)


_ROLES_AND_DEPARTMENTS = DriverStatement(
    union_all(
        select(
            literal("d").label("kind"),
            Membership.department_id.label("id"),
            Membership.is_primary.label("is_primary"),
        ).where(Membership.user_id == bindparam("user_id")),
        select(literal("r"), UserRole.role_id, literal(False)).where(
            UserRole.user_id == bindparam("user_id")
        ),
    )
)


def roles_and_departments(work: Work, user_id: int) -> tuple[list[int], list[int]]:
    """A user's roles and departments (primary first) in one query: what every permission
    check of theirs needs."""
    rows = work.run(_ROLES_AND_DEPARTMENTS, {"user_id": user_id}).fetchall()
    roles = sorted(row[1] for row in rows if row[0] == "r")
    departments = [
        row[1] for row in sorted((r for r in rows if r[0] == "d"), key=lambda r: (not r[2], r[1]))
    ]
    return roles, departments


def roles_of(work: Work, user_id: int) -> list[int]:
    return [row[0] for row in work.run(_ROLES_OF, {"user_id": user_id}).fetchall()]


def user_departments(work: Work, user_id: int) -> list[int]:
    """The departments a user belongs to, primary first."""
    return [row[0] for row in work.run(_DEPARTMENTS_OF, {"user_id": user_id}).fetchall()]


class DepartmentNode(NamedTuple):
    """A department as the tree is read: what permission checks, manager lookups and
    pickers need, without ORM objects."""

    id: int
    name: str
    parent_id: int | None
    head_id: int | None


#: Read for every permission check of a person with departments: run on the driver.
_DEPARTMENTS = DriverStatement(
    select(Department.id, Department.name, Department.parent_id, Department.head_id).order_by(
        Department.name, Department.id
    )
)


def department_tree(work: Work) -> dict[int | None, list[DepartmentNode]]:
    """Departments by parent id (None for the roots), ordered by name; once per work."""
    key = ("department_tree",)
    if key not in work.memo:
        tree: dict[int | None, list[DepartmentNode]] = {}
        for row in work.run(_DEPARTMENTS).fetchall():
            node = DepartmentNode._make(row)
            tree.setdefault(node.parent_id, []).append(node)
        work.memo[key] = tree
    return work.memo[key]


def departments_below(work: Work, roots: frozenset[int] | set[int]) -> set[int]:
    """``roots`` and every department under them."""
    if not roots:
        return set()
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
    before = sorted(
        work.session.scalars(select(UserRole.role_id).where(UserRole.user_id == user_id))
    )
    work.session.execute(delete(UserRole).where(UserRole.user_id == user_id))
    for role_id in wanted:
        work.session.add(UserRole(user_id=user_id, role_id=role_id))
    work.session.flush()
    if before != sorted(wanted):
        security_event(
            "roles.changed", work=work, user=user_id, before=before, after=sorted(wanted)
        )


#: The ``user_settings`` key noting that a password someone else set must be changed.
PASSWORD_CHANGE_DUE = "password.change_due"


def set_password(work: Work, user: User, password: str) -> None:
    """Give ``user`` a new password, if it is long enough and not a common one. A password
    someone else sets is to be changed at sign-in: the caller says so with
    :func:`require_password_change`."""
    if weak := password_problems(password):
        raise ValidationFailed(weak)
    user.password_hash = hash_password(password)
    due = work.session.get(UserSetting, (user.id, PASSWORD_CHANGE_DUE))
    if due is not None:
        work.session.delete(due)
    work.session.flush()
    security_event("password.changed", work=work, user=user.id)
    notices.sign_in_changed(work, user.id, notices.PASSWORD_CHANGED)


def require_password_change(work: Work, user_id: int) -> None:
    """Make ``user_id`` change their password when they next sign in, before anything else:
    an administrator chose it, so it is not theirs alone (ASVS 2.3.1)."""
    if not password_change_due(work, user_id):
        work.session.add(
            UserSetting(user_id=user_id, key=PASSWORD_CHANGE_DUE, value=work.now.isoformat())
        )
        work.session.flush()


def password_change_due(work: Work, user_id: int) -> bool:
    return setting(work, user_id, PASSWORD_CHANGE_DUE) is not None


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


# -- administration: the admin pages' user, role and department services ------------------------

LANGUAGES = ("zh-CN", "en")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _profile_problems(
    display_name: str | None, email: str | None, language: str
) -> list[FieldError]:
    problems = []
    if display_name and len(display_name) > 120:
        problems.append(
            FieldError(
                "display_name", "must be at most 120 characters", "maxLength", {"limit": 120}
            )
        )
    if email and (len(email) > 254 or not EMAIL.match(email)):
        problems.append(FieldError("email", "is not an email address", "format"))
    if language not in LANGUAGES:
        problems.append(FieldError("language", "must be one of: " + ", ".join(LANGUAGES), "enum"))
    return problems


def _placements(
    work: Work, user_id: int, departments: list[int], roles: list[int]
) -> list[FieldError]:
    """Set a user's departments and roles; their problems, instead of raising on the first."""
    problems: list[FieldError] = []
    for assign, ids in ((set_memberships, departments), (set_roles, roles)):
        try:
            assign(work, user_id, ids)
        except ValidationFailed as error:
            problems += error.errors
    return problems


def register_user(
    work: Work,
    username: str,
    *,
    password: str,
    display_name: str | None = None,
    email: str | None = None,
    is_admin: bool = False,
    language: str = "zh-CN",
    departments: Sequence[int] = (),
    roles: Sequence[int] = (),
) -> User:
    """A new user who can sign in, placed in ``departments`` (the first is the primary one)
    and ``roles``. Every problem is reported at once; on any, the caller's work rolls back."""
    display_name = (display_name or "").strip() or None
    email = (email or "").strip() or None
    weak = password_problems(password)
    problems = _profile_problems(display_name, email, language) + weak
    try:
        user = create_user(
            work,
            (username or "").strip(),
            display_name=display_name,
            email=email,
            password=None if weak else password,
            is_admin=is_admin,
            language=language if language in LANGUAGES else "zh-CN",
        )
    except FormflowError as error:
        raise type(error)(error.errors + problems) from None
    problems += _placements(work, user.id, list(departments), list(roles))
    if problems:
        raise ValidationFailed(problems)
    require_password_change(work, user.id)
    return user


def update_user(
    work: Work,
    user_id: int,
    *,
    username: str,
    display_name: str | None,
    email: str | None,
    is_admin: bool,
    is_active: bool,
    language: str,
    departments: Sequence[int],
    roles: Sequence[int],
    password: str | None = None,
) -> User:
    """Change a user's profile, access, departments and roles (and password when given).

    The acting admin cannot deactivate themselves or drop their own admin rights: someone
    must always be able to get back in."""
    user = work.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user #{user_id}")
    username = (username or "").strip()
    display_name = (display_name or "").strip() or None
    email = (email or "").strip() or None
    problems = _profile_problems(display_name, email, language)
    if username != user.username:
        if not USERNAME.match(username):
            problems.append(
                FieldError("username", "use 2-80 letters, digits, or . _ @ -", "pattern")
            )
        elif work.session.scalar(select(User.id).where(User.username == username)) is not None:
            problems.append(FieldError("username", f"'{username}' is taken", "unique"))
    if work.actor is not None and work.actor.id == user_id:
        if not is_admin:
            problems.append(
                FieldError("is_admin", "you cannot take away your own admin rights", "self")
            )
        if not is_active:
            problems.append(FieldError("is_active", "you cannot deactivate yourself", "self"))
    if password:
        try:
            set_password(work, user, password)
        except ValidationFailed as error:
            problems += error.errors
        else:
            if work.actor is None or work.actor.id != user_id:
                require_password_change(work, user_id)
    problems += _placements(work, user_id, list(departments), list(roles))
    if problems:
        raise ValidationFailed(problems)
    if (user.is_admin, user.is_active) != (is_admin, is_active):
        security_event(
            "access.changed", work=work, user=user_id, is_admin=is_admin, is_active=is_active
        )
    user.username, user.display_name, user.email = username, display_name or username, email
    user.is_admin, user.is_active, user.language = is_admin, is_active, language
    work.session.flush()
    return user


def find_users(work: Work, search: str | None = None, limit: int = 200) -> list[User]:
    """Users by username; ``search`` matches username, display name or email anywhere."""
    statement = select(User).order_by(User.username).limit(limit)
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(
            or_(
                User.username.ilike(pattern, escape="\\"),
                User.display_name.ilike(pattern, escape="\\"),
                User.email.ilike(pattern, escape="\\"),
            )
        )
    return list(work.session.scalars(statement))


def display_names(work: Work, user_ids: set[int] | None = None) -> dict[int, str]:
    """User id → display name (of ``user_ids``, or of every user)."""
    statement = select(User.id, User.display_name)
    if user_ids is not None:
        statement = statement.where(User.id.in_(sorted(user_ids) or [-1]))
    return {row.id: row.display_name for row in work.session.execute(statement)}


def departments_of_users(work: Work, user_ids: list[int]) -> dict[int, list[int]]:
    """Each user's departments, primary first (one query for a whole list)."""
    out: dict[int, list[int]] = {}
    for user_id, department_id in work.session.execute(
        select(Membership.user_id, Membership.department_id)
        .where(Membership.user_id.in_(user_ids or [-1]))
        .order_by(Membership.user_id, Membership.is_primary.desc(), Membership.department_id)
    ):
        out.setdefault(user_id, []).append(department_id)
    return out


def roles_of_users(work: Work, user_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for user_id, role_id in work.session.execute(
        select(UserRole.user_id, UserRole.role_id)
        .where(UserRole.user_id.in_(user_ids or [-1]))
        .order_by(UserRole.user_id, UserRole.role_id)
    ):
        out.setdefault(user_id, []).append(role_id)
    return out


def department_member_counts(work: Work) -> dict[int, int]:
    return dict(
        work.session.execute(
            select(Membership.department_id, func.count()).group_by(Membership.department_id)
        ).all()
    )


def all_roles(work: Work) -> list[Role]:
    return list(work.session.scalars(select(Role).order_by(Role.name)))


def role_usage(work: Work) -> dict[int, tuple[int, int]]:
    """Role id → (members, form grants): what deleting the role would take away."""
    from ..permissions.models import FormGrant

    members = dict(
        work.session.execute(
            select(UserRole.role_id, func.count()).group_by(UserRole.role_id)
        ).all()
    )
    grants = dict(
        work.session.execute(
            select(FormGrant.role_id, func.count())
            .where(FormGrant.role_id.is_not(None))
            .group_by(FormGrant.role_id)
        ).all()
    )
    return {
        role_id: (members.get(role_id, 0), grants.get(role_id, 0))
        for role_id in work.session.scalars(select(Role.id))
    }


def create_role(work: Work, name: str, title: str) -> Role:
    """A new role; unlike :func:`ensure_role`, an existing name is an error."""
    name = (name or "").strip()
    title = (title or "").strip()
    problems = []
    if not ROLE_NAME.match(name):
        problems.append(
            FieldError("name", "start with a lower-case letter; then a-z, 0-9 and _", "pattern")
        )
    if len(title) > 120:
        problems.append(
            FieldError("title", "must be at most 120 characters", "maxLength", {"limit": 120})
        )
    if problems:
        raise ValidationFailed(problems)
    if work.session.scalar(select(Role.id).where(Role.name == name)) is not None:
        raise Conflict([FieldError("name", f"'{name}' is taken", "unique")])
    return ensure_role(work, name, title)


def delete_role(work: Work, role_id: int) -> None:
    """Delete a role; its memberships and form grants go with it (ON DELETE CASCADE)."""
    role = work.session.get(Role, role_id)
    if role is None:
        raise NotFound(f"no role #{role_id}")
    work.session.delete(role)
    work.session.flush()
    work.memo.clear()
