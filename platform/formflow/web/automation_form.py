"""The automation editor's form and the definition it says, both ways.

The editor posts its whole working copy on every round trip; :func:`read_form` reads it
back into a definition (blank rows left out, a text the same in both languages said once,
keys the form does not edit carried through) and keeps what is not valid yet as typed.
:func:`place_errors` puts each problem of a definition — a JSON pointer such as
``/actions/2/url`` — beside the input the editor shows for that pointer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from .. import jsoncodec
from ..automations.definition import ACTIONS, RECORD_TRIGGERS
from ..errors import FieldError
from ..expressions.conditions import Row, build, rows_of
from .i18n import N_, error_text, language, said

#: Offset units as ISO 8601 writes them: minutes and hours after a T, days and weeks before.
UNITS = ("M", "H", "D", "W")
_SIMPLE_OFFSET = re.compile(r"([+-]?)P(?:(\d+)([DW])|T(\d+)([HM]))")

#: What the editor's inputs write of each action; any other key is carried through as is.
EDITED = {
    "notify": {"type", "to", "channels", "title", "body"},
    "create_record": {"type", "form", "values"},
    "update_records": {"type", "form", "where", "set", "limit"},
    "start_flow": {"type", "flow"},
    "function": {"type", "function", "arguments"},
    "webhook": {"type", "url", "event"},
}

#: The inputs each kind of action has, as JSON pointers under the action.
ACTION_PARTS = {
    "notify": (
        "to",
        "channels",
        "title",
        "title/zh-CN",
        "title/en",
        "body",
        "body/zh-CN",
        "body/en",
    ),
    "create_record": ("form", "values"),
    "update_records": ("form", "where", "set", "limit"),
    "start_flow": ("flow",),
    "function": ("function", "arguments"),
    "webhook": ("url", "event"),
}
TRIGGER_PARTS = {
    "record_created": ("form",),
    "record_updated": ("form", "fields"),
    "record_deleted": ("form",),
    "flow_finished": ("flow", "results"),
    "schedule": ("cron",),
    "date_field": ("form", "field", "offset", "at"),
}

#: Automation problems by code, for readers of a language other than English (English
#: readers get the engine's own, more specific words).
MESSAGES = {
    "bad_cron": N_(
        "is not a cron schedule: five fields, minute hour day month weekday "
        "(like 0 9 * * 1 for Mondays at 09:00)"
    ),
    "bad_duration": N_("is not a length of time like PT1H or P1D"),
    "bad_expression": N_("the expression cannot be read: %(detail)s"),
    "bad_template": N_("the template cannot be read: %(detail)s"),
    "bad_url": N_("this address may not be called: use a public http:// or https:// address"),
    "forbidden": N_("the automation's owner may not write records of this form"),
    "no_record": N_("a schedule has no record to use here"),
    "not_date_field": N_("%(field)s is not a date or date-time field"),
    "not_member_field": N_("%(field)s is not a member field"),
    "not_settable": N_("%(field)s holds no value of its own or is computed: it cannot be set"),
    "unknown_field": N_("refers to a field that does not exist: %(field)s"),
    "unknown_flow": N_("names an approval flow that does not exist"),
    "unknown_form": N_("names a form that does not exist"),
    "unknown_function": N_("no plugin registers a function by this name"),
    "wrong_form": N_("this approval flow runs on another form than the trigger's"),
    "schema.minItems": N_("needs at least one entry"),
    "schema.pattern": N_("is not in the expected format"),
    "schema.enum": N_("is not one of the options"),
}


@dataclass
class Draft:
    """The editor's working copy: the definition as far as the form could say it, and what
    the form holds that a definition cannot (text that is not valid yet)."""

    definition: dict[str, Any]
    #: The condition is edited as an expression rather than as rows.
    condition_text: bool = False
    #: Per action, in order: inputs kept as typed (``arguments`` JSON, ``limit``).
    typed: list[dict[str, str]] = field(default_factory=list)
    #: The date trigger's offset as typed: (before/after/on, amount, unit).
    offset: tuple[str, str, str] | None = None
    #: Problems found reading the form, before any checking.
    problems: list[FieldError] = field(default_factory=list)


def new_definition() -> dict[str, Any]:
    return {
        "name": "",
        "title": "",
        "trigger": {"type": "record_created"},
        "actions": [skeleton("notify")],
    }


def skeleton(kind: str) -> dict[str, Any]:
    return {
        "notify": {"type": "notify", "to": [], "channels": ["inbox"]},
        "create_record": {"type": "create_record", "values": {}},
        "update_records": {"type": "update_records", "where": [], "set": {}},
    }.get(kind, {"type": kind})


def apply_op(draft: Draft, op: str, values: MultiDict[str, str]) -> None:
    actions = draft.definition["actions"]
    verb, _colon, where = op.partition(":")
    if verb == "add_action" and values.get("new_action") in ACTIONS:
        actions.append(skeleton(values["new_action"]))
        draft.typed.append({})
    elif verb in ("remove", "up", "down") and where.isdigit() and int(where) < len(actions):
        index = int(where)
        if verb == "remove":
            del actions[index]
            del draft.typed[index]
        else:
            other = index - 1 if verb == "up" else index + 1
            if 0 <= other < len(actions):
                actions[index], actions[other] = actions[other], actions[index]
                draft.typed[index], draft.typed[other] = draft.typed[other], draft.typed[index]
    elif verb == "condition_text":
        draft.condition_text = True
    elif verb == "condition_rows":
        if rows_of(draft.definition.get("condition", "")) is None:
            draft.problems.append(
                said("/condition", _("This condition cannot be shown as rows; edit it as text."))
            )
        else:
            draft.condition_text = False


def read_form(values: MultiDict[str, str]) -> Draft:
    """The definition the editor's form says, and what it holds that is not valid yet."""
    draft = Draft({})
    definition = draft.definition
    kept = json_object(values.get("keep"))
    if kept and "$comment" in kept:
        definition["$comment"] = kept["$comment"]
    definition["name"] = values.get("name", "").strip()
    title = _texts(values, "title")
    if title is not None:
        definition["title"] = title
    definition["trigger"] = _read_trigger(values, draft)
    draft.condition_text = values.get("condition_mode") == "text"
    if definition["trigger"]["type"] in RECORD_TRIGGERS:
        condition = _read_condition(values, draft)
        if condition:
            definition["condition"] = condition
    definition["actions"] = []
    for index, kind in enumerate(values.getlist("action_type")):
        action, typed = _read_action(values, index, kind, draft)
        definition["actions"].append(action)
        draft.typed.append(typed)
    return draft


