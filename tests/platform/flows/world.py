"""A small sales organisation with a quotation form and its discount approval flow.

Company (head: director dora) ⊃ Sales (head: manager max) ∋ reps rita and ron;
role ``director``: dora and dan; role ``finance``: fay.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from formflow.definitions.service import ensure_app, get_form, publish
from formflow.flows import actions
from formflow.flows import service as flows
from formflow.flows.models import FlowEvent, FlowInstance, FlowTask
from formflow.people import service as people
from formflow.records import service as records
from tests.conftest import EVERYONE_OWN, Person, grant, make_person

QUOTE: dict[str, Any] = {
    "title": "Quotation",
    "type": "object",
    "properties": {
        "title": {"x-field": "text", "type": "string", "maxLength": 100, "title": "Title"},
        "amount": {"x-field": "money", "type": "number", "minimum": 0, "title": "Amount"},
        "discount": {
            "x-field": "percent",
            "type": "number",
            "minimum": 0,
            "maximum": 0.5,
            "title": "Discount",
        },
        "status": {"x-field": "text", "type": "string", "maxLength": 20, "title": "Status"},
        "reviewer": {"x-field": "member", "type": "integer", "title": "Reviewer"},
    },
    "required": ["title"],
}

#: Two levels: the rep's manager (who may adjust the discount), then, for a discount over
#: 10 %, both directors (countersign); approved quotes are stamped and finance is copied.
FLOW: dict[str, Any] = {
    "name": "sales.quote_discount",
    "title": "Quotation discount approval",
    "form": "sales.quote",
    "trigger": "submit",
    "nodes": [
        {"id": "start", "type": "start", "next": "manager"},
        {
            "id": "manager",
            "type": "approval",
            "title": "Manager",
            "approvers": [{"manager": 1}],
            "mode": "any",
            "fields": {"discount": "editable", "amount": "readonly"},
            "timeout": {"remind_after": "PT4H", "auto_after": "P3D", "auto_action": "approve"},
            "next": "route",
        },
        {
            "id": "route",
            "type": "branch",
            "branches": [{"when": "discount > 0.1", "next": "directors"}],
            "else": "stamp",
        },
        {
            "id": "directors",
            "type": "approval",
            "approvers": [{"role": "director"}],
            "mode": "all",
            "next": "stamp",
        },
        {"id": "stamp", "type": "action", "set": {"status": '"approved"'}, "next": "finance"},
        {"id": "finance", "type": "cc", "to": [{"role": "finance"}], "next": "approved"},
        {"id": "approved", "type": "end", "result": "approved"},
        {"id": "rejected", "type": "end", "result": "rejected"},
    ],
}


@dataclass
class World:
    runtime: Any
    people: dict[str, Person]

    def user(self, name: str) -> Any:
        with self.runtime.read() as work:
            user = people.get_user(work, name)
            work.session.expunge(user)
            return user

    def submit(self, name: str = "rita", **values: Any) -> int:
        """A record submitted by ``name``; its id."""
        data = {"title": "Door locks", "amount": "10000", "discount": "0.05", **values}
        with self.runtime.write(self.user(name)) as work:
            return records.create(work, get_form(work, "sales.quote"), data).id

    def instance(self, record_id: int) -> FlowInstance:
        with self.runtime.read() as work:
            found = work.session.scalars(
                select(FlowInstance)
                .where(FlowInstance.record_id == record_id)
                .order_by(FlowInstance.id.desc())
            ).first()
            work.session.expunge(found)
            return found

    def tasks(self, record_id: int, state: str | None = "pending") -> list[tuple[str, str]]:
        """(node, username) of the record's tasks in ``state``."""
        instance = self.instance(record_id)
        with self.runtime.read() as work:
            rows = work.session.scalars(
                select(FlowTask).where(FlowTask.instance_id == instance.id).order_by(FlowTask.id)
            ).all()
            names = people.display_names(work)
            by_id = {p.id: n for n, p in self.people.items()}
            return [
                (t.node_id, by_id.get(t.assignee_id, names.get(t.assignee_id)))
                for t in rows
                if state is None or t.state == state
            ]

    def task_of(self, record_id: int, username: str) -> int:
        instance = self.instance(record_id)
        with self.runtime.read() as work:
            return work.session.scalar(
                select(FlowTask.id).where(
                    FlowTask.instance_id == instance.id,
                    FlowTask.assignee_id == self.people[username].id,
                    FlowTask.state == "pending",
                )
            )

    def act(self, username: str, record_id: int, action: str = "approve", **kwargs: Any):
        task = self.task_of(record_id, username)
        assert task is not None, f"{username} has no pending task on #{record_id}"
        with self.runtime.write(self.user(username)) as work:
            return actions.act(work, task, action, **kwargs).state

    def history(self, record_id: int) -> list[tuple[str, str | None]]:
        instance = self.instance(record_id)
        with self.runtime.read() as work:
            rows = work.session.scalars(
                select(FlowEvent).where(FlowEvent.instance_id == instance.id).order_by(FlowEvent.id)
            ).all()
            return [(e.action, e.node_id) for e in rows]

    def values(self, record_id: int) -> dict[str, Any]:
        with self.runtime.read() as work:
            loaded = get_form(work, "sales.quote")
            return dict(records.values_of(loaded, records.get(work, record_id)))

    def publish_flow(self, definition: dict[str, Any] | None = None) -> None:
        with self.runtime.write() as work:
            flows.publish(work, copy.deepcopy(definition or FLOW))


def build(runtime: Any, admin: Person) -> World:
    everyone = {"admin": admin}
    for name in ("rita", "ron", "max", "dora", "dan", "fay"):
        everyone[name] = make_person(runtime, name)
    with runtime.write() as work:
        ensure_app(work, "sales", "Sales")
        publish(work, "sales.quote", copy.deepcopy(QUOTE))
        company = people.create_department(work, "Company", head_id=everyone["dora"].id)
        sales = people.create_department(
            work, "Sales", parent_id=company.id, head_id=everyone["max"].id
        )
        for name in ("rita", "ron", "max"):
            people.set_memberships(work, everyone[name].id, [sales.id])
        people.set_memberships(work, everyone["dora"].id, [company.id])
        director = people.ensure_role(work, "director", "Director")
        finance = people.ensure_role(work, "finance", "Finance")
        for name in ("dora", "dan"):
            people.set_roles(work, everyone[name].id, [director.id])
        people.set_roles(work, everyone["fay"].id, [finance.id])
    grant(runtime, "sales.quote", EVERYONE_OWN)
    world = World(runtime, everyone)
    world.publish_flow()
    return world
