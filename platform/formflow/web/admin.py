"""Administration pages: people, departments, roles, and each form's permissions.

Admins only. A view parses its input, calls one service and renders (STYLE.md): the rules
live in ``people.service`` and ``permissions.service``, which the API and the CLI use too.
Every POST is one unit of work, so a refused change saves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..definitions.service import LoadedForm, get_form, list_forms
from ..definitions.spec import FieldSpec
from ..errors import FieldError, FormflowError, NotFound
from ..people import mfa
from ..people import service as people
from ..people.login import session_stamp
from ..people.models import Department, User
from ..permissions.models import Access, Action, Scope
from ..permissions.service import grants_of, replace_grants
from ..records.query import OPERATORS
from ..runtime import Work
from .i18n import error_text
from .session import admin_required, current_user, read, write

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Users shown on one list page; a search narrows it down.
USER_LIMIT = 200
#: Record columns a grant's conditions may test besides the form's own fields.
SYSTEM_CONDITION_FIELDS = ("_created_at", "_updated_at")
_WRITING = {Action.CREATE.value, Action.EDIT.value}
#: Ids are 32-bit integers in PostgreSQL: a larger one could only be forged.
MAX_ID = 2**31 - 1


# -- helpers ---------------------------------------------------------------------------------------


def _errors_by_path(errors: list[FieldError]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in errors:
        out.setdefault(error.field or "", []).append(error_text(error))
    return out


def _id(raw: str | None) -> int | None:
    """An optional id from a select; anything but digits is a forged request."""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
        abort(400)
    return int(raw)


def _ids(raw: list[str]) -> list[int]:
    return [i for i in (_id(value) for value in raw) if i is not None]


def _flatten(tree: dict[int | None, list[Department]]) -> list[tuple[Department, int]]:
    """The department tree in reading order, each with its depth."""
    out: list[tuple[Department, int]] = []
    stack: list[tuple[Department, int]] = [(d, 0) for d in reversed(tree.get(None, []))]
    while stack:
        department, depth = stack.pop()
        out.append((department, depth))
        stack += [(child, depth + 1) for child in reversed(tree.get(department.id, []))]
    return out


def _department_options(
    work: Work, leave_out: set[int] | frozenset[int] = frozenset()
) -> list[tuple[int, str]]:
    """(id, name indented by depth) for selects and checkbox lists."""
    return [
        (d.id, "\u2003" * depth + d.name)
        for d, depth in _flatten(people.department_tree(work))
        if d.id not in leave_out
    ]


def _head_choices(work: Work, current: int | None) -> list[tuple[int, str]]:
    """Active users to pick a department head from, plus the current head even when
    deactivated: saving the form must not drop them unasked."""
    return [
        (user.id, f"{user.display_name} ({user.username})")
        for user in people.find_users(work, limit=10_000)
        if user.is_active or user.id == current
    ]


# -- overview --------------------------------------------------------------------------------------


@bp.get("/")
@admin_required
def index() -> Any:
    with read() as work:
        forms = [
            {"app": app.title, "title": form.title, "name": f"{app.name}.{form.name}"}
            for app, form in list_forms(work)
        ]
    return render_template("admin/index.html", forms=forms)


# -- users -----------------------------------------------------------------------------------------


@bp.get("/users")
@admin_required
def users() -> Any:
    search = request.args.get("q", "").strip()[:200]
    with read() as work:
        found = people.find_users(work, search or None, USER_LIMIT + 1)
        shown = found[:USER_LIMIT]
        ids = [u.id for u in shown]
        names = {d.id: d.name for ds in people.department_tree(work).values() for d in ds}
        titles = {r.id: r.title for r in people.all_roles(work)}
        placed = people.departments_of_users(work, ids)
        granted = people.roles_of_users(work, ids)
    rows = [
        {
            "user": user,
            "departments": [names[d] for d in placed.get(user.id, [])],
            "roles": [titles[r] for r in granted.get(user.id, [])],
        }
        for user in shown
    ]
    return render_template(
        "admin/users.html", rows=rows, search=search, more=len(found) > USER_LIMIT
    )


def _posted_user() -> dict[str, Any]:
    form = request.form
    primary = _id(form.get("primary_department"))
    others = [d for d in _ids(form.getlist("departments")) if d != primary]
    return {
        "username": form.get("username", ""),
        "display_name": form.get("display_name", ""),
        "email": form.get("email", ""),
        "password": form.get("password", ""),
        "is_admin": form.get("is_admin") == "1",
        "is_active": form.get("is_active") == "1",
        "language": form.get("language", "zh-CN"),
        "departments": ([primary] if primary is not None else []) + others,
        "roles": _ids(form.getlist("roles")),
    }


def _render_user(user: User | None, values: dict[str, Any], errors: dict[str, list[str]]) -> str:
    with read() as work:
        departments = _department_options(work)
        roles = people.all_roles(work)
    me = current_user()
    return render_template(
        "admin/user.html",
        user=user,
        values=values,
        errors=errors,
        departments=departments,
        roles=roles,
        is_me=user is not None and me is not None and user.id == me.id,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user() -> Any:
    values: dict[str, Any] = {"language": "zh-CN", "departments": [], "roles": []}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = _posted_user()
        try:
            with write() as work:
                user = people.register_user(
                    work,
                    values["username"],
                    password=values["password"],
                    display_name=values["display_name"],
                    email=values["email"],
                    is_admin=values["is_admin"],
                    language=values["language"],
                    departments=values["departments"],
                    roles=values["roles"],
                )
        except FormflowError as error:
            errors, status = _errors_by_path(error.errors), error.status
        else:
            flash(_("Created the user %(name)s.", name=user.display_name))
            return redirect(url_for("admin.users"))
    return _render_user(None, values, errors), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int) -> Any:
    with read() as work:
        user = work.session.get(User, user_id)
        if user is None:
            abort(404)
        values: dict[str, Any] = {
            "username": user.username,
            "display_name": user.display_name,
            "email": user.email or "",
            "is_admin": user.is_admin,
            "is_active": user.is_active,
            "language": user.language,
            "departments": people.user_departments(work, user_id),
            "roles": people.roles_of(work, user_id),
        }
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = _posted_user()
        try:
            with write() as work:
                updated = people.update_user(
                    work,
                    user_id,
                    username=values["username"],
                    display_name=values["display_name"],
                    email=values["email"],
                    password=values["password"] or None,
                    is_admin=values["is_admin"],
                    is_active=values["is_active"],
                    language=values["language"],
                    departments=values["departments"],
                    roles=values["roles"],
                )
                stamp = session_stamp(updated)
        except NotFound:
            abort(404)
        except FormflowError as error:
            errors, status = _errors_by_path(error.errors), error.status
        else:
            me = current_user()
            if me is not None and me.id == user_id:
                session["stamp"] = stamp  # a new password of one's own keeps this session
            flash(_("Saved the user %(name)s.", name=updated.display_name))
            return redirect(url_for("admin.users"))
    return _render_user(user, values, errors), status


@bp.post("/users/<int:user_id>/mfa/reset")
@admin_required
def reset_mfa(user_id: int) -> Any:
    """Turn off someone's two-step sign-in, such as when their phone is lost."""
    try:
        with write() as work:
            mfa.reset(work, user_id)
    except NotFound:
        abort(404)
    flash(_("Two-step sign-in is off for this user."))
    return redirect(url_for("admin.edit_user", user_id=user_id))


