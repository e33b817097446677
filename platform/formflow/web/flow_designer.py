"""The flow designer (admins): the flow as a vertical chart of steps, a step added after
any step, a side panel for the selected step (approvers, mode, field access, timeouts;
branch conditions with the same condition builder as visibility rules), publish.

The working copy is the admin's draft (kept in their settings until published or
discarded); publishing checks it (flows.definition) and refuses it with the steps that
are wrong highlighted. It reads and writes the same JSON as the files in workflows/.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..definitions.service import get_form, list_forms
from ..errors import FieldError, FormflowError, NotFound
from ..expressions.conditions import Row, build, rows_of
from ..flows import editing
from ..flows import service as flows
from ..people import service as people
from ..runtime import Work
from .i18n import error_text, language
from .session import admin_required, read, write

bp = Blueprint("flow_designer", __name__, url_prefix="/admin/flows")

APPROVER_KINDS = ("manager", "user", "role", "department_head", "field")
ACCESS = ("hidden", "readonly", "editable")
TIMEOUT_KEYS = ("remind_after", "escalate_after", "auto_after")


def _draft_key(name: str) -> str:
    return f"flow_draft:{name}"


def _draft(work: Work, name: str) -> tuple[dict[str, Any], bool]:
    """The admin's working copy and whether it differs from what is published."""
    saved = people.setting(work, work.actor_id, _draft_key(name))
    if saved is not None:
        return saved, True
    try:
        flow = flows.get_flow(work, name)
    except NotFound:
        abort(404)
    from .. import jsoncodec

    return jsoncodec.loads(flows.definition_text(work, flow)), False


@bp.route("/", methods=["GET", "POST"])
@admin_required
def index() -> Any:
    errors: list[str] = []
    if request.method == "POST":
        app, _dot, local = request.form.get("form", "").partition(".")
        name = f"{app}.{request.form.get('name', '').strip()}"
        definition = editing.new_flow(
            name, request.form.get("form", ""), request.form.get("title", "").strip()
        )
        with write() as work:
            exists = any(f.name == name for f in flows.all_flows(work))
            if exists or not local or not request.form.get("name", "").strip():
                errors.append(_("Give a new flow name and pick its form."))
            else:
                people.remember(work, work.actor_id, _draft_key(name), definition)
        if not errors:
            return redirect(url_for("flow_designer.design", name=name))
    with read() as work:
        known = flows.all_flows(work)
        forms = [
            f"{app.name}.{form.name}" for app, form in list_forms(work) if form.current_version
        ]
    return render_template("flows/index.html", flows=known, forms=forms, errors=errors)


@bp.get("/<name>")
@admin_required
def design(name: str) -> str:
    with read() as work:
        context = _context(work, name, request.args.get("node"))
    return render_template("flows/designer.html", **context)


@bp.post("/<name>/edit")
@admin_required
def edit(name: str) -> Any:
    """One change of the draft: add or remove a step, save the panel, add a branch."""
    op = request.form.get("op", "")
    selected = request.form.get("node") or None
    problems: list[str] = []
    with write() as work:
        definition, _changed = _draft(work, name)
        try:
            if op == "add":
                definition, selected = editing.add_after(
                    definition, request.form.get("after", ""), request.form.get("kind", "")
                )
            elif op == "remove" and selected:
                definition = editing.remove(definition, selected)
                selected = None
            elif op in ("save", "add_branch", "remove_branch") and selected:
                node = copy.deepcopy(definition["nodes"][editing.node_index(definition, selected)])
                definition = editing.replace_node(definition, _from_panel(node, request.form, op))
            elif op == "discard":
                people.remember(work, work.actor_id, _draft_key(name), None)
                return redirect(url_for("flow_designer.design", name=name))
            else:
                abort(400)
        except (ValueError, KeyError) as error:
            problems.append(str(error))
        else:
            people.remember(work, work.actor_id, _draft_key(name), definition)
        context = _context(work, name, selected, problems=problems)
    return _render(context, 422 if problems else 200)


@bp.post("/<name>/publish")
@admin_required
def publish(name: str) -> Any:
    try:
        with write() as work:
            definition, _changed = _draft(work, name)
            flow = flows.publish(work, definition, note=request.form.get("note") or None)
            people.remember(work, work.actor_id, _draft_key(name), None)
            version = flow.current_version
    except FormflowError as error:
        with read() as work:
            context = _context(work, name, request.form.get("node"), errors=error.errors)
        return _render(context, error.status)
    flash(_("Published version %(version)s.", version=version))
    return redirect(url_for("flow_designer.design", name=name))


@bp.get("/<name>/export")
@admin_required
def export(name: str) -> Response:
    with read() as work:
        flow = flows.get_flow(work, name)
        text = flows.definition_text(work, flow)
    local = name.split(".", 1)[1]
    return Response(
        text,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{local}.json"'},
    )


def _render(context: dict[str, Any], status: int) -> Any:
    template = "flows/body.html" if request.headers.get("HX-Request") else "flows/designer.html"
    return render_template(template, **context), status


# -- the page ----------------------------------------------------------------------------------


