"""The world the fuzz tests attack: the sales plugin installed in a small company (see
``tests/plugins/sales_performance/world.py``), reps with the ``sales_rep`` role and the
plugin's grants, a plain engine form with a record; one per test module, on SQLite."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formflow import Config, Runtime, create_app
from formflow.definitions.service import ensure_app, get_form, publish
from formflow.people import service as people
from formflow.records import service as records
from sales_performance.kpi import plans
from tests.conftest import EVERYONE_OWN, Clock, EnglishClient, Person, grant, make_person
from tests.platform.definitions_samples import QUOTE
from tests.plugins.sales_performance.world import APP, Sales, build

QUOTE_DATA = {"customer": "ACME", "lines": [{"product": "A", "unit_price": 1, "quantity": 2}]}
PASSWORD = "fuzz-password-1"


@dataclass
class World:
    runtime: Runtime
    app: Any
    sales: Sales
    admin: Person
    rep: Person
    #: Path parameter values naming things that exist, so a fuzzer gets past "not found".
    known: dict[str, list[Any]]
    _browsers: dict[str, Any] = field(default_factory=dict)

    def signed_in(self, username: str = "admin") -> Any:
        """A browser signed in as ``username`` (once: sign-ins are rate limited)."""
        if username not in self._browsers:
            client = self.app.test_client()
            page = client.get("/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            data = {"username": username, "password": PASSWORD}
            if token:
                data["csrf_token"] = token.group(1)
            answer = client.post("/login", data=data)
            assert answer.status_code == 302, answer.status_code
            self._browsers[username] = client
        return self._browsers[username]


def make_world(base: Path, sqlite_template: Path) -> World:
    shutil.copy(sqlite_template, base / "formflow.db")
    config = Config(
        instance_path=base / "instance",
        database_url=f"sqlite:///{base / 'formflow.db'}",
        testing=True,
        max_upload_bytes=2 * 1024 * 1024,
    )
    runtime = Runtime(config, clock=Clock())
    admin = make_person(runtime, "admin", admin=True)
    sales = build(runtime, admin)
    with runtime.write() as work:
        rep_role = people.ensure_role(work, "sales_rep", "Sales rep")
        manager = people.ensure_role(work, "sales_manager", "Sales manager")
        for name in ("rita", "ron"):
            people.set_roles(work, sales.people[name].id, [rep_role.id])
        people.set_roles(work, sales.people["max"].id, [manager.id])
        plans.ensure_defaults(work)
        ensure_app(work, "demo", "Demo")
        publish(work, "demo.quote", QUOTE)
        people.set_password(work, people.get_user(work, "admin"), PASSWORD)
    for form in ("payment", "kpi_appeal", "kpi_manual_score"):
        grant(runtime, f"{APP}.{form}", EVERYONE_OWN)
    grant(runtime, "demo.quote", EVERYONE_OWN)
    customer = sales.customer("Acme")
    quotation = sales.quote(("Router", "900", 2), customer=customer)
    with runtime.write(sales.user("rita")) as work:
        mine = records.create(work, get_form(work, "demo.quote"), QUOTE_DATA).id
    known = {
        "form": [f"{APP}.customer", f"{APP}.quotation", "demo.quote"],
        "record_id": [customer, quotation, mine],
        "name": [f"{APP}.quote_approval", f"{APP}.overview", f"{APP}.price_quotation"],
        "chart_id": ["signed", "collected"],
        "member": [sales.people["rita"].id],
    }
    app = create_app(runtime=runtime)
    app.test_client_class = EnglishClient
    return World(runtime, app, sales, admin, sales.people["rita"], known)