# -- departments -----------------------------------------------------------------------------------


def _posted_department() -> dict[str, Any]:
    return {
        "name": request.form.get("name", ""),
        "parent": _id(request.form.get("parent")),
        "head": _id(request.form.get("head")),
    }


def _render_departments(
    values: dict[str, Any], errors: dict[str, list[str]], problems: Sequence[str] = ()
) -> str:
    with read() as work:
        tree = _flatten(people.department_tree(work))
        counts = people.department_member_counts(work)
        heads = people.display_names(work, {d.head_id for d, _depth in tree if d.head_id})
        options = _department_options(work)
        users = _head_choices(work, values["head"])
    rows = [
        {
            "department": d,
            "depth": depth,
            "head": heads.get(d.head_id) if d.head_id else None,
            "members": counts.get(d.id, 0),
        }
        for d, depth in tree
    ]
    return render_template(
        "admin/departments.html",
        rows=rows,
        values=values,
        errors=errors,
        problems=problems,
        departments=options,
        users=users,
    )


@bp.route("/departments", methods=["GET", "POST"])
@admin_required
def departments() -> Any:
    values: dict[str, Any] = {"name": "", "parent": None, "head": None}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = _posted_department()
        try:
            with write() as work:
                department = people.create_department(
                    work, values["name"], parent_id=values["parent"], head_id=values["head"]
                )
        except FormflowError as error:
            errors, status = _errors_by_path(error.errors), error.status
        else:
            flash(_("Created the department %(name)s.", name=department.name))
            return redirect(url_for("admin.departments"))
    return _render_departments(values, errors), status


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
@admin_required
def edit_department(department_id: int) -> Any:
    with read() as work:
        department = work.session.get(Department, department_id)
        if department is None:
            abort(404)
        values: dict[str, Any] = {
            "name": department.name,
            "parent": department.parent_id,
            "head": department.head_id,
        }
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = _posted_department()
        try:
            with write() as work:
                people.update_department(
                    work,
                    department_id,
                    name=values["name"],
                    parent_id=values["parent"],
                    head_id=values["head"],
                )
        except NotFound:
            abort(404)
        except FormflowError as error:
            errors, status = _errors_by_path(error.errors), error.status
        else:
            flash(_("Saved the department %(name)s.", name=values["name"].strip()))
            return redirect(url_for("admin.departments"))
    with read() as work:
        # Its own branch is no place to move a department to.
        below = people.departments_below(work, {department_id})
        options = _department_options(work, leave_out=below)
        users = _head_choices(work, values["head"])
    return render_template(
        "admin/department.html",
        department=department,
        values=values,
        errors=errors,
        departments=options,
        users=users,
    ), status


