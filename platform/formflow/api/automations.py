"""Automations: definitions, turning them on and off, and their run log.

An admin may manage every automation; someone who manages a form (the ``manage`` grant)
may manage the automations its records trigger — and their actions may only write forms
they may write themselves, which publishing checks.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from sqlalchemy import func, select

from .. import jsoncodec
from ..automations import runs
from ..automations import service as automations
from ..automations.definition import trigger_form
from ..automations.models import Automation, AutomationRun, RunState
from ..definitions.service import get_form, get_form_by_id
from ..errors import BadRequest, FieldError, Forbidden, NotFound
from ..permissions.models import Action
from ..permissions.policy import policy_for
from ..runtime import Work
from .blueprint import api, id_arg, json_body, read, respond, write
from .representation import timestamp

PAGE = 50


@api.get("/automations")
def list_automations() -> Response:
    """The automations the caller may manage, with their last run and failed-run count."""
    with read() as work:
        found = [a for a in automations.all_automations(work) if _may_manage(work, a.form_id)]
        body = {"automations": [_automation_json(work, a) for a in found]}
    return respond(body)


@api.get("/automations/<name>")
def get_automation(name: str) -> Response:
    """An automation, its definition (``?version=n`` for an older one) and its webhooks."""
    version = id_arg("version")
    with read() as work:
        automation = _managed(work, name)
        body = {
            **_automation_json(work, automation),
            "definition": jsoncodec.loads(automations.definition_text(work, automation, version)),
            "webhooks": _hooks_json(work, automation),
        }
    return respond(body)


@api.put("/automations/<name>")
def put_automation(name: str) -> Response:
    """Publish a new version (created if new); the caller becomes its owner."""
    definition = json_body()
    if definition.get("name", name) != name:
        raise BadRequest(
            [FieldError("/name", f"the definition names another automation than '{name}'")]
        )
    definition = {**definition, "name": name}
    with write() as work:
        existing = work.session.scalar(select(Automation).where(Automation.name == name))
        if existing is not None:
            _require_manage(work, existing.form_id)
        _require_manage(work, _form_id_of(work, definition))
        automation = automations.publish(work, definition, note=request.args.get("note"))
        body = _automation_json(work, automation)
    return respond(body, 200 if existing is not None else 201)


@api.patch("/automations/<name>")
def patch_automation(name: str) -> Response:
    """Turn an automation on or off: ``{"enabled": false}``."""
    body = json_body()
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise BadRequest([FieldError("enabled", "enabled must be true or false", "type")])
    with write() as work:
        _managed(work, name)
        automation = automations.set_enabled(work, name, enabled)
        payload = _automation_json(work, automation)
    return respond(payload)


@api.get("/automations/<name>/runs")
def list_runs(name: str) -> Response:
    """The run log, newest first, 50 a page (``before``: the previous page's ``next``);
    ``state`` narrows to one state."""
    state = request.args.get("state") or None
    if state is not None and state not in {s.value for s in RunState}:
        states = ", ".join(s.value for s in RunState)
        raise BadRequest([FieldError("state", f"state is one of {states}", "choice")])
    before = id_arg("before")
    with read() as work:
        automation = _managed(work, name)
        found = runs.runs_of(work, automation.id, state=state, before=before, limit=PAGE)
        body = {
            "runs": [_run_json(run) for run in found],
            "next": str(found[-1].id) if len(found) == PAGE else None,
        }
    return respond(body)


@api.get("/automations/<name>/runs/<id:run_id>")
def get_run(name: str, run_id: int) -> Response:
    with read() as work:
        run = _run_of(work, name, run_id)
        body = _run_json(run)
    return respond(body)


@api.post("/automations/<name>/runs/<id:run_id>/retry")
def retry_run(name: str, run_id: int) -> Response:
    """Run a failed or stopped run again, from its first action."""
    with write() as work:
        _run_of(work, name, run_id)
        run = runs.retry(work, run_id)
        body = _run_json(run)
    return respond(body)


# -- who may ---------------------------------------------------------------------------------


def _may_manage(work: Work, form_id: int | None) -> bool:
    actor = work.actor
    if actor is None:
        return False
    if actor.is_admin:
        return True
    if form_id is None:
        return False  # a schedule belongs to no form: admins only
    return policy_for(work, get_form_by_id(work, form_id)).allows(Action.MANAGE)


def _require_manage(work: Work, form_id: int | None) -> None:
    if not _may_manage(work, form_id):
        raise Forbidden("only an admin, or who manages the form, may manage its automations")


def _managed(work: Work, name: str) -> Automation:
    automation = automations.get_automation(work, name)
    _require_manage(work, automation.form_id)
    return automation


def _run_of(work: Work, name: str, run_id: int) -> AutomationRun:
    automation = _managed(work, name)
    run = runs.get_run(work, run_id)
    if run.automation_id != automation.id:
        raise NotFound(f"automation '{name}' has no run #{run_id}")
    return run


def _form_id_of(work: Work, definition: dict[str, Any]) -> int | None:
    """The form the definition is triggered by, if it can be read (else the definition's
    own checks say what is wrong, and only an admin gets that far)."""
    try:
        name = trigger_form(definition, lambda flow: automations.flow_form(work, flow))
        return get_form(work, name).form.id if isinstance(name, str) else None
    except (KeyError, TypeError, AttributeError, NotFound, ValueError):
        return None


# -- representation --------------------------------------------------------------------------


def _automation_json(work: Work, automation: Automation) -> dict[str, Any]:
    last = work.session.scalars(
        select(AutomationRun)
        .where(AutomationRun.automation_id == automation.id)
        .order_by(AutomationRun.id.desc())
        .limit(1)
    ).first()
    failed = work.session.scalar(
        select(func.count())
        .select_from(AutomationRun)
        .where(
            AutomationRun.automation_id == automation.id,
            AutomationRun.state == RunState.FAILED.value,
        )
    )
    form = get_form_by_id(work, automation.form_id).name if automation.form_id else None
    return {
        "name": automation.name,
        "title": automation.title,
        "trigger": automation.event,
        "form": form,
        "enabled": automation.enabled,
        "version": automation.current_version,
        "owner": automation.owner_id,
        "last_run": _run_json(last) if last is not None else None,
        "failed_runs": failed or 0,
    }


def _run_json(run: AutomationRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "version": run.version,
        "trigger": run.trigger,
        "record_id": run.record_id,
        "event": run.event,
        "depth": run.depth,
        "state": run.state,
        "attempts": run.attempts,
        "log": run.log,
        "error": run.error,
        "created_at": timestamp(run.created_at),
        "finished_at": timestamp(run.finished_at) if run.finished_at else None,
        "duration_ms": run.duration_ms,
    }


def _hooks_json(work: Work, automation: Automation) -> list[dict[str, Any]]:
    """The hook of each webhook action of the current version, in the actions' order."""
    from ..automations.actions import hook_key
    from ..webhooks.models import Webhook

    out = []
    for index, action in enumerate(automations.spec(work, automation).actions):
        if action["type"] != "webhook":
            continue
        hook = work.session.scalar(
            select(Webhook).where(Webhook.key == hook_key(automation.id, action["url"]))
        )
        if hook is None:
            continue
        out.append(
            {
                "action": index,
                "url": hook.url,
                "secret": hook.secret,
                "deliveries": hook.deliveries,
                "failures": hook.failures,
                "consecutive_failures": hook.consecutive_failures,
                "last_status": hook.last_status,
                "last_error": hook.last_error,
                "last_success_at": timestamp(hook.last_success_at),
            }
        )
    return out
