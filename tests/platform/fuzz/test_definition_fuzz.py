"""Definition import fuzzed: the shipped forms, flows, automations and dashboards of the
sales plugin, mutated (keys dropped, values of the wrong type, huge values, unknown keys,
parts swapped) or replaced by random JSON, are published through the engine's publish
functions. Each one is either

- refused with a ValidationFailed whose every problem names its path, and
  the database is exactly as it was, or
- accepted, and then usable: a form reads back, renders its entry page and validates a
  record; a flow's and an automation's definition load; a dashboard computes its data.

Bounded by default (derandomized, a few dozen examples a kind); ``FORMFLOW_FUZZ_EXAMPLES=N``
runs ``N`` examples a kind with a random seed instead.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formflow import jsoncodec
from formflow.automations import service as automations
from formflow.dashboards import service as dashboards
from formflow.definitions import service as definitions
from formflow.errors import ValidationFailed
from formflow.flows import service as flows
from tests.conftest import Api, snapshot
from tests.platform.fuzz.world import World, make_world
from tests.plugins.sales_performance.world import APP

ROOT = Path(__file__).resolve().parents[3]
LONG = os.environ.get("FORMFLOW_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(LONG) if LONG else 25,
    derandomize=not LONG,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _shipped(folder: str, keep: Callable[[Any], bool] = lambda _: True) -> list[tuple[str, Any]]:
    out = []
    for path in sorted((ROOT / folder / APP).glob("*.json")):
        document = jsoncodec.loads(path.read_text(encoding="utf-8"))
        if keep(document):
            out.append((path.stem, document))
    return out


FORMS = _shipped("schemas")
FLOWS = _shipped("workflows", lambda d: isinstance(d, dict) and "nodes" in d)
AUTOMATIONS = _shipped("workflows", lambda d: isinstance(d, dict) and "trigger" in d)
DASHBOARDS = _shipped("dashboards")

# -- mutations -------------------------------------------------------------------------------

HUGE: list[Any] = [
    "x" * 100_000,
    Decimal("1e1000"),
    Decimal("-1e-1000"),
    Decimal("1" + "0" * 30),  # a whole number past 64 bits, as JSON reading gives it
    2**63 - 1,
    -(2**63),
    [0] * 5_000,
    {f"k{i}": i for i in range(2_000)},
    ["x" * 1_000] * 200,
]
ODD: list[Any] = [None, True, False, 0, -1, Decimal("0.5"), "", "x", "销售"]
ODD += [[], {}, [None], {"": 1}]


def _nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


ODD.append(_nest(400))
UNKNOWN_KEYS = ["unknown", "x-unknown", "$ref", "__proto__", "", "type", "x-formula", "x-id"]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _mutate(document: Any, kind: str, path: tuple[Any, ...], new: Any, key: str) -> Any:
    """``document`` with one change at ``path``."""
    if not path:
        return new if kind in ("retype", "huge", "swap") else document
    document = copy.deepcopy(document)
    parent = _get(document, path[:-1])
    last = path[-1]
    if kind == "drop":
        del parent[last]
    elif kind == "unknown" and isinstance(parent[last], dict):
        parent[last][key] = new
    elif kind == "unknown" and isinstance(parent[last], list):
        parent[last].append(new)
    else:
        parent[last] = new
    return document


@st.composite
def mutated(draw: st.DrawFn, shipped: list[tuple[str, Any]]) -> tuple[str, Any]:
    stem, document = draw(st.sampled_from(shipped))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(document))
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["drop", "retype", "huge", "unknown", "swap"]))
        if kind == "swap":
            new = copy.deepcopy(_get(document, draw(st.sampled_from(paths))))
        elif kind == "huge":
            new = draw(st.sampled_from(HUGE))
        else:
            new = draw(st.one_of(st.sampled_from(ODD), json_values))
        document = _mutate(document, kind, path, new, draw(st.sampled_from(UNKNOWN_KEYS)))
    return stem, document


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.decimals(allow_nan=False, allow_infinity=False, places=4),
        st.text(max_size=20),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def documents(shipped: list[tuple[str, Any]]) -> st.SearchStrategy[tuple[str, Any]]:
    """Mostly mutated shipped definitions, sometimes any JSON at all."""
    return st.one_of(
        mutated(shipped),
        mutated(shipped),
        mutated(shipped),
        st.tuples(st.sampled_from([stem for stem, _ in shipped]), json_values),
    )


# -- the property ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[World]:
    made = make_world(tmp_path_factory.mktemp("fuzz-definitions"), sqlite_template)
    yield made
    made.runtime.close()


def refused_or_usable(
    world: World, publish: Callable[[Any], Any], check_usable: Callable[[], None]
) -> str:
    """Publish as the admin; a refusal names paths and changes nothing, an acceptance is
    followed by ``check_usable``. Which one it was."""
    before = snapshot(world.runtime)
    try:
        with world.runtime.write(world.sales.user("admin")) as work:
            publish(work)
    except ValidationFailed as refusal:
        assert refusal.errors
        for error in refusal.errors:
            # A JSON pointer (forms, flows, automations) or a dotted path (dashboards);
            # "" is the whole document.
            assert isinstance(error.field, str), error
            assert error.message
        assert snapshot(world.runtime) == before, "a refused import changed the database"
        return "refused"
    check_usable()
    return "accepted"


def _ok(answer: Any) -> None:
    assert answer.status_code < 500, (answer.status_code, answer.get_data(as_text=True)[:500])


@FUZZ
@given(document=documents(FORMS))
def test_a_form_definition_is_refused_naming_paths_or_works(world, document):
    stem, definition = document
    name = f"{APP}.{stem}"
    api = Api(world.app.test_client(), world.admin)

    def usable() -> None:
        with world.runtime.read() as work:
            definitions.get_form(work, name)
        read = api.get(f"/forms/{name}")
        assert read.status_code == 200, read.body
        _ok(api.post(f"/forms/{name}/records", {"data": {}}))
        _ok(world.signed_in().get(f"/f/{name}/new"))

    refused_or_usable(
        world, lambda work: definitions.publish(work, name, definition, fixes=None), usable
    )


@FUZZ
@given(document=documents(FLOWS))
def test_a_flow_definition_is_refused_naming_paths_or_loads(world, document):
    _, definition = document
    api = Api(world.app.test_client(), world.admin)

    def usable() -> None:
        name = definition["name"]
        with world.runtime.read() as work:
            flow = flows.get_flow(work, name)
            flows.spec(work, flow, flow.current_version)
        assert api.get(f"/flows/{name}").status_code == 200

    refused_or_usable(world, lambda work: flows.publish(work, definition), usable)


@FUZZ
@given(document=documents(AUTOMATIONS))
def test_an_automation_definition_is_refused_naming_paths_or_loads(world, document):
    _, definition = document
    api = Api(world.app.test_client(), world.admin)

    def usable() -> None:
        name = definition["name"]
        with world.runtime.read() as work:
            automations.spec(work, automations.get_automation(work, name))
        assert api.get(f"/automations/{name}").status_code == 200

    refused_or_usable(world, lambda work: automations.publish(work, definition), usable)


@FUZZ
@given(document=documents(DASHBOARDS))
def test_a_dashboard_definition_is_refused_naming_paths_or_computes(world, document):
    _, definition = document
    api = Api(world.app.test_client(), world.admin)

    def usable() -> None:
        name = definition["name"]
        assert api.get(f"/dashboards/{name}").status_code == 200
        _ok(api.get(f"/dashboards/{name}/data"))
        _ok(world.signed_in().get(f"/dashboards/{name}"))

    refused_or_usable(world, lambda work: dashboards.publish(work, definition), usable)


def test_the_shipped_definitions_are_all_fuzzed():
    assert len(FORMS) >= 15 and len(FLOWS) >= 3 and len(AUTOMATIONS) >= 20
    assert len(DASHBOARDS) >= 5