def _context(
    work: Work,
    name: str,
    selected: str | None,
    *,
    errors: list[FieldError] | None = None,
    problems: list[str] | None = None,
) -> dict[str, Any]:
    definition, changed = _draft(work, name)
    try:
        loaded = get_form(work, definition.get("form", ""))
    except NotFound:
        loaded = None
    published = next((f for f in flows.all_flows(work) if f.name == name), None)
    by_node: dict[str, list[str]] = {}
    general: list[str] = list(problems or [])
    for error in errors or []:
        node = (error.params or {}).get("node")
        text = f"{error.field}: {error_text(error)}" if error.field else error_text(error)
        (by_node.setdefault(node, []) if node else general).append(text)
    nodes = definition.get("nodes", [])
    node = next((n for n in nodes if n.get("id") == selected), None)
    fields = [f for f in loaded.spec.fields if f.stores] if loaded else []
    return {
        "name": name,
        "definition": definition,
        "changed": changed,
        "published": published,
        "nodes": nodes,
        "node": node,
        "node_errors": by_node,
        "general_errors": general,
        "fields": fields,
        "member_fields": [f for f in fields if f.type.name in ("member", "members")],
        "condition": _conditions(node) if node and node.get("type") == "branch" else [],
        "kinds": editing.ADDABLE,
        "approver_kinds": APPROVER_KINDS,
        "describe": _describe,
        "lang": language(),
    }


def _conditions(node: dict[str, Any]) -> list[Any]:
    """Each branch's condition as builder rows (join, rows), or None for free text."""
    return [rows_of(branch.get("when", "")) for branch in node.get("branches", [])]


def _describe(rule: dict[str, Any]) -> str:
    kind, value = next(iter(rule.items()))
    return {
        "manager": _("manager, %(n)s level(s) up", n=value),
        "user": _("user %(name)s", name=value),
        "role": _("role %(name)s", name=value),
        "department_head": _("head of %(name)s", name=value),
        "field": _("people in field %(name)s", name=value),
    }.get(kind, str(rule))


# -- the panel → the node ----------------------------------------------------------------------


def _rules(values: Any, prefix: str) -> list[dict[str, Any]]:
    out = []
    for kind, value in zip(
        values.getlist(f"{prefix}_kind"), values.getlist(f"{prefix}_value"), strict=False
    ):
        value = value.strip()
        if not kind or not value:
            continue
        out.append({kind: int(value) if kind == "manager" and value.isdigit() else value})
    return out


def _from_panel(node: dict[str, Any], values: Any, op: str) -> dict[str, Any]:
    kind = node["type"]
    out: dict[str, Any] = {"id": node["id"], "type": kind}
    title = values.get("title", "").strip()
    if title:
        out["title"] = title
    if kind == "approval":
        out["approvers"] = _rules(values, "ap")
        out["mode"] = values.get("mode", "any")
        if values.get("fallback", "admin") != "admin":
            out["fallback"] = values["fallback"]
        access = {f[3:]: values[f] for f in values if f.startswith("fa:") and values[f] in ACCESS}
        if access:
            out["fields"] = access
        timeout: dict[str, Any] = {}
        for key in TIMEOUT_KEYS:
            if values.get(f"t_{key}", "").strip():
                timeout[key] = values[f"t_{key}"].strip()
        if "escalate_after" in timeout:
            timeout["escalate_to"] = _rules(values, "esc")
        if "auto_after" in timeout:
            timeout["auto_action"] = values.get("t_auto_action", "approve")
        if timeout:
            out["timeout"] = timeout
        auto = {k: True for k in ("repeated", "initiator") if values.get(f"aa_{k}")}
        if auto:
            out["auto_approve"] = auto
        out["next"] = values.get("next", node.get("next"))
    elif kind == "cc":
        out["to"] = _rules(values, "ap")
        out["next"] = values.get("next", node.get("next"))
    elif kind == "branch":
        branches = []
        count = len(node.get("branches", []))
        for i in range(count):
            if op == "remove_branch" and values.get("branch") == str(i):
                continue
            if values.get(f"b{i}_mode") == "rows":
                rows = [
                    Row(f, o, v)
                    for f, o, v in zip(
                        values.getlist(f"b{i}_field"),
                        values.getlist(f"b{i}_op"),
                        values.getlist(f"b{i}_value"),
                        strict=False,
                    )
                    if f
                ]
                when = build(
                    rows, values.get(f"b{i}_join", "AND"), set(values.getlist(f"b{i}_numeric"))
                )
            else:
                when = values.get(f"b{i}_when", "").strip()
            branch: dict[str, Any] = {"when": when, "next": values.get(f"b{i}_next", "")}
            if values.get(f"b{i}_title", "").strip():
                branch = {**branch, "title": values[f"b{i}_title"].strip()}
            branches.append(branch)
        if op == "add_branch":
            branches.append({"when": "", "next": values.get("else", node.get("else"))})
        out["branches"] = branches
        out["else"] = values.get("else", node.get("else"))
    elif kind == "action":
        out["set"] = {
            key: expression.strip()
            for key, expression in zip(
                values.getlist("set_field"), values.getlist("set_expr"), strict=False
            )
            if key and expression.strip()
        }
        if node.get("create"):
            out["create"] = node["create"]
        out["next"] = values.get("next", node.get("next"))
    elif kind == "end":
        out["result"] = values.get("result", node.get("result", "approved"))
    else:
        # start, parallel, join: only their way on is edited here
        out = {**node, **({"title": title} if title else {})}
        if "next" in node:
            out["next"] = values.get("next", node["next"])
    return out
