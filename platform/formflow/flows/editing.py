"""Changing a flow definition the way the designer does: add a step after another, remove
a step, add a branch. Pure functions on the JSON document; the designer saves the result
as the admin's draft and publishing checks it (flows.definition)."""

from __future__ import annotations

import copy
from typing import Any

#: What "add a step" can add, with the node it starts as.
ADDABLE = ("approval", "cc", "branch", "action", "parallel")


def new_flow(name: str, form: str, title: str) -> dict[str, Any]:
    """A flow that starts on submit, asks the submitter's manager, and ends."""
    return {
        "name": name,
        "title": title or name,
        "form": form,
        "trigger": "submit",
        "nodes": [
            {"id": "start", "type": "start", "next": "manager"},
            {
                "id": "manager",
                "type": "approval",
                "title": "Manager",
                "approvers": [{"manager": 1}],
                "mode": "any",
                "next": "approved",
            },
            {"id": "approved", "type": "end", "result": "approved"},
            {"id": "rejected", "type": "end", "result": "rejected"},
        ],
    }


def node_index(definition: dict[str, Any], node_id: str) -> int:
    for index, node in enumerate(definition["nodes"]):
        if node.get("id") == node_id:
            return index
    raise KeyError(node_id)


def fresh_id(definition: dict[str, Any], kind: str) -> str:
    taken = {node.get("id") for node in definition["nodes"]}
    n = 1
    while f"{kind}_{n}" in taken:
        n += 1
    return f"{kind}_{n}"


def add_after(definition: dict[str, Any], after: str, kind: str) -> tuple[dict[str, Any], str]:
    """A new ``kind`` step between ``after`` and what came next; (definition, its id)."""
    if kind not in ADDABLE:
        raise ValueError(f"cannot add a '{kind}' step")
    out = copy.deepcopy(definition)
    index = node_index(out, after)
    before = out["nodes"][index]
    following = before.get("next")
    if not isinstance(following, str):
        raise ValueError(f"step '{after}' has no single next step to insert after")
    new_id = fresh_id(out, kind)
    node: dict[str, Any] = {"id": new_id, "type": kind}
    if kind == "approval":
        node |= {"approvers": [{"manager": 1}], "mode": "any", "next": following}
    elif kind == "cc":
        node |= {"to": [{"manager": 1}], "next": following}
    elif kind == "branch":
        node |= {"branches": [{"when": "", "next": following}], "else": following}
    elif kind == "action":
        node |= {"set": {}, "next": following}
    elif kind == "parallel":
        # two approvals side by side that meet at a join before going on
        join_id = fresh_id(out, "join")
        first = fresh_id(out, "approval")
        taken = {first}
        n = int(first.rsplit("_", 1)[1]) + 1
        while f"approval_{n}" in {x.get("id") for x in out["nodes"]} | taken:
            n += 1
        second = f"approval_{n}"
        node |= {"branches": [first, second], "join": join_id}
        branches = [
            {
                "id": b,
                "type": "approval",
                "approvers": [{"manager": 1}],
                "mode": "any",
                "next": join_id,
            }
            for b in (first, second)
        ]
        before["next"] = new_id
        out["nodes"][index + 1 : index + 1] = [
            node,
            *branches,
            {"id": join_id, "type": "join", "next": following},
        ]
        return out, new_id
    before["next"] = new_id
    out["nodes"].insert(index + 1, node)
    return out, new_id


def remove(definition: dict[str, Any], node_id: str) -> dict[str, Any]:
    """Remove a step with a single way on; whatever led to it leads there instead."""
    out = copy.deepcopy(definition)
    index = node_index(out, node_id)
    node = out["nodes"][index]
    if node["type"] in ("start", "end", "parallel", "join"):
        raise ValueError(f"a {node['type']} step cannot be removed here")
    following = node.get("next", node.get("else"))
    del out["nodes"][index]
    for other in out["nodes"]:
        for key in ("next", "else"):
            if other.get(key) == node_id:
                other[key] = following
        for branch in other.get("branches", []) if other["type"] == "branch" else []:
            if branch.get("next") == node_id:
                branch["next"] = following
    return out


def replace_node(definition: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(definition)
    out["nodes"][node_index(out, node["id"])] = node
    return out
