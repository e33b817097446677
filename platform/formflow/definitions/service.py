"""Publishing and reading form definitions.

``publish`` is the only way a definition changes: it checks the document (meta-schema and
semantic checks, every problem at its pointer), converts stored values whose field changed
type (or refuses, naming the records that cannot convert), writes a new immutable version,
and syncs the form's indexes — all in the caller's transaction, so a refused publish
leaves the form exactly as it was. When the conversion touches more records than
``Config.conversion_threshold``, every record is still checked in that transaction, but the
writing is left to a background job (``formflow.definitions.conversions``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from .. import jsoncodec
from ..db import DriverStatement
from ..errors import Conflict, FieldError, NotFound, ValidationFailed
from ..records.indexes import sync_indexes
from ..runtime import Work
from . import migrate
from .checks import FormResolver, check_definition
from .models import App, Form, FormVersion
from .spec import FormSpec, compile_spec

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
#: How many unconvertible records a refused type change lists by id.
REPORTED_FAILURES = 20


@dataclass(frozen=True)
class AppRef:
    id: int
    name: str
    title: str


@dataclass(frozen=True)
class FormRef:
    id: int
    name: str
    title: str
    current_version: int
    updated_at: dt.datetime
    #: Changes whenever the form's flows, automations or grants do (see ``Form``).
    setup_stamp: str


@dataclass(frozen=True)
class LoadedForm:
    """A form with its app and the compiled spec of its current version."""

    app: AppRef
    form: FormRef
    spec: FormSpec

    @property
    def name(self) -> str:
        return f"{self.app.name}.{self.form.name}"


_forms = Form.__table__
_apps = App.__table__
_versions = FormVersion.__table__
_CURRENT = select(
    _apps.c.id,
    _apps.c.name,
    _apps.c.title,
    _forms.c.id,
    _forms.c.name,
    _forms.c.title,
    _forms.c.current_version,
    _forms.c.updated_at,
    _versions.c.digest,
    _forms.c.setup_stamp,
).select_from(
    _apps.join(_forms, _forms.c.app_id == _apps.c.id).join(
        _versions,
        (_versions.c.form_id == _forms.c.id) & (_versions.c.version == _forms.c.current_version),
    )
)
#: The current version of a form by name: one indexed query per request.
_BY_NAME = DriverStatement(
    _CURRENT.where(_apps.c.name == bindparam("app"), _forms.c.name == bindparam("form"))
)
_BY_ID = DriverStatement(_CURRENT.where(_forms.c.id == bindparam("form_id")))
_TEXT = DriverStatement(
    select(_versions.c.definition).where(
        _versions.c.form_id == bindparam("form_id"), _versions.c.version == bindparam("version")
    )
)
_UPDATED_AT = Form.__table__.c.updated_at.type


_READERS: dict[str, Any] = {}


def _updated_at_reader(dialect: Any) -> Any:
    """The ``updated_at`` column's result processor for ``dialect`` (None on a driver that
    returns datetimes itself), looked up once."""
    if dialect.name not in _READERS:
        impl = _UPDATED_AT.dialect_impl(dialect)
        _READERS[dialect.name] = impl.result_processor(dialect, None)
    return _READERS[dialect.name]


def _loaded(work: Work, row: Any) -> LoadedForm:
    # The same row (same names, titles, version, update time and definition digest) gives
    # the same immutable LoadedForm: kept beside the specs, so a request skips rebuilding it.
    runtime = work.runtime
    key = ("loaded", runtime.field_types.version, *row)
    found = runtime.specs.get(key)
    if found is not None:
        return found
    app = AppRef(row[0], row[1], row[2])
    updated_at = _updated_at_reader(work.connection.dialect)
    form = FormRef(
        row[3], row[4], row[5], row[6], updated_at(row[7]) if updated_at else row[7], row[9]
    )
    loaded = LoadedForm(app, form, _cached_spec(work, app, form, form.current_version, row[8]))
    runtime.specs.put(key, loaded)
    return loaded


def split_name(name: str) -> tuple[str, str]:
    """``"sales_performance.customer"`` → (app, form); raises NotFound when malformed."""
    app, _, form = name.partition(".")
    if not app or not form:
        raise NotFound(f"no form named '{name}' (use app.form)")
    return app, form


def get_app(work: Work, name: str) -> App:
    app = work.session.scalar(select(App).where(App.name == name))
    if app is None:
        raise NotFound(f"no app named '{name}'")
    return app


def ensure_app(work: Work, name: str, title: str, plugin: str | None = None) -> App:
    """The app called ``name``, created if it does not exist yet."""
    app = work.session.scalar(select(App).where(App.name == name))
    if app is None:
        check_name(name, "app")
        app = App(name=name, title=title, plugin=plugin)
        work.session.add(app)
        work.session.flush()
    return app


def check_name(name: str, what: str) -> None:
    import re

    if not re.match(NAME_PATTERN, name):
        raise ValidationFailed(
            [FieldError("name", f"an {what} name is lower-case letters, digits and _", "name")]
        )


def list_forms(work: Work) -> list[tuple[App, Form]]:
    rows = work.session.execute(
        select(App, Form).join(Form, Form.app_id == App.id).order_by(App.name, Form.name)
    )
    return [(app, form) for app, form in rows]


def get_form(work: Work, name: str) -> LoadedForm:
    """The form called ``app.form`` with its current spec; NotFound when absent."""
    app_name, form_name = split_name(name)
    row = work.run(_BY_NAME, {"app": app_name, "form": form_name}).fetchone()
    if row is None:
        raise NotFound(f"no form named '{name}'")
    return _loaded(work, row)


def get_form_by_id(work: Work, form_id: int) -> LoadedForm:
    row = work.run(_BY_ID, {"form_id": form_id}).fetchone()
    if row is None:
        raise NotFound(f"no form #{form_id}")
    return _loaded(work, row)


def spec_of(work: Work, app: AppRef | App, form: FormRef | Form, version: int) -> FormSpec:
    """The compiled spec of one version of a form."""
    digest = work.session.scalar(
        select(FormVersion.digest).where(
            FormVersion.form_id == form.id, FormVersion.version == version
        )
    )
    if digest is None:
        raise NotFound(f"form '{app.name}.{form.name}' has no version {version}")
    return _cached_spec(work, app, form, version, digest)


def _cached_spec(
    work: Work, app: AppRef | App, form: FormRef | Form, version: int, digest: str
) -> FormSpec:
    """Specs are cached by the definition's digest, so a version published in a transaction
    that then rolled back can never be mistaken for the one that replaces it."""
    runtime = work.runtime
    key = (form.id, version, runtime.field_types.version, digest)
    spec = runtime.specs.get(key)
    if spec is None:
        found = work.run(_TEXT, {"form_id": form.id, "version": version}).fetchone()
        text = found[0] if found else None
        if text is None:
            raise NotFound(f"form '{app.name}.{form.name}' has no version {version}")
        spec = compile_spec(
            jsoncodec.loads(text),
            runtime.field_types,
            name=f"{app.name}.{form.name}",
            form_id=form.id,
            version=version,
            timezone=runtime.config.timezone,
        )
        runtime.specs.put(key, spec)
    return spec


def versions(work: Work, name: str) -> list[FormVersion]:
    loaded = get_form(work, name)
    return list(
        work.session.scalars(
            select(FormVersion)
            .where(FormVersion.form_id == loaded.form.id)
            .order_by(FormVersion.version)
        )
    )


def definition_text(work: Work, name: str, version: int | None = None) -> str:
    loaded = get_form(work, name)
    version = loaded.form.current_version if version is None else version
    text = work.session.scalar(
        select(FormVersion.definition).where(
            FormVersion.form_id == loaded.form.id, FormVersion.version == version
        )
    )
    if text is None:
        raise NotFound(f"form '{name}' has no version {version}")
    return text


def resolve_target(work: Work, app_name: str, target: str) -> FormSpec | None:
    """The current spec of a relation's target form (``form`` or ``app.form``)."""
    name = target if "." in target else f"{app_name}.{target}"
    try:
        return get_form(work, name).spec
    except NotFound:
        return None