@bp.post("/departments/<int:department_id>/delete")
@admin_required
def delete_department(department_id: int) -> Any:
    try:
        with write() as work:
            department = work.session.get(Department, department_id)
            name = department.name if department is not None else ""
            people.delete_department(work, department_id)
    except NotFound:
        abort(404)
    except FormflowError as error:
        blank = {"name": "", "parent": None, "head": None}
        problems = [error_text(e) for e in error.errors]
        return _render_departments(blank, {}, problems), error.status
    flash(_("Deleted the department %(name)s.", name=name))
    return redirect(url_for("admin.departments"))


# -- roles -----------------------------------------------------------------------------------------


def _render_roles(values: dict[str, str], errors: dict[str, list[str]]) -> str:
    with read() as work:
        roles = people.all_roles(work)
        usage = people.role_usage(work)
    rows = [{"role": r, "members": usage[r.id][0], "grants": usage[r.id][1]} for r in roles]
    return render_template("admin/roles.html", rows=rows, values=values, errors=errors)


@bp.route("/roles", methods=["GET", "POST"])
@admin_required
def roles() -> Any:
    values = {"name": "", "title": ""}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {"name": request.form.get("name", ""), "title": request.form.get("title", "")}
        try:
            with write() as work:
                role = people.create_role(work, values["name"], values["title"])
        except FormflowError as error:
            errors, status = _errors_by_path(error.errors), error.status
        else:
            flash(_("Created the role %(title)s.", title=role.title))
            return redirect(url_for("admin.roles"))
    return _render_roles(values, errors), status


@bp.post("/roles/<int:role_id>/delete")
@admin_required
def delete_role(role_id: int) -> Any:
    try:
        with write() as work:
            people.delete_role(work, role_id)
    except NotFound:
        abort(404)
    flash(_("Deleted the role."))
    return redirect(url_for("admin.roles"))


# -- form permissions ------------------------------------------------------------------------------


def _form_or_404(work: Work, name: str) -> LoadedForm:
    try:
        return get_form(work, name)
    except NotFound:
        abort(404)


def _access_fields(loaded: LoadedForm) -> list[FieldSpec]:
    """The fields a grant sets access on: the form's top-level data fields."""
    return [f for f in loaded.spec.fields if f.stores]


def _default_access(actions: list[str]) -> str:
    """What an unlisted field gets (see ``permissions.policy.Grant.access``)."""
    return Access.EDIT.value if _WRITING & set(actions) else Access.READ.value


