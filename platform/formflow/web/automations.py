"""The automations pages (admins): every automation with its trigger in words, whether it is
on, its last run and how many runs failed; an editor that builds the definition from a form
— trigger, condition rows, an ordered list of actions — with server round trips, like the
flow designer; and each automation's run log, where a failed run is retried.

The editor's form is the whole working copy: every button posts all of it with an ``op``
(add, remove or move an action, show the inputs a choice needs, save) and the page comes
back from what was posted (web.automation_form reads it), so nothing is kept between
requests. Saving publishes through automations.service; each problem it finds names a
JSON pointer (``/actions/2/url``) and is shown beside the input that pointer belongs to,
with what was typed still there.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import jsoncodec
from ..automations import functions, runs
from ..automations import service as automations
from ..automations.actions import hook_key
from ..automations.definition import (
    ACTIONS,
    DATE_TYPES,
    RECORD_TRIGGERS,
    TRIGGERS,
    check_automation,
)
from ..automations.models import Automation, AutomationRun, RunState
from ..definitions.service import LoadedForm, get_form, get_form_by_id, list_forms
from ..errors import FieldError, FormflowError, NotFound, ValidationFailed
from ..expressions.conditions import rows_of
from ..flows import service as flows
from ..flows.definition import PEOPLE_FIELDS
from ..people import service as people
from ..runtime import Work
from ..webhooks.models import Webhook
from .automation_form import (
    Draft,
    apply_op,
    field_id,
    kept_keys,
    new_definition,
    offset_parts,
    place_errors,
    pretty_json,
    raw_offset,
    read_form,
    text_in,
)
from .i18n import N_, error_text, language, localized, said
from .session import admin_required, read, write

bp = Blueprint("automations", __name__, url_prefix="/admin/automations")

#: Runs on one page of the run log.
PAGE = 30


# -- the list ----------------------------------------------------------------------------------


@bp.get("/")
@admin_required
def index() -> str:
    with read() as work:
        found = automations.all_automations(work)
        last, failed = _run_summary(work)
        rows = []
        for automation in found:
            spec = automations.spec(work, automation)
            rows.append(
                {
                    "automation": automation,
                    "title": localized(spec.title, automation.name),
                    "trigger": describe_trigger(work, spec.trigger),
                    "last": last.get(automation.id),
                    "failed": failed.get(automation.id, 0),
                }
            )
        zone = _zone(work)
    return render_template("automations/index.html", rows=rows, zone=zone)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "state_word": state_word,
        "when": local_time,
        "fid": field_id,
        "as_json": jsoncodec.dumps,
        "trigger_words": trigger_words(),
    }


def _run_summary(work: Work) -> tuple[dict[int, AutomationRun], dict[int, int]]:
    """Each automation's newest run, and how many of its runs failed."""
    newest = select(func.max(AutomationRun.id)).group_by(AutomationRun.automation_id)
    last = {
        run.automation_id: run
        for run in work.session.scalars(select(AutomationRun).where(AutomationRun.id.in_(newest)))
    }
    failed = work.session.execute(
        select(AutomationRun.automation_id, func.count())
        .where(AutomationRun.state == RunState.FAILED.value)
        .group_by(AutomationRun.automation_id)
    ).all()
    return last, {automation_id: count for automation_id, count in failed}


@bp.post("/<name>/enabled")
@admin_required
def toggle(name: str) -> Any:
    enabled = request.form.get("enabled") == "1"
    try:
        with write() as work:
            automations.set_enabled(work, name, enabled)
    except NotFound:
        abort(404)
    flash(_("The automation is on.") if enabled else _("The automation is off."))
    back = request.form.get("next", "")
    if not back.startswith("/admin/automations"):
        back = url_for("automations.index")
    return redirect(back)


# -- the editor --------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new() -> Any:
    if request.method == "GET":
        draft = Draft(new_definition(), typed=[{}])
        with read() as work:
            return render_template("automations/editor.html", **_context(work, draft, None))
    return _post(None)


@bp.route("/<name>", methods=["GET", "POST"])
@admin_required
def edit(name: str) -> Any:
    if request.method == "POST":
        return _post(name)
    with read() as work:
        automation = _automation_or_404(work, name)
        definition = jsoncodec.loads(automations.definition_text(work, automation))
        definition.pop("enabled", None)  # the list's switch says that, not the editor
        draft = Draft(definition, typed=[{} for _ in definition.get("actions", [])])
        draft.condition_text = rows_of(definition.get("condition", "")) is None
        return render_template("automations/editor.html", **_context(work, draft, automation))


