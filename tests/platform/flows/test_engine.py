"""An approval flow run through the engine: routing, modes, actions, history, guards."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest

from formflow.definitions.service import get_form
from formflow.errors import BadRequest, Conflict, Forbidden, ValidationFailed
from formflow.flows import actions
from formflow.flows.models import FlowTask
from formflow.records import service as records
from tests.platform.flows.world import FLOW, build


@pytest.fixture
def world(runtime, admin):
    return build(runtime, admin)


def node(definition, node_id):
    return next(n for n in definition["nodes"] if n["id"] == node_id)


def test_a_small_discount_needs_only_the_manager_and_is_stamped(world):
    quote = world.submit(discount="0.05")
    assert world.instance(quote).state == "running"
    assert world.tasks(quote) == [("manager", "max")]
    assert world.act("max", quote, comment="ok") == "approved"
    assert world.values(quote)["status"] == "approved"  # the action node
    assert world.tasks(quote, "cc") == [("finance", "fay")]
    assert world.history(quote) == [
        ("started", "start"),
        ("assigned", "manager"),
        ("approved", "manager"),
        ("branched", "route"),
        ("acted", "stamp"),
        ("copied", "finance"),
        ("finished", "approved"),
    ]


def test_a_big_discount_goes_on_to_both_directors_who_countersign(world):
    quote = world.submit(discount="0.2")
    world.act("max", quote)
    assert sorted(world.tasks(quote)) == [("directors", "dan"), ("directors", "dora")]
    assert world.act("dora", quote) == "running"  # countersign: dan still decides
    assert world.tasks(quote) == [("directors", "dan")]
    assert world.act("dan", quote) == "approved"


def test_the_manager_may_lower_the_discount_and_the_change_is_recorded(world):
    quote = world.submit(discount="0.2")
    world.act("max", quote, data={"discount": "0.08"}, comment="8 % is enough")
    assert str(world.values(quote)["discount"]) == "0.08"
    assert world.instance(quote).state == "approved"  # 8 % takes the small road
    with world.runtime.read() as work:
        record = records.get(work, quote)
        changed = [r.changes for r in records.revisions(work, record)]
        assert changed[-2] == {"discount": [Decimal("0.2"), Decimal("0.08")]}  # then the stamp
        assert changed[-1] == {"status": [None, "approved"]}


def test_an_approver_may_not_change_a_field_their_step_does_not_open(world):
    quote = world.submit(discount="0.2")
    before = world.values(quote)
    with pytest.raises(Forbidden) as refused:
        world.act("max", quote, data={"amount": "1"})
    assert refused.value.errors[0].field == "amount"
    assert world.values(quote) == before
    assert world.tasks(quote) == [("manager", "max")]  # nothing was decided


def test_an_invalid_adjustment_names_the_field_and_decides_nothing(world):
    quote = world.submit(discount="0.2")
    with pytest.raises(ValidationFailed) as refused:
        world.act("max", quote, data={"discount": "0.9"})  # over the form's maximum
    assert refused.value.errors[0].field == "discount"
    assert world.tasks(quote) == [("manager", "max")]
    assert str(world.values(quote)["discount"]) == "0.2"


def test_reject_ends_the_instance_and_closes_the_other_tasks(world):
    quote = world.submit(discount="0.2")
    world.act("max", quote)
    assert world.act("dora", quote, "reject", comment="too much") == "rejected"
    assert world.tasks(quote) == []
    assert ("directors", "dan") in world.tasks(quote, "cancelled")
    assert world.history(quote)[-2:] == [("rejected", "directors"), ("finished", None)]


def test_a_returned_record_is_the_initiators_to_edit_and_resubmit(world):
    quote = world.submit(discount="0.2")
    world.act("max", quote)
    assert world.act("dora", quote, "return", comment="split it") == "returned"
    assert world.tasks(quote) == []
    loaded_form = "sales.quote"
    # nobody but rita may touch it now (not even an admin), and she may
    with world.runtime.write(world.user("admin")) as work, pytest.raises(Forbidden):
        records.update_record(
            work, get_form(work, loaded_form), quote, {"title": "x"}, revision=None
        )
    with world.runtime.write(world.user("rita")) as work:
        instance = world.instance(quote)
        actions.resubmit(work, instance.id, data={"discount": "0.15"}, comment="split")
    # it continues where it was returned: both directors again, a new round
    assert sorted(world.tasks(quote)) == [("directors", "dan"), ("directors", "dora")]
    assert str(world.values(quote)["discount"]) == "0.15"
    world.act("dora", quote)
    assert world.act("dan", quote) == "approved"
    assert [a for a, _ in world.history(quote)].count("resubmitted") == 1


def test_return_to_an_earlier_step_asks_it_again(world):
    quote = world.submit(discount="0.2")
    world.act("max", quote)
    world.act("dora", quote, "return", to="manager")
    assert world.tasks(quote) == [("manager", "max")]
    with pytest.raises(BadRequest):
        world.act("max", quote, "return", to="directors")  # not an earlier step


def test_while_it_is_being_approved_the_record_cannot_be_edited_or_deleted(world):
    quote = world.submit()
    with world.runtime.write(world.user("rita")) as work, pytest.raises(Forbidden):
        loaded = get_form(work, "sales.quote")
        records.update_record(work, loaded, quote, {"title": "changed"}, revision=None)
    with world.runtime.write(world.user("rita")) as work, pytest.raises(Forbidden):
        records.delete(work, get_form(work, "sales.quote"), quote)
    assert world.values(quote)["title"] == "Door locks"


def test_transfer_and_add_an_approver_before_and_after(world):
    quote = world.submit(discount="0.05")
    world.act("max", quote, "transfer", user="ron", comment="on leave")
    assert world.tasks(quote) == [("manager", "ron")]
    world.act("ron", quote, "add_approver", user="fay", position="before")
    assert world.tasks(quote) == [("manager", "fay")]
    world.act("fay", quote)
    assert world.tasks(quote) == [("manager", "ron")]  # back to ron after fay
    world.act("ron", quote, "add_approver", user="dan", position="after")
    assert world.tasks(quote) == [("manager", "ron")]
    assert world.act("ron", quote) == "running"
    assert world.tasks(quote) == [("manager", "dan")]
    assert world.act("dan", quote) == "approved"


def test_a_sequence_asks_one_approver_after_another(world):
    flow = copy.deepcopy(FLOW)
    node(flow, "directors")["mode"] = "sequence"
    world.publish_flow(flow)
    quote = world.submit(discount="0.3")
    world.act("max", quote)
    first = world.tasks(quote)
    assert len(first) == 1
    assert world.act(first[0][1], quote) == "running"
    second = world.tasks(quote)
    assert len(second) == 1 and second != first
    assert world.act(second[0][1], quote) == "approved"


def test_any_of_several_approvers_decides_for_all(world):
    flow = copy.deepcopy(FLOW)
    node(flow, "directors")["mode"] = "any"
    world.publish_flow(flow)
    quote = world.submit(discount="0.3")
    world.act("max", quote)
    assert world.act("dan", quote) == "approved"
    assert world.tasks(quote, "cancelled") == [("directors", "dora")]


def test_withdraw_until_the_first_decision(world):
    quote = world.submit(discount="0.2")
    with world.runtime.write(world.user("max")) as work, pytest.raises(Forbidden):
        actions.withdraw(work, world.instance(quote).id)
    with world.runtime.write(world.user("rita")) as work:
        actions.withdraw(work, world.instance(quote).id)
    assert world.instance(quote).state == "withdrawn"
    assert world.tasks(quote) == []
    with world.runtime.write(world.user("rita")) as work:  # editable again
        records.update_record(
            work, get_form(work, "sales.quote"), quote, {"title": "again"}, revision=None
        )
    second = world.submit(discount="0.2")
    world.act("max", second)
    with world.runtime.write(world.user("rita")) as work, pytest.raises(Conflict):
        actions.withdraw(work, world.instance(second).id)


def test_acting_twice_or_on_someone_elses_task_changes_nothing(world):
    quote = world.submit(discount="0.2")
    task = world.task_of(quote, "max")
    world.act("max", quote)
    events = world.history(quote)
    with world.runtime.write(world.user("max")) as work, pytest.raises(Conflict):
        actions.act(work, task, "approve")
    dora = world.task_of(quote, "dora")
    with world.runtime.write(world.user("dan")) as work, pytest.raises(Exception) as refused:
        actions.act(work, dora, "approve")
    assert refused.value.status in (403, 404)
    assert world.history(quote) == events


def test_nobody_to_approve_falls_back_to_the_admins_or_skips(world):
    flow = copy.deepcopy(FLOW)
    node(flow, "manager")["approvers"] = [{"field": "reviewer"}]
    world.publish_flow(flow)
    quote = world.submit()
    assert world.tasks(quote) == [("manager", "admin")]
    assert ("no_approver", "manager") in world.history(quote)
    node(flow, "manager")["fallback"] = "skip"
    world.publish_flow(flow)
    skipped = world.submit()
    assert world.instance(skipped).state == "approved"
    named = world.submit(reviewer=world.people["ron"].id)
    assert world.tasks(named) == [("manager", "ron")]  # skipped only when nobody is named


def test_auto_approve_someone_who_already_approved(world):
    flow = copy.deepcopy(FLOW)
    node(flow, "directors")["approvers"] = [{"manager": 1}, {"role": "director"}]
    node(flow, "directors")["auto_approve"] = {"repeated": True}
    world.publish_flow(flow)
    quote = world.submit(discount="0.3")
    world.act("max", quote)
    # max approved as manager: only the directors remain
    assert sorted(world.tasks(quote)) == [("directors", "dan"), ("directors", "dora")]
    assert ("auto_approved", "directors") in world.history(quote)


def test_a_running_instance_keeps_its_version(world):
    quote = world.submit(discount="0.2")
    flow = copy.deepcopy(FLOW)
    node(flow, "route")["branches"][0]["when"] = "discount > 0.9"
    world.publish_flow(flow)  # version 2 would not ask the directors
    world.act("max", quote)
    assert world.instance(quote).version == 1
    assert sorted(world.tasks(quote)) == [("directors", "dan"), ("directors", "dora")]
    newer = world.submit(discount="0.2")
    world.act("max", newer)
    assert world.instance(newer).version == 2 and world.instance(newer).state == "approved"


def test_parallel_steps_meet_at_their_join(world):
    flow = copy.deepcopy(FLOW)
    flow["nodes"] = [
        {"id": "start", "type": "start", "next": "both"},
        {"id": "both", "type": "parallel", "branches": ["manager", "finance"], "join": "met"},
        {**node(FLOW, "manager"), "next": "met"},
        {"id": "finance", "type": "approval", "approvers": [{"role": "finance"}], "next": "met"},
        {"id": "met", "type": "join", "next": "approved"},
        {"id": "approved", "type": "end", "result": "approved"},
    ]
    world.publish_flow(flow)
    quote = world.submit()
    assert sorted(world.tasks(quote)) == [("finance", "fay"), ("manager", "max")]
    assert world.act("fay", quote) == "running"
    assert world.act("max", quote) == "approved"
    assert ("joined", "met") in world.history(quote)


def test_due_times_follow_the_nodes_timeout_policy(world, clock):
    quote = world.submit()
    with world.runtime.read() as work:
        task = work.session.get(FlowTask, world.task_of(quote, "max"))
        assert task.remind_at - task.created_at == dt.timedelta(hours=4)
        assert task.auto_at - task.created_at == dt.timedelta(days=3)
        assert task.escalate_at is None


def test_urge_and_comment_are_in_the_history(world):
    quote = world.submit()
    instance = world.instance(quote).id
    with world.runtime.write(world.user("rita")) as work:
        assert actions.urge(work, instance) == [world.people["max"].id]
        actions.comment_on(work, instance, "the customer is waiting")
    assert world.history(quote)[-2:] == [("urged", None), ("commented", None)]


def test_an_invalid_flow_is_refused_with_pointers_and_nothing_is_saved(world):
    flow = copy.deepcopy(FLOW)
    node(flow, "manager")["approvers"] = [{"field": "amount"}]
    with pytest.raises(ValidationFailed) as refused:
        world.publish_flow(flow)
    assert refused.value.errors[0].field == "/nodes/1/approvers/0/field"
    quote = world.submit()
    assert world.instance(quote).version == 1


def test_a_comment_attaches_only_the_commenters_own_uploads(world):
    import io

    from formflow.files import storage
    from tests.platform.files.test_uploads import png

    quote = world.submit()
    instance = world.instance(quote).id
    with world.runtime.write(world.user("rita")) as work:
        mine = storage.save_upload(work, io.BytesIO(png()), "site.png").id
    with world.runtime.write(world.user("ron")) as work:
        theirs = storage.save_upload(work, io.BytesIO(png()), "other.png").id
    with world.runtime.write(world.user("rita")) as work:
        actions.comment_on(work, instance, "photo of the site", files=[mine])
    with world.runtime.write(world.user("rita")) as work, pytest.raises(BadRequest) as refused:
        actions.comment_on(work, instance, "not mine", files=[theirs])
    assert refused.value.errors[0].field == "files"
    assert world.history(quote)[-1] == ("commented", None)
