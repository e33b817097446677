"""What each kind of action does, inside the run's unit of work.

Every action returns what the run log shows (JSON). Record actions go through the record
service, so what they write is validated like any edit and fires the target form's own
automations, one level deeper. Email and webhooks are not sent here: they are queued as
reminder rows in this transaction (an outbox), so they go out only if the run commits, and
are retried on their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..definitions.service import LoadedForm, get_form
from ..errors import FieldError, ValidationFailed
from ..expressions.expression import compile_expression
from ..records import service as records
from ..records.models import Record
from ..records.query import Filter, filter_clause, form_rows
from ..reminders.service import hand_over_after_commit
from ..runtime import Work
from . import functions, templates

#: Records one update action changes at most when its action gives no limit.
UPDATE_LIMIT = 200


@dataclass
class Context:
    """The run an action belongs to and the record that triggered it."""

    work: Work
    run_id: int
    automation_id: int
    automation: str
    title: Any
    trigger: str
    loaded: LoadedForm | None
    record_id: int | None
    owner_id: int | None
    values: dict[str, Any]
    #: The record as stored (by field id), for showing its values to people.
    document: dict[str, Any] = field(default_factory=dict)
    #: What the trigger saw (a flow's result and the deciding comment, the changes…).
    event: dict[str, Any] = field(default_factory=dict)

    def evaluate(self, source: str) -> Any:
        context = records.eval_context(self.work, self.loaded.spec) if self.loaded else None
        scope = {**self.values, "_id": self.record_id}
        return compile_expression(source).evaluate(scope, context)

    def link(self) -> str | None:
        if self.loaded is None or self.record_id is None:
            return None
        return f"/f/{self.loaded.name}/{self.record_id}"

    def scope(self, language: str) -> dict[str, Any]:
        """What a template sees: the record's values as a reader of ``language`` sees them
        (names for people, formatted amounts), and the run's own names."""
        from ..records.display import WorkDisplay

        local = self.work.now.astimezone(self.loaded.spec.timezone) if self.loaded else None
        shown: dict[str, Any] = {}
        if self.loaded is not None:
            display = WorkDisplay(self.work, language, self.loaded.spec.app)
            for each in self.loaded.spec.data_fields:
                if each.parent is None and each.stores:
                    shown[each.key] = display.show(each, self.document.get(each.id))
        return {
            **shown,
            "record_id": self.record_id,
            "link": self.link(),
            "automation": self.automation,
            "result": self.event.get("result"),
            "comment": self.event.get("comment") or "",
            "now": local or self.work.now,
            "today": (local or self.work.now).date(),
        }


Action = Callable[[Context, dict[str, Any], int], dict[str, Any]]


def notify(context: Context, action: dict[str, Any], index: int) -> dict[str, Any]:
    from ..flows import approvers
    from ..mail.outbox import email_of, send_later
    from ..notifications.service import notify as put_in_inbox
    from ..notifications.wording import language_of

    work = context.work
    people = approvers.resolve(work, action["to"], context.owner_id, context.values)
    channels = action.get("channels", ["inbox"])
    emailed = []
    for person in people:
        language = language_of(work, person)
        scope = context.scope(language)
        title = templates.render(action["title"], language, scope) or context.automation
        body = templates.render(action.get("body"), language, scope)
        if "inbox" in channels:
            put_in_inbox(work, person, title, body, context.link())
        if "email" in channels:
            address = email_of(work, person)
            if address:
                queued = send_later(
                    work,
                    to=address,
                    subject=title,
                    text=body or title,
                    key=f"automation-run:{context.run_id}:{index}:email:{person}",
                )
                if queued is not None:
                    work.session.flush()
                    hand_over_after_commit(work, queued.id)
                emailed.append(person)
    return {"notified": people, "emailed": emailed}


