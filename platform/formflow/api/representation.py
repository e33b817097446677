"""How engine objects look in the API's JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..definitions.conversions import Progress
from ..definitions.service import LoadedForm
from ..definitions.spec import FormSpec
from ..records.models import Record, Revision
from ..records.prepare import from_document


def timestamp(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def record_json(
    loaded: LoadedForm, record: Record, hidden: set[str] = frozenset()
) -> dict[str, Any]:
    """A record as the API shows it; ``hidden`` field keys are left out entirely."""
    values = ordered_values(loaded.spec, record.data)
    return {
        "id": record.id,
        "form": loaded.name,
        "revision": record.revision,
        "form_version": record.form_version,
        "data": {k: v for k, v in values.items() if k not in hidden} if hidden else values,
        "owner": record.owner_id,
        "department": record.department_id,
        "created_by": record.created_by,
        "created_at": timestamp(record.created_at),
        "updated_by": record.updated_by,
        "updated_at": timestamp(record.updated_at),
        "deleted_at": timestamp(record.deleted_at),
    }


def ordered_values(spec: FormSpec, document: dict[str, Any]) -> dict[str, Any]:
    """Values by key, in the definition's field order."""
    return from_document(spec, document)


def revision_json(
    spec: FormSpec, revision: Revision, hidden: set[str] = frozenset()
) -> dict[str, Any]:
    changes = []
    for field_id, (before, after) in revision.changes.items():
        field = spec.by_id.get(field_id)
        if hidden and (field is None or field.key in hidden):
            continue  # a field the reader may not see, or one removed from the form
        changes.append(
            {
                "field": field.key if field else None,
                "field_id": field_id,
                "label": field.label() if field else None,
                "before": before,
                "after": after,
            }
        )
    return {
        "revision": revision.revision,
        "action": revision.action,
        "actor": revision.actor_id,
        "at": timestamp(revision.at),
        "form_version": revision.form_version,
        "changes": changes,
    }


def visible_definition(definition: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """The definition without the fields a reader may not see."""
    if not hidden:
        return definition
    out = dict(definition)
    out["properties"] = {
        k: v for k, v in definition.get("properties", {}).items() if k not in hidden
    }
    if "required" in definition:
        out["required"] = [k for k in definition["required"] if k not in hidden]
    return out


def form_json(loaded: LoadedForm, *, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": loaded.name,
        "app": loaded.app.name,
        "title": loaded.form.title,
        "version": loaded.form.current_version,
        "updated_at": timestamp(loaded.form.updated_at),
    }
    if definition is not None:
        body["definition"] = definition
    return body


def conversion_json(progress: Progress) -> dict[str, Any]:
    """A background conversion of a form's records and how far it is."""
    return {
        "id": progress.id,
        "from_version": progress.from_version,
        "to_version": progress.to_version,
        "state": progress.state,
        "total": progress.total,
        "done": progress.done,
        "failed": progress.failed,
        "failures": progress.failures,
        "error": progress.error,
        "created_at": timestamp(progress.created_at),
        "started_at": timestamp(progress.started_at),
        "finished_at": timestamp(progress.finished_at),
    }