def _texts(values: MultiDict[str, str], prefix: str) -> str | dict[str, str] | None:
    """A text in both languages: one string when they are the same."""
    zh = values.get(f"{prefix}_zh", "").strip()
    en = values.get(f"{prefix}_en", "").strip()
    if not zh and not en:
        return None
    if zh == en:
        return zh
    return {lang: text for lang, text in (("zh-CN", zh), ("en", en)) if text}


def json_object(text: str | None) -> dict[str, Any] | None:
    if not text or not text.strip():
        return None
    try:
        value = jsoncodec.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _read_trigger(values: MultiDict[str, str], draft: Draft) -> dict[str, Any]:
    kind = values.get("trigger_type", "record_created")
    trigger: dict[str, Any] = {"type": kind}
    given = {
        "form": values.get("trigger_form", "").strip(),
        "flow": values.get("trigger_flow", "").strip(),
        "cron": " ".join(values.get("trigger_cron", "").split()),
        "field": values.get("trigger_field", "").strip(),
        "at": values.get("trigger_at", "").strip(),
        "fields": [f for f in values.getlist("trigger_fields") if f],
        "results": [r for r in values.getlist("trigger_results") if r],
    }
    for part in TRIGGER_PARTS.get(kind, ()):
        if part == "offset":
            offset = _read_offset(values, draft)
            if offset:
                trigger["offset"] = offset
        elif given.get(part):
            trigger[part] = given[part]
    return trigger


