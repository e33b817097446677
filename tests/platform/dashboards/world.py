"""A small sales team and its deals, for the dashboard tests.

Company ⊃ East (head: mia; reps ann, bob) and West (rep cat). Everyone may view their own
deals; mia, as East's head, every deal of East and below. 40 deals spread over stages,
regions, months and reps with amounts that need exact cents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from formflow.definitions import service as definitions
from formflow.people import service as people
from formflow.records import service as records
from tests.conftest import Person, grant, make_person

FORM = "shop.deal"
STAGES = ["lead", "qualified", "proposal", "won", "lost"]
DEAL: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "商机",
    "x-label": {"zh-CN": "商机", "en": "Deal"},
    "type": "object",
    "properties": {
        "title": {"x-field": "text", "type": "string", "title": "Title", "maxLength": 100},
        "stage": {
            "x-field": "select",
            "type": "string",
            "title": "Stage",
            "enum": STAGES,
            "x-options": [
                {"value": "lead", "label": {"en": "Lead", "zh-CN": "线索"}},
                {"value": "qualified", "label": {"en": "Qualified", "zh-CN": "已确认"}},
                {"value": "proposal", "label": {"en": "Proposal", "zh-CN": "方案"}},
                {"value": "won", "label": {"en": "Won", "zh-CN": "赢单"}},
                {"value": "lost", "label": {"en": "Lost", "zh-CN": "输单"}},
            ],
        },
        "region": {
            "x-field": "select",
            "type": "string",
            "title": "Region",
            "enum": ["north", "south"],
        },
        "amount": {"x-field": "money", "type": "number", "title": "Amount", "minimum": 0},
        "closed_on": {"x-field": "date", "type": "string", "format": "date", "title": "Close"},
        "secret": {"x-field": "text", "type": "string", "title": "Secret"},
    },
    "required": ["title", "stage"],
}


@dataclass
class Team:
    runtime: Any
    people: dict[str, Person]
    departments: dict[str, int]

    def user(self, name: str) -> Any:
        with self.runtime.read() as work:
            user = people.get_user(work, name)
            work.session.expunge(user)
            return user

    def deals(self) -> list[dict[str, Any]]:
        """Every live deal as stored values plus its owner and department."""
        with self.runtime.read() as work:
            loaded = definitions.get_form(work, FORM)
            out = []
            from sqlalchemy import select

            from formflow.records.models import Record

            for record in work.session.scalars(
                select(Record).where(Record.form_id == loaded.form.id, Record.deleted_at.is_(None))
            ):
                values = dict(records.values_of(loaded, record))
                values["_owner"] = record.owner_id
                values["_department"] = record.department_id
                values["_created_at"] = record.created_at
                out.append(values)
            return out


def build(runtime: Any, clock: Any) -> Team:
    with runtime.write() as work:
        definitions.ensure_app(work, "shop", "Shop")
        definitions.publish(work, FORM, DEAL)
        company = people.create_department(work, "Company").id
        east = people.create_department(work, "East", parent_id=company).id
        west = people.create_department(work, "West", parent_id=company).id
    team = {name: make_person(runtime, name) for name in ("mia", "ann", "bob", "cat")}
    team["admin"] = make_person(runtime, "boss", admin=True)
    with runtime.write() as work:
        people.set_memberships(work, team["mia"].id, [east])
        people.set_memberships(work, team["ann"].id, [east])
        people.set_memberships(work, team["bob"].id, [east])
        people.set_memberships(work, team["cat"].id, [west])
        people.update_department(work, east, name="East", parent_id=company, head_id=team["mia"].id)
        role = people.ensure_role(work, "manager", "Manager")
        people.set_roles(work, team["mia"].id, [role.id])
    grant(
        runtime,
        FORM,
        {"actions": ["view", "create", "edit"], "scope": "own", "fields": {}},
        {"actions": ["view"], "scope": "subtree", "role": "manager", "fields": {}},
    )
    t = Team(runtime, team, {"company": company, "east": east, "west": west})
    owners = ["ann", "bob", "cat", "ann", "mia"]
    start = clock.now
    for i in range(40):
        clock.now = start + dt.timedelta(days=(i * 7) % 120, hours=i)
        owner = owners[i % len(owners)]
        data: dict[str, Any] = {
            "title": f"Deal {i}",
            "stage": STAGES[i % 5],
            "amount": str(Decimal(1000 + i * 137) + Decimal(i % 7) / 100),
        }
        if i % 3:
            data["region"] = "north" if i % 2 else "south"
        if i % 4 != 3:
            data["closed_on"] = (dt.date(2026, 1, 5) + dt.timedelta(days=i * 9)).isoformat()
        with runtime.write(t.user(owner)) as work:
            records.create(work, definitions.get_form(work, FORM), data)
    clock.now = start + dt.timedelta(days=130)
    return t
