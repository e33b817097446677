"""Approvals through the REST API: flows, tasks and actions, instances — and racing
requests against a real server, where exactly one wins."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from formflow.api.openapi import build_document
from tests.platform.api.test_openapi import _check
from tests.platform.flows.world import FLOW, build
from tests.platform.records.test_concurrency import call

QUOTES = "/forms/sales.quote/records"


@pytest.fixture
def world(runtime, admin):
    return build(runtime, admin)


@pytest.fixture
def document():
    return build_document()


def submit(api, world, name="rita", **values):
    data = {"title": "Locks", "amount": "10000", "discount": "0.05", **values}
    created = api.as_(world.people[name]).post(QUOTES, {"data": data})
    assert created.status_code == 201, created.body
    return created.body["id"]


def pending(api, person):
    return api.as_(person).get("/tasks").body["tasks"]


def test_admins_publish_and_read_flows_and_others_may_not(api, world, document):
    listed = api.get("/flows")
    _check(document, "/flows", "get", listed)
    assert [f["name"] for f in listed.body["flows"]] == ["sales.quote_discount"]
    read = api.get("/flows/sales.quote_discount")
    _check(document, "/flows/{name}", "get", read)
    assert read.body["definition"] == FLOW
    changed = copy.deepcopy(FLOW)
    changed["title"] = "Discount approval, v2"
    published = api.put("/flows/sales.quote_discount", changed)
    _check(document, "/flows/{name}", "put", published)
    assert published.status_code == 200 and published.body["version"] == 2
    assert api.get("/flows/sales.quote_discount?version=1").body["definition"] == FLOW
    rep = api.as_(world.people["rita"])
    assert rep.get("/flows").status_code == 403
    assert rep.put("/flows/sales.quote_discount", changed).status_code == 403


def test_an_invalid_flow_gets_every_problem_with_its_pointer(api, world):
    broken = copy.deepcopy(FLOW)
    broken["nodes"][1]["approvers"] = [{"field": "amount"}]
    broken["nodes"][2]["branches"][0]["when"] = "discount >"
    answer = api.put("/flows/sales.quote_discount", broken)
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.body["errors"]}
    assert {"/nodes/1/approvers/0/field", "/nodes/2/branches/0/when"} <= fields
    assert api.get("/flows/sales.quote_discount").body["version"] == 1


def test_submit_approve_and_read_the_history_through_the_api(api, world, document):
    quote = submit(api, world, discount="0.2")
    manager = world.people["max"]
    inbox = api.as_(manager).get("/tasks")
    _check(document, "/tasks", "get", inbox)
    assert inbox.body["counts"]["pending"] == 1
    (task,) = inbox.body["tasks"]
    assert task["record_id"] == quote and task["node"] == "manager"
    acted = api.as_(manager).post(
        f"/tasks/{task['id']}/actions",
        {"action": "approve", "comment": "fine", "data": {"discount": "0.15"}},
    )
    _check(document, "/tasks/{task_id}/actions", "post", acted)
    assert acted.status_code == 200, acted.body
    assert acted.body["active"] == ["directors"]
    approved = next(e for e in acted.body["history"] if e["action"] == "approved")
    assert approved["action"] == "approved" and approved["comment"] == "fine"
    assert [str(v) for v in approved["details"]["changes"]["discount"]] == ["0.2", "0.15"]
    assert api.as_(manager).get("/tasks").body["counts"] == {"pending": 0, "handled": 1, "cc": 0}
    for director in ("dora", "dan"):
        (task,) = pending(api, world.people[director])
        api.as_(world.people[director]).post(f"/tasks/{task['id']}/actions", {"action": "approve"})
    rep = api.as_(world.people["rita"])
    mine = rep.get("/flow-instances")
    _check(document, "/flow-instances", "get", mine)
    (instance,) = mine.body["instances"]
    assert instance["state"] == "approved"
    full = rep.get(f"/flow-instances/{instance['id']}")
    _check(document, "/flow-instances/{instance_id}", "get", full)
    assert [e["action"] for e in full.body["history"]][-3:] == ["acted", "copied", "finished"]
    # an outsider learns nothing
    assert api.as_(world.people["ron"]).get(f"/flow-instances/{instance['id']}").status_code == 404


def test_initiator_actions_through_the_api(api, world, document):
    quote = submit(api, world, discount="0.2")
    rep = api.as_(world.people["rita"])
    (instance,) = rep.get("/flow-instances").body["instances"]
    base = f"/flow-instances/{instance['id']}"
    urged = rep.post(f"{base}/urge", {"comment": "please"})
    _check(document, "/flow-instances/{instance_id}/urge", "post", urged)
    commented = rep.post(f"{base}/comments", {"comment": "customer waits"})
    _check(document, "/flow-instances/{instance_id}/comments", "post", commented)
    assert api.as_(world.people["max"]).post(f"{base}/withdraw").status_code == 403
    (task,) = pending(api, world.people["max"])
    api.as_(world.people["max"]).post(
        f"/tasks/{task['id']}/actions", {"action": "return", "comment": "less discount"}
    )
    resubmitted = rep.post(f"{base}/resubmit", {"data": {"discount": "0.05"}})
    _check(document, "/flow-instances/{instance_id}/resubmit", "post", resubmitted)
    assert resubmitted.status_code == 200 and resubmitted.body["active"] == ["manager"]
    refused = rep.post(f"{base}/withdraw")
    assert refused.status_code == 409  # the manager already decided (returned it)
    _check(document, "/flow-instances/{instance_id}/withdraw", "post", refused)
    assert api.as_(world.people["rita"]).get(f"{QUOTES}/{quote}").body["data"][
        "discount"
    ] == Decimal("0.05")


def test_bad_actions_name_their_field(api, world):
    submit(api, world)
    manager = api.as_(world.people["max"])
    (task,) = pending(api, world.people["max"])
    url = f"/tasks/{task['id']}/actions"
    assert manager.post(url, {"action": "dance"}).body["errors"][0]["field"] == "action"
    answer = manager.post(url, {"action": "transfer", "user": "nobody"})
    assert answer.status_code == 400 and answer.body["errors"][0]["field"] == "user"
    answer = manager.post(url, {"action": "approve", "data": {"amount": 1}})
    assert answer.status_code == 403 and answer.body["errors"][0]["field"] == "amount"
    assert api.as_(world.people["ron"]).post(url, {"action": "approve"}).status_code == 404
    assert pending(api, world.people["max"]) == [task]  # nothing happened


def race(url: str, tokens: list[str], body: dict) -> list[int]:
    barrier = threading.Barrier(len(tokens))

    def one(token: str) -> int:
        barrier.wait()
        return call(url, token, "POST", body)[0]

    with ThreadPoolExecutor(len(tokens)) as pool:
        return sorted(pool.map(one, tokens))


def test_a_double_click_approves_once(api, world, live_server):
    for _ in range(3):
        submit(api, world)
        (task,) = pending(api, world.people["max"])
        token = world.people["max"].token
        codes = race(
            f"{live_server}/tasks/{task['id']}/actions", [token, token], {"action": "approve"}
        )
        assert codes == [200, 409]


def test_two_approvers_of_an_any_step_racing_get_one_outcome(api, world, live_server):
    flow = copy.deepcopy(FLOW)
    flow["nodes"][3]["mode"] = "any"
    assert api.put("/flows/sales.quote_discount", flow).status_code == 200
    for _ in range(3):
        submit(api, world, discount="0.3")
        (task,) = pending(api, world.people["max"])
        api.as_(world.people["max"]).post(f"/tasks/{task['id']}/actions", {"action": "approve"})
        dora, dan = world.people["dora"], world.people["dan"]
        (dora_task,) = pending(api, dora)
        (dan_task,) = pending(api, dan)
        barrier = threading.Barrier(2)

        def approve(person, task_id, barrier=barrier):
            barrier.wait()
            return call(
                f"{live_server}/tasks/{task_id}/actions",
                person.token,
                "POST",
                {"action": "approve"},
            )

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(approve, [dora, dan], [dora_task["id"], dan_task["id"]]))
        codes = sorted(code for code, _ in results)
        assert codes == [200, 409], results
        winner = next(body for code, body in results if code == 200)
        assert winner["state"] == "approved"
        assert [e["action"] for e in winner["history"]].count("finished") == 1


def test_a_withdraw_racing_an_approval_gets_one_outcome(api, world, live_server):
    for _ in range(3):
        submit(api, world)
        (task,) = pending(api, world.people["max"])
        (instance,) = api.as_(world.people["rita"]).get("/flow-instances").body["instances"][:1]
        barrier = threading.Barrier(2)

        def withdraw(barrier=barrier, instance=instance):
            barrier.wait()
            return call(
                f"{live_server}/flow-instances/{instance['id']}/withdraw",
                world.people["rita"].token,
                "POST",
            )

        def approve(barrier=barrier, task=task):
            barrier.wait()
            return call(
                f"{live_server}/tasks/{task['id']}/actions",
                world.people["max"].token,
                "POST",
                {"action": "approve"},
            )

        with ThreadPoolExecutor(2) as pool:
            results = [f.result() for f in [pool.submit(withdraw), pool.submit(approve)]]
        codes = sorted(code for code, _ in results)
        assert codes == [200, 409], results
        final = api.as_(world.people["rita"]).get(f"/flow-instances/{instance['id']}").body
        assert final["state"] in ("withdrawn", "approved")
        finished = [e for e in final["history"] if e["action"] == "finished"]
        assert len(finished) == 1


def test_batch_approve_approves_each_and_says_why_for_the_rest(api, world, document):
    for _ in range(3):
        submit(api, world)
    manager = api.as_(world.people["max"])
    tasks = [t["id"] for t in pending(api, world.people["max"])]
    manager.post(f"/tasks/{tasks[0]}/actions", {"action": "approve"})  # decided already
    answer = manager.post("/tasks/approvals", {"tasks": tasks, "comment": "all fine"})
    _check(document, "/tasks/approvals", "post", answer)
    assert sorted(answer.body["approved"]) == sorted(tasks[1:])
    (refused,) = answer.body["refused"]
    assert refused["task"] == tasks[0] and refused["errors"][0]["code"] == "task_closed"
    assert pending(api, world.people["max"]) == []
    bad = manager.post("/tasks/approvals", {"tasks": "all"})
    assert bad.status_code == 400 and bad.body["errors"][0]["field"] == "tasks"


def test_batch_approve_refuses_anything_but_task_ids_naming_tasks(api, world):
    """Found by the API fuzzer: ``false`` was taken for a task id and echoed back where the
    document promises an integer; a number past 64 bits crashed the database query."""
    for tasks in ("[false]", "[true, 1]", "[0]", "[100000000000000000000000000000]"):
        answer = api.post("/tasks/approvals", f'{{"tasks": {tasks}}}')
        assert answer.status_code == 400, (tasks, answer.body)
        assert answer.body["errors"][0]["field"] == "tasks"


def test_a_page_cursor_that_is_no_id_is_refused_naming_before(api, world):
    """Found by the API fuzzer: ``before`` past 64 bits reached SQLite and answered 500;
    one that was not a number at all was silently ignored (the first page came back)."""
    for path in ("/tasks", "/flow-instances", "/automations/x.y/runs"):
        for before in ("100000000000000000000000000000", "soon", "-1", "²"):
            answer = api.get(f"{path}?before={before}")
            assert answer.status_code == 400, (path, before, answer.body)
            assert answer.body["errors"][0]["field"] == "before"


def test_ids_past_64_bits_in_paths_are_no_such_thing(api, world):
    huge = "1" + "0" * 30
    for path in (f"/flow-instances/{huge}", f"/flows/sales.quote_discount?version={huge}"):
        answer = api.get(path)
        assert answer.status_code in (400, 404), answer.body
    assert api.post(f"/tasks/{huge}/actions", {"action": "approve"}).status_code == 404
