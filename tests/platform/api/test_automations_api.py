"""The automations API: publish, refuse with pointers, enable, the run log and retry —
each response checked against the OpenAPI document."""

from __future__ import annotations

import pytest

from formflow.api.openapi import build_document
from formflow.automations import functions
from tests.conftest import grant, make_person, snapshot
from tests.platform.api.test_openapi import _check
from tests.platform.automations.world import automation, build, drain


@pytest.fixture
def world(runtime, admin):
    return build(runtime, admin)


def test_publish_list_get_and_turn_off(api, world, runtime):
    document = build_document()
    created = api.put("/automations/crm.welcome", automation())
    assert created.status_code == 201, created.body
    _check(document, "/automations/{name}", "put", created)
    again = api.put("/automations/crm.welcome", automation(condition="potential > 1"))
    assert again.status_code == 200 and again.body["version"] == 2
    listed = api.get("/automations")
    _check(document, "/automations", "get", listed)
    assert [a["name"] for a in listed.body["automations"]] == ["crm.welcome"]
    got = api.get("/automations/crm.welcome?version=1")
    _check(document, "/automations/{name}", "get", got)
    assert "condition" not in got.body["definition"] and got.body["form"] == "crm.customer"
    off = api.patch("/automations/crm.welcome", {"enabled": False})
    _check(document, "/automations/{name}", "patch", off)
    assert off.body["enabled"] is False
    world.customer()
    assert world.runs() == []
    bad = api.patch("/automations/crm.welcome", {"enabled": "no"})
    assert bad.status_code == 400 and bad.body["errors"][0]["field"] == "enabled"


def test_a_wrong_definition_is_refused_with_every_problem_and_nothing_saved(api, world, runtime):
    before = snapshot(runtime)
    response = api.put(
        "/automations/crm.welcome",
        automation(
            trigger={"type": "schedule", "cron": "0 9 * *"},
            actions=[
                {"type": "webhook", "url": "gopher://x"},
                {"type": "start_flow", "flow": "crm.none"},
            ],
        ),
    )
    assert response.status_code == 422
    _check(build_document(), "/automations/{name}", "put", response)
    fields = {e["field"] for e in response.body["errors"]}
    assert {"/trigger/cron", "/actions/0/url", "/actions/1/flow"} <= fields
    assert snapshot(runtime) == before


def test_the_run_log_pages_and_a_failed_run_is_retried(api, world, runtime, clock):
    document = build_document()
    state = {"fail": True}

    def flaky(work, call):
        if state["fail"]:
            raise RuntimeError("ERP is down")
        return "posted"

    functions.register("test.flaky", flaky)
    api.put(
        "/automations/crm.welcome",
        automation(actions=[{"type": "function", "function": "test.flaky"}]),
    )
    record = world.customer()
    for _ in range(6):
        drain(runtime)
        clock.advance(hours=1)
    runs = api.get("/automations/crm.welcome/runs?state=failed")
    _check(document, "/automations/{name}/runs", "get", runs)
    [run] = runs.body["runs"]
    assert run["record_id"] == record and run["attempts"] == 5
    assert run["log"][0]["error"] == "RuntimeError: ERP is down"
    listed = api.get("/automations").body["automations"][0]
    assert listed["failed_runs"] == 1 and listed["last_run"]["state"] == "failed"
    state["fail"] = False
    retried = api.post(f"/automations/crm.welcome/runs/{run['id']}/retry")
    _check(document, "/automations/{name}/runs/{run_id}/retry", "post", retried)
    assert retried.body["state"] == "pending"
    drain(runtime)
    done = api.get(f"/automations/crm.welcome/runs/{run['id']}")
    _check(document, "/automations/{name}/runs/{run_id}", "get", done)
    assert done.body["state"] == "done" and done.body["log"][0]["result"]["result"] == "posted"
    again = api.post(f"/automations/crm.welcome/runs/{run['id']}/retry")
    assert again.status_code == 409
    assert api.get("/automations/crm.welcome/runs?state=sideways").status_code == 400


def test_a_form_manager_may_automate_that_form_but_only_write_what_they_may(api, world, runtime):
    from formflow.people import service as people

    with runtime.write() as work:
        ops = people.ensure_role(work, "crm_ops", "CRM operations")
        people.set_roles(work, world.people["rita"].id, [ops.id])
    grant(
        runtime,
        "crm.customer",
        {"role": "crm_ops", "actions": ["view", "create", "edit", "manage"], "scope": "all"},
    )
    rita = api.as_(world.people["rita"])
    assert rita.put("/automations/crm.welcome", automation()).status_code == 201
    sneaky = automation(
        name="crm.sneaky",
        actions=[{"type": "create_record", "form": "crm.task", "values": {"title": "name"}}],
    )
    refused = rita.put("/automations/crm.sneaky", sneaky)
    assert refused.status_code == 422
    assert refused.body["errors"][0]["field"] == "/actions/0/form"
    assert "may not add records to form 'crm.task'" in refused.body["errors"][0]["message"]
    weekly = automation(name="crm.weekly", trigger={"type": "schedule", "cron": "0 9 * * 1"})
    weekly["actions"][0]["to"] = [{"role": "sales_manager"}]
    assert rita.put("/automations/crm.weekly", weekly).status_code == 403
    outsider = api.as_(make_person(runtime, "olga"))
    assert outsider.get("/automations").body == {"automations": []}
    assert outsider.get("/automations/crm.welcome").status_code == 403
