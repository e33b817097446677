"""Installing an app from its definition files and exporting it back.

An app folder holds one JSON file per form (``schemas/<app>/<form>.json``). Installing
publishes each file as its form's next version (a file identical to the current version
publishes nothing); exporting writes each form's current definition to the same file
name, byte for byte what was installed, so definitions can be diffed and kept in git.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import jsoncodec
from ..definitions import service as definitions
from ..definitions.models import Form
from ..definitions.spec import FormSpec, compile_spec
from ..errors import FieldError, ValidationFailed
from ..runtime import Work


@dataclass
class InstallReport:
    app: str
    published: list[str]
    unchanged: list[str]


def read_folder(folder: Path) -> tuple[dict[str, Any], list[FieldError]]:
    """Form name → parsed definition for every ``*.json`` file of ``folder``, and the files
    that are not JSON at all."""
    out: dict[str, Any] = {}
    problems: list[FieldError] = []
    for path in sorted(folder.glob("*.json")):
        try:
            out[path.stem] = jsoncodec.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            problems.append(FieldError(path.name, f"is not valid JSON: {error}", "json"))
    return out, problems


def install(
    work: Work, name: str, title: str, folder: Path, *, plugin: str | None = None
) -> InstallReport:
    """Install (or upgrade) app ``name`` from ``folder`` in one transaction.

    Problems are reported per file (``customer.json/properties/...``) and nothing is
    installed when any file is invalid.
    """
    definitions.ensure_app(work, name, title, plugin)
    documents, problems = read_folder(folder) if folder.is_dir() else ({}, [])
    registry = work.runtime.field_types

    def resolve(target: str) -> FormSpec | None:
        local = target.split(".", 1)[1] if target.startswith(f"{name}.") else target
        if local in documents and isinstance(documents[local], dict):
            try:
                return compile_spec(
                    documents[local], registry, name=f"{name}.{local}", strict=False
                )
            except Exception:
                return None
        return None

    report = InstallReport(name, [], [])
    for form_name, definition in documents.items():
        qualified = f"{name}.{form_name}"
        before = _version(work, qualified)
        try:
            with work.session.begin_nested():
                loaded = definitions.publish(
                    work,
                    qualified,
                    definition,
                    resolve_form=resolve,
                    note=f"installed from {form_name}.json",
                )
        except ValidationFailed as error:
            problems += [
                FieldError(f"{form_name}.json{e.field or ''}", e.message, e.code)
                for e in error.errors
            ]
            continue
        (report.unchanged if loaded.form.current_version == before else report.published).append(
            qualified
        )
    if problems:
        raise ValidationFailed(problems)
    return report


def _version(work: Work, qualified: str) -> int:
    from sqlalchemy import select

    from ..definitions.models import App

    app_name, form_name = qualified.split(".", 1)
    version = work.session.scalar(
        select(Form.current_version)
        .join(App, App.id == Form.app_id)
        .where(App.name == app_name, Form.name == form_name)
    )
    return version or 0


def export(work: Work, name: str, folder: Path) -> list[Path]:
    """Write every form of app ``name`` to ``folder/<form>.json``; returns the files."""
    app = definitions.get_app(work, name)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for form_app, form in definitions.list_forms(work):
        if form_app.id != app.id or form.current_version == 0:
            continue
        text = definitions.definition_text(work, f"{name}.{form.name}")
        path = folder / f"{form.name}.json"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
