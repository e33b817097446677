"""The sales plugin's REST API, ``/api/v1/sales/…``: targets, KPI scorecards and incentives
(bonus statements, their payroll export, the what-if estimate) as JSON.

The routes are thin: they read the query or body, call one service function
(``targets.tree``, ``targets.progress``, ``kpi.scorecards``, ``incentives.statements``,
``incentives.export``, ``incentives.estimate``) in one unit of work as the calling user, and
render what it returns. Who may see or change what is decided by those services
(``org.scope_of``, ``org.may_manage``, finance/HR for runs and payroll), exactly as for the
plugin's pages.

The blueprint shares the engine API's token authentication and error bodies
(``{"errors": [{"field", "message", "code"}]}``); its OpenAPI part is ``openapi.py``.
Lists come wrapped in an object (``{"period": …, "targets": [...]}``) as the engine's do.

Explanations (of statement lines, scorecards and estimates, and in the payroll export) are
written in the language the client asks for with ``Accept-Language`` (zh-CN or en; ``zh-*``
reads zh-CN, ``en-*`` English); without one, in the calling user's own language — what the
engine's dashboards API answers in — and the response says which in ``Content-Language``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException

import formflow.api.blueprint as engine_api
from formflow.api.blueprint import json_body, read, require_admin, respond, write
from formflow.errors import BadRequest, FieldError, Forbidden, FormflowError, NotFound
from formflow.runtime import Work

from . import org
from .explanations import DEFAULT_LANGUAGE, LANGUAGES, localized_lines, show, show_all
from .incentives import estimate as estimator
from .incentives import export as payroll
from .incentives import statements
from .kpi import scorecards
from .periods import Period
from .targets import progress, tree

EXPORT_FORMATS = ("csv", "xlsx")
STATEMENT_DECIMALS = ("base", "attainment", "rate", "amount")

blueprint = Blueprint("sales_api", __name__, url_prefix="/api/v1/sales")

# The engine's /api/v1 rules: a bearer token, and every error as JSON naming its field.
blueprint.before_request(engine_api.authenticate)
blueprint.before_request(engine_api.require_json_body)
blueprint.register_error_handler(FormflowError, engine_api.formflow_error)
blueprint.register_error_handler(HTTPException, engine_api.http_error)
blueprint.register_error_handler(Exception, engine_api.unexpected_error)
engine_api.use_id_converter(blueprint)


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


@blueprint.get("/targets/<id:target_id>")
def get_target(target_id: int) -> Response:
    with read() as work:
        payload = {
            **tree.tree(work, target_id).as_dict(),
            "explanation": tree.explain_split(work, target_id),
        }
    return respond(payload)


@blueprint.post("/targets/<id:target_id>/decompose")
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


@blueprint.post("/targets/<id:target_id>/override")
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
        language = _language()
        payload = {
            "period": period,
            "progress": [
                {**item.as_dict(), "explanation": show_all(item.explanation, language)}
                for item in items
            ],
        }
    return _explained(payload, language)


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
        language = _language()
        payload = {
            "period": period,
            "scorecards": [_scorecard(card.as_dict(), language) for card in cards],
        }
    return _explained(payload, language)


@blueprint.get("/kpi/scorecards/<id:member>/<period>/<metric>/records")
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


# -- incentives ------------------------------------------------------------------------------


@blueprint.post("/incentives/runs")
def run_incentives() -> Response:
    body = json_body()
    _only(body, {"period"})
    period = _period(body.get("period"), required=True)
    with write() as work:
        report = statements.run_period(work, period)
    return respond(report)


@blueprint.get("/incentives/statements")
def list_statements() -> Response:
    period = _period(request.args.get("period"), required=True)
    member = _member(request.args.get("member"))
    with read() as work:
        if member is not None and not org.scope_of(work).sees_member(member):
            raise Forbidden(f"you may not see the bonus statements of user #{member}")
        found = statements.list_statements(work, period, member=member)
    language = _language()
    return _explained(
        {"period": period, "statements": [_statement(s, language) for s in found]}, language
    )


@blueprint.get("/incentives/statements/<id:statement_id>")
def get_statement(statement_id: int) -> Response:
    with read() as work:
        found = statements.get_statement(work, statement_id)
    language = _language()
    return _explained(_statement(found, language), language)


@blueprint.post("/incentives/statements/<id:statement_id>/submit")
def submit_statement(statement_id: int) -> Response:
    body = json_body() if request.get_data(cache=True).strip() else {}
    _only(body, set())
    with write() as work:
        result = statements.submit(work, statement_id)
    return respond(result)


@blueprint.get("/incentives/export")
def export_statements() -> Response:
    period = _period(request.args.get("period"), required=True)
    fmt = request.args.get("format") or "csv"
    if fmt not in EXPORT_FORMATS:
        raise BadRequest([FieldError("format", "must be csv or xlsx", "enum")])
    language = _language()
    with read() as work:
        content, mimetype, filename = payroll.export(work, period, fmt, language)
    return Response(
        content,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Language": language,
            "Vary": "Accept-Language",
        },
    )


@blueprint.post("/incentives/estimate")
def estimate_payout() -> Response:
    body = json_body()
    _only(body, {"member", "period", "opportunities"})
    period = _period(body.get("period"), required=True)
    member = body.get("member")
    if member is not None and not engine_api.is_id(member):
        raise BadRequest([FieldError("member", "must be a user id (a whole number)", "type")])
    chosen = body.get("opportunities")
    if chosen is None:
        raise BadRequest(
            [FieldError("opportunities", "is required: a list of opportunity ids", "required")]
        )
    if not isinstance(chosen, list):
        raise BadRequest([FieldError("opportunities", "must be a list of ids", "type")])
    for i, opportunity in enumerate(chosen):
        if not engine_api.is_id(opportunity):
            raise BadRequest(
                [FieldError(f"opportunities[{i}]", "must be an opportunity id", "type")]
            )
    with read() as work:
        result = estimator.estimate(work, member or work.actor_id, period, chosen)
    language = _language()
    for key in ("current_lines", "estimated_lines"):
        result[key] = localized_lines(result[key], language)
    return _explained(result, language)


def _statement(statement: dict[str, Any], language: str) -> dict[str, Any]:
    """A stored statement with its money and rates as exact decimal text (the record hands
    them back as numbers, and a client must not round a cent away) and its explanations in
    ``language``."""
    return {
        **statement,
        "total": _decimal_text(statement["total"]),
        "note": show(statement["note"], language) if statement.get("note") else None,
        "lines": [
            {**line, **{key: _decimal_text(line[key]) for key in STATEMENT_DECIMALS}}
            for line in localized_lines(statement["lines"], language)
        ],
    }


def _scorecard(card: dict[str, Any], language: str) -> dict[str, Any]:
    return {
        **card,
        "lines": localized_lines(card["lines"], language),
        "explanation": show_all(card["explanation"], language),
    }


def _language() -> str:
    """The language explanations are written in: the first of the client's
    ``Accept-Language`` (by quality) that is Chinese or English, else the calling user's own
    language, else zh-CN."""
    for value, _ in sorted(request.accept_languages, key=lambda pair: -pair[1]):
        primary = value.lower().replace("_", "-").split("-")[0]
        found = next((lang for lang in LANGUAGES if lang.lower().split("-")[0] == primary), None)
        if found is not None:
            return found
    own = getattr(engine_api.actor(), "language", None)
    return own if own in LANGUAGES else DEFAULT_LANGUAGE


def _explained(payload: Any, language: str) -> Response:
    """A response whose explanations are in ``language``, saying so."""
    return respond(payload, headers={"Content-Language": language, "Vary": "Accept-Language"})


def _decimal_text(value: Any) -> str | None:
    return None if value is None else format(Decimal(str(value)), "f")


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
    if not engine_api.is_id(int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 20 else 0):
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