def _post(name: str | None) -> Any:
    """A round trip of the editor: apply ``op`` to what was posted, or save it."""
    draft = read_form(request.form)
    if name is not None:
        draft.definition["name"] = name
    op = request.form.get("op", "refresh")
    if op != "save":  # what is not valid yet is said when saving, not at every step
        read_problems = len(draft.problems)
        apply_op(draft, op, request.form)
        with read() as work:
            automation = _automation_or_404(work, name) if name else None
            context = _context(work, draft, automation, errors=draft.problems[read_problems:])
            return render_template("automations/editor.html", **context)
    errors: list[FieldError] = list(draft.problems)
    version = 0
    try:
        with write() as work:
            if name is None and _exists(work, draft.definition.get("name", "")):
                errors.append(
                    said("/name", _("An automation with this name already exists."), "exists")
                )
            if errors:  # checked like a save, so every problem is shown at once
                errors += check_automation(draft.definition, automations.lookups(work))
                raise ValidationFailed(errors)
            automation = automations.publish(work, draft.definition)
            version = automation.current_version
    except FormflowError as error:
        with read() as work:
            automation = _automation_or_404(work, name) if name else None
            context = _context(work, draft, automation, errors=error.errors)
            return render_template("automations/editor.html", **context), error.status
    flash(_("Saved version %(version)s.", version=version))
    return redirect(url_for("automations.edit", name=draft.definition["name"]))


def _exists(work: Work, name: str) -> bool:
    return work.session.scalar(select(Automation.id).where(Automation.name == name)) is not None


def _automation_or_404(work: Work, name: str) -> Automation:
    try:
        return automations.get_automation(work, name)
    except NotFound:
        abort(404)


# -- the editor page ---------------------------------------------------------------------------


def _context(
    work: Work,
    draft: Draft,
    automation: Automation | None,
    *,
    errors: list[FieldError] | None = None,
) -> dict[str, Any]:
    definition = draft.definition
    trigger = definition.get("trigger") or {"type": "record_created"}
    forms = _forms(work)
    flow_list = _flows(work)
    fields_of = _Fields(work)
    trigger_form = trigger.get("form")
    if trigger["type"] == "flow_finished":
        trigger_form = next(
            (f["form"] for f in flow_list if f["name"] == trigger.get("flow")), None
        )
    record_fields = fields_of(trigger_form)
    placed = place_errors(definition, errors or [])
    condition = definition.get("condition", "")
    actions = definition.get("actions", [])
    return {
        "automation": automation,
        "is_new": automation is None,
        "definition": definition,
        "trigger": trigger,
        "title_zh": text_in(definition.get("title"), "zh-CN"),
        "title_en": text_in(definition.get("title"), "en"),
        "errors": placed,
        "forms": forms,
        "flows": flow_list,
        "fields_of": fields_of,
        "record_fields": record_fields,
        "date_fields": [f for f in record_fields if f.type.name in DATE_TYPES],
        "member_fields": [f for f in record_fields if f.type.name in PEOPLE_FIELDS],
        "record_trigger": trigger["type"] in RECORD_TRIGGERS,
        "condition": condition,
        "condition_parsed": None if draft.condition_text else rows_of(condition),
        "offset": draft.offset or offset_parts(trigger.get("offset")),
        "raw_offset": None if draft.offset else raw_offset(trigger.get("offset")),
        "actions": actions,
        "typed": draft.typed + [{}] * (len(actions) - len(draft.typed)),
        "kept": [kept_keys(action) for action in actions],
        "keep": jsoncodec.dumps({"$comment": definition["$comment"]})
        if "$comment" in definition
        else "",
        "functions": sorted(functions.registered(work.runtime)),
        "usernames": [u.username for u in people.find_users(work, limit=200)],
        "roles": [r.name for r in people.all_roles(work)],
        "hooks": _hooks(work, automation, actions) if automation else {},
        "json_text": jsoncodec.dumps_pretty(definition),
        "text_in": text_in,
        "pretty": pretty_json,
        "kinds": ACTIONS,
        "triggers": TRIGGERS,
        "action_words": action_words(),
        "describe_trigger": lambda: describe_trigger(work, trigger),
        "lang": language(),
        "zone": _zone(work),
    }


