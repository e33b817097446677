"""The REST API fuzzed from its own OpenAPI document with schemathesis: every operation of
the engine and of the sales plugin, called in-process (WSGI) as an administrator and as a
rep (a non-admin with the ``sales_rep`` role and the plugin's grants), must never answer 5xx
and must answer only documented status codes with bodies that match their schemas.

Bounded by default (a few examples per operation and person, derandomized, so a run is
repeatable and takes well under two minutes on two cores). ``FORMFLOW_FUZZ_EXAMPLES=N``
runs ``N`` examples per operation and person instead, with a random seed each run:

    FORMFLOW_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/platform/fuzz -p no:cacheprovider
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks

from formflow import Config, Runtime, create_app
from formflow.api.openapi import build_document
from formflow.definitions.service import ensure_app, get_form, publish
from formflow.people import service as people
from formflow.records import service as records
from sales_performance.kpi import plans
from tests.conftest import EVERYONE_OWN, Clock, EnglishClient, grant
from tests.platform.definitions_samples import QUOTE
from tests.plugins.sales_performance.world import APP, build

QUOTE_DATA = {"customer": "ACME", "lines": [{"product": "A", "unit_price": 1, "quantity": 2}]}

#: Examples per operation and person; the environment variable makes a long run.
LONG = os.environ.get("FORMFLOW_FUZZ_EXAMPLES")
EXAMPLES = int(LONG) if LONG else 6
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not LONG,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(build_document())

#: Values of path parameters that name things that exist in the world below, so that the
#: fuzzer reaches past "no such form" into the handlers (filled in by the ``world`` fixture).
KNOWN: dict[str, list[Any]] = {}


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    if not path_parameters:
        return st.just(path_parameters)
    known = {
        name: st.sampled_from(KNOWN[name]) if KNOWN.get(name) else st.just(value)
        for name, value in path_parameters.items()
    }
    return st.one_of(st.just(path_parameters), st.fixed_dictionaries(known))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Any]:
    """The sales plugin installed in a small company (see its ``world``), a plain engine
    form with a record, and the admin's and a rep's tokens; one per module, on SQLite."""
    from tests.conftest import make_person

    base = tmp_path_factory.mktemp("fuzz")
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
    for form in ("payment", "kpi_appeal", "kpi_manual_score"):
        grant(runtime, f"{APP}.{form}", EVERYONE_OWN)
    grant(runtime, "demo.quote", EVERYONE_OWN)
    customer = sales.customer("Acme")
    quotation = sales.quote(("Router", "900", 2), customer=customer)
    with runtime.write(sales.user("rita")) as work:
        mine = records.create(work, get_form(work, "demo.quote"), QUOTE_DATA).id
    KNOWN.update(
        form=[f"{APP}.customer", f"{APP}.quotation", "demo.quote"],
        record_id=[customer, quotation, mine],
        name=[f"{APP}.quotation_approval", f"{APP}.sales_overview", f"{APP}.price_quotation"],
        member=["rita"],
    )
    app = create_app(runtime=runtime)
    app.test_client_class = EnglishClient
    yield {"app": app, "admin": admin, "rep": sales.people["rita"], "runtime": runtime}
    runtime.close()


@pytest.fixture(params=["admin", "rep"])
def person(request: pytest.FixtureRequest, world: dict[str, Any]) -> Any:
    return world[request.param]


@schema.parametrize()
@FUZZ
def test_api_answers_as_documented(case: Any, world: dict[str, Any], person: Any) -> None:
    case.call_and_validate(app=world["app"], headers=person.headers, checks=CHECKS)
