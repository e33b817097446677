"""Approval-flow definitions: what a flow may say, and checking one before it is saved.

A flow is a JSON document — nodes (start, approval, cc, branch, parallel, join, action, end)
joined by ``next`` — shipped as a file under ``workflows/`` and stored versioned. Checking
it has two layers, like a form definition's: the meta-schema (:data:`FLOW_SCHEMA`: shape,
keywords, types of values), then, once the shape is right, what a schema cannot say — ids
that are unique and exist, a graph that starts once and always ends, parallel branches that
meet at their join, conditions that compile and name real fields, durations that parse.

Every problem is a :class:`~formflow.errors.FieldError` whose ``field`` is a JSON pointer into
the flow (``/nodes/3/approvers/0/field``); ``params["node"]`` names the node it belongs to so
a designer can highlight it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from ..definitions.metaschema import DRAFT, FIELD_KEY
from ..definitions.spec import LANGUAGES, FormSpec
from ..errors import FieldError
from ..expressions import Expression, ExpressionError, compile_expression

NODE_ID = r"^[a-z][a-z0-9_]{0,63}$"
#: Role names follow the same rule as node ids (people/service.py ROLE_NAME).
ROLE_NAME = NODE_ID
USERNAME = r"^[A-Za-z0-9_.@-]{2,80}$"
FLOW_NAME = r"^[a-z][a-z0-9_]{0,63}\.[a-z][a-z0-9_]{0,63}$"
FORM_NAME = FLOW_NAME
NODE_TYPES = ("start", "approval", "cc", "branch", "parallel", "join", "action", "end")
APPROVER_KINDS = ("user", "role", "manager", "department_head", "field")
#: Field types whose value is people, so a ``{"field": key}`` approver can name them.
PEOPLE_FIELDS = frozenset({"member", "members"})
DURATION_KEYS = ("remind_after", "escalate_after", "auto_after")

#: Tells whether a form exists, by its full name (``sales.audit``).
FormExists = Callable[[str], bool]
#: The compiled spec of a form by its full name; None when it is unknown.
SpecOf = Callable[[str], FormSpec | None]


# -- the meta-schema --------------------------------------------------------------------------

_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_EXPRESSION = {"type": "string", "minLength": 1, "maxLength": 4000}
_NODE_REF = {"type": "string", "pattern": NODE_ID}
_APPROVER = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {
        "user": {"type": "string", "pattern": USERNAME},
        "role": {"type": "string", "pattern": ROLE_NAME},
        "manager": {"type": "integer", "minimum": 1, "maximum": 5},
        "department_head": {"type": "string", "minLength": 1, "maxLength": 120},
        "field": {"type": "string", "pattern": FIELD_KEY},
    },
    "additionalProperties": False,
}
_DURATION = {"type": "string", "minLength": 2, "maxLength": 40}


def _node(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "type", *required],
        "properties": {
            "id": {"$ref": "#/$defs/nodeId"},
            "type": {"enum": list(NODE_TYPES)},
            "title": {"$ref": "#/$defs/text"},
            **properties,
        },
        "additionalProperties": False,
    }


_NEXT = {"next": {"$ref": "#/$defs/nodeRef"}}
_NODES: dict[str, dict[str, Any]] = {
    "start": _node(["next"], _NEXT),
    "end": _node(["result"], {"result": {"enum": ["approved", "rejected"]}}),
    "approval": _node(
        ["approvers", "next"],
        {
            "approvers": {"$ref": "#/$defs/approvers"},
            "mode": {"enum": ["any", "all", "sequence"], "default": "any"},
            "fallback": {"enum": ["admin", "skip"], "default": "admin"},
            "fields": {
                "type": "object",
                "propertyNames": {"$ref": "#/$defs/fieldKey"},
                "additionalProperties": {"enum": ["hidden", "readonly", "editable"]},
            },
            "timeout": {
                "type": "object",
                "properties": {
                    "remind_after": _DURATION,
                    "escalate_after": _DURATION,
                    "escalate_to": {"$ref": "#/$defs/approvers"},
                    "auto_after": _DURATION,
                    "auto_action": {"enum": ["approve", "return"]},
                },
                "dependentRequired": {
                    "escalate_after": ["escalate_to"],
                    "auto_after": ["auto_action"],
                },
                "additionalProperties": False,
            },
            "auto_approve": {
                "type": "object",
                "properties": {"repeated": {"type": "boolean"}, "initiator": {"type": "boolean"}},
                "additionalProperties": False,
            },
            **_NEXT,
        },
    ),
    "cc": _node(["to", "next"], {"to": {"$ref": "#/$defs/approvers"}, **_NEXT}),
    "branch": _node(
        ["branches", "else"],
        {
            "branches": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["when", "next"],
                    "properties": {
                        "when": {"$ref": "#/$defs/expression"},
                        "next": {"$ref": "#/$defs/nodeRef"},
                        "title": {"$ref": "#/$defs/text"},
                    },
                    "additionalProperties": False,
                },
            },
            "else": {"$ref": "#/$defs/nodeRef"},
        },
    ),
    "parallel": _node(
        ["branches", "join"],
        {
            "branches": {
                "type": "array",
                "minItems": 2,
                "uniqueItems": True,
                "items": {"$ref": "#/$defs/nodeRef"},
            },
            "join": {"$ref": "#/$defs/nodeRef"},
        },
    ),
    "join": _node(["next"], _NEXT),
    "action": {
        **_node(
            ["next"],
            {
                "set": {"$ref": "#/$defs/assignments"},
                "create": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["form", "values"],
                        "properties": {
                            "form": {"type": "string", "pattern": FORM_NAME},
                            "values": {"$ref": "#/$defs/assignments"},
                        },
                        "additionalProperties": False,
                    },
                },
                **_NEXT,
            },
        ),
        "anyOf": [{"required": ["set"]}, {"required": ["create"]}],
    },
}

#: The meta-schema of a flow definition (JSON Schema draft 2020-12).
FLOW_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "$id": "https://formflow.dev/schemas/flow-definition.json",
    "title": "Formflow approval flow",
    "type": "object",
    "required": ["name", "title", "form", "trigger", "nodes"],
    "properties": {
        "$comment": {"type": "string"},
        "name": {"type": "string", "pattern": FLOW_NAME},
        "title": {"$ref": "#/$defs/text"},
        "form": {"type": "string", "pattern": FORM_NAME},
        "trigger": {"enum": ["submit", "manual"]},
        "nodes": {
            "type": "array",
            "minItems": 1,
            "maxItems": 500,
            "items": {
                "type": "object",
                "required": ["id", "type"],
                "properties": {
                    "id": {"$ref": "#/$defs/nodeId"},
                    "type": {"enum": list(NODE_TYPES)},
                },
                "allOf": [
                    {
                        "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
                        "then": {"$ref": f"#/$defs/node-{kind}"},
                    }
                    for kind in NODE_TYPES
                ],
            },
        },
    },
    "additionalProperties": False,
    "$defs": {
        "nodeId": {"type": "string", "pattern": NODE_ID},
        "nodeRef": _NODE_REF,
        "fieldKey": {"type": "string", "pattern": FIELD_KEY},
        "expression": _EXPRESSION,
        "text": {
            "anyOf": [
                _TEXT,
                {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"enum": list(LANGUAGES)},
                    "additionalProperties": _TEXT,
                },
            ]
        },
        "approver": _APPROVER,
        "approvers": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/approver"}},
        "assignments": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"$ref": "#/$defs/fieldKey"},
            "additionalProperties": {"$ref": "#/$defs/expression"},
        },
        **{f"node-{kind}": schema for kind, schema in _NODES.items()},
    },
}


@cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(FLOW_SCHEMA)
    return Draft202012Validator(FLOW_SCHEMA)


# -- durations --------------------------------------------------------------------------------

_DURATION_RE = re.compile(
    r"P(?:(?P<weeks>\d{1,6})W)?(?:(?P<days>\d{1,6})D)?"
    r"(?:T(?:(?P<hours>\d{1,6})H)?(?:(?P<minutes>\d{1,6})M)?(?:(?P<seconds>\d{1,6})S)?)?"
)
#: Years and months (``P1M``): refused with their own message, since they look valid.
_CALENDAR_RE = re.compile(r"P\d+[YM]")


def parse_duration(text: str) -> dt.timedelta:
    """An ISO 8601 duration in weeks, days, hours, minutes and seconds (``PT4H``, ``P3D``,
    ``P1DT2H30M``) as a timedelta; raises ValueError for anything else.

    Years and months are refused: they have no fixed length, and a timeout must.
    """
    if not isinstance(text, str):
        raise ValueError("a duration must be text like PT4H, P3D or P1DT2H30M")
    match = _DURATION_RE.fullmatch(text)
    if match is None or not any(match.groups()) or text.endswith("T"):
        if _CALENDAR_RE.match(text):
            raise ValueError(f"'{text}' counts years or months, which vary in length; use days")
        raise ValueError(f"'{text}' is not a duration like PT4H, P3D or P1DT2H30M")
    parts = {unit: int(amount) for unit, amount in match.groupdict().items() if amount}
    return dt.timedelta(**parts)


# -- checking ---------------------------------------------------------------------------------


def check_flow(
    definition: Any,
    form_spec: FormSpec | None,
    *,
    form_exists: FormExists | None = None,
    spec_of: SpecOf | None = None,
) -> list[FieldError]:
    """All problems of a flow definition; an empty list means it may be published.

    ``form_spec`` is the compiled spec of the flow's form; without it field names are not
    checked. ``form_exists`` and ``spec_of`` look up the forms an action node creates records
    in; without them those forms and their field keys are taken on trust.
    """
    if not isinstance(definition, dict):
        return [FieldError("", "a flow definition must be a JSON object", "schema.type")]
    report = Report(definition)
    for error in _validator().iter_errors(definition):
        describe_error(error, report)
    if not report.errors:
        _Graph(definition["nodes"], report).check()
        _check_references(definition, form_spec, form_exists, spec_of, report)
    return report.sorted()


class Report:
    """The problems found so far, each once, with the node it belongs to."""

    def __init__(self, definition: dict[str, Any]) -> None:
        nodes = definition.get("nodes")
        self.nodes = nodes if isinstance(nodes, list) else []
        self.errors: dict[tuple[str, str], FieldError] = {}

    def add(self, pointer: str, message: str, code: str, **params: Any) -> None:
        node = self._node_at(pointer)
        if node is not None:
            params = {"node": node, **params}
        self.errors.setdefault((pointer, message), FieldError(pointer, message, code, params))

    def sorted(self) -> list[FieldError]:
        return sorted(self.errors.values(), key=lambda e: (_pointer_key(e.field), e.message))

    def _node_at(self, pointer: str) -> str | None:
        match = re.match(r"/nodes/(\d+)(?:/|$)", pointer)
        if match is None or int(match[1]) >= len(self.nodes):
            return None
        node = self.nodes[int(match[1])]
        node_id = node.get("id") if isinstance(node, dict) else None
        return node_id if isinstance(node_id, str) else None


def _pointer_key(pointer: str | None) -> list[tuple[int, int, str]]:
    """Sorts ``/nodes/2`` before ``/nodes/10``: list indexes compare as numbers."""
    parts = (pointer or "").split("/")[1:]
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts]


class _Graph:
    """The nodes as a graph: edges are ``next``, ``else``, branch targets and parallel arms
    (a parallel's ``join`` names where its arms meet; it is not an edge)."""

    def __init__(self, nodes: list[dict[str, Any]], report: Report) -> None:
        self.nodes = nodes
        self.report = report
        self.index: dict[str, int] = {}
        for i, node in enumerate(nodes):
            if node["id"] in self.index:
                report.add(
                    f"/nodes/{i}/id",
                    f"another node already has the id '{node['id']}'",
                    "duplicate_id",
                )
            else:
                self.index[node["id"]] = i
        self.edges: dict[int, list[tuple[str, int]]] = {}
        #: Nodes with a reference to no node or to the start: already reported, so not
        #: called dead ends too.
        self.broken: set[int] = set()

    def check(self) -> None:
        self._check_targets()
        starts = self._of_type("start")
        if not starts:
            self.report.add("/nodes", "a flow needs a start node", "no_start")
        for i in starts[1:]:
            first = self.nodes[starts[0]]["id"]
            self.report.add(
                f"/nodes/{i}/type",
                f"a flow has one start node and '{first}' is already it",
                "several_starts",
            )
        if not self._of_type("end"):
            self.report.add("/nodes", "a flow needs at least one end node", "no_end")
        if starts:
            reached = self._reach([starts[0]])
            for i in self._owned():
                # A rejection at any approval ends the flow at a rejected end: no edge needed.
                rejection = self.nodes[i]["type"] == "end" and self.nodes[i]["result"] == "rejected"
                if i not in reached and not rejection and self.nodes[i]["type"] != "start":
                    self.report.add(
                        f"/nodes/{i}", "cannot be reached from the start", "unreachable"
                    )
        self._check_dead_ends()
        self._check_parallels()

    def _of_type(self, kind: str) -> list[int]:
        return [i for i in self._owned() if self.nodes[i]["type"] == kind]

    def _owned(self) -> list[int]:
        """Nodes by index, a node whose id repeats an earlier one's left out."""
        return sorted(self.index.values())

    def _check_targets(self) -> None:
        for i in self._owned():
            node = self.nodes[i]
            self.edges[i] = []
            for pointer, target in _references(node):
                j = self.index.get(target)
                if j is None:
                    self.broken.add(i)
                    self.report.add(
                        f"/nodes/{i}/{pointer}",
                        f"no node has the id '{target}'",
                        "unknown_node",
                        target=target,
                    )
                elif self.nodes[j]["type"] == "start":
                    self.broken.add(i)
                    self.report.add(
                        f"/nodes/{i}/{pointer}", "cannot lead back to the start node", "to_start"
                    )
                elif pointer == "join":
                    if self.nodes[j]["type"] != "join":
                        self.report.add(
                            f"/nodes/{i}/join",
                            f"'{target}' is not a join node",
                            "not_a_join",
                            target=target,
                        )
                else:
                    self.edges[i].append((pointer, j))

    def _reach(self, roots: list[int], stop: int | None = None) -> set[int]:
        """Nodes reachable from ``roots`` (roots included), not going on past ``stop``."""
        seen = set(roots)
        queue = deque(roots)
        while queue:
            i = queue.popleft()
            if i == stop:
                continue
            for _, j in self.edges.get(i, ()):
                if j not in seen:
                    seen.add(j)
                    queue.append(j)
        return seen

    def _check_dead_ends(self) -> None:
        """Every node must lead to some end; a loop no path leaves is reported once, at its
        first node (the nodes leading into it are dead only because of it)."""
        back: dict[int, list[int]] = {i: [] for i in self.edges}
        for i, edges in self.edges.items():
            for _, j in edges:
                back[j].append(i)
        alive = set(self._of_type("end")) | self.broken
        queue = deque(alive)
        while queue:
            for i in back[queue.popleft()]:
                if i not in alive:
                    alive.add(i)
                    queue.append(i)
        dead = [i for i in self._owned() if i not in alive]
        reach = {i: self._reach([i]) for i in dead}
        reported: set[int] = set()
        for i in dead:
            loop = reach[i]
            if i in reported or any(i not in reach[j] for j in loop):
                continue  # not a loop no path leaves: it leads into one
            reported |= loop
            path = " → ".join(self.nodes[j]["id"] for j in self._cycle(i, loop))
            self.report.add(
                f"/nodes/{i}",
                f"never reaches an end: {path} loops with no way out",
                "no_way_out",
                loop=[self.nodes[j]["id"] for j in sorted(loop)],
            )

    def _cycle(self, start: int, within: set[int]) -> list[int]:
        """The shortest path from ``start`` back to itself through ``within``."""
        previous: dict[int, int] = {}
        queue = deque([start])
        while queue:
            i = queue.popleft()
            for _, j in self.edges[i]:
                if j == start:
                    path = [i]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if j in within and j not in previous:
                    previous[j] = i
                    queue.append(j)
        return [start]

    def _check_parallels(self) -> None:
        owner: dict[int, int] = {}
        for p in self._of_type("parallel"):
            join = self.index.get(self.nodes[p]["join"])
            if join is None or self.nodes[join]["type"] != "join":
                continue
            if join in owner:
                first = self.nodes[owner[join]]["id"]
                self.report.add(
                    f"/nodes/{p}/join",
                    f"'{self.nodes[join]['id']}' already joins parallel '{first}'",
                    "shared_join",
                    parallel=first,
                )
                continue
            owner[join] = p
            self._check_arms(p, join)
        for j in self._of_type("join"):
            if j not in owner:
                self.report.add(
                    f"/nodes/{j}",
                    "joins no parallel: name it as the join of the parallel it closes",
                    "join_without_parallel",
                )

    def _check_arms(self, p: int, join: int) -> None:
        """Each arm of parallel ``p`` must meet at ``join`` before any end, and only its arms
        may lead into ``join``."""
        parallel = self.nodes[p]
        join_id = self.nodes[join]["id"]
        inside: set[int] = set()
        for k, arm in enumerate(parallel["branches"]):
            first = self.index.get(arm)
            if first is None or first == join or self.nodes[first]["type"] == "start":
                continue
            region = self._reach([first], stop=join)
            inside |= region
            ends = [i for i in sorted(region) if self.nodes[i]["type"] == "end"]
            if ends:
                end = self.nodes[ends[0]]["id"]
                self.report.add(
                    f"/nodes/{p}/branches/{k}",
                    f"branch '{arm}' reaches the end '{end}' without passing the join '{join_id}'",
                    "escapes_join",
                    branch=arm,
                    end=end,
                )
        inside.discard(join)
        for i, edges in self.edges.items():
            if i == p or i in inside:
                continue
            for pointer, j in edges:
                if j == join:
                    self.report.add(
                        f"/nodes/{i}/{pointer}",
                        f"'{join_id}' joins the branches of parallel '{parallel['id']}' "
                        "and cannot be reached from outside them",
                        "join_from_outside",
                        parallel=parallel["id"],
                    )


def _references(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(pointer below the node, node id) of every node a node names."""
    if "next" in node:
        yield "next", node["next"]
    if node["type"] == "branch":
        for k, branch in enumerate(node["branches"]):
            yield f"branches/{k}/next", branch["next"]
        yield "else", node["else"]
    elif node["type"] == "parallel":
        for k, arm in enumerate(node["branches"]):
            yield f"branches/{k}", arm
        yield "join", node["join"]


def _check_references(
    definition: dict[str, Any],
    form_spec: FormSpec | None,
    form_exists: FormExists | None,
    spec_of: SpecOf | None,
    report: Report,
) -> None:
    """Conditions and values that compile and name real fields, people fields, durations,
    and the forms an action creates records in."""
    if form_spec is not None and form_spec.name and definition["form"] != form_spec.name:
        report.add(
            "/form", f"is '{definition['form']}' but the form is '{form_spec.name}'", "wrong_form"
        )
    elif form_spec is None and form_exists is not None and not form_exists(definition["form"]):
        report.add("/form", f"no form named '{definition['form']}'", "unknown_form")
    for i, node in enumerate(definition["nodes"]):
        at = f"/nodes/{i}"
        for k, branch in enumerate(node.get("branches", ())):
            if isinstance(branch, dict):
                check_expression(branch["when"], f"{at}/branches/{k}/when", form_spec, report)
        for key, rule in _people_rules(node):
            _check_people(rule, f"{at}/{key}", form_spec, report)
        if form_spec is not None:
            for key in node.get("fields", {}):
                if key not in form_spec.by_key:
                    report.add(
                        f"{at}/fields/{_escape(key)}",
                        f"unknown field '{key}'",
                        "unknown_field",
                        field=key,
                    )
        for key, source in node.get("set", {}).items():
            pointer = f"{at}/set/{_escape(key)}"
            if form_spec is not None:
                check_target_field(form_spec, key, pointer, report)
            check_expression(source, pointer, form_spec, report)
        for k, create in enumerate(node.get("create", ())):
            _check_create(create, f"{at}/create/{k}", form_spec, form_exists, spec_of, report)
        for key in DURATION_KEYS:
            text = node.get("timeout", {}).get(key)
            if text is not None:
                check_duration(text, f"{at}/timeout/{key}", report)


def _people_rules(node: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for j, rule in enumerate(node.get("approvers", ())):
        yield f"approvers/{j}", rule
    for j, rule in enumerate(node.get("to", ())):
        yield f"to/{j}", rule
    for j, rule in enumerate(node.get("timeout", {}).get("escalate_to", ())):
        yield f"timeout/escalate_to/{j}", rule


def _check_people(
    rule: dict[str, Any], pointer: str, form_spec: FormSpec | None, report: Report
) -> None:
    key = rule.get("field")
    if key is None or form_spec is None:
        return
    field = form_spec.by_key.get(key)
    if field is None:
        report.add(f"{pointer}/field", f"unknown field '{key}'", "unknown_field", field=key)
    elif field.type.name not in PEOPLE_FIELDS:
        report.add(
            f"{pointer}/field", f"'{key}' is not a member field", "not_member_field", field=key
        )


def check_target_field(spec: FormSpec, key: str, pointer: str, report: Report) -> None:
    """A field a node writes: it must exist, hold a value and not be computed."""
    field = spec.by_key.get(key)
    owner = f"form '{spec.name}'" if spec.name else "the form"
    if field is None:
        report.add(pointer, f"{owner} has no field '{key}'", "unknown_field", field=key)
    elif not field.stores:
        report.add(pointer, f"'{key}' holds no value and cannot be set", "not_settable", field=key)
    elif field.computed:
        report.add(pointer, f"'{key}' is computed and cannot be set", "not_settable", field=key)


def _check_create(
    create: dict[str, Any],
    pointer: str,
    form_spec: FormSpec | None,
    form_exists: FormExists | None,
    spec_of: SpecOf | None,
    report: Report,
) -> None:
    name = create["form"]
    if form_exists is not None and not form_exists(name):
        report.add(f"{pointer}/form", f"no form named '{name}'", "unknown_form", form=name)
    target = spec_of(name) if spec_of is not None else None
    for key, source in create["values"].items():
        at = f"{pointer}/values/{_escape(key)}"
        if target is not None:
            check_target_field(target, key, at, report)
        # Values are computed from the record the flow runs on, so they read its fields.
        check_expression(source, at, form_spec, report)


def check_expression(
    source: str, pointer: str, form_spec: FormSpec | None, report: Report
) -> Expression | None:
    try:
        expression = compile_expression(source)
    except ExpressionError as error:
        params: dict[str, Any] = {"position": error.position}
        message = error.message
        if error.line is not None and error.column is not None:
            message += f" (line {error.line}, column {error.column})"
            params.update(line=error.line, column=error.column)
        report.add(pointer, message, "bad_expression", **params)
        return None
    if form_spec is not None:
        for name in sorted(expression.references):
            if not readable(form_spec, name):
                report.add(
                    pointer, f"refers to unknown field '{name}'", "unknown_field", field=name
                )
    return expression


def readable(spec: FormSpec, name: str) -> bool:
    """Can a flow's expression read ``name`` from a record: a field that holds a value, or a
    subform column (``lines.total``) or an object field's part (``address.city``)."""
    head, _, tail = name.partition(".")
    field = spec.by_key.get(head)
    if field is None or not field.stores:
        return False
    if not tail:
        return True
    if field.has_rows:
        return any(c.key == tail and c.stores for c in field.children)
    return field.type.json_type == "object"


def check_duration(text: str, pointer: str, report: Report) -> None:
    try:
        duration = parse_duration(text)
    except ValueError as error:
        report.add(pointer, str(error), "bad_duration")
        return
    if not duration:
        report.add(pointer, "must be longer than zero", "bad_duration")


# -- meta-schema errors in words --------------------------------------------------------------

_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
}
_APPROVER_WORDS = "one of " + ", ".join(APPROVER_KINDS)
_PATTERN_WORDS = {
    NODE_ID: "must be an id: a lowercase letter, then lowercase letters, digits or _",
    FLOW_NAME: "must be a name like app.name, in lowercase letters, digits and _",
    FIELD_KEY: "must be a field key: a letter, then letters, digits or _ (at most 32)",
    USERNAME: "must be a username: 2 to 80 letters, digits or _ . @ -",
}


def describe_error(error: ValidationError, report: Report) -> None:
    """Report one meta-schema error in words, at the JSON pointer of what is wrong."""
    pointer = "".join(f"/{_escape(part)}" for part in error.absolute_path)
    keyword = str(error.validator)
    value = error.validator_value
    code = f"schema.{keyword}"
    instance = error.instance
    if keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        allowed = error.schema.get("properties", {})
        for extra in sorted(k for k in instance if k not in allowed):
            if error.schema is _APPROVER:
                message = f"is not a kind of approver; use {_APPROVER_WORDS}"
            else:
                message = "is not a known keyword here"
            report.add(f"{pointer}/{_escape(extra)}", message, code, keyword=extra)
        return
    if keyword in ("minProperties", "maxProperties") and error.schema is _APPROVER:
        report.add(pointer, f"must name exactly one approver: {_APPROVER_WORDS}", code)
        return
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        report.add(pointer, f"is missing '{missing}'", code, missing=missing)
        return
    if keyword == "dependentRequired":
        for present, needs in value.items():
            for need in needs:
                if present in instance and need not in instance:
                    report.add(f"{pointer}/{present}", f"needs '{need}' as well", code, needs=need)
        return
    if keyword == "anyOf" and error.schema is _NODES["action"]:
        report.add(pointer, "must have 'set', 'create' or both", code)
        return
    if keyword == "enum" and error.absolute_path and error.absolute_path[-1] == "type":
        what = "a node type" if pointer.startswith("/nodes") else "a known type"
        message = f"'{instance}' is not {what}; use one of: " + ", ".join(value)
        report.add(pointer, message, code, allowed=list(value))
        return
    if "propertyNames" in error.absolute_schema_path:
        report.add(
            f"{pointer}/{_escape(str(instance))}",
            "is not a field key: start with a letter, then letters, digits or _ (at most 32)",
            code,
        )
        return
    report.add(pointer, _words(error, keyword, value), code)


def _words(error: ValidationError, keyword: str, value: Any) -> str:
    if keyword == "type":
        kinds = value if isinstance(value, list) else [value]
        return "must be " + " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)
    if keyword == "enum":
        return "must be one of: " + ", ".join(map(str, value))
    if keyword == "anyOf":
        return 'must be text, or an object of translations like {"zh-CN": …, "en": …}'
    if keyword == "pattern":
        return _PATTERN_WORDS.get(value, f"must match {value}")
    words = {
        "minimum": f"must be at least {value}",
        "maximum": f"must be at most {value}",
        "minLength": f"must be at least {value} characters",
        "maxLength": f"must be at most {value} characters",
        "minItems": f"must have at least {value} items",
        "maxItems": f"must have at most {value} items",
        "minProperties": f"must have at least {value} entries",
        "uniqueItems": "must not repeat an item",
    }
    return words.get(keyword, error.message)


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")