class _Fields:
    """The top-level fields that hold values, of a form by name (each form read once)."""

    def __init__(self, work: Work) -> None:
        self.work = work
        self.found: dict[str, list[Any]] = {}

    def __call__(self, name: str | None) -> list[Any]:
        if not name:
            return []
        if name not in self.found:
            loaded = _loaded(self.work, name)
            self.found[name] = (
                [f for f in loaded.spec.data_fields if f.stores and f.parent is None]
                if loaded
                else []
            )
        return self.found[name]


def _loaded(work: Work, name: str) -> LoadedForm | None:
    try:
        return get_form(work, name)
    except (NotFound, ValueError):
        return None


def _forms(work: Work) -> list[dict[str, str]]:
    return [
        {"name": f"{app.name}.{form.name}", "title": form.title}
        for app, form in list_forms(work)
        if form.current_version
    ]


def _flows(work: Work) -> list[dict[str, Any]]:
    found = []
    for flow in flows.all_flows(work):
        try:
            form = get_form_by_id(work, flow.form_id).name
        except NotFound:
            continue
        found.append({"name": flow.name, "title": flow.title, "form": form})
    return found


def _hooks(work: Work, automation: Automation, actions: list[dict[str, Any]]) -> dict[int, Any]:
    """The webhook of each webhook action, by the action's index."""
    keys = {
        hook_key(automation.id, str(action.get("url", ""))): index
        for index, action in enumerate(actions)
        if action.get("type") == "webhook"
    }
    if not keys:
        return {}
    found = work.session.scalars(select(Webhook).where(Webhook.key.in_(keys)))
    return {keys[hook.key]: hook for hook in found}


# -- the run log -------------------------------------------------------------------------------


@bp.get("/<name>/runs")
@admin_required
def run_log(name: str) -> str:
    state = request.args.get("state") or None
    if state not in (None, *RunState):
        state = None
    before = request.args.get("before", type=int)
    with read() as work:
        automation = _automation_or_404(work, name)
        spec = automations.spec(work, automation)
        found = runs.runs_of(work, automation.id, state=state, before=before, limit=PAGE + 1)
        form = get_form_by_id(work, automation.form_id).name if automation.form_id else None
        shown = [_run_view(work, automation, run, form) for run in found[:PAGE]]
        context = {
            "automation": automation,
            "title": localized(spec.title, automation.name),
            "trigger": describe_trigger(work, spec.trigger),
            "runs": shown,
            "state": state,
            "states": list(RunState),
            "before": before,
            "older": found[PAGE - 1].id if len(found) > PAGE else None,
            "hooks": _hooks(work, automation, spec.actions),
            "actions": spec.actions,
            "zone": _zone(work),
            "action_words": action_words(),
        }
    return render_template("automations/runs.html", **context)


@bp.post("/<name>/runs/<int:run_id>/retry")
@admin_required
def retry(name: str, run_id: int) -> Any:
    try:
        with write() as work:
            automation = _automation_or_404(work, name)
            if runs.get_run(work, run_id).automation_id != automation.id:
                abort(404)
            runs.retry(work, run_id)
    except NotFound:
        abort(404)
    except FormflowError as error:
        flash("; ".join(error_text(e) for e in error.errors))
    else:
        flash(_("Run #%(id)s will run again from its first action.", id=run_id))
    return redirect(url_for("automations.run_log", name=name))


def _run_view(work: Work, automation: Automation, run: AutomationRun, form: str | None) -> Any:
    """A run as the log shows it: each action of its version with what it did."""
    try:
        actions = automations.spec(work, automation, run.version).actions
    except NotFound:
        actions = []
    done = {entry.get("action"): entry for entry in run.log or [] if "result" in entry}
    failure = next((entry for entry in run.log or [] if "error" in entry), None)
    failed_at = failure.get("action") if failure else None
    steps = []
    for index, action in enumerate(actions):
        entry = done.get(index)
        step: dict[str, Any] = {"result": None, "ms": None, "error": None}
        if entry is not None:
            step.update(state="done", result=entry.get("result"), ms=entry.get("ms"))
        elif failed_at == index:
            step.update(state="failed", error=failure.get("error") if failure else None)
        elif failed_at is not None and index < failed_at:
            step.update(state="rolled_back")
        else:
            step.update(state="not_run")
        step.update(index=index, type=action.get("type"), summary=_summary(action))
        step["said"] = _result_words(action, step.get("result"), form)
        steps.append(step)
    record_url = (
        url_for("records.show_record", form=form, record_id=run.record_id)
        if form and run.record_id is not None
        else None
    )
    retrying = run.state == RunState.RETRYING
    return {
        "run": run,
        "steps": steps,
        "reason": run_reason(run.error, steps),
        "record_url": record_url,
        "next_attempt": runs.next_attempt(work, run) if retrying else None,
        "retryable": run.state in (RunState.FAILED, RunState.STOPPED),
    }


