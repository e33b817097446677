"""The API blueprint: authentication, body parsing and error rendering shared by all routes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter

from .. import jsoncodec
from ..audit import security_event
from ..errors import (
    BadRequest,
    FieldError,
    Forbidden,
    FormflowError,
    Unauthorized,
    UnsupportedMediaType,
)
from ..people import tokens
from ..people.models import User
from ..runtime import Runtime, Work

log = logging.getLogger(__name__)

api = Blueprint("api", __name__)

#: The largest id a row can have: ids are signed 64-bit integers in every database.
MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """``<id:name>`` in a route: a row id. A number no row can have (past :data:`MAX_ID`) is
    no such thing, 404, before it reaches a database that cannot hold it."""

    def to_python(self, value: str) -> int:
        if len(value) > len(str(MAX_ID)) or int(value) > MAX_ID:
            # Not a ValidationError: that would let the path match another method's rule
            # and answer 405.
            raise NotFound()
        return int(value)


def use_id_converter(blueprint: Blueprint) -> None:
    """Let ``blueprint``'s routes say ``<id:…>``; call before its first route is added."""
    blueprint.record_once(lambda state: state.app.url_map.converters.setdefault("id", IdConverter))


use_id_converter(api)

#: Routes anyone may call without a token.
PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})

#: Routes whose body is a multipart upload rather than JSON.
MULTIPART_ENDPOINTS = frozenset({"api.upload_file"})

#: The methods whose body a route reads.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def runtime() -> Runtime:
    return current_app.extensions["formflow"]


def actor() -> User:
    return g.api_user


@contextmanager
def write() -> Iterator[Work]:
    """The request's unit of work that may write (one transaction per user action)."""
    with runtime().write(g.get("api_user")) as work:
        yield work


@contextmanager
def read() -> Iterator[Work]:
    with runtime().read(g.get("api_user")) as work:
        yield work


def require_admin() -> None:
    if not actor().is_admin:
        raise Forbidden("only an administrator may do this")


def json_body(*, expect: type = dict) -> Any:
    """The request's JSON body, numbers as Decimal; 400 naming the problem when unreadable."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest([FieldError(None, "the request needs a JSON body", "body")])
    try:
        body = jsoncodec.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest([FieldError(None, f"malformed JSON: {error}", "json")]) from None
    if expect is dict and not isinstance(body, dict):
        raise BadRequest([FieldError(None, "the body must be a JSON object", "body")])
    return body


def id_arg(name: str) -> int | None:
    """The query argument ``name`` as a row id (paging cursors: ``before``), or None when
    absent; 400 naming it when it is not a whole number from 1 to :data:`MAX_ID`."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and 1 <= int(raw) <= MAX_ID):
        raise BadRequest([FieldError(name, f"{name} must be a whole number from 1", "type")])
    return int(raw)


def is_id(value: Any) -> bool:
    """Whether a JSON value names a row: a whole number from 1 to :data:`MAX_ID`."""
    return type(value) is int and 1 <= value <= MAX_ID


def respond(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(jsoncodec.dumps(payload), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error_response(errors: list[FieldError], status: int) -> Response:
    response = respond({"errors": [e.as_dict() for e in errors]}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="formflow"'
    return response


@api.before_request
def authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    rt = runtime()
    with rt.read() as work:
        found = tokens.authenticate(work, token.strip())
    if found is None:
        raise Unauthorized("the token is not valid")
    user, token_row = found
    if tokens.needs_touch(token_row, rt.clock()):
        from sqlalchemy import update

        from ..people.models import ApiToken

        with rt.write() as work:
            work.session.execute(
                update(ApiToken).where(ApiToken.id == token_row.id).values(last_used_at=work.now)
            )
    g.api_user = user


def is_json(mimetype: str) -> bool:
    """Whether a media type (without parameters) is JSON: ``application/json`` or a
    ``+json`` type such as ``application/merge-patch+json``."""
    kind, _, subtype = mimetype.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def require_json_body() -> None:
    """Refuse, with 415, a body that does not say it is JSON: the body is only ever read
    as JSON, and a form post or text a browser could send across sites must not be taken
    for it (ASVS 13.2.5). Multipart uploads go to their own routes."""
    if request.method not in BODY_METHODS or request.endpoint in MULTIPART_ENDPOINTS:
        return
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if not (request.content_length or chunked):
        return
    if not is_json(request.mimetype):
        raise UnsupportedMediaType(
            [
                FieldError(
                    "Content-Type",
                    "send the body as JSON with 'Content-Type: application/json'",
                    "content_type",
                )
            ]
        )


api.before_request(require_json_body)


@api.errorhandler(FormflowError)
def formflow_error(error: FormflowError) -> Response:
    if error.status in (401, 403):
        user = g.get("api_user")
        security_event(
            "access.denied" if error.status == 403 else "token.failed",
            actor=user.id if user else None,
            method=request.method,
            path=request.path,
        )
    return error_response(error.errors, error.status)


@api.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    messages = {
        404: "no such resource",
        405: f"method {request.method} is not allowed here",
        413: "the request is too large",
    }
    message = messages.get(error.code or 500, error.description or "request failed")
    return error_response([FieldError(None, message, "http")], error.code or 500)


@api.errorhandler(Exception)
def unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error in %s %s", request.method, request.path)
    return error_response(
        [FieldError(None, "something went wrong on our side; it has been logged", "internal")], 500
    )


def api_not_found(_: Exception) -> Response:
    """404 for unknown /api/ paths (registered on the app, since no blueprint route matched)."""
    return error_response([FieldError(None, "no such resource", "http")], 404)