_TARGET_FORM = DriverStatement(
    select(Form.id)
    .join(App, App.id == Form.app_id)
    .where(App.name == bindparam("app"), Form.name == bindparam("form"), Form.current_version > 0)
)


def target_form_id(work: Work, app_name: str, target: str) -> int | None:
    """The id of the published form a relation names (memoised for the unit of work: a
    record with links asks once per target form)."""
    name = target if "." in target else f"{app_name}.{target}"
    key = ("target_form", name)
    if key not in work.memo:
        form_app, form_name = split_name(name)
        row = work.run(_TARGET_FORM, {"app": form_app, "form": form_name}).fetchone()
        work.memo[key] = row[0] if row is not None else None
    return work.memo[key]


def publish(
    work: Work,
    name: str,
    definition: Any,
    *,
    note: str | None = None,
    resolve_form: FormResolver | None = None,
    expected_version: int | None = None,
    fixes: dict[str, Any] | None = None,
) -> LoadedForm:
    """Publish ``definition`` as the next version of form ``name`` (created if new).

    Raises ValidationFailed with every problem (pointer + message) and changes nothing when
    the definition is invalid or stored values cannot follow it (a type they cannot convert
    to, an option taken away that records use) without a fix in ``fixes`` (by field key:
    ``{"default": value, "map": {old option: new option}}``); Conflict when
    ``expected_version`` is given and another publish came first.
    """
    app_name, form_name = split_name(name)
    app = get_app(work, app_name)
    check_name(form_name, "form")
    runtime = work.runtime
    form = work.session.scalar(select(Form).where(Form.app_id == app.id, Form.name == form_name))
    current = form.current_version if form is not None else 0
    if expected_version is not None and expected_version != current:
        raise Conflict(
            [FieldError("version", f"the form is at version {current}, not {expected_version}")]
        )

    def resolver(target: str) -> FormSpec | None:
        if resolve_form is not None:
            found = resolve_form(target)
            if found is not None:
                return found
        if target in (form_name, name):
            return compile_spec(definition, runtime.field_types, name=name, strict=False)
        return resolve_target(work, app_name, target)

    problems = check_definition(
        definition,
        runtime.field_types,
        name=name,
        resolve_form=resolver,
        timezone=runtime.config.timezone,
    )
    if problems:
        raise ValidationFailed(problems)
    text = jsoncodec.dumps_pretty(definition)
    if form is None:
        form = Form(app_id=app.id, name=form_name, title=definition["title"], current_version=0)
        work.session.add(form)
        work.session.flush()
    elif current and text == definition_text(work, name, current):
        return get_form(work, name)
    version = current + 1
    new_spec = compile_spec(
        definition,
        runtime.field_types,
        name=name,
        form_id=form.id,
        version=version,
        timezone=runtime.config.timezone,
    )
    from . import conversions  # it reads specs through this module

    background = None
    rewritten: frozenset[str] = frozenset()
    if current:
        conversions.refuse_while_converting(work, form.id)
        conversion = migrate.converter(spec_of(work, app, form, current), new_spec, fixes)
        if conversion.needed:
            config = runtime.config
            keep = config.conversion_threshold if conversions.in_background(config) else None
            scan = migrate.check(work, form.id, conversion, keep=keep)
            if scan.updates is not None:
                migrate.write(work, new_spec, scan.updates)
                if scan.updates and work.dialect == "postgresql":
                    rewritten = frozenset(conversion.retyped)
            else:
                background = (conversion, scan)
    work.session.add(
        FormVersion(
            form_id=form.id,
            version=version,
            definition=text,
            digest=hashlib.sha256(text.encode()).hexdigest(),
            created_at=work.now,
            created_by=work.actor_id,
            note=note,
        )
    )
    form.current_version = version
    form.title = definition["title"]
    form.updated_at = work.now
    work.session.flush()
    deferred: frozenset[str] = frozenset()
    if background is not None:
        conversion, scan = background
        conversions.start(work, form.id, conversion, fixes, scan)
        deferred = frozenset(conversion.retyped)
    if rewritten:
        # PostgreSQL indexes the row versions this transaction replaced too, and an index of
        # the new type cannot read their old values: build it once the new values committed.
        # (Unique values were checked against the converted values above.)
        runtime = work.runtime
        work.after_commit(lambda: _sync_indexes_of(runtime, name))
    sync_indexes(work, new_spec, form.id, deferred=deferred | rewritten)
    return get_form(work, name)


def _sync_indexes_of(runtime: Any, name: str) -> None:
    with runtime.write() as work:
        loaded = get_form(work, name)
        sync_indexes(work, loaded.spec, loaded.form.id)