def run_reason(error: str | None, steps: list[dict[str, Any]]) -> str | None:
    """Why a run did not finish, in the reader's language where the runner's words are
    known; None when the failed action shows it already."""
    if not error or any(step["error"] for step in steps):
        return None
    known = {
        "its condition does not hold": _("Skipped: its condition did not hold."),
        "the automation is disabled": _("Skipped: the automation was off."),
    }
    if error in known:
        return known[error]
    gone = re.fullmatch(r"record #(\d+) is gone", error)
    if gone:
        return _("Skipped: record #%(id)s was deleted.", id=gone[1])
    deep = re.match(r"stopped: automations triggered one another (\d+) levels deep", error)
    if deep:
        return _(
            "Stopped: automations started one another %(depth)s levels deep, past the "
            "limit; this run was not executed.",
            depth=deep[1],
        )
    return error


def _summary(action: dict[str, Any]) -> str:
    kind = action.get("type")
    if kind == "notify":
        who = ", ".join(describe_person(rule) for rule in action.get("to", []))
        return _("Notify %(who)s", who=who)
    if kind == "create_record":
        return _("Add a record to %(form)s", form=action.get("form", ""))
    if kind == "update_records":
        return _("Update records of %(form)s", form=action.get("form", ""))
    if kind == "start_flow":
        return _("Start the approval %(flow)s", flow=action.get("flow", ""))
    if kind == "function":
        return _("Call %(function)s", function=action.get("function", ""))
    if kind == "webhook":
        return _("Send to %(url)s", url=action.get("url", ""))
    return str(kind)


def _result_words(action: dict[str, Any], result: Any, form: str | None) -> list[Any]:
    """What an action's result says, as (words, link or None) pairs."""
    if not isinstance(result, dict):
        return []
    kind = action.get("type")
    if kind == "notify":
        said_ = [(_("Notified %(n)s people", n=len(result.get("notified", []))), None)]
        if result.get("emailed"):
            said_.append((_("%(n)s by email", n=len(result["emailed"])), None))
        return said_
    if kind == "create_record" and result.get("created"):
        link = url_for("records.show_record", form=result.get("form"), record_id=result["created"])
        return [(_("Added record #%(id)s", id=result["created"]), link)]
    if kind == "update_records":
        return [
            (
                _(
                    "%(matched)s matched, %(updated)s changed",
                    matched=result.get("matched", 0),
                    updated=len(result.get("updated", [])),
                ),
                None,
            )
        ]
    if kind == "start_flow" and result.get("instance"):
        link = url_for("approvals.instance", instance_id=result["instance"])
        return [(_("Started approval #%(id)s", id=result["instance"]), link)]
    if kind == "webhook":
        return [(_("Delivery queued"), None)]
    return []


# -- words -------------------------------------------------------------------------------------


def trigger_words() -> dict[str, str]:
    return {
        "record_created": _("A record is added"),
        "record_updated": _("A record is changed"),
        "record_deleted": _("A record is deleted"),
        "flow_finished": _("An approval ends"),
        "schedule": _("On a schedule"),
        "date_field": _("A date in a record comes"),
    }


def action_words() -> dict[str, str]:
    return {
        "notify": _("Notify people"),
        "create_record": _("Add a record"),
        "update_records": _("Update records"),
        "start_flow": _("Start an approval"),
        "function": _("Call a function"),
        "webhook": _("Call a webhook"),
    }


def state_word(state: str) -> str:
    return {
        "pending": _("waiting"),
        "retrying": _("retrying"),
        "done": _("done"),
        "skipped": _("skipped"),
        "failed": _("failed"),
        "stopped": _("stopped"),
        "rolled_back": _("rolled back"),
        "not_run": _("not run"),
    }.get(state, state)


def describe_person(rule: dict[str, Any]) -> str:
    kind, value = next(iter(rule.items()))
    return {
        "manager": _("manager, %(n)s level(s) up", n=value),
        "user": _("user %(name)s", name=value),
        "role": _("role %(name)s", name=value),
        "department_head": _("head of %(name)s", name=value),
        "field": _("people in field %(name)s", name=value),
    }.get(kind, str(rule))