def _posted_grants(loaded: LoadedForm) -> list[dict[str, Any]]:
    """The grant cards, in page order. Blank condition rows are dropped; a field left at its
    default access stays unlisted, so it follows the grant's actions."""
    form = request.form
    fields = _access_fields(loaded)
    grants = []
    for card in form.getlist("grant"):
        if not card.isdigit():
            abort(400)
        at = f"g-{card}-"
        actions = form.getlist(at + "actions")
        default = _default_access(actions)
        conditions = []
        for field, op, value in zip(
            form.getlist(at + "cf"), form.getlist(at + "co"), form.getlist(at + "cv"), strict=False
        ):
            if not field and not value.strip():
                continue
            if op == "is_empty":
                value = value.strip() or "true"
            conditions.append({"field": field, "op": op, "value": value})
        levels = {f.key: form.get(f"{at}field-{f.key}", default) for f in fields}
        grants.append(
            {
                "name": form.get(at + "name", "").strip(),
                "role": form.get(at + "role") or None,
                "actions": actions,
                "scope": form.get(at + "scope", Scope.OWN.value),
                "conditions": conditions,
                "fields": {key: level for key, level in levels.items() if level != default},
            }
        )
    return grants


def _card(index: int | str, grant: dict[str, Any], fields: list[FieldSpec]) -> dict[str, Any]:
    """One grant as the page shows it: each field's access, and whether it is the default."""
    actions = list(grant.get("actions") or [])
    default = _default_access(actions)
    listed = grant.get("fields") or {}
    return {
        "index": index,
        "name": grant.get("name") or "",
        "role": grant.get("role"),
        "actions": actions,
        "scope": grant.get("scope") or Scope.OWN.value,
        "conditions": [
            {**c, "value": _shown(c.get("value"))} if isinstance(c, dict) else {}
            for c in grant.get("conditions") or []
        ],
        "levels": [(f, listed.get(f.key, default), f.key not in listed) for f in fields],
    }


def _shown(value: Any) -> str:
    """A condition's value as its input shows it (lists as ``a,b``, as the filters take)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_shown(v) for v in value)
    return str(value)


def _placed_errors(
    errors: dict[str, list[str]], cards: list[dict[str, Any]], fields: list[FieldSpec]
) -> tuple[list[str], list[list[str]]]:
    """Errors the page shows beside no input: for the whole page, and per card."""
    placed = set()
    for card in cards:
        at = f"grants[{card['index']}]"
        placed |= {f"{at}.{part}" for part in ("name", "role", "actions", "scope", "conditions")}
        placed |= {f"{at}.conditions[{j}]" for j in range(len(card["conditions"]))}
        placed |= {f"{at}.fields.{f.key}" for f in fields}
    general: list[str] = []
    per_card: list[list[str]] = [[] for _card in cards]
    for path, messages in errors.items():
        if path in placed:
            continue
        index = path[len("grants[") :].split("]", 1)[0] if path.startswith("grants[") else ""
        if index.isdigit() and int(index) < len(cards):
            per_card[int(index)] += messages
        else:
            general += messages
    return general, per_card


@bp.route("/forms/<form>/permissions", methods=["GET", "POST"])
@admin_required
def form_permissions(form: str) -> Any:
    grants: list[dict[str, Any]] | None = None
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            with write() as work:
                loaded = _form_or_404(work, form)
                grants = _posted_grants(loaded)
                replace_grants(work, loaded, grants)
        except FormflowError as error:
            errors, status = _errors_by_path(error.errors), error.status
        else:
            flash(_("Saved the permissions."))
            return redirect(url_for("admin.form_permissions", form=form))
    with read() as work:
        loaded = _form_or_404(work, form)
        if grants is None:
            grants = grants_of(work, loaded)
        roles = people.all_roles(work)
    fields = _access_fields(loaded)
    cards = [_card(i, g, fields) for i, g in enumerate(grants)]
    general, per_card = _placed_errors(errors, cards, fields)
    conditional = [f for f in loaded.spec.fields if f.stores and f.type.projection(f) is not None]
    return render_template(
        "admin/permissions.html",
        loaded=loaded,
        spec=loaded.spec,
        cards=cards,
        blank=_card("__g__", {"actions": [Action.VIEW.value]}, fields),
        errors=errors,
        general=general,
        per_card=per_card,
        roles=roles,
        fields=fields,
        conditional=conditional,
        system_fields=SYSTEM_CONDITION_FIELDS,
        actions=[a.value for a in Action],
        scopes=[s.value for s in Scope],
        operators=OPERATORS,
    ), status
