"""The sales plugin's REST API, ``/api/v1/sales/…``: targets and KPI scorecards as JSON.

The routes are thin: they read the query or body, call one service function
(``targets.tree``, ``targets.progress``, ``kpi.scorecards``) in one unit of work as the
calling user, and render what it returns. Who may see or change what is decided by those
services (``org.scope_of``, ``org.may_manage``), exactly as for the plugin's pages.

The blueprint shares the engine API's token authentication and error bodies
(``{"errors": [{"field", "message", "code"}]}``); its OpenAPI part is ``openapi.py``.
Lists come wrapped in an object (``{"period": …, "targets": [...]}``) as the engine's do.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException

import formflow.api.blueprint as engine_api
from formflow.api.blueprint import json_body, read, require_admin, respond, write
from formflow.errors import BadRequest, FieldError, Forbidden, FormflowError, NotFound
from formflow.runtime import Work

from . import org
from .kpi import scorecards
from .periods import Period
from .targets import progress, tree

blueprint = Blueprint("sales_api", __name__, url_prefix="/api/v1/sales")

# The engine's /api/v1 rules: a bearer token, and every error as JSON naming its field.
blueprint.before_request(engine_api.authenticate)
blueprint.register_error_handler(FormflowError, engine_api.formflow_error)
blueprint.register_error_handler(HTTPException, engine_api.http_error)
blueprint.register_error_handler(Exception, engine_api.unexpected_error)


@blueprint.record_once
def _exempt_from_csrf(state: BlueprintSetupState) -> None:
    """Bearer tokens, never cookies, authenticate here: no CSRF token to ask for."""
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(blueprint)


# -- targets ---------------------------------------------------------------------------------


@blueprint.get("/targets")
def list_targets() -> Response:
    period = _period(request.args.get("period"), required=False)
    with read() as work:
        payload = {"period": period, "targets": [t.as_dict() for t in _roots(work, period)]}
    return respond(payload)


@blueprint.get("/targets/<int:target_id>")
def get_target(target_id: int) -> Response:
    with read() as work:
        payload = {
            **tree.tree(work, target_id).as_dict(),
            "explanation": tree.explain_split(work, target_id),
        }
    return respond(payload)


@blueprint.post("/targets/<int:target_id>/decompose")
def decompose_target(target_id: int) -> Response:
    body = json_body()
    _only(body, {"by", "into", "method", "weights", "replace"})
    weights = body.get("weights")
    if weights is not None and not isinstance(weights, list):
        raise BadRequest([FieldError("weights", "must be a list of numbers", "type")])
    replace = body.get("replace", False)
    if not isinstance(replace, bool):
        raise BadRequest([FieldError("replace", "must be true or false", "type")])
    with write() as work:
        target = tree.decompose(
            work,
            target_id,
            by=_text(body, "by") or "period",
            into=_text(body, "into"),
            method=_text(body, "method") or "equal",
            weights=weights,
            replace=replace,
        )
        payload = target.as_dict()
    return respond(payload)


@blueprint.post("/targets/<int:target_id>/override")
def override_target(target_id: int) -> Response:
    body = json_body()
    _only(body, {"amount", "reason"})
    if body.get("amount") is None:
        raise BadRequest([FieldError("amount", "is required: the new amount", "required")])
    with write() as work:
        # tree.override checks who manages a child's parent, but files an adjustment of a
        # top-level target for anybody: nobody may ask to change a target they cannot see.
        if not tree.visible(work, tree.load(work, target_id)):
            raise Forbidden(f"you may not see target #{target_id}")
        result = tree.override(work, target_id, body["amount"], reason=_text(body, "reason"))
    # An adjustment waits for the target adjustment approval: accepted, not yet applied.
    return respond(result, 202 if "adjustment" in result else 200)


@blueprint.get("/targets/progress")
def target_progress() -> Response:
    period = _period(request.args.get("period"), required=True)
    level = request.args.get("level") or None
    if level is not None and level not in tree.LEVELS:
        raise BadRequest([FieldError("level", f"must be one of {', '.join(tree.LEVELS)}", "enum")])
    with read() as work:
        items = progress.progress(work, period, level=level)
        payload = {"period": period, "progress": [item.as_dict() for item in items]}
    return respond(payload)


def _roots(work: Work, period: str | None) -> list[tree.Target]:
    """The tops of what the viewer may see (of a period), each with its tree below it
    (as ``tree.tree`` builds it): targets whose parent they may not see, or whose parent
    is of another period than the one asked for."""
    everything = tree.all_targets(work)
    by_id = {target.id: target for target in everything}
    for target in everything:
        target.children = []
    for target in everything:
        if target.parent in by_id:
            by_id[target.parent].children.append(target)
    seen = {target.id for target in everything if tree.visible(work, target)}

    def listed(target: tree.Target | None) -> bool:
        return (
            target is not None
            and target.id in seen
            and (period is None or target.period.key == period)
        )

    def parent_listed(target: tree.Target) -> bool:
        return target.parent is not None and listed(by_id.get(target.parent))

    return [target for target in everything if listed(target) and not parent_listed(target)]


# -- KPI scorecards --------------------------------------------------------------------------


@blueprint.get("/kpi/scorecards")
def list_scorecards() -> Response:
    period = _period(request.args.get("period"), required=True)
    member = _member(request.args.get("member"))
    live = _flag("live", request.args.get("live"))
    with read() as work:
        if member is not None and not org.scope_of(work).sees_member(member):
            raise Forbidden(f"you may not see the scorecard of user #{member}")
        cards = scorecards.scorecards(
            work, period, members=None if member is None else {member}, live=live
        )
        payload = {"period": period, "scorecards": [card.as_dict() for card in cards]}
    return respond(payload)


@blueprint.get("/kpi/scorecards/<int:member>/<period>/<metric>/records")
def scorecard_records(member: int, period: str, metric: str) -> Response:
    with read() as work:
        try:
            found = scorecards.counted_records(work, period, member, metric)
        except LookupError as error:  # the plan has no such metric
            raise NotFound([FieldError("metric", str(error), "not_found")]) from None
    return respond({"records": found})


@blueprint.post("/kpi/publish")
def publish_scorecards() -> Response:
    require_admin()
    body = json_body()
    _only(body, {"period"})
    period = _period(body.get("period"), required=True)
    with write() as work:
        result = scorecards.publish(work, period)
    return respond(result)


# -- parsing ---------------------------------------------------------------------------------


def _period(raw: Any, *, required: bool) -> str | None:
    """A period key, normalised (``2026-q1`` → ``2026-Q1``); 400 naming ``period``."""
    if raw is None or raw == "":
        if required:
            raise BadRequest(
                [FieldError("period", "is required, like 2026, 2026-Q1, 2026-03", "required")]
            )
        return None
    try:
        return Period.parse(raw).key
    except ValueError as error:
        raise BadRequest([FieldError("period", str(error), "invalid")]) from None


def _member(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequest([FieldError("member", "must be a user id (a whole number)", "type")])
    return int(raw)


def _flag(name: str, raw: str | None) -> bool:
    if raw is None or raw.lower() in ("", "0", "false", "no"):
        return False
    if raw.lower() in ("1", "true", "yes"):
        return True
    raise BadRequest([FieldError(name, "must be true or false", "type")])


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest([FieldError(key, "must be text", "type")])
    return value


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise BadRequest([FieldError(extra[0], "is not part of this request", "unknown")])
