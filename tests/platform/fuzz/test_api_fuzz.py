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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks

from formflow.api.openapi import build_document
from tests.conftest import Person
from tests.platform.fuzz.world import World, make_world

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
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[World]:
    made = make_world(tmp_path_factory.mktemp("fuzz"), sqlite_template)
    KNOWN.update(made.known)
    yield made
    made.runtime.close()


@pytest.fixture(params=["admin", "rep"])
def person(request: pytest.FixtureRequest, world: World) -> Person:
    return getattr(world, request.param)


@schema.parametrize()
@FUZZ
def test_api_answers_as_documented(case: Any, world: World, person: Person) -> None:
    case.call_and_validate(app=world.app, headers=person.headers, checks=CHECKS)
