"""Forms: list, read a definition (any version), publish a new one (admins)."""

from __future__ import annotations

from flask import Response, request

from .. import jsoncodec
from ..definitions import conversions
from ..definitions import service as definitions
from ..definitions.metaschema import build_metaschema
from ..errors import BadRequest, FieldError, NotFound
from ..permissions import service as permissions
from ..permissions.models import Action
from ..permissions.policy import policy_for, usable_forms
from .blueprint import api, id_arg, json_body, read, require_admin, respond, runtime, write
from .representation import conversion_json, form_json, timestamp, visible_definition


@api.get("/forms")
def list_forms() -> Response:
    """The forms the caller may use (view or add records); administrators see all."""
    with read() as work:
        forms = [
            {
                "name": loaded.name,
                "app": loaded.app.name,
                "title": loaded.form.title,
                "version": loaded.form.current_version,
                "updated_at": timestamp(loaded.form.updated_at),
            }
            for loaded in usable_forms(work)
        ]
    return respond({"forms": forms})


@api.get("/forms/<form>")
def get_form(form: str) -> Response:
    version = id_arg("version")
    with read() as work:
        loaded = definitions.get_form(work, form)
        policy = policy_for(work, loaded)
        if not (policy.allows(Action.VIEW) or policy.allows(Action.CREATE)):
            raise NotFound(f"no form named '{form}'")
        text = definitions.definition_text(work, form, version)
        hidden = policy.hidden(policy.grants) if not policy.unrestricted else set()
        body = form_json(loaded, definition=visible_definition(jsoncodec.loads(text), hidden))
        if version is not None:
            body["version"] = version
    return respond(body)


@api.put("/forms/<form>")
def put_form(form: str) -> Response:
    """Publish the body as the form's next version (creating the form if it is new).

    ``If-Match: <version>`` makes the publish conditional on the current version. When the
    records to convert are many, the answer carries the background ``conversion`` to follow.
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
        started = conversions.started(work)
        body["conversion"] = conversion_json(started) if started is not None else None
    return respond(body, 200 if existed else 201)


@api.get("/forms/<form>/conversions")
def list_conversions(form: str) -> Response:
    """The form's background record conversions, newest first (admin)."""
    require_admin()
    with read() as work:
        loaded = definitions.get_form(work, form)
        found = conversions.history(work, loaded.form.id)
        body = {"conversions": [conversion_json(c) for c in found]}
    return respond(body)


@api.get("/forms/<form>/conversions/<id:conversion_id>")
def get_conversion(form: str, conversion_id: int) -> Response:
    """One conversion and how far it is: poll it until ``state`` is ``finished`` (admin)."""
    require_admin()
    with read() as work:
        loaded = definitions.get_form(work, form)
        progress = conversions.get(work, conversion_id)
        if progress is None or progress.form_id != loaded.form.id:
            raise NotFound(f"form '{form}' has no conversion #{conversion_id}")
        body = conversion_json(progress)
    return respond(body)


def _exists(work, form: str) -> bool:
    try:
        definitions.get_form(work, form)
    except Exception:
        return False
    return True


@api.get("/forms/<form>/versions")
def list_versions(form: str) -> Response:
    require_admin()
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


@api.get("/forms/<form>/permissions")
def get_permissions(form: str) -> Response:
    """The form's permission grants (admin)."""
    require_admin()
    with read() as work:
        loaded = definitions.get_form(work, form)
        body = {"grants": permissions.grants_of(work, loaded)}
    return respond(body)


@api.put("/forms/<form>/permissions")
def put_permissions(form: str) -> Response:
    """Replace the form's permission grants (admin); all are checked before any is saved."""
    require_admin()
    body = json_body()
    with write() as work:
        loaded = definitions.get_form(work, form)
        permissions.replace_grants(work, loaded, body.get("grants"))
        result = {"grants": permissions.grants_of(work, loaded)}
    return respond(result)
