"""Automation definitions in the database: publish a version, enable or disable, read.

Publishing checks the definition (:func:`definition.check_automation`) with what the saving
user may do, saves it as the automation's next version (the exact JSON text, so export
gives back the file) and arranges its future: a schedule's next tick, a date trigger's
reminder for every record. Nothing is saved when anything is wrong. Runs pin the version
they were created under.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .. import jsoncodec
from ..definitions import attached
from ..definitions.service import LoadedForm, get_form
from ..errors import NotFound, ValidationFailed
from ..runtime import Work
from . import functions, timing
from .definition import Lookups, check_automation, trigger_form
from .models import Automation, AutomationVersion


@dataclass(frozen=True)
class AutomationSpec:
    """One version of an automation, read."""

    name: str
    version: int
    title: Any
    trigger: dict[str, Any]
    condition: str | None
    actions: list[dict[str, Any]]

    @property
    def event(self) -> str:
        return self.trigger["type"]


def lookups(work: Work) -> Lookups:
    """What checking a definition needs, answered from this instance as the acting user."""
    from ..permissions.models import Action
    from ..permissions.policy import policy_for
    from ..webhooks.address import check_url

    def spec_of(name: str) -> Any:
        try:
            return get_form(work, name).spec
        except (NotFound, ValueError):
            return None

    def may(name: str, action: str) -> bool:
        if work.actor is None:  # installed by the system (the CLI): trusted like a migration
            return True
        return policy_for(work, get_form(work, name)).allows(Action(action))

    return Lookups(
        spec_of=spec_of,
        flow_form=lambda name: flow_form(work, name),
        function_exists=lambda name: name in functions.registered(work.runtime),
        url_problem=lambda url: check_url(url, allow_private=work.config.webhook_allow_private),
        may=may,
    )


def publish(work: Work, definition: Any, *, note: str | None = None) -> Automation:
    """Publish ``definition`` as the next version of the automation it names (created if
    new); the acting user becomes its owner."""
    problems = check_automation(definition, lookups(work))
    if problems:
        raise ValidationFailed(problems)
    name = definition["name"]
    form_name = trigger_form(definition, lambda flow: flow_form(work, flow))
    form_id = get_form(work, form_name).form.id if form_name else None
    automation = work.session.scalar(select(Automation).where(Automation.name == name))
    if automation is None:
        automation = Automation(name=name, title="", event="", current_version=0, enabled=True)
        work.session.add(automation)
    title = definition["title"]
    automation.title = title if isinstance(title, str) else next(iter(title.values()), name)
    automation.event = definition["trigger"]["type"]
    automation.form_id = form_id
    automation.owner_id = work.actor_id
    if "enabled" in definition:
        automation.enabled = bool(definition["enabled"])
    automation.current_version += 1
    work.session.flush()
    work.session.add(
        AutomationVersion(
            automation_id=automation.id,
            version=automation.current_version,
            definition=jsoncodec.dumps_pretty(definition),
            note=note,
            created_at=work.now,
            created_by=work.actor_id,
        )
    )
    work.session.flush()
    _ensure_hooks(work, automation, definition)
    timing.arrange(work, automation, spec(work, automation))
    return automation


def _ensure_hooks(work: Work, automation: Automation, definition: dict[str, Any]) -> None:
    """Each webhook action's hook exists from the publish on, so its secret can be given to
    the receiver before the first delivery."""
    from ..webhooks.service import hook_for
    from .actions import hook_key

    for action in definition["actions"]:
        if action["type"] == "webhook":
            hook_for(work, hook_key(automation.id, action["url"]), action["url"])
    work.session.flush()


def set_enabled(work: Work, name: str, enabled: bool) -> Automation:
    """Turn an automation on or off; off, nothing new triggers it and its pending runs
    are skipped; on again, its schedule and date reminders are arranged afresh."""
    automation = get_automation(work, name)
    automation.enabled = enabled
    work.session.flush()
    timing.arrange(work, automation, spec(work, automation))
    return automation


def get_automation(work: Work, name: str) -> Automation:
    automation = work.session.scalar(select(Automation).where(Automation.name == name))
    if automation is None:
        raise NotFound(f"no automation named '{name}'")
    return automation


def all_automations(work: Work) -> list[Automation]:
    return list(work.session.scalars(select(Automation).order_by(Automation.name)))


def definition_text(work: Work, automation: Automation, version: int | None = None) -> str:
    version = automation.current_version if version is None else version
    text = work.session.scalar(
        select(AutomationVersion.definition).where(
            AutomationVersion.automation_id == automation.id, AutomationVersion.version == version
        )
    )
    if text is None:
        raise NotFound(f"automation '{automation.name}' has no version {version}")
    return text


def spec(work: Work, automation: Automation, version: int | None = None) -> AutomationSpec:
    version = automation.current_version if version is None else version
    return _parsed(automation.id, version, definition_text(work, automation, version))


@functools.lru_cache(maxsize=256)
def _parsed(automation_id: int, version: int, text: str) -> AutomationSpec:
    document = jsoncodec.loads(text)
    return AutomationSpec(
        name=document["name"],
        version=version,
        title=document["title"],
        trigger=document["trigger"],
        condition=document.get("condition"),
        actions=document["actions"],
    )


_LISTENING = attached.statement(
    Automation.__table__,
    Automation.enabled.is_(True) & (Automation.current_version > 0),
    Automation.id,
    Automation.event,
    Automation.current_version,
)


def listening(work: Work, loaded: LoadedForm) -> tuple[tuple[int, str, int], ...]:
    """(id, event, version) of the enabled automations a form's records trigger: wanted on
    every record written, so read once per change of the form's setup."""
    return attached.read(work, loaded, "automations", _LISTENING, tuple)


def spec_by_id(work: Work, automation_id: int, version: int) -> AutomationSpec:
    key = ("automation_spec", automation_id, version)
    if key in work.memo:
        return work.memo[key]
    text = work.session.scalar(
        select(AutomationVersion.definition).where(
            AutomationVersion.automation_id == automation_id,
            AutomationVersion.version == version,
        )
    )
    if text is None:
        raise NotFound(f"automation #{automation_id} has no version {version}")
    work.memo[key] = _parsed(automation_id, version, text)
    return work.memo[key]


def flow_form(work: Work, flow_name: str) -> str | None:
    from ..definitions.models import App, Form
    from ..flows.models import Flow

    row = work.session.execute(
        select(App.name, Form.name)
        .select_from(Flow)
        .join(Form, Form.id == Flow.form_id)
        .join(App, App.id == Form.app_id)
        .where(Flow.name == flow_name)
    ).first()
    return f"{row[0]}.{row[1]}" if row else None


__all__ = [
    "AutomationSpec",
    "all_automations",
    "definition_text",
    "get_automation",
    "listening",
    "publish",
    "set_enabled",
    "spec",
]
