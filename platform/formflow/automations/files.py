"""Automations as files: installed from ``workflows/<app>/`` beside the app's flows, and
exported back.

One JSON file per automation, named after it (``follow_up_due.json`` holds
``sales.follow_up_due``); a file with ``trigger`` and ``actions`` is an automation, one with
``nodes`` a flow (flows are installed first: an automation may start one). Installing
publishes each file whose content differs from the automation's current version; exporting
writes each current version byte for byte as published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import jsoncodec
from ..errors import FieldError, NotFound, ValidationFailed
from ..runtime import Work
from . import service


@dataclass
class AutomationsReport:
    published: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def is_automation(document: object) -> bool:
    return isinstance(document, dict) and "trigger" in document and "actions" in document


def install(work: Work, app: str, folder: Path) -> AutomationsReport:
    """Publish the automations of ``folder``; problems are named per file
    (``follow_up_due.json/trigger/field``) and nothing is published when any file is wrong."""
    report = AutomationsReport()
    problems: list[FieldError] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            document = jsoncodec.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue  # reported by the flows' install, which reads the same folder
        if not is_automation(document):
            continue
        expected = f"{app}.{path.stem}"
        if document.get("name") != expected:
            problems.append(
                FieldError(f"{path.name}/name", f"must be '{expected}' (the file's name)", "name")
            )
            continue
        if _current_text(work, expected) == jsoncodec.dumps_pretty(document):
            report.unchanged.append(expected)
            continue
        try:
            with work.session.begin_nested():
                service.publish(work, document, note=f"installed from {path.name}")
        except ValidationFailed as error:
            problems += [
                FieldError(f"{path.name}{e.field or ''}", e.message, e.code, e.params)
                for e in error.errors
            ]
            continue
        report.published.append(expected)
    if problems:
        raise ValidationFailed(problems)
    return report


def export(work: Work, app: str, folder: Path) -> list[Path]:
    """Write every automation of ``app`` to ``folder/<automation>.json``."""
    written = []
    for automation in service.all_automations(work):
        prefix, _, local = automation.name.partition(".")
        if prefix != app or automation.current_version == 0:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{local}.json"
        path.write_text(service.definition_text(work, automation), encoding="utf-8")
        written.append(path)
    return written


def _current_text(work: Work, name: str) -> str | None:
    try:
        return service.definition_text(work, service.get_automation(work, name))
    except NotFound:
        return None