def create_record(context: Context, action: dict[str, Any], index: int) -> dict[str, Any]:
    target = get_form(context.work, action["form"])
    data = {key: context.evaluate(source) for key, source in action["values"].items()}
    row = records.create_as_step(context.work, target, data)
    return {"form": action["form"], "created": row.id}


def update_records(context: Context, action: dict[str, Any], index: int) -> dict[str, Any]:
    work = context.work
    target = get_form(work, action["form"])
    limit = action.get("limit", UPDATE_LIMIT)
    where = form_rows(target.form.id)
    for row in action["where"]:
        value = context.evaluate(row["value"]) if "value" in row else True
        where.append(
            filter_clause(target.spec, Filter(row["field"], row["op"], value), work.dialect)
        )
    ids = list(
        work.session.scalars(select(Record.id).where(*where).order_by(Record.id).limit(limit + 1))
    )
    if len(ids) > limit:
        raise ValidationFailed(
            [
                FieldError(
                    "where",
                    f"matches more than {limit} records of '{action['form']}'; narrow it, or "
                    "raise the action's limit",
                    "too_many",
                )
            ]
        )
    data = {key: context.evaluate(source) for key, source in action["set"].items()}
    changed = []
    for record_id in ids:
        _, changes = records.change_as_step(work, target, record_id, dict(data), None)
        if changes:
            changed.append(record_id)
    return {"form": action["form"], "matched": len(ids), "updated": changed}


def start_flow(context: Context, action: dict[str, Any], index: int) -> dict[str, Any]:
    from ..flows.actions import start
    from ..people.models import User
    from ..records.models import Record

    work = context.work
    assert context.loaded is not None and context.record_id is not None
    # The flow is the record's owner's request (their manager approves it), not the
    # automation's owner's.
    record = work.session.get(Record, context.record_id)
    owner = work.session.get(User, record.owner_id) if record and record.owner_id else None
    actor, work.actor = work.actor, owner or work.actor
    try:
        instance = start(work, action["flow"], context.loaded, context.record_id)
    finally:
        work.actor = actor
    return {"flow": action["flow"], "instance": instance.id}


def call_function(context: Context, action: dict[str, Any], index: int) -> dict[str, Any]:
    name = action["function"]
    function = functions.registered(context.work.runtime).get(name)
    if function is None:
        raise LookupError(f"no function named '{name}' is registered by a plugin")
    call = functions.Call(
        automation=context.automation,
        run_id=context.run_id,
        trigger=context.trigger,
        form=context.loaded.name if context.loaded else None,
        record_id=context.record_id,
        values=context.values,
        arguments=action.get("arguments", {}),
    )
    return {"function": name, "result": function(context.work, call)}


def webhook(context: Context, action: dict[str, Any], index: int) -> dict[str, Any]:
    from ..webhooks.service import hook_for, send_later

    work = context.work
    hook = hook_for(work, hook_key(context.automation_id, action["url"]), action["url"])
    data = {
        "automation": context.automation,
        "run": context.run_id,
        "trigger": context.trigger,
        "form": context.loaded.name if context.loaded else None,
        "record": (
            {"id": context.record_id, "values": context.values}
            if context.record_id is not None
            else None
        ),
    }
    event = action.get("event", context.trigger)
    reminder = send_later(
        work, hook, event, data, key=f"automation-run:{context.run_id}:{index}:webhook"
    )
    work.session.flush()
    if reminder is not None:
        hand_over_after_commit(work, reminder.id)
    return {"hook": hook.id, "delivery": reminder.id if reminder is not None else None}


def hook_key(automation_id: int, url: str) -> str:
    """The webhook an automation's webhook action calls: one per automation and URL, so
    moving the action keeps its hook (and secret), and a new URL gets a new one."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:24]
    return f"automation:{automation_id}:webhook:{digest}"


ACTIONS: dict[str, Action] = {
    "notify": notify,
    "create_record": create_record,
    "update_records": update_records,
    "start_flow": start_flow,
    "function": call_function,
    "webhook": webhook,
}
