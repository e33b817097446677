"""Reading and replacing a form's grants (the admin's permission editor and the API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from ..audit import security_event
from ..definitions.service import LoadedForm
from ..errors import BadRequest, FieldError, ValidationFailed
from ..people.models import Role
from ..runtime import Work
from .models import Access, Action, FormGrant, Scope

ACTIONS = [a.value for a in Action]
SCOPES = [s.value for s in Scope]
ACCESS = [a.value for a in Access]


def grants_of(work: Work, loaded: LoadedForm) -> list[dict[str, Any]]:
    """The form's grants as editable data, fields by key."""
    roles = {r.id: r.name for r in work.session.scalars(select(Role))}
    by_id = loaded.spec.by_id
    out = []
    for grant in work.session.scalars(
        select(FormGrant).where(FormGrant.form_id == loaded.form.id).order_by(FormGrant.id)
    ):
        out.append(
            {
                "name": grant.name,
                "role": roles.get(grant.role_id) if grant.role_id else None,
                "actions": list(grant.actions),
                "scope": grant.scope,
                "conditions": list(grant.conditions or []),
                "fields": {
                    (by_id[k].key if k in by_id else k): v for k, v in (grant.fields or {}).items()
                },
            }
        )
    return out


def replace_grants(work: Work, loaded: LoadedForm, grants: Any) -> list[FormGrant]:
    """Replace every grant of the form; all are checked first and nothing changes on error."""
    from ..records.query import Filter, filter_clause

    if not isinstance(grants, list):
        raise BadRequest([FieldError("grants", "must be a list", "type")])
    roles = {r.name: r.id for r in work.session.scalars(select(Role))}
    spec = loaded.spec
    errors: list[FieldError] = []
    rows = []
    for i, grant in enumerate(grants):
        at = f"grants[{i}]"
        if not isinstance(grant, dict):
            errors.append(FieldError(at, "must be an object", "type"))
            continue
        unknown = set(grant) - {"name", "role", "actions", "scope", "conditions", "fields"}
        if unknown:
            errors.append(
                FieldError(f"{at}.{sorted(unknown)[0]}", "is not a grant setting", "unknown")
            )
        role = grant.get("role")
        if role is not None and role not in roles:
            errors.append(FieldError(f"{at}.role", f"no role named '{role}'", "reference"))
        actions = grant.get("actions", [])
        if not isinstance(actions, list) or not actions or any(a not in ACTIONS for a in actions):
            errors.append(
                FieldError(f"{at}.actions", "must list some of: " + ", ".join(ACTIONS), "enum")
            )
            actions = []
        scope = grant.get("scope", Scope.OWN.value)
        if scope not in SCOPES:
            errors.append(FieldError(f"{at}.scope", "must be one of: " + ", ".join(SCOPES), "enum"))
        conditions = grant.get("conditions", [])
        if not isinstance(conditions, list):
            errors.append(FieldError(f"{at}.conditions", "must be a list of filters", "type"))
            conditions = []
        for j, condition in enumerate(conditions):
            where = f"{at}.conditions[{j}]"
            if not isinstance(condition, dict) or not {"field", "op"} <= set(condition):
                errors.append(FieldError(where, "must be {field, op, value}", "filter"))
                continue
            try:
                filter_clause(
                    spec,
                    Filter(condition["field"], condition["op"], condition.get("value")),
                    work.dialect,
                )
            except BadRequest as error:
                errors += [FieldError(where, e.message, e.code) for e in error.errors]
        fields = grant.get("fields", {})
        stored_fields: dict[str, str] = {}
        if not isinstance(fields, dict):
            errors.append(
                FieldError(f"{at}.fields", "must map field keys to hidden/read/edit", "type")
            )
            fields = {}
        for key, level in fields.items():
            f = spec.by_key.get(key)
            if f is None:
                errors.append(
                    FieldError(f"{at}.fields.{key}", "is not a field of this form", "unknown")
                )
            elif level not in ACCESS:
                errors.append(
                    FieldError(f"{at}.fields.{key}", "must be hidden, read or edit", "enum")
                )
            else:
                stored_fields[f.id] = level
        rows.append(
            FormGrant(
                form_id=loaded.form.id,
                role_id=roles.get(role) if role else None,
                name=str(grant.get("name", ""))[:120],
                actions=[a for a in ACTIONS if a in actions],
                scope=scope,
                conditions=conditions,
                fields=stored_fields,
                created_at=work.now,
                updated_at=work.now,
            )
        )
    if errors:
        raise ValidationFailed(errors)
    work.session.execute(delete(FormGrant).where(FormGrant.form_id == loaded.form.id))
    work.session.add_all(rows)
    work.session.flush()
    work.memo.clear()
    role_names = {role_id: name for name, role_id in roles.items()}
    security_event(
        "permissions.changed",
        work=work,
        form=loaded.name,
        grants=[
            {
                "role": role_names.get(row.role_id) if row.role_id else None,
                "actions": row.actions,
                "scope": row.scope,
                "fields": row.fields,
            }
            for row in rows
        ],
    )
    return rows
