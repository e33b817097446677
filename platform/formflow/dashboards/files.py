"""Dashboards as files: ``dashboards/<app>/<dashboard>.json``, installed with the app's
forms and flows and exported back byte for byte as published."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import jsoncodec
from ..errors import FieldError, NotFound, ValidationFailed
from ..runtime import Work
from . import service


@dataclass
class DashboardsReport:
    published: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def install(work: Work, app: str, folder: Path) -> DashboardsReport:
    """Publish each file of ``folder`` whose content differs from its dashboard's current
    version; problems are named per file and nothing is published when any file is wrong."""
    report = DashboardsReport()
    problems: list[FieldError] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            document = jsoncodec.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            problems.append(FieldError(path.name, f"is not valid JSON: {error}", "json"))
            continue
        expected = f"{app}.{path.stem}"
        if not isinstance(document, dict) or document.get("name") != expected:
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
                FieldError(f"{path.name}/{e.field or ''}", e.message, e.code, e.params)
                for e in error.errors
            ]
            continue
        report.published.append(expected)
    if problems:
        raise ValidationFailed(problems)
    return report


def export(work: Work, app: str, folder: Path) -> list[Path]:
    """Write every dashboard of ``app`` to ``folder/<dashboard>.json``."""
    written = []
    for dashboard in service.all_dashboards(work):
        prefix, _, local = dashboard.name.partition(".")
        if prefix != app or dashboard.current_version == 0:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{local}.json"
        path.write_text(service.definition_text(work, dashboard), encoding="utf-8")
        written.append(path)
    return written


def _current_text(work: Work, name: str) -> str | None:
    try:
        return service.definition_text(work, service.get_dashboard(work, name))
    except NotFound:
        return None
