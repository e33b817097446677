"""A small organisation for permission tests: two regions, a sub-team, reps and managers."""

from __future__ import annotations

from dataclasses import dataclass

from formflow.people import service as people
from tests.conftest import Person, make_person

DEAL = {
    "title": "Deal",
    "type": "object",
    "properties": {
        "name": {"x-field": "text", "type": "string", "x-index": True},
        "amount": {"x-field": "money", "type": "number"},
        "margin": {"x-field": "percent", "type": "number"},
        "stage": {"x-field": "select", "type": "string", "enum": ["open", "won", "lost"]},
        "owner": {"x-field": "member", "type": "integer"},
        "photo": {"x-field": "image", "type": "array"},
    },
    "x-form": {"owner_field": "owner"},
}


@dataclass
class Org:
    admin: Person
    rep_a: Person  # North
    rep_b: Person  # South
    rep_c: Person  # North-East, a sub-team of North
    manager: Person  # heads North
    outsider: Person  # no role, no department
    north: int
    north_east: int
    south: int


def build(runtime, admin: Person) -> Org:
    rep_a = make_person(runtime, "rep_a")
    rep_b = make_person(runtime, "rep_b")
    rep_c = make_person(runtime, "rep_c")
    manager = make_person(runtime, "manager_n")
    outsider = make_person(runtime, "outsider")
    with runtime.write() as work:
        north = people.create_department(work, "North", head_id=manager.id)
        north_east = people.create_department(work, "North-East", parent_id=north.id)
        south = people.create_department(work, "South")
        rep_role = people.ensure_role(work, "sales_rep", "Sales rep")
        manager_role = people.ensure_role(work, "sales_manager", "Sales manager")
        for person, department in (
            (rep_a, north),
            (rep_b, south),
            (rep_c, north_east),
            (manager, north),
        ):
            people.set_memberships(work, person.id, [department.id])
        for person in (rep_a, rep_b, rep_c):
            people.set_roles(work, person.id, [rep_role.id])
        people.set_roles(work, manager.id, [manager_role.id, rep_role.id])
    return Org(admin, rep_a, rep_b, rep_c, manager, outsider, north.id, north_east.id, south.id)


REP_GRANTS = [
    {
        "name": "reps: their own deals",
        "role": "sales_rep",
        "actions": ["view", "create", "edit"],
        "scope": "own",
        "fields": {"margin": "hidden", "owner": "read"},
    },
    {
        "name": "managers: the team's deals",
        "role": "sales_manager",
        "actions": ["view", "edit", "delete", "export"],
        "scope": "subtree",
    },
]
