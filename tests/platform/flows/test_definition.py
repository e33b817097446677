"""Flow definitions are checked before they are saved: every problem, at its JSON pointer,
with the node it belongs to."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from formflow.definitions.spec import compile_spec
from formflow.fields import field_types
from formflow.flows.definition import FLOW_SCHEMA, check_flow, parse_duration

QUOTATION = compile_spec(
    {
        "title": "Quotation",
        "type": "object",
        "properties": {
            "title": {"x-field": "text", "type": "string"},
            "discount": {"x-field": "percent", "type": "number"},
            "margin": {"x-field": "number", "type": "number"},
            "status": {"x-field": "select", "type": "string", "enum": ["draft", "approved"]},
            "amount": {"x-field": "money", "type": "number"},
            "total": {
                "x-field": "formula",
                "type": "number",
                "x-result": "money",
                "x-formula": "amount * (1 - discount)",
            },
            "reviewer": {"x-field": "member", "type": "integer"},
            "watchers": {"x-field": "members", "type": "array"},
            "lines": {
                "x-field": "subform",
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"price": {"x-field": "money", "type": "number"}},
                },
            },
        },
    },
    field_types,
    name="sales.quotation",
)
AUDIT = compile_spec(
    {
        "title": "Audit",
        "type": "object",
        "properties": {"note": {"x-field": "text", "type": "string"}},
    },
    field_types,
    name="sales.audit",
)

EXAMPLE: dict[str, Any] = {
    "name": "sales.quote_discount",
    "title": {"en": "Quotation discount approval", "zh-CN": "报价折扣审批"},
    "form": "sales.quotation",
    "trigger": "submit",
    "nodes": [
        {"id": "start", "type": "start", "next": "route"},
        {
            "id": "route",
            "type": "branch",
            "branches": [{"when": "discount > 0.2", "next": "director", "title": "big discount"}],
            "else": "manager",
        },
        {
            "id": "manager",
            "type": "approval",
            "title": "Manager",
            "approvers": [{"manager": 1}, {"field": "reviewer"}],
            "mode": "any",
            "fallback": "admin",
            "fields": {"discount": "editable", "margin": "hidden"},
            "timeout": {
                "remind_after": "PT4H",
                "escalate_after": "P1D",
                "escalate_to": [{"role": "director"}],
                "auto_after": "P3D",
                "auto_action": "approve",
            },
            "auto_approve": {"repeated": True, "initiator": False},
            "next": "approved",
        },
        {
            "id": "director",
            "type": "approval",
            "approvers": [{"role": "director"}],
            "mode": "all",
            "next": "both",
        },
        {"id": "both", "type": "parallel", "branches": ["finance", "hr"], "join": "joined"},
        {"id": "finance", "type": "approval", "approvers": [{"user": "zhao"}], "next": "joined"},
        {
            "id": "hr",
            "type": "cc",
            "to": [{"department_head": "HR"}, {"field": "watchers"}],
            "next": "joined",
        },
        {"id": "joined", "type": "join", "next": "stamp"},
        {
            "id": "stamp",
            "type": "action",
            "set": {"status": '"approved"'},
            "create": [{"form": "sales.audit", "values": {"note": 'CONCAT("approved ", title)'}}],
            "next": "approved",
        },
        {"id": "approved", "type": "end", "result": "approved"},
        {"id": "rejected", "type": "end", "result": "rejected"},
    ],
}
INDEX = {node["id"]: i for i, node in enumerate(EXAMPLE["nodes"])}


def example() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE)


def node(flow: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in flow["nodes"] if n["id"] == node_id)


def problems(flow: Any, spec: Any = QUOTATION, **lookups: Any) -> list[str]:
    return [f"{e.field}: {e.message}" for e in check_flow(flow, spec, **lookups)]


def graph(*nodes: dict[str, Any]) -> dict[str, Any]:
    """A flow of just these nodes, for the graph checks."""
    return {
        "name": "sales.g",
        "title": "G",
        "form": "sales.quotation",
        "trigger": "manual",
        "nodes": list(nodes),
    }


def start(next_: str) -> dict[str, Any]:
    return {"id": "start", "type": "start", "next": next_}


def step(node_id: str, next_: str) -> dict[str, Any]:
    return {"id": node_id, "type": "approval", "approvers": [{"role": "boss"}], "next": next_}


def end(node_id: str = "done") -> dict[str, Any]:
    return {"id": node_id, "type": "end", "result": "approved"}


def forms(name: str) -> Any:
    return {"sales.quotation": QUOTATION, "sales.audit": AUDIT}.get(name)


# -- the meta-schema --------------------------------------------------------------------------


def test_the_meta_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(FLOW_SCHEMA)


def test_the_example_flow_is_valid():
    assert problems(EXAMPLE) == []
    assert problems(EXAMPLE, form_exists=lambda name: forms(name) is not None, spec_of=forms) == []


def test_without_a_form_spec_the_fields_go_unchecked_but_the_graph_does_not():
    flow = example()
    node(flow, "manager")["fields"] = {"nope": "hidden"}
    node(flow, "manager")["next"] = "nowhere"
    assert problems(flow, None) == ["/nodes/2/next: no node has the id 'nowhere'"]


def test_a_flow_that_is_not_an_object_is_refused():
    assert problems([]) == [": a flow definition must be a JSON object"]


def test_an_unknown_node_type_is_reported_once_naming_the_known_types():
    flow = example()
    node(flow, "director")["type"] = "approve"
    [error] = check_flow(flow, QUOTATION)
    assert error.field == "/nodes/3/type"
    assert error.message == (
        "'approve' is not a node type; use one of: "
        "start, approval, cc, branch, parallel, join, action, end"
    )
    assert error.params["node"] == "director"


def test_a_keyword_the_node_type_does_not_have_is_reported_at_the_keyword():
    flow = example()
    node(flow, "approved")["next"] = "rejected"
    [error] = check_flow(flow, QUOTATION)
    assert (error.field, error.message) == ("/nodes/9/next", "is not a known keyword here")
    assert error.params["node"] == "approved"


def test_a_branch_without_else_is_a_structural_error():
    flow = example()
    del node(flow, "route")["else"]
    [error] = check_flow(flow, QUOTATION)
    assert (error.field, error.message) == ("/nodes/1", "is missing 'else'")
    assert error.params["node"] == "route"


def test_each_approver_names_exactly_one_known_rule():
    flow = example()
    node(flow, "manager")["approvers"] = [
        {},
        {"boss": 1},
        {"user": "zhao", "role": "x"},
        {"manager": 6},
    ]
    assert problems(flow) == [
        "/nodes/2/approvers/0: must name exactly one approver: "
        "one of user, role, manager, department_head, field",
        "/nodes/2/approvers/1/boss: is not a kind of approver; "
        "use one of user, role, manager, department_head, field",
        "/nodes/2/approvers/2: must name exactly one approver: "
        "one of user, role, manager, department_head, field",
        "/nodes/2/approvers/3/manager: must be at most 5",
    ]


def test_escalating_needs_whom_to_and_acting_automatically_needs_the_action():
    flow = example()
    node(flow, "manager")["timeout"] = {"escalate_after": "P1D", "auto_after": "P3D"}
    assert problems(flow) == [
        "/nodes/2/timeout/auto_after: needs 'auto_action' as well",
        "/nodes/2/timeout/escalate_after: needs 'escalate_to' as well",
    ]


def test_an_action_node_sets_or_creates_something():
    flow = example()
    stamp = node(flow, "stamp")
    del stamp["set"], stamp["create"]
    assert problems(flow) == ["/nodes/8: must have 'set', 'create' or both"]


def test_every_structural_problem_is_listed_not_just_the_first():
    flow = example()
    flow["name"] = "Quote Discount"
    flow["trigger"] = "daily"
    node(flow, "route")["id"] = "Route"
    del node(flow, "both")["join"]
    node(flow, "finance")["mode"] = "most"
    node(flow, "manager")["fields"] = {"discount": "writable"}
    found = check_flow(flow, QUOTATION)
    assert [f"{e.field}: {e.message}" for e in found] == [
        "/name: must be a name like app.name, in lowercase letters, digits and _",
        "/nodes/1/id: must be an id: a lowercase letter, then lowercase letters, digits or _",
        "/nodes/2/fields/discount: must be one of: hidden, readonly, editable",
        "/nodes/4: is missing 'join'",
        "/nodes/5/mode: must be one of: any, all, sequence",
        "/trigger: must be one of: submit, manual",
    ]
    assert [e.params.get("node") for e in found] == [
        None,
        "Route",
        "manager",
        "both",
        "finance",
        None,
    ]


# -- the graph --------------------------------------------------------------------------------


def test_the_graph_is_checked_only_once_the_shape_is_right():
    flow = example()
    flow["trigger"] = "daily"
    node(flow, "manager")["next"] = "nowhere"
    assert problems(flow) == ["/trigger: must be one of: submit, manual"]


def test_a_reference_to_a_missing_node_is_reported_where_it_is_made():
    flow = example()
    node(flow, "route")["branches"][0]["next"] = "boss"
    node(flow, "route")["else"] = "managr"
    found = check_flow(flow, QUOTATION)
    assert [(e.field, e.message, e.code, e.params) for e in found] == [
        (
            "/nodes/1/branches/0/next",
            "no node has the id 'boss'",
            "unknown_node",
            {"node": "route", "target": "boss"},
        ),
        (
            "/nodes/1/else",
            "no node has the id 'managr'",
            "unknown_node",
            {"node": "route", "target": "managr"},
        ),
        # Only the typos lead there, so these are cut off too.
        ("/nodes/2", "cannot be reached from the start", "unreachable", {"node": "manager"}),
        ("/nodes/3", "cannot be reached from the start", "unreachable", {"node": "director"}),
        ("/nodes/4", "cannot be reached from the start", "unreachable", {"node": "both"}),
        ("/nodes/5", "cannot be reached from the start", "unreachable", {"node": "finance"}),
        ("/nodes/6", "cannot be reached from the start", "unreachable", {"node": "hr"}),
        ("/nodes/7", "cannot be reached from the start", "unreachable", {"node": "joined"}),
        ("/nodes/8", "cannot be reached from the start", "unreachable", {"node": "stamp"}),
        ("/nodes/9", "cannot be reached from the start", "unreachable", {"node": "approved"}),
    ]


def test_nothing_leads_back_to_the_start():
    flow = graph(start("a"), step("a", "start"), end())
    found = check_flow(flow, None)
    assert [(e.field, e.message, e.params["node"]) for e in found] == [
        ("/nodes/1/next", "cannot lead back to the start node", "a"),
        ("/nodes/2", "cannot be reached from the start", "done"),
    ]


def test_node_ids_are_unique():
    flow = graph(start("a"), step("a", "done"), step("a", "done"), end())
    assert problems(flow, None) == ["/nodes/2/id: another node already has the id 'a'"]


def test_a_flow_has_exactly_one_start_and_some_end():
    assert problems(graph(step("a", "a")), None) == [
        "/nodes: a flow needs a start node",
        "/nodes: a flow needs at least one end node",
        "/nodes/0: never reaches an end: a → a loops with no way out",
    ]
    two = graph(start("done"), {"id": "again", "type": "start", "next": "done"}, end())
    assert problems(two, None) == [
        "/nodes/1/type: a flow has one start node and 'start' is already it",
    ]


def test_an_unreachable_node_is_reported_at_the_node():
    flow = graph(start("done"), step("orphan", "done"), end())
    [error] = check_flow(flow, None)
    assert (error.field, error.message, error.code) == (
        "/nodes/1",
        "cannot be reached from the start",
        "unreachable",
    )
    assert error.params == {"node": "orphan"}


def test_a_rejected_end_needs_no_edge_because_any_rejection_leads_there():
    flow = graph(
        start("a"), step("a", "done"), end(), {"id": "no", "type": "end", "result": "rejected"}
    )
    assert problems(flow, None) == []


def test_a_loop_without_exit_is_reported_once_at_its_first_node():
    flow = graph(start("a"), step("a", "b"), step("b", "a"), end())
    found = check_flow(flow, None)
    assert [(e.field, e.message, e.code) for e in found] == [
        ("/nodes/1", "never reaches an end: a → b → a loops with no way out", "no_way_out"),
        ("/nodes/3", "cannot be reached from the start", "unreachable"),
    ]
    assert found[0].params == {"node": "a", "loop": ["a", "b"]}


def test_a_loop_a_branch_can_leave_is_fine():
    retry = {
        "id": "check",
        "type": "branch",
        "branches": [{"when": "amount > 100", "next": "a"}],
        "else": "done",
    }
    flow = graph(start("a"), step("a", "check"), retry, end())
    assert problems(flow) == []


def test_a_parallel_joins_at_a_join_node():
    flow = example()
    node(flow, "both")["join"] = "stamp"
    assert problems(flow) == [
        "/nodes/4/join: 'stamp' is not a join node",
        "/nodes/7: joins no parallel: name it as the join of the parallel it closes",
    ]


def test_a_join_without_a_parallel_is_reported_at_the_join():
    flow = graph(start("j"), {"id": "j", "type": "join", "next": "done"}, end())
    [error] = check_flow(flow, None)
    assert (error.field, error.code, error.params) == (
        "/nodes/1",
        "join_without_parallel",
        {"node": "j"},
    )


def test_a_join_closes_one_parallel_only():
    flow = graph(
        start("p1"),
        {"id": "p1", "type": "parallel", "branches": ["a", "b"], "join": "j"},
        {"id": "p2", "type": "parallel", "branches": ["a", "b"], "join": "j"},
        step("a", "j"),
        step("b", "j"),
        {"id": "j", "type": "join", "next": "done"},
        end(),
    )
    found = [(e.field, e.message) for e in check_flow(flow, None)]
    assert ("/nodes/2/join", "'j' already joins parallel 'p1'") in found


def test_a_branch_that_reaches_an_end_without_its_join_is_reported_at_the_branch():
    flow = example()
    node(flow, "finance")["next"] = "approved"
    found = check_flow(flow, QUOTATION)
    assert [(e.field, e.message, e.code, e.params) for e in found] == [
        (
            "/nodes/4/branches/0",
            "branch 'finance' reaches the end 'approved' without passing the join 'joined'",
            "escapes_join",
            {"node": "both", "branch": "finance", "end": "approved"},
        )
    ]


def test_a_join_reached_from_outside_its_parallel_is_reported_where_it_is_entered():
    flow = example()
    node(flow, "manager")["next"] = "joined"
    found = check_flow(flow, QUOTATION)
    assert [(e.field, e.message, e.params["node"]) for e in found] == [
        (
            "/nodes/2/next",
            "'joined' joins the branches of parallel 'both' and cannot be reached from outside "
            "them",
            "manager",
        )
    ]


def test_parallels_may_nest():
    flow = graph(
        start("outer"),
        {"id": "outer", "type": "parallel", "branches": ["a", "inner"], "join": "outer_j"},
        step("a", "outer_j"),
        {"id": "inner", "type": "parallel", "branches": ["b", "c"], "join": "inner_j"},
        step("b", "inner_j"),
        step("c", "inner_j"),
        {"id": "inner_j", "type": "join", "next": "outer_j"},
        {"id": "outer_j", "type": "join", "next": "done"},
        end(),
    )
    assert problems(flow, None) == []


def test_several_graph_problems_are_all_listed():
    flow = graph(
        start("a"),
        step("a", "b"),
        step("b", "a"),
        step("lost", "done"),
        {"id": "j", "type": "join", "next": "done"},
        step("c", "ghost"),
        end(),
    )
    assert problems(flow, None) == [
        "/nodes/1: never reaches an end: a → b → a loops with no way out",
        "/nodes/3: cannot be reached from the start",
        "/nodes/4: cannot be reached from the start",
        "/nodes/4: joins no parallel: name it as the join of the parallel it closes",
        "/nodes/5: cannot be reached from the start",
        "/nodes/5/next: no node has the id 'ghost'",
        "/nodes/6: cannot be reached from the start",
    ]


# -- conditions, fields and forms -------------------------------------------------------------


def test_a_condition_that_does_not_parse_reports_where():
    flow = example()
    node(flow, "route")["branches"][0]["when"] = "discount > > 0.2"
    [error] = check_flow(flow, QUOTATION)
    assert error.field == "/nodes/1/branches/0/when"
    assert error.code == "bad_expression"
    assert error.message.endswith("(line 1, column 12)")
    assert error.params == {"node": "route", "position": 11, "line": 1, "column": 12}


def test_a_condition_reads_only_fields_of_the_form():
    flow = example()
    node(flow, "route")["branches"][0]["when"] = "AND(discont > 0.2, SUM(lines.price) > total)"
    found = check_flow(flow, QUOTATION)
    assert [(e.field, e.message, e.params) for e in found] == [
        (
            "/nodes/1/branches/0/when",
            "refers to unknown field 'discont'",
            {"node": "route", "field": "discont"},
        )
    ]


def test_an_approver_field_must_be_a_member_field():
    flow = example()
    node(flow, "manager")["approvers"] = [{"field": "amount"}, {"field": "ghost"}]
    node(flow, "manager")["timeout"]["escalate_to"] = [{"field": "watchers"}, {"field": "title"}]
    node(flow, "hr")["to"] = [{"field": "reviewer"}, {"field": "margin"}]
    found = check_flow(flow, QUOTATION)
    assert [(e.field, e.message, e.code) for e in found] == [
        ("/nodes/2/approvers/0/field", "'amount' is not a member field", "not_member_field"),
        ("/nodes/2/approvers/1/field", "unknown field 'ghost'", "unknown_field"),
        (
            "/nodes/2/timeout/escalate_to/1/field",
            "'title' is not a member field",
            "not_member_field",
        ),
        ("/nodes/6/to/1/field", "'margin' is not a member field", "not_member_field"),
    ]
    assert {e.params["node"] for e in found} == {"manager", "hr"}


def test_field_permissions_name_fields_of_the_form():
    flow = example()
    node(flow, "manager")["fields"]["cost"] = "hidden"
    [error] = check_flow(flow, QUOTATION)
    assert (error.field, error.message) == ("/nodes/2/fields/cost", "unknown field 'cost'")
    assert error.params == {"node": "manager", "field": "cost"}


def test_an_action_sets_fields_people_fill_in_with_expressions_that_compile():
    flow = example()
    node(flow, "stamp")["set"] = {"status": "UPPER(", "total": "1", "ghost": "2", "margin": "x"}
    assert problems(flow) == [
        "/nodes/8/set/ghost: form 'sales.quotation' has no field 'ghost'",
        "/nodes/8/set/margin: refers to unknown field 'x'",
        "/nodes/8/set/status: syntax error: unexpected end of expression, expected a value or ')' "
        "(line 1, column 7)",
        "/nodes/8/set/total: 'total' is computed and cannot be set",
    ]


def test_created_records_go_to_forms_that_exist_with_fields_they_have():
    flow = example()
    node(flow, "stamp")["create"] = [
        {"form": "sales.nothing", "values": {"note": "title"}},
        {"form": "sales.audit", "values": {"note": "ghost", "size": "1"}},
    ]
    assert problems(flow, form_exists=lambda name: forms(name) is not None, spec_of=forms) == [
        "/nodes/8/create/0/form: no form named 'sales.nothing'",
        "/nodes/8/create/1/values/note: refers to unknown field 'ghost'",
        "/nodes/8/create/1/values/size: form 'sales.audit' has no field 'size'",
    ]
    # Without the lookups only what the flow's own form can tell is checked.
    assert problems(flow) == ["/nodes/8/create/1/values/note: refers to unknown field 'ghost'"]


def test_the_flow_belongs_to_the_form_it_is_checked_against():
    flow = example()
    flow["form"] = "sales.order"
    assert problems(flow) == ["/form: is 'sales.order' but the form is 'sales.quotation'"]


# -- durations --------------------------------------------------------------------------------


def test_a_timeout_that_is_not_a_duration_is_reported_at_it():
    flow = example()
    node(flow, "manager")["timeout"].update(remind_after="4 hours", auto_after="PT0S")
    found = check_flow(flow, QUOTATION)
    assert [(e.field, e.message, e.code) for e in found] == [
        ("/nodes/2/timeout/auto_after", "must be longer than zero", "bad_duration"),
        (
            "/nodes/2/timeout/remind_after",
            "'4 hours' is not a duration like PT4H, P3D or P1DT2H30M",
            "bad_duration",
        ),
    ]
    assert found[0].params == {"node": "manager"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT4H", dt.timedelta(hours=4)),
        ("P3D", dt.timedelta(days=3)),
        ("P1DT2H30M", dt.timedelta(days=1, hours=2, minutes=30)),
        ("PT90S", dt.timedelta(seconds=90)),
        ("P2W", dt.timedelta(weeks=2)),
    ],
)
def test_durations_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "PT4h", "4H", "P1.5D", "PT-1H", " P1D"])
def test_anything_else_is_not_a_duration(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_years_and_months_are_refused_because_their_length_varies():
    with pytest.raises(ValueError, match="years or months"):
        parse_duration("P1M")
