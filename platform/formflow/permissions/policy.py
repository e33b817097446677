"""What one user may do with one form: the union of their grants, as SQL and as field sets.

A policy is computed once per unit of work from the user's roles and departments. Rows are
checked by the database — the same predicates filter a list and decide whether one record
may be read or changed — so a page, the API, an export and a search can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from sqlalchemy import false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from .. import jsoncodec
from ..definitions import attached
from ..definitions.service import LoadedForm
from ..definitions.spec import FieldSpec
from ..people.service import departments_below, roles_and_departments
from ..records.models import Record
from ..runtime import Work
from .models import Access, Action, FormGrant, Scope

_RANK = {Access.HIDDEN: 0, Access.READ: 1, Access.EDIT: 2}
_WRITING = frozenset({Action.CREATE.value, Action.EDIT.value})


@dataclass(frozen=True)
class Grant:
    id: int | None
    actions: frozenset[str]
    scope: str
    conditions: tuple[dict[str, Any], ...]
    fields: Mapping[str, str]

    def access(self, f: FieldSpec) -> Access:
        """This grant's access to a field (a subform's sub-fields follow the subform)."""
        top = f.parent or f
        given = self.fields.get(top.id)
        if given is not None:
            return Access(given)
        return Access.EDIT if self.actions & _WRITING else Access.READ


class Person(NamedTuple):
    """The facts about the acting user that permissions depend on."""

    id: int
    admin: bool
    roles: frozenset[int]
    departments: frozenset[int]
    #: The user's departments and every department below them.
    subtree: frozenset[int]


@dataclass
class FormPolicy:
    loaded: LoadedForm
    person: Person | None
    grants: list[Grant] = field(default_factory=list)

    @property
    def unrestricted(self) -> bool:
        """Administrators and the system itself (jobs, the CLI) may do everything."""
        return self.person is None or self.person.admin

    def allows(self, action: Action) -> bool:
        return self.unrestricted or any(action in g.actions for g in self.grants)

    def granting(self, action: Action) -> list[Grant]:
        return [g for g in self.grants if action in g.actions]

    # -- rows ------------------------------------------------------------------------------

    def grant_clause(self, grant: Grant, dialect: str) -> ColumnElement[bool]:
        from ..records.query import Filter, filter_clause

        assert self.person is not None
        person = self.person
        if grant.scope == Scope.OWN:
            clause: ColumnElement[bool] = or_(
                Record.owner_id == person.id, Record.created_by == person.id
            )
        elif grant.scope == Scope.DEPARTMENT:
            clause = Record.department_id.in_(sorted(person.departments) or [-1])
        elif grant.scope == Scope.SUBTREE:
            clause = Record.department_id.in_(sorted(person.subtree) or [-1])
        else:
            clause = true()
        spec = self.loaded.spec
        for condition in grant.conditions:
            item = Filter(condition["field"], condition["op"], condition.get("value"))
            clause = clause & filter_clause(spec, item, dialect)
        return clause

    def rows(self, action: Action, dialect: str) -> ColumnElement[bool] | None:
        """The rows ``action`` may touch as a SQL condition; None when every row."""
        if self.unrestricted:
            return None
        grants = self.granting(action)
        if not grants:
            return false()
        if any(g.scope == Scope.ALL and not g.conditions for g in grants):
            return None
        return or_(*(self.grant_clause(g, dialect) for g in grants))

    def covering(
        self, work: Work, action: Action, record_ids: Iterable[int]
    ) -> dict[int, list[Grant]]:
        """For each record, the grants of ``action`` that reach it (one query for all)."""
        ids = sorted(set(record_ids))
        if not ids:
            return {}
        if self.unrestricted:
            return {i: [] for i in ids}
        grants = self.granting(action)
        if not grants:
            return {}
        columns = [self.grant_clause(g, work.dialect).label(f"g{i}") for i, g in enumerate(grants)]
        statement = select(Record.id, *columns).where(Record.id.in_(ids))
        out: dict[int, list[Grant]] = {}
        for row in work.connection.execute(statement):
            reached = [g for g, hit in zip(grants, row[1:], strict=True) if hit]
            if reached:
                out[row[0]] = reached
        return out

    # -- fields ----------------------------------------------------------------------------

    def access(self, grants: Iterable[Grant]) -> dict[str, Access]:
        """Field key → the most generous access any of ``grants`` gives (all when
        unrestricted). Subform sub-fields are keyed ``subform.sub``."""
        out: dict[str, Access] = {}
        grants = list(grants)
        for f in self.loaded.spec.walk():
            if self.unrestricted:
                level = Access.EDIT
            else:
                level = max(
                    (g.access(f) for g in grants), key=_RANK.__getitem__, default=Access.HIDDEN
                )
            out[f.path] = level
        return out

    def hidden(self, grants: Iterable[Grant]) -> set[str]:
        return {k for k, v in self.access(grants).items() if v == Access.HIDDEN}

    def hidden_anywhere(self) -> set[str]:
        """Fields some view grant hides: never filterable, sortable or searchable by this
        user, or filters would reveal them row by row."""
        if self.unrestricted:
            return set()
        out: set[str] = set()
        for grant in self.granting(Action.VIEW):
            out |= self.hidden([grant])
        return out


def person_of(work: Work) -> Person | None:
    """The acting user's roles and departments (None for the system), once per work."""
    actor = work.actor
    if actor is None:
        return None
    actor_id = work.actor_id
    key = ("person", actor_id)
    person = work.memo.get(key)
    if person is None:
        roles, ordered = roles_and_departments(work, actor_id)
        departments = frozenset(ordered)
        person = work.memo[key] = Person(
            actor_id,
            bool(actor.is_admin),
            frozenset(roles),
            departments,
            frozenset(departments_below(work, departments)) if departments else departments,
        )
        # What the record service asks of the actor (active, primary department), known now.
        work.memo.setdefault(
            ("user", actor_id), (bool(actor.is_active), ordered[0] if ordered else None)
        )
    return person


