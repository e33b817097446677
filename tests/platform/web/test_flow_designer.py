"""The flow designer: create a flow, add steps and branches with the condition builder,
set approvers and field access, publish; refusals highlight the step; round trip exact."""

from __future__ import annotations

import copy
import json
import re

import pytest

from formflow import jsoncodec
from formflow.flows import service as flows
from formflow.people import service as people
from tests.platform.flows.world import FLOW, build

PASSWORD = "designer password"


@pytest.fixture
def world(runtime, admin, app):
    app.config["WTF_CSRF_ENABLED"] = False
    built = build(runtime, admin)
    with runtime.write() as work:
        user = people.get_user(work, "admin")
        people.set_password(work, user, PASSWORD)
        user.language = "en"
    return built


@pytest.fixture
def designer(app, world):
    client = app.test_client()
    assert (
        client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    )
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def published(world, name):
    with world.runtime.read() as work:
        return jsoncodec.loads(flows.definition_text(work, flows.get_flow(work, name)))


def test_build_a_two_level_discount_approval_with_a_branch_and_publish_it(designer, world):
    created = designer.post(
        "/admin/flows/", data={"form": "sales.quote", "title": "Big discounts", "name": "big"}
    )
    assert created.status_code == 302
    url = "/admin/flows/sales.big"
    page = text(designer.get(url))
    assert 'data-node="manager"' in page and "not published yet" in page
    # manager → directors → end, then a condition between the manager and the directors
    answer = designer.post(
        f"{url}/edit", data={"op": "add", "after": "manager", "kind": "approval"}
    )
    assert answer.status_code == 200 and 'data-node="approval_1"' in text(answer)
    answer = designer.post(f"{url}/edit", data={"op": "add", "after": "manager", "kind": "branch"})
    assert 'data-node="branch_1"' in text(answer)
    designer.post(
        f"{url}/edit",
        data={
            "op": "save",
            "node": "approval_1",
            "title": "Directors",
            "ap_kind": ["role", ""],
            "ap_value": ["director", ""],
            "mode": "all",
            "fallback": "admin",
            "fa:discount": "editable",
            "fa:amount": "readonly",
            "t_remind_after": "PT4H",
            "next": "approved",
        },
    )
    designer.post(
        f"{url}/edit",
        data={
            "op": "save",
            "node": "branch_1",
            "title": "Route",
            "b0_mode": "rows",
            "b0_join": "AND",
            "b0_field": ["discount", ""],
            "b0_op": ["gt", "eq"],
            "b0_value": ["0.1", ""],
            "b0_numeric": ["amount", "discount"],
            "b0_title": "over 10 %",
            "b0_next": "approval_1",
            "else": "approved",
        },
    )
    answer = designer.post(f"{url}/publish")
    assert answer.status_code == 302, text(answer)
    flow = published(world, "sales.big")
    nodes = {n["id"]: n for n in flow["nodes"]}
    assert nodes["branch_1"]["branches"] == [
        {"when": "discount > 0.1", "next": "approval_1", "title": "over 10 %"}
    ]
    assert nodes["approval_1"]["approvers"] == [{"role": "director"}]
    assert nodes["approval_1"]["fields"] == {"amount": "readonly", "discount": "editable"}
    assert nodes["approval_1"]["timeout"] == {"remind_after": "PT4H"}
    assert nodes["manager"]["next"] == "branch_1"
    # it runs: a quote with a big discount reaches the directors
    quote = world.submit(discount="0.2")
    assert ("manager", "max") in world.tasks(quote)


def test_an_invalid_flow_is_refused_with_the_step_highlighted_and_nothing_published(
    designer, world
):
    url = "/admin/flows/sales.quote_discount"
    designer.post(
        f"{url}/edit",
        data={
            "op": "save",
            "node": "manager",
            "ap_kind": ["field"],
            "ap_value": ["amount"],
            "mode": "any",
            "next": "route",
        },
    )
    refused = designer.post(f"{url}/publish")
    assert refused.status_code == 422
    page = text(refused)
    assert re.search(
        r'data-node="manager" ?>|class="flow-step step-approval has-error" data-node="manager"',
        page,
    )
    assert "is not a member field" in page or "not a member" in page
    assert published(world, "sales.quote_discount") == FLOW
    # discarding the draft brings back the published flow
    designer.post(f"{url}/edit", data={"op": "discard"})
    assert "unpublished changes" not in text(designer.get(url))


def test_export_is_the_published_file_byte_for_byte(designer, world):
    exported = designer.get("/admin/flows/sales.quote_discount/export")
    assert exported.status_code == 200
    assert exported.get_data() == jsoncodec.dumps_pretty(FLOW).encode()
    # and an unchanged designer publishes the same text again
    flow = copy.deepcopy(FLOW)
    assert json.loads(exported.get_data()) == flow


def test_removing_a_step_rewires_what_led_to_it(designer, world):
    url = "/admin/flows/sales.quote_discount"
    designer.post(f"{url}/edit", data={"op": "remove", "node": "directors"})
    assert designer.post(f"{url}/publish").status_code == 302
    nodes = {n["id"]: n for n in published(world, "sales.quote_discount")["nodes"]}
    assert "directors" not in nodes
    assert nodes["route"]["branches"][0]["next"] == "stamp"


def test_only_admins_design_flows(app, world):
    with world.runtime.write() as work:
        people.set_password(work, people.get_user(work, "rita"), PASSWORD)
    client = app.test_client()
    client.post("/login", data={"username": "rita", "password": PASSWORD})
    assert client.get("/admin/flows/").status_code == 403
    assert client.post("/admin/flows/sales.quote_discount/publish").status_code == 403


def test_two_approvals_in_parallel_meet_at_a_join(designer, world):
    url = "/admin/flows/sales.quote_discount"
    answer = designer.post(f"{url}/edit", data={"op": "add", "after": "stamp", "kind": "parallel"})
    page = text(answer)
    for node in ("parallel_1", "approval_1", "approval_2", "join_1"):
        assert f'data-node="{node}"' in page, node
    for branch in ("approval_1", "approval_2"):
        designer.post(
            f"{url}/edit",
            data={
                "op": "save",
                "node": branch,
                "ap_kind": ["role"],
                "ap_value": ["director" if branch == "approval_1" else "finance"],
                "mode": "any",
                "next": "join_1",
            },
        )
    assert designer.post(f"{url}/publish").status_code == 302
    nodes = {n["id"]: n for n in published(world, "sales.quote_discount")["nodes"]}
    assert nodes["stamp"]["next"] == "parallel_1"
    assert nodes["parallel_1"] == {
        "id": "parallel_1",
        "type": "parallel",
        "branches": ["approval_1", "approval_2"],
        "join": "join_1",
    }
    assert nodes["join_1"]["next"] == "finance"
    quote = world.submit(discount="0.05")
    world.act("max", quote)
    assert sorted(world.tasks(quote)) == [
        ("approval_1", "dan"),
        ("approval_1", "dora"),
        ("approval_2", "fay"),
    ]
    world.act("fay", quote)
    assert world.act("dora", quote) == "approved"
