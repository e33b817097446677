"""Flows as files: install an app's flows from ``workflows/<app>/`` and export them back.

One JSON file per flow, named after the flow (``quote_discount.json`` holds
``sales.quote_discount``). Installing publishes each file whose content differs from the
flow's current version (an identical file publishes nothing); exporting writes each flow's
current version byte for byte as it was published, so the round trip is exact.
Automations will live in the same folder; files that are not flows (no ``nodes``) are left
to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import jsoncodec
from ..errors import FieldError, ValidationFailed
from ..runtime import Work
from . import service


@dataclass
class FlowsReport:
    published: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def install(work: Work, app: str, folder: Path) -> FlowsReport:
    """Publish the flows of ``folder`` (forms must be installed first); problems are named
    per file (``quote_discount.json/nodes/2/approvers``) and nothing is published when any
    file is wrong."""
    report = FlowsReport()
    problems: list[FieldError] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        text = path.read_text(encoding="utf-8")
        try:
            document = jsoncodec.loads(text)
        except (ValueError, UnicodeDecodeError) as error:
            problems.append(FieldError(path.name, f"is not valid JSON: {error}", "json"))
            continue
        if not isinstance(document, dict) or "nodes" not in document:
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
    """Write every flow of ``app`` to ``folder/<flow>.json``; returns the files."""
    written = []
    for flow in service.all_flows(work):
        prefix, _, local = flow.name.partition(".")
        if prefix != app or flow.current_version == 0:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{local}.json"
        path.write_text(service.definition_text(work, flow), encoding="utf-8")
        written.append(path)
    return written


def _current_text(work: Work, name: str) -> str | None:
    from ..errors import NotFound

    try:
        return service.definition_text(work, service.get_flow(work, name))
    except NotFound:
        return None
