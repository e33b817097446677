"""The sales plugin installed as `formflow install-app` installs it, in a small company.

Company (head: victor, role ``sales_vp``) ⊃ Sales (head: director dora) ⊃ East team (head:
manager max) ∋ reps rita and ron; fay has the role ``finance``. Products: a router (list
1,000, minimum 800) and a licence (list 10,000, minimum 9,000).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from formflow.apps.files import install
from formflow.automations import files as automation_files
from formflow.automations import service as automations
from formflow.automations.models import AutomationRun
from formflow.definitions.service import get_form
from formflow.flows import actions
from formflow.flows.models import FlowInstance, FlowTask
from formflow.notifications.models import Notification
from formflow.people import service as people
from formflow.records import service as records
from tests.conftest import EVERYONE_OWN, Person, grant, make_person
from tests.platform.automations.world import drain

APP = "sales_performance"
EVERYONE_VIEWS = {"actions": ["view"], "scope": "all"}


def install_plugin(runtime: Any) -> None:
    from formflow.dashboards import files as dashboard_files
    from formflow.flows import files as flow_files

    [bundle] = [b for b in runtime.plugins.apps() if b.name == APP]
    with runtime.write() as work:
        install(work, bundle.name, bundle.title, bundle.schemas, plugin=bundle.plugin)
        flow_files.install(work, bundle.name, bundle.workflows)
        automation_files.install(work, bundle.name, bundle.workflows)
        runtime.plugins.hook.formflow_app_installed(work=work, app=bundle.name)  # roles first
        dashboard_files.install(work, bundle.name, bundle.dashboards)


@dataclass
class Sales:
    runtime: Any
    people: dict[str, Person]
    products: dict[str, int]

    def user(self, name: str) -> Any:
        with self.runtime.read() as work:
            user = people.get_user(work, name)
            work.session.expunge(user)
            return user

    def create(self, form: str, as_: str = "rita", **data: Any) -> int:
        with self.runtime.write(self.user(as_)) as work:
            return records.create(work, get_form(work, f"{APP}.{form}"), data).id

    def values(self, form: str, record_id: int) -> dict[str, Any]:
        with self.runtime.read() as work:
            loaded = get_form(work, f"{APP}.{form}")
            return dict(records.values_of(loaded, records.get(work, record_id)))

    def customer(self, name: str = "Acme", **data: Any) -> int:
        return self.create("customer", name=name, **data)

    def quote(self, *lines: tuple[str, str, int], discount: str = "0", **data: Any) -> int:
        """A quotation of (product, unit price, quantity) lines, priced and sent for
        approval by the plugin's automation."""
        customer = data.pop("customer", None) or self.customer(f"Customer {len(lines)}{discount}")
        record = self.create(
            "quotation",
            customer=customer,
            lines=[
                {"product": self.products[p], "unit_price": price, "quantity": quantity}
                for p, price, quantity in lines
            ],
            overall_discount=discount,
            **data,
        )
        drain(self.runtime)
        return record

    def instance(self, record_id: int) -> FlowInstance | None:
        with self.runtime.read() as work:
            found = work.session.scalars(
                select(FlowInstance)
                .where(FlowInstance.record_id == record_id)
                .order_by(FlowInstance.id.desc())
            ).first()
            if found is not None:
                work.session.expunge(found)
            return found

    def pending(self, record_id: int) -> list[tuple[str, str]]:
        """(step, username) of the quotation's pending approvals."""
        instance = self.instance(record_id)
        assert instance is not None, f"quotation #{record_id} was not sent for approval"
        names = {p.id: n for n, p in self.people.items()}
        with self.runtime.read() as work:
            rows = work.session.execute(
                select(FlowTask.node_id, FlowTask.assignee_id)
                .where(FlowTask.instance_id == instance.id, FlowTask.state == "pending")
                .order_by(FlowTask.id)
            ).all()
        return [(node, names[assignee]) for node, assignee in rows]

    def act(self, username: str, record_id: int, action: str = "approve", **kwargs: Any) -> None:
        instance = self.instance(record_id)
        with self.runtime.read() as work:
            task = work.session.scalar(
                select(FlowTask.id).where(
                    FlowTask.instance_id == instance.id,
                    FlowTask.assignee_id == self.people[username].id,
                    FlowTask.state == "pending",
                )
            )
        assert task is not None, f"{username} has no pending approval of #{record_id}"
        with self.runtime.write(self.user(username)) as work:
            actions.act(work, task, action, **kwargs)
        drain(self.runtime)

    def approvers_until_done(self, record_id: int) -> list[list[str]]:
        """Approve every pending step in turn; who was asked at each step."""
        asked = []
        for _ in range(10):
            waiting = self.pending(record_id)
            if not waiting:
                return asked
            asked.append(sorted(name for _, name in waiting))
            for _, name in waiting:
                self.act(name, record_id)
        raise AssertionError("the approval never ended")

    def inbox(self, name: str) -> list[tuple[str, str | None]]:
        with self.runtime.read() as work:
            rows = work.session.execute(
                select(Notification.title, Notification.body)
                .where(Notification.user_id == self.people[name].id)
                .order_by(Notification.id)
            ).all()
        return [tuple(row) for row in rows]

    def runs(self, automation: str) -> list[AutomationRun]:
        with self.runtime.read() as work:
            found = automations.get_automation(work, f"{APP}.{automation}")
            rows = work.session.scalars(
                select(AutomationRun)
                .where(AutomationRun.automation_id == found.id)
                .order_by(AutomationRun.id)
            ).all()
            for row in rows:
                work.session.expunge(row)
            return list(rows)


def build(runtime: Any, admin: Person) -> Sales:
    install_plugin(runtime)
    everyone = {"admin": admin}
    for name in ("victor", "dora", "max", "rita", "ron", "fay"):
        everyone[name] = make_person(runtime, name)
    with runtime.write() as work:
        company = people.create_department(work, "Company", head_id=everyone["victor"].id)
        sales = people.create_department(
            work, "Sales", parent_id=company.id, head_id=everyone["dora"].id
        )
        east = people.create_department(
            work, "East team", parent_id=sales.id, head_id=everyone["max"].id
        )
        for name in ("rita", "ron", "max"):
            people.set_memberships(work, everyone[name].id, [east.id])
        people.set_memberships(work, everyone["dora"].id, [sales.id])
        people.set_memberships(work, everyone["victor"].id, [company.id])
        vp = people.ensure_role(work, "sales_vp", "Sales VP")
        finance = people.ensure_role(work, "finance", "Finance")
        people.set_roles(work, everyone["victor"].id, [vp.id])
        people.set_roles(work, everyone["fay"].id, [finance.id])
        product = get_form(work, f"{APP}.product")
        made = {}
        for name, code, line, price, minimum in (
            ("Router", "R-1", "hardware", "1000", "800"),
            ("Licence", "L-1", "software", "10000", "9000"),
        ):
            made[name] = records.create(
                work,
                product,
                {
                    "name": name,
                    "code": code,
                    "product_line": line,
                    "list_price": price,
                    "min_price": minimum,
                },
            ).id
    for form in ("customer", "follow_up", "quotation", "opportunity", "contract", "contact"):
        grant(runtime, f"{APP}.{form}", EVERYONE_OWN)
    grant(runtime, f"{APP}.product", EVERYONE_VIEWS)
    return Sales(runtime, everyone, made)
