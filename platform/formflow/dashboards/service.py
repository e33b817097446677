"""Dashboards in the database: publish a version, read one, list what a user may open.

A definition is checked whole before it is saved — its shape (``definition.parse``), then
every chart against its form or data source (fields exist, aggregates fit their fields),
the roles and users it is shown to — and saved as the exact JSON text, so an export gives
back the file that was imported. Nothing is saved when anything is wrong.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import select

from .. import jsoncodec
from ..definitions.service import get_form
from ..errors import FieldError, FormflowError, NotFound, ValidationFailed
from ..people.models import Role, User
from ..runtime import Work
from . import sources as data_sources
from .charts import sources
from .compile import Filters, plan
from .definition import DashboardSpec, parse
from .models import Dashboard, DashboardVersion


def check(work: Work, document: Any) -> DashboardSpec:
    """The parsed definition; raises ValidationFailed naming every problem."""
    dashboard = parse(document)
    problems: list[FieldError] = []
    known = sources(work)
    for index, chart in enumerate(dashboard.charts):
        where = f"charts[{index}]"
        try:
            if chart.source:
                source = known.get(chart.source)
                if source is None:
                    problems.append(
                        FieldError(f"{where}.source", f"no data source '{chart.source}'", "unknown")
                    )
                    continue
                if chart.type == "pivot":
                    problems.append(
                        FieldError(f"{where}.type", "a pivot table needs a form", "type")
                    )
                data_sources.check(source, chart, where)
                continue
            try:
                loaded = get_form(work, chart.form or "")
            except (NotFound, ValueError):
                problems.append(FieldError(f"{where}.form", f"no form '{chart.form}'", "unknown"))
                continue
            plan(work, loaded, chart, Filters(), where, unrestricted=True)
        except FormflowError as error:
            problems += error.errors
    visible = (document.get("visible_to") or {}) if isinstance(document, dict) else {}
    roles = set(visible.get("roles", ()))
    if roles:
        found = set(work.session.scalars(select(Role.name).where(Role.name.in_(sorted(roles)))))
        problems += [
            FieldError("visible_to.roles", f"no role named '{r}'", "unknown")
            for r in sorted(roles - found)
        ]
    users = set(visible.get("users", ()))
    if users:
        found = set(
            work.session.scalars(select(User.username).where(User.username.in_(sorted(users))))
        )
        problems += [
            FieldError("visible_to.users", f"no user named '{u}'", "unknown")
            for u in sorted(users - found)
        ]
    if problems:
        raise ValidationFailed(problems)
    return dashboard


def publish(work: Work, document: Any, *, note: str | None = None) -> Dashboard:
    """Save ``document`` as the next version of the dashboard it names (created if new)."""
    spec = check(work, document)
    dashboard = work.session.scalar(select(Dashboard).where(Dashboard.name == spec.name))
    if dashboard is None:
        dashboard = Dashboard(name=spec.name, title="", current_version=0)
        work.session.add(dashboard)
    title = spec.title
    dashboard.title = (title if isinstance(title, str) else next(iter(title.values()), ""))[:200]
    dashboard.current_version += 1
    dashboard.updated_at = work.now
    work.session.flush()
    work.session.add(
        DashboardVersion(
            dashboard_id=dashboard.id,
            version=dashboard.current_version,
            definition=jsoncodec.dumps_pretty(document),
            note=note,
            created_at=work.now,
            created_by=work.actor_id,
        )
    )
    work.session.flush()
    return dashboard


def get_dashboard(work: Work, name: str) -> Dashboard:
    dashboard = work.session.scalar(select(Dashboard).where(Dashboard.name == name))
    if dashboard is None:
        raise NotFound(f"no dashboard named '{name}'")
    return dashboard


def all_dashboards(work: Work) -> list[Dashboard]:
    return list(work.session.scalars(select(Dashboard).order_by(Dashboard.name)))


def definition_text(work: Work, dashboard: Dashboard, version: int | None = None) -> str:
    version = dashboard.current_version if version is None else version
    text = work.session.scalar(
        select(DashboardVersion.definition).where(
            DashboardVersion.dashboard_id == dashboard.id, DashboardVersion.version == version
        )
    )
    if text is None:
        raise NotFound(f"dashboard '{dashboard.name}' has no version {version}")
    return text


def versions(work: Work, dashboard: Dashboard) -> list[DashboardVersion]:
    return list(
        work.session.scalars(
            select(DashboardVersion)
            .where(DashboardVersion.dashboard_id == dashboard.id)
            .order_by(DashboardVersion.version.desc())
        )
    )


def spec_of(work: Work, dashboard: Dashboard, version: int | None = None) -> DashboardSpec:
    return _parsed(definition_text(work, dashboard, version))


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> DashboardSpec:
    return parse(jsoncodec.loads(text))


def may_view(work: Work, spec: DashboardSpec) -> bool:
    """Admins see every dashboard; others those open to everyone, to one of their roles,
    or to them by name. (What each chart counts is still cut to their data permissions.)"""
    actor = work.actor
    if actor is None or actor.is_admin or not (spec.roles or spec.users):
        return True
    if actor.username in spec.users:
        return True
    if not spec.roles:
        return False
    from ..people.service import roles_of

    names = set(
        work.session.scalars(select(Role.name).where(Role.id.in_(roles_of(work, actor.id) or [-1])))
    )
    return bool(names & set(spec.roles))


def visible(work: Work) -> list[tuple[Dashboard, DashboardSpec]]:
    out = []
    for dashboard in all_dashboards(work):
        if dashboard.current_version == 0:
            continue
        spec = spec_of(work, dashboard)
        if may_view(work, spec):
            out.append((dashboard, spec))
    return out


def viewable(work: Work, name: str) -> tuple[Dashboard, DashboardSpec]:
    """The dashboard for its viewer; NotFound also when they may not open it (as if it did
    not exist: its name tells nothing)."""
    dashboard = get_dashboard(work, name)
    spec = spec_of(work, dashboard)
    if not may_view(work, spec):
        raise NotFound(f"no dashboard named '{name}'")
    return dashboard, spec
