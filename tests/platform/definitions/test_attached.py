"""A form's flows, automations and grants, cached by the setup stamp the database keeps."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select, update

from formflow.automations import service as automations
from formflow.definitions.models import Form
from formflow.definitions.service import get_form
from formflow.flows import service as flows
from formflow.flows.models import Flow, FlowInstance
from formflow.permissions.policy import policy_for
from formflow.permissions.service import replace_grants
from formflow.runtime import SpecCache
from tests.conftest import EVERYONE_OWN, grant
from tests.platform.flows.world import FLOW
from tests.platform.flows.world import build as build_flows


@pytest.fixture
def world(runtime, admin):
    return build_flows(runtime, admin)


def stamp(runtime) -> str:
    with runtime.read() as work:
        return work.session.scalar(select(Form.setup_stamp).where(Form.name == "quote"))


def notify_on_quote(**overrides):
    return {
        "name": "sales.tell",
        "title": "Tell",
        "trigger": {"type": "record_created", "form": "sales.quote"},
        "actions": [{"type": "notify", "to": [{"user": "max"}], "title": "New quote"}],
        **overrides,
    }


def test_the_stamp_changes_with_every_flow_automation_and_grant_write_and_only_then(runtime, world):
    seen = [stamp(runtime)]
    world.submit(title="Q-1")  # records, approval tasks, the flow's instance: no change
    assert stamp(runtime) == seen[-1]
    for change in (
        lambda work: flows.publish(work, copy.deepcopy(FLOW)),  # a new version
        lambda work: automations.publish(work, notify_on_quote()),
        lambda work: automations.set_enabled(work, "sales.tell", False),
        lambda work: replace_grants(work, get_form(work, "sales.quote"), []),
        lambda work: work.session.delete(
            work.session.scalar(select(Flow).where(Flow.name == FLOW["name"]))
        ),
    ):
        with runtime.write() as work:
            change(work)
        seen.append(stamp(runtime))
        assert seen[-1] not in seen[:-1]


def test_what_a_create_reads_follows_each_change_at_once(runtime, world):
    record_id = world.submit(title="Q-1")
    assert world.tasks(record_id)  # the submit flow started
    with runtime.write() as work:
        work.session.delete(work.session.scalar(select(Flow).where(Flow.name == FLOW["name"])))
    record_id = world.submit(title="Q-2")
    with runtime.read() as work:
        assert flows.submit_flows(work, get_form(work, "sales.quote")) == ()
    with runtime.read() as work:
        started = select(FlowInstance).where(FlowInstance.record_id == record_id)
        assert work.session.scalars(started).all() == []

    with runtime.write() as work:
        automations.publish(work, notify_on_quote())
    with runtime.read() as work:
        assert [a[1] for a in automations.listening(work, get_form(work, "sales.quote"))] == [
            "record_created"
        ]
    with runtime.write() as work:
        automations.set_enabled(work, "sales.tell", False)
    with runtime.read() as work:
        assert automations.listening(work, get_form(work, "sales.quote")) == ()


def test_a_change_rolled_back_is_never_seen_though_its_transaction_read_it(runtime, world):
    rita = world.user("rita")
    with runtime.read(rita) as work:
        before = policy_for(work, get_form(work, "sales.quote")).grants
    assert before

    class Undo(Exception):
        pass

    runtime.specs = SpecCache()  # nothing read yet under the stamp everyone sees
    with pytest.raises(Undo), runtime.write(rita) as work:
        loaded = get_form(work, "sales.quote")
        replace_grants(work, loaded, [])
        # read (and cached) after the change, through the form as loaded before it: kept
        # under this transaction's own new stamp, not under the one everyone else sees
        assert policy_for(work, loaded).grants == []
        raise Undo

    with runtime.read(rita) as work:
        assert policy_for(work, get_form(work, "sales.quote")).grants == before
    grant(runtime, "sales.quote", EVERYONE_OWN, {"actions": ["view"], "scope": "all"})
    with runtime.read(rita) as work:
        assert len(policy_for(work, get_form(work, "sales.quote")).grants) == 2


def test_a_form_row_written_without_a_stamp_is_never_cached(runtime, world):
    with runtime.write() as work:  # as a raw insert would leave it: the server default
        work.session.execute(update(Form).where(Form.name == "quote").values(setup_stamp=""))
    for _ in range(2):
        with runtime.read() as work:
            assert flows.submit_flows(work, get_form(work, "sales.quote")) == (FLOW["name"],)
    assert not [k for k in runtime.specs._specs if k[:1] == ("attached",) and k[-1] == ""]