WEEKDAYS = (
    N_("Sunday"),
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
)


def describe_trigger(work: Work, trigger: dict[str, Any]) -> str:
    """A trigger in words: "When a Customer is added", "Every Monday 09:00 (0 9 * * 1)",
    "1 hour before Next visit (Customer)"."""
    kind = trigger.get("type")
    lang = language()
    loaded = _loaded(work, trigger["form"]) if trigger.get("form") else None
    form = loaded.spec.title(lang) if loaded else trigger.get("form", "?")

    def label(key: str) -> str:
        found = loaded.spec.by_key.get(key) if loaded else None
        return found.label(lang) if found else key

    if kind == "record_created":
        return _("When a %(form)s is added", form=form)
    if kind == "record_deleted":
        return _("When a %(form)s is deleted", form=form)
    if kind == "record_updated":
        if trigger.get("fields"):
            named = _(", ").join(label(key) for key in trigger["fields"])
            return _("When %(fields)s of a %(form)s changes", fields=named, form=form)
        return _("When a %(form)s is changed", form=form)
    if kind == "flow_finished":
        flow = next(
            (f.title for f in flows.all_flows(work) if f.name == trigger.get("flow")),
            trigger.get("flow", "?"),
        )
        if trigger.get("results"):
            words = {
                "approved": _("approved"),
                "rejected": _("rejected"),
                "withdrawn": _("withdrawn"),
            }
            results = _(", ").join(words.get(r, r) for r in trigger["results"])
            return _("When the approval %(flow)s ends: %(results)s", flow=flow, results=results)
        return _("When the approval %(flow)s ends", flow=flow)
    if kind == "schedule":
        cron = trigger.get("cron", "")
        return f"{describe_cron(cron)} ({cron})"
    if kind == "date_field":
        field_label = label(trigger.get("field", ""))
        when, amount, unit = offset_parts(trigger.get("offset"))
        raw = raw_offset(trigger.get("offset"))
        if raw:
            words = _("%(offset)s from %(field)s", offset=raw, field=field_label)
        elif when == "on":
            words = _("On %(field)s", field=field_label)
        else:
            length = _length(int(amount), unit)
            words = (
                _("%(length)s before %(field)s", length=length, field=field_label)
                if when == "before"
                else _("%(length)s after %(field)s", length=length, field=field_label)
            )
        if trigger.get("at"):
            words = _("%(when)s at %(time)s", when=words, time=trigger["at"])
        return f"{words} ({form})"
    return str(kind)


def _length(amount: int, unit: str) -> str:
    one = {"M": _("1 minute"), "H": _("1 hour"), "D": _("1 day"), "W": _("1 week")}
    many = {
        "M": _("%(n)s minutes", n=amount),
        "H": _("%(n)s hours", n=amount),
        "D": _("%(n)s days", n=amount),
        "W": _("%(n)s weeks", n=amount),
    }
    return one[unit] if amount == 1 else many[unit]


def describe_cron(cron: str) -> str:
    """The common cron shapes in words (every day, weekdays, a weekday, a day of the month,
    every hour, every n minutes); any other is "On a schedule"."""
    parts = cron.split()
    if len(parts) != 5:
        return _("On a schedule")
    minute, hour, day, month, weekday = parts
    if minute.isdigit() and hour.isdigit() and month == "*":
        time = f"{int(hour):02d}:{int(minute):02d}"
        if day == "*" and weekday == "*":
            return _("Every day %(time)s", time=time)
        if day == "*" and weekday == "1-5":
            return _("Every weekday %(time)s", time=time)
        days = weekday.split(",")
        if day == "*" and all(d.isdigit() and int(d) <= 7 for d in days):
            named = _(", ").join(_(WEEKDAYS[int(d) % 7]) for d in days)
            return _("Every %(days)s %(time)s", days=named, time=time)
        if day.isdigit() and weekday == "*":
            return _("On day %(day)s of every month %(time)s", day=day, time=time)
    if minute.isdigit() and hour == day == month == weekday == "*":
        return _("Every hour at minute %(minute)s", minute=minute)
    every = re.fullmatch(r"\*/(\d+)", minute)
    if every and hour == day == month == weekday == "*":
        return _("Every %(n)s minutes", n=every[1])
    return _("On a schedule")


def _zone(work: Work) -> ZoneInfo:
    return ZoneInfo(work.config.timezone)


def local_time(moment: dt.datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"