def _read_offset(values: MultiDict[str, str], draft: Draft) -> str | None:
    if "offset_text" in values:  # an offset the amount and unit inputs cannot show
        return values["offset_text"].strip() or None
    when = values.get("offset_when", "on")
    amount = values.get("offset_amount", "").strip()
    unit = values.get("offset_unit", "H")
    draft.offset = (when, amount, unit)
    if when not in ("before", "after"):
        return None
    if not amount.isdigit() or int(amount) == 0 or unit not in UNITS:
        draft.problems.append(
            said("/trigger/offset", _("Give how long before or after, as a whole number."))
        )
        return None
    time = "T" if unit in ("H", "M") else ""
    return f"{'-' if when == 'before' else ''}P{time}{int(amount)}{unit}"


def _read_condition(values: MultiDict[str, str], draft: Draft) -> str:
    if draft.condition_text:
        return values.get("condition_when", "").strip()
    rows = [
        Row(key, op, value)
        for key, op, value in zip(
            values.getlist("condition_field"),
            values.getlist("condition_op"),
            values.getlist("condition_value"),
            strict=False,
        )
        if key
    ]
    try:
        return build(
            rows, values.get("condition_join", "AND"), set(values.getlist("condition_numeric"))
        )
    except ValueError as error:
        draft.problems.append(said("/condition", str(error)))
        return ""


def _read_action(
    values: MultiDict[str, str], index: int, kind: str, draft: Draft
) -> tuple[dict[str, Any], dict[str, str]]:
    p = f"a{index}_"
    action: dict[str, Any] = {"type": kind}
    typed: dict[str, str] = {}
    at = f"/actions/{index}"
    if kind == "notify":
        action["to"] = [
            {who: int(value) if who == "manager" and value.strip().isdigit() else value.strip()}
            for who, value in zip(
                values.getlist(p + "to_kind"), values.getlist(p + "to_value"), strict=False
            )
            if who and value.strip()
        ]
        channels = [c for c in values.getlist(p + "channels") if c]
        if channels != ["inbox"]:  # the default, left unsaid
            action["channels"] = channels
        for part in ("title", "body"):
            text = _texts(values, p + part)
            if text is not None:
                action[part] = text
    elif kind in ("create_record", "update_records"):
        if values.get(p + "form", "").strip():
            action["form"] = values[p + "form"].strip()
        if kind == "update_records":
            action["where"] = []
            for key, op, value in zip(
                values.getlist(p + "where_field"),
                values.getlist(p + "where_op"),
                values.getlist(p + "where_value"),
                strict=False,
            ):
                if not key:
                    continue
                row = {"field": key, "op": op}
                if value.strip() and op != "is_empty":
                    row["value"] = value.strip()
                action["where"].append(row)
        action["values" if kind == "create_record" else "set"] = {
            key: expression.strip()
            for key, expression in zip(
                values.getlist(p + "key"), values.getlist(p + "expr"), strict=False
            )
            if key
        }
        limit = values.get(p + "limit", "").strip()
        if kind == "update_records" and limit:
            if limit.isdigit():
                action["limit"] = int(limit)
            else:
                typed["limit"] = limit
                draft.problems.append(said(f"{at}/limit", _("Give a whole number from 1 to 1000.")))
    elif kind in ("start_flow", "function", "webhook"):
        for part in ACTION_PARTS[kind]:
            if part != "arguments" and values.get(p + part, "").strip():
                action[part] = values[p + part].strip()
        arguments = values.get(p + "arguments", "")
        if kind == "function" and arguments.strip():
            parsed = json_object(arguments)
            if parsed is None:
                typed["arguments"] = arguments
                draft.problems.append(
                    said(f"{at}/arguments", _('Write the arguments as a JSON object: {"n": 1}'))
                )
            else:
                action["arguments"] = parsed
    kept = json_object(values.get(p + "keep")) or {}
    action.update({key: value for key, value in kept.items() if key not in action})
    return action, typed


