"""Forms: list, read a definition (any version), publish a new one (admins)."""

from __future__ import annotations

from flask import Response, request

from .. import jsoncodec
from ..definitions import service as definitions
from ..definitions.metaschema import build_metaschema
from ..errors import BadRequest, FieldError
from .blueprint import api, json_body, read, require_admin, respond, runtime, write
from .representation import form_json, timestamp


@api.get("/forms")
def list_forms() -> Response:
    with read() as work:
        forms = [
            {
                "name": f"{app.name}.{form.name}",
                "app": app.name,
                "title": form.title,
                "version": form.current_version,
                "updated_at": timestamp(form.updated_at),
            }
            for app, form in definitions.list_forms(work)
            if form.current_version > 0
        ]
    return respond({"forms": forms})


@api.get("/forms/<form>")
def get_form(form: str) -> Response:
    version = _version_arg()
    with read() as work:
        loaded = definitions.get_form(work, form)
        text = definitions.definition_text(work, form, version)
        body = form_json(loaded, definition=jsoncodec.loads(text))
        if version is not None:
            body["version"] = version
    return respond(body)


@api.put("/forms/<form>")
def put_form(form: str) -> Response:
    """Publish the body as the form's next version (creating the form if it is new).

    ``If-Match: <version>`` makes the publish conditional on the current version.
    """
    require_admin()
    definition = json_body()
    expected = request.headers.get("If-Match")
    try:
        expected_version = int(expected.strip('"')) if expected else None
    except ValueError:
        raise BadRequest([FieldError("If-Match", "must be a version number", "header")]) from None
    with write() as work:
        existed = _exists(work, form)
        loaded = definitions.publish(
            work, form, definition, note=request.args.get("note"), expected_version=expected_version
        )
        body = form_json(loaded)
    return respond(body, 200 if existed else 201)


def _exists(work, form: str) -> bool:
    try:
        definitions.get_form(work, form)
    except Exception:
        return False
    return True


@api.get("/forms/<form>/versions")
def list_versions(form: str) -> Response:
    with read() as work:
        rows = definitions.versions(work, form)
        body = {
            "versions": [
                {
                    "version": v.version,
                    "created_at": timestamp(v.created_at),
                    "created_by": v.created_by,
                    "note": v.note,
                }
                for v in rows
            ]
        }
    return respond(body)


@api.get("/meta-schema")
def meta_schema() -> Response:
    """The JSON Schema every form definition must satisfy."""
    return respond(build_metaschema(runtime().field_types))


@api.get("/field-types")
def field_types() -> Response:
    return respond(
        {
            "field_types": [
                {
                    "name": t.name,
                    "label": dict(t.label),
                    "category": t.category,
                    "stores_data": t.stores_data,
                    "computed": t.computed,
                    "new_property": t.new_property(),
                }
                for t in runtime().field_types
            ]
        }
    )


def _version_arg() -> int | None:
    raw = request.args.get("version")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest([FieldError("version", "must be a whole number", "type")]) from None
    if value < 1:
        raise BadRequest([FieldError("version", "must be at least 1", "minimum")])
    return value
