"""A small CRM for automations: customers and their follow-up tasks.

People: admin, rep rita (Chinese), manager max (English); role ``sales_manager``: max.
Workers are played in-process: :func:`drain` sweeps what is due and delivers it, as a
worker would, until nothing due is left.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from formflow.automations import service as automations
from formflow.automations.models import AutomationRun
from formflow.definitions.service import ensure_app, get_form, publish
from formflow.notifications.models import Notification
from formflow.people import service as people
from formflow.records import service as records
from formflow.reminders.delivery import deliver_with
from formflow.reminders.models import Reminder
from formflow.reminders.sweep import sweep
from tests.conftest import Person, make_person

CUSTOMER: dict[str, Any] = {
    "title": "Customer",
    "type": "object",
    "properties": {
        "name": {"x-field": "text", "type": "string", "maxLength": 100, "title": "Name"},
        "grade": {"x-field": "text", "type": "string", "maxLength": 5, "title": "Grade"},
        "potential": {"x-field": "money", "type": "number", "minimum": 0, "title": "Potential"},
        "visits": {"x-field": "number", "type": "number", "title": "Visits"},
        "owner": {"x-field": "member", "type": "integer", "title": "Owner"},
        "next_visit": {"x-field": "datetime", "type": "string", "title": "Next visit"},
        "renewal": {"x-field": "date", "type": "string", "title": "Renewal"},
    },
    "required": ["name"],
}
TASK: dict[str, Any] = {
    "title": "Task",
    "type": "object",
    "properties": {
        "title": {"x-field": "text", "type": "string", "maxLength": 200, "title": "Title"},
        "customer": {"x-field": "text", "type": "string", "maxLength": 100, "title": "Customer"},
        "done": {"x-field": "boolean", "type": "boolean", "title": "Done"},
    },
    "required": ["title"],
}


def automation(**overrides: Any) -> dict[str, Any]:
    """A notify-on-create automation, changed by ``overrides``."""
    base: dict[str, Any] = {
        "name": "crm.welcome",
        "title": {"zh-CN": "新客户提醒", "en": "New customer"},
        "trigger": {"type": "record_created", "form": "crm.customer"},
        "actions": [
            {
                "type": "notify",
                "to": [{"field": "owner"}, {"role": "sales_manager"}],
                "title": {"zh-CN": "新客户：{{ name }}", "en": "New customer: {{ name }}"},
                "body": {"zh-CN": "潜力 {{ potential }}", "en": "Potential {{ potential }}"},
            }
        ],
    }
    base.update(overrides)
    return base


@dataclass
class World:
    runtime: Any
    people: dict[str, Person]

    def user(self, name: str) -> Any:
        with self.runtime.read() as work:
            user = people.get_user(work, name)
            work.session.expunge(user)
            return user

    def publish(self, definition: dict[str, Any], as_: str | None = "admin") -> None:
        with self.runtime.write(self.user(as_) if as_ else None) as work:
            automations.publish(work, copy.deepcopy(definition))

    def customer(self, as_: str = "rita", **values: Any) -> int:
        data = {"name": "Acme", "potential": "50000", "owner": self.people["rita"].id, **values}
        with self.runtime.write(self.user(as_)) as work:
            return records.create(work, get_form(work, "crm.customer"), data).id

    def change(self, record_id: int, as_: str = "rita", form: str = "crm.customer", **values):
        with self.runtime.write(self.user(as_)) as work:
            records.update_record(work, get_form(work, form), record_id, values, revision=None)

    def delete(self, record_id: int, as_: str = "admin", form: str = "crm.customer") -> None:
        with self.runtime.write(self.user(as_)) as work:
            records.delete(work, get_form(work, form), record_id)

    def values(self, record_id: int, form: str = "crm.customer") -> dict[str, Any]:
        with self.runtime.read() as work:
            loaded = get_form(work, form)
            return dict(records.values_of(loaded, records.get(work, record_id)))

    def records(self, form: str) -> list[dict[str, Any]]:
        with self.runtime.read() as work:
            loaded = get_form(work, form)
            from formflow.records.models import Record

            rows = work.session.scalars(
                select(Record).where(Record.form_id == loaded.form.id).order_by(Record.id)
            ).all()
            return [dict(records.values_of(loaded, r)) for r in rows]

    def runs(self, name: str = "crm.welcome") -> list[AutomationRun]:
        with self.runtime.read() as work:
            found = automations.get_automation(work, name)
            rows = work.session.scalars(
                select(AutomationRun)
                .where(AutomationRun.automation_id == found.id)
                .order_by(AutomationRun.id)
            ).all()
            for row in rows:
                work.session.expunge(row)
            return list(rows)

    def inbox(self, name: str) -> list[tuple[str, str | None]]:
        with self.runtime.read() as work:
            rows = work.session.execute(
                select(Notification.title, Notification.body)
                .where(Notification.user_id == self.people[name].id)
                .order_by(Notification.id)
            ).all()
            return [tuple(r) for r in rows]

    def reminders(self, prefix: str) -> list[Reminder]:
        with self.runtime.read() as work:
            rows = work.session.scalars(
                select(Reminder).where(Reminder.key.startswith(prefix)).order_by(Reminder.id)
            ).all()
            for row in rows:
                work.session.expunge(row)
            return list(rows)


def drain(runtime: Any, rounds: int = 50) -> int:
    """Deliver everything due, as workers would, until nothing due is left; how many."""
    delivered = 0
    for _ in range(rounds):
        claimed = sweep(runtime, limit=10_000)
        if not claimed:
            return delivered
        for reminder_id in claimed:
            # A failure is recorded on the reminder (and its run): retried later or failed.
            with contextlib.suppress(Exception):
                deliver_with(runtime, reminder_id)
            delivered += 1
    raise AssertionError("reminders keep coming: a loop nobody stopped")


def build(runtime: Any, admin: Person) -> World:
    everyone = {"admin": admin}
    for name in ("rita", "max"):
        everyone[name] = make_person(runtime, name)
    with runtime.write() as work:
        ensure_app(work, "crm", "CRM")
        publish(work, "crm.customer", copy.deepcopy(CUSTOMER))
        publish(work, "crm.task", copy.deepcopy(TASK))
        manager = people.ensure_role(work, "sales_manager", "Sales manager")
        people.set_roles(work, everyone["max"].id, [manager.id])
        people.get_user(work, "max").language = "en"
        people.get_user(work, "rita").language = "zh-CN"
    from tests.conftest import EVERYONE_OWN, grant

    grant(runtime, "crm.customer", EVERYONE_OWN)
    return World(runtime, everyone)