def text_in(text: Any, lang: str) -> str:
    """One language's text of a title or template (a plain string is every language's)."""
    if isinstance(text, dict):
        return text.get(lang, "")
    return text or ""


def pretty_json(value: Any) -> str:
    return jsoncodec.dumps_pretty(value).strip() if isinstance(value, dict) and value else ""


def kept_keys(action: dict[str, Any]) -> str:
    extra = {k: v for k, v in action.items() if k not in EDITED.get(action.get("type"), {"type"})}
    return jsoncodec.dumps(extra) if extra else ""


def offset_parts(offset: str | None) -> tuple[str, str, str]:
    """(before/after/on, amount, unit) of an offset the inputs can show (``-PT1H``)."""
    match = _SIMPLE_OFFSET.fullmatch(offset or "")
    if match is None:
        return ("on", "", "H")
    sign, days, day_unit, hours, hour_unit = match.groups()
    return ("before" if sign == "-" else "after", days or hours, day_unit or hour_unit)


def raw_offset(offset: str | None) -> str | None:
    """An offset the inputs cannot show (``P1DT2H``), edited as text instead."""
    return offset if offset and _SIMPLE_OFFSET.fullmatch(offset) is None else None


def field_id(pointer: str) -> str:
    """The id of the input a JSON pointer names: ``/trigger/cron`` → ``f-trigger-cron``."""
    return "f" + re.sub(r"[^A-Za-z0-9_-]", "_", pointer.replace("/", "-"))


def slots(definition: dict[str, Any]) -> set[str]:
    """The JSON pointers the editor shows an input for, where problems are shown."""
    found = {"", "/name", "/title", "/title/zh-CN", "/title/en", "/trigger", "/actions"}
    trigger = definition.get("trigger") or {}
    kind = trigger.get("type")
    found |= {f"/trigger/{part}" for part in TRIGGER_PARTS.get(kind, ())}
    if kind in RECORD_TRIGGERS:
        found.add("/condition")
    for index, action in enumerate(definition.get("actions") or []):
        at = f"/actions/{index}"
        found.add(at)
        found |= {f"{at}/{part}" for part in ACTION_PARTS.get(action.get("type"), ())}
        for part in ("to", "where"):
            found |= {f"{at}/{part}/{i}" for i in range(len(action.get(part) or []))}
        for part in ("values", "set"):
            found |= {f"{at}/{part}/{_escape(key)}" for key in action.get(part) or {}}
    return found


def place_errors(definition: dict[str, Any], errors: list[FieldError]) -> dict[str, list[str]]:
    """Each problem's words under the nearest input its pointer names (the page's top for
    what has none); a missing key is shown at the input for that key."""
    shown = slots(definition)
    placed: dict[str, list[str]] = {}
    for error in errors:
        pointer = error.field or ""
        missing = error.params.get("missing")
        if missing and f"{pointer}/{missing}" in shown:
            at, words = f"{pointer}/{missing}", _("is required")
        else:
            at = pointer
            while at not in shown:
                at = at.rsplit("/", 1)[0] if "/" in at else ""
            words = problem_text(error)
            if at != pointer and not error.params.get("localized"):
                words = f"{pointer[len(at) :].lstrip('/')}: {words}"
        if words not in placed.setdefault(at, []):
            placed[at].append(words)
    return placed


def problem_text(error: FieldError) -> str:
    """A problem in the reader's language: the engine's own words in English."""
    template = MESSAGES.get(error.code)
    if language() == "en" or error.params.get("localized") or template is None:
        return error_text(error)
    params = {"detail": error.message, **error.params}
    return _(template, **{k: params.get(k, "") for k in ("detail", "field") if k in template})


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")