#: A form's grants, wanted for every request on it: read once per change of the form's
#: setup (a user's roles are matched in Python; a form has a handful of grants).
_GRANTS_OF_FORM = attached.statement(
    FormGrant.__table__,
    None,
    FormGrant.id,
    FormGrant.role_id,
    FormGrant.actions,
    FormGrant.scope,
    FormGrant.conditions,
    FormGrant.fields,
)


def _json(value: Any) -> Any:
    """A JSON column as the driver gives it: text on SQLite, decoded on PostgreSQL."""
    return jsoncodec.loads(value) if isinstance(value, str | bytes) else value


def _grants(rows: list[tuple[Any, ...]]) -> tuple[tuple[int | None, Grant], ...]:
    """(role id, grant) of every grant row, shared read-only by every request."""
    return tuple(
        (
            role_id,
            Grant(
                grant_id,
                frozenset(_json(actions)),
                scope,
                tuple(_json(conditions) or ()),
                MappingProxyType(dict(_json(fields) or {})),
            ),
        )
        for grant_id, role_id, actions, scope, conditions, fields in rows
    )


def policy_for(work: Work, loaded: LoadedForm) -> FormPolicy:
    """The acting user's policy on a form (memoised for the unit of work)."""
    key = ("policy", loaded.form.id, loaded.form.current_version)
    if key in work.memo:
        return work.memo[key]
    person = person_of(work)
    policy = FormPolicy(loaded, person)
    if person is not None and not person.admin:
        policy.grants = [
            grant
            for role_id, grant in attached.read(work, loaded, "grants", _GRANTS_OF_FORM, _grants)
            if role_id is None or role_id in person.roles
        ]
    work.memo[key] = policy
    return policy


def usable_forms(work: Work) -> list[LoadedForm]:
    """Every published form the acting user may view or add records to."""
    from ..definitions.service import get_form_by_id, list_forms

    out = []
    for _app, form in list_forms(work):
        if form.current_version == 0:
            continue
        loaded = get_form_by_id(work, form.id)
        policy = policy_for(work, loaded)
        if policy.allows(Action.VIEW) or policy.allows(Action.CREATE):
            out.append(loaded)
    return out
