"""Drafts: what the form builder edits, and how a draft becomes the published version.

A form has at most one draft. The builder saves the whole definition with the revision it
started from (a stale revision is a conflict, answered with what changed meanwhile); the draft
may be incomplete or invalid while being edited. Publishing checks it like any definition,
shows the changes in words and their impact on records, applies the admin's fixes, and
publishes; undo publishes the previous version again as a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from .. import jsoncodec
from ..errors import BadRequest, Conflict, FieldError, NotFound
from ..runtime import Work
from . import conversions, service
from .changes import Change, Impact, diff, impact
from .checks import check_definition
from .models import App, Form, FormDraft
from .spec import compile_spec

EMPTY = {"type": "object", "properties": {}}


@dataclass
class Draft:
    name: str
    form_id: int
    definition: dict[str, Any]
    revision: int
    base_version: int

    @property
    def published(self) -> bool:
        return self.base_version > 0


def _form(work: Work, name: str) -> Form:
    app_name, form_name = service.split_name(name)
    form = work.session.scalar(
        select(Form)
        .join(App, App.id == Form.app_id)
        .where(App.name == app_name, Form.name == form_name)
    )
    if form is None:
        raise NotFound(f"no form named '{name}'")
    return form


def create_form(work: Work, name: str, title: str) -> Draft:
    """A new, unpublished form with an empty draft."""
    app_name, form_name = service.split_name(name)
    app = service.get_app(work, app_name)
    service.check_name(form_name, "form")
    title = (title or "").strip()
    if not title:
        raise BadRequest([FieldError("title", "give the form a title", "required")])
    if work.session.scalar(select(Form.id).where(Form.app_id == app.id, Form.name == form_name)):
        raise Conflict([FieldError("name", f"the app already has a form '{form_name}'", "unique")])
    form = Form(
        app_id=app.id,
        name=form_name,
        title=title,
        current_version=0,
        created_at=work.now,
        updated_at=work.now,
    )
    work.session.add(form)
    work.session.flush()
    definition = {"title": title, **EMPTY}
    work.session.add(
        FormDraft(
            form_id=form.id,
            definition=jsoncodec.dumps_pretty(definition),
            base_version=0,
            revision=1,
            updated_at=work.now,
            updated_by=work.actor_id,
        )
    )
    work.session.flush()
    return Draft(name, form.id, definition, 1, 0)


def open_draft(work: Work, name: str) -> Draft:
    """The form's draft, started from its published version when there is none."""
    form = _form(work, name)
    row = work.session.get(FormDraft, form.id)
    if row is None:
        text = (
            service.definition_text(work, name, form.current_version)
            if form.current_version
            else jsoncodec.dumps_pretty({"title": form.title, **EMPTY})
        )
        row = FormDraft(
            form_id=form.id,
            definition=text,
            base_version=form.current_version,
            revision=1,
            updated_at=work.now,
            updated_by=work.actor_id,
        )
        work.session.add(row)
        work.session.flush()
    return Draft(name, form.id, jsoncodec.loads(row.definition), row.revision, row.base_version)


def save_draft(work: Work, name: str, definition: Any, revision: int) -> Draft:
    """Replace the draft; ``revision`` is the one the editor started from.

    A stale revision is a Conflict whose errors say what the other edit changed, and the
    draft keeps the other edit.
    """
    if not isinstance(definition, dict):
        raise BadRequest([FieldError("definition", "must be a JSON object", "type")])
    draft = open_draft(work, name)
    if revision != draft.revision:
        changes = diff(definition, draft.definition, work.runtime.field_types)
        raise Conflict(
            [FieldError("revision", "someone else saved this draft meanwhile", "stale")]
            + [
                FieldError(c.key or None, f"{c.kind}: " + "; ".join(c.details), "changed")
                for c in changes
            ]
        )
    result = work.session.execute(
        update(FormDraft)
        .where(FormDraft.form_id == draft.form_id, FormDraft.revision == revision)
        .values(
            definition=jsoncodec.dumps_pretty(definition),
            revision=revision + 1,
            updated_at=work.now,
            updated_by=work.actor_id,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict([FieldError("revision", "someone else saved this draft meanwhile", "stale")])
    return Draft(name, draft.form_id, definition, revision + 1, draft.base_version)


def discard_draft(work: Work, name: str) -> None:
    """Drop the draft: the form reads as published again (a never-published form starts
    over from empty)."""
    form = _form(work, name)
    row = work.session.get(FormDraft, form.id)
    if row is not None:
        work.session.delete(row)
        work.session.flush()


def problems(work: Work, draft: Draft) -> list[FieldError]:
    """Everything that keeps the draft from being published, each at its pointer."""
    app_name, form_name = service.split_name(draft.name)
    registry = work.runtime.field_types

    def resolve(target: str) -> Any:
        if target in (form_name, draft.name):
            return compile_spec(draft.definition, registry, name=draft.name, strict=False)
        return service.resolve_target(work, app_name, target)

    return check_definition(
        draft.definition,
        registry,
        name=draft.name,
        resolve_form=resolve,
        timezone=work.config.timezone,
    )


@dataclass
class PublishPreview:
    changes: list[Change]
    impacts: list[Impact]
    problems: list[FieldError]

    @property
    def blocked(self) -> bool:
        return bool(self.problems)


def preview(work: Work, draft: Draft, *, with_impact: bool = True) -> PublishPreview:
    """The draft's changes in words and their impact on stored records (a pass over the
    records, skipped without ``with_impact``)."""
    found = problems(work, draft)
    form = _form(work, draft.name)
    old = None
    if form.current_version:
        old = jsoncodec.loads(service.definition_text(work, draft.name, form.current_version))
    registry = work.runtime.field_types
    changes = diff(old, draft.definition, registry)
    impacts: list[Impact] = []
    if old is not None and not found and with_impact:
        old_spec = compile_spec(old, registry, timezone=work.config.timezone)
        new_spec = compile_spec(draft.definition, registry, timezone=work.config.timezone)
        impacts = impact(work, form.id, old_spec, new_spec)
    return PublishPreview(changes, impacts, found)


def publish_draft(
    work: Work,
    name: str,
    revision: int,
    fixes: dict[str, Any] | None = None,
    note: str | None = None,
) -> service.LoadedForm:
    """Publish the draft (it must still be at ``revision``), with the admin's fixes for the
    records that could not follow it otherwise; the draft is then gone."""
    draft = open_draft(work, name)
    if revision != draft.revision:
        raise Conflict([FieldError("revision", "someone else saved this draft meanwhile", "stale")])
    loaded = service.publish(work, name, draft.definition, fixes=fixes or {}, note=note)
    discard_draft(work, name)
    return loaded


def undo_publish(work: Work, name: str) -> service.LoadedForm:
    """Publish the version before the current one again, as a new version (records follow
    it like any publish; data the undone version added stays in the records)."""
    form = _form(work, name)
    if form.current_version < 2:
        raise Conflict(
            [FieldError("version", "there is no earlier version to go back to", "no_history")]
        )
    # Going back while records are half converted would leave some under each version.
    conversions.refuse_while_converting(work, form.id, undo=True)
    previous = jsoncodec.loads(service.definition_text(work, name, form.current_version - 1))
    loaded = service.publish(work, name, previous, note=f"undo of version {form.current_version}")
    discard_draft(work, name)
    return loaded
