"""Automation definitions: what an automation may say, and checking one before it is saved.

An automation is a JSON document: a ``trigger`` (what fires it), an optional ``condition``
(an expression over the triggering record) and ``actions`` run in order. Checking it has
two layers, like a flow's: the meta-schema (:data:`AUTOMATION_SCHEMA`), then what a schema
cannot say — forms, fields, flows and functions that exist, a date trigger on a date field,
a cron string that parses, templates and expressions that compile, a webhook URL that is
allowed, and target forms the automation's owner may write. Every problem is a
:class:`~formflow.errors.FieldError` at a JSON pointer (``/actions/2/url``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jsonschema import Draft202012Validator

from ..definitions.metaschema import DRAFT, FIELD_KEY
from ..definitions.spec import LANGUAGES, FormSpec
from ..errors import FieldError
from ..flows.definition import (
    FLOW_NAME,
    PEOPLE_FIELDS,
    ROLE_NAME,
    USERNAME,
    Report,
    check_expression,
    check_target_field,
    describe_error,
    parse_duration,
    readable,
)
from ..records.query import OPERATORS
from .templates import environment

AUTOMATION_NAME = FLOW_NAME
FORM_NAME = FLOW_NAME
TRIGGERS = (
    "record_created",
    "record_updated",
    "record_deleted",
    "flow_finished",
    "schedule",
    "date_field",
)
#: Names an automation's expressions may use besides the record's fields.
RECORD_NAMES = frozenset({"_id"})
#: Triggers that fire on one record (and so may have a condition over it).
RECORD_TRIGGERS = frozenset(TRIGGERS) - {"schedule"}
ACTIONS = ("notify", "create_record", "update_records", "start_flow", "function", "webhook")
CHANNELS = ("inbox", "email")
DATE_TYPES = frozenset({"date", "datetime"})
TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_EXPRESSION = {"type": "string", "minLength": 1, "maxLength": 4000}
_TEMPLATE = {"type": "string", "minLength": 1, "maxLength": 4000}


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", *required],
        "properties": {"type": {"enum": None}, **properties},
        "additionalProperties": False,
    }


_TRIGGER_SHAPES: dict[str, dict[str, Any]] = {
    "record_created": _object(["form"], {"form": {"$ref": "#/$defs/form"}}),
    "record_updated": _object(
        ["form"],
        {
            "form": {"$ref": "#/$defs/form"},
            "fields": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"$ref": "#/$defs/fieldKey"},
            },
        },
    ),
    "record_deleted": _object(["form"], {"form": {"$ref": "#/$defs/form"}}),
    "flow_finished": _object(
        ["flow"],
        {
            "flow": {"type": "string", "pattern": FLOW_NAME},
            "results": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": ["approved", "rejected", "withdrawn"]},
            },
        },
    ),
    "schedule": _object(["cron"], {"cron": {"type": "string", "minLength": 1, "maxLength": 120}}),
    "date_field": _object(
        ["form", "field"],
        {
            "form": {"$ref": "#/$defs/form"},
            "field": {"$ref": "#/$defs/fieldKey"},
            "offset": {"type": "string", "minLength": 2, "maxLength": 40},
            "at": {"type": "string", "pattern": TIME_OF_DAY},
        },
    ),
}
_ACTION_SHAPES: dict[str, dict[str, Any]] = {
    "notify": _object(
        ["to", "title"],
        {
            "to": {"$ref": "#/$defs/people"},
            "channels": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": list(CHANNELS)},
            },
            "title": {"$ref": "#/$defs/template"},
            "body": {"$ref": "#/$defs/template"},
        },
    ),
    "create_record": _object(
        ["form", "values"],
        {"form": {"$ref": "#/$defs/form"}, "values": {"$ref": "#/$defs/assignments"}},
    ),
    "update_records": _object(
        ["form", "where", "set"],
        {
            "form": {"$ref": "#/$defs/form"},
            "where": {
                "type": "array",
                "minItems": 1,
                "maxItems": 10,
                "items": {
                    "type": "object",
                    "required": ["field", "op"],
                    "properties": {
                        "field": {"type": "string", "minLength": 1, "maxLength": 80},
                        "op": {"enum": list(OPERATORS)},
                        "value": _EXPRESSION,
                    },
                    "additionalProperties": False,
                },
            },
            "set": {"$ref": "#/$defs/assignments"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
        },
    ),
    "start_flow": _object(["flow"], {"flow": {"type": "string", "pattern": FLOW_NAME}}),
    "function": _object(
        ["function"],
        {
            "function": {"type": "string", "minLength": 1, "maxLength": 130},
            "arguments": {"type": "object"},
        },
    ),
    "webhook": _object(
        ["url"],
        {
            "url": {"type": "string", "minLength": 1, "maxLength": 2000},
            "event": {"type": "string", "minLength": 1, "maxLength": 80},
        },
    ),
}
for _kind, _shape in [*_TRIGGER_SHAPES.items(), *_ACTION_SHAPES.items()]:
    _shape["properties"]["type"] = {"const": _kind}
_ACTION_SHAPES["function"]["properties"]["title"] = {"$ref": "#/$defs/text"}


def _by_type(kinds: dict[str, dict[str, Any]], prefix: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(kinds)}},
        "allOf": [
            {
                "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
                "then": {"$ref": f"#/$defs/{prefix}-{kind}"},
            }
            for kind in kinds
        ],
    }


#: The meta-schema of an automation definition (JSON Schema draft 2020-12).
AUTOMATION_SCHEMA: dict[str, Any] = {
    "$schema": DRAFT,
    "$id": "https://formflow.dev/schemas/automation-definition.json",
    "title": "Formflow automation",
    "type": "object",
    "required": ["name", "title", "trigger", "actions"],
    "properties": {
        "$comment": {"type": "string"},
        "name": {"type": "string", "pattern": AUTOMATION_NAME},
        "title": {"$ref": "#/$defs/text"},
        "enabled": {"type": "boolean"},
        "trigger": _by_type(_TRIGGER_SHAPES, "trigger"),
        "condition": _EXPRESSION,
        "actions": {
            "type": "array",
            "minItems": 1,
            "maxItems": 20,
            "items": _by_type(_ACTION_SHAPES, "action"),
        },
    },
    "additionalProperties": False,
    "$defs": {
        "form": {"type": "string", "pattern": FORM_NAME},
        "fieldKey": {"type": "string", "pattern": FIELD_KEY},
        "text": {
            "anyOf": [
                _TEXT,
                {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"enum": list(LANGUAGES)},
                    "additionalProperties": _TEXT,
                },
            ]
        },
        "template": {
            "anyOf": [
                _TEMPLATE,
                {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"enum": list(LANGUAGES)},
                    "additionalProperties": _TEMPLATE,
                },
            ]
        },
        "person": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "user": {"type": "string", "pattern": USERNAME},
                "role": {"type": "string", "pattern": ROLE_NAME},
                "manager": {"type": "integer", "minimum": 1, "maximum": 5},
                "department_head": {"type": "string", "minLength": 1, "maxLength": 120},
                "field": {"type": "string", "pattern": FIELD_KEY},
            },
            "additionalProperties": False,
        },
        "people": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/person"}},
        "assignments": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"$ref": "#/$defs/fieldKey"},
            "additionalProperties": _EXPRESSION,
        },
        **{f"trigger-{kind}": shape for kind, shape in _TRIGGER_SHAPES.items()},
        **{f"action-{kind}": shape for kind, shape in _ACTION_SHAPES.items()},
    },
}


@cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(AUTOMATION_SCHEMA)
    return Draft202012Validator(AUTOMATION_SCHEMA)


# -- offsets and cron -----------------------------------------------------------------------


def parse_offset(text: str | None) -> dt.timedelta:
    """A signed ISO 8601 duration: ``-PT1H`` is an hour before, ``P1D`` a day after."""
    if not text:
        return dt.timedelta(0)
    sign = -1 if text.startswith("-") else 1
    return sign * parse_duration(text.lstrip("+-"))


def cron_problem(text: str) -> str | None:
    """Why a cron string cannot be used (None: it can): five fields, minute to weekday."""
    from croniter import croniter

    if len(text.split()) != 5:
        return (
            f"'{text}' is not a cron schedule: use five fields, minute hour day month weekday "
            "(like '0 9 * * 1' for Mondays at 09:00)"
        )
    if not croniter.is_valid(text):
        return f"'{text}' is not a cron schedule: a field is out of range or malformed"
    return None


# -- checking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookups:
    """What checking needs to know of the instance; each returns None when unknown."""

    spec_of: Callable[[str], FormSpec | None]
    #: The form a flow belongs to, by flow name.
    flow_form: Callable[[str], str | None]
    function_exists: Callable[[str], bool]
    #: Why a webhook URL is refused (None: allowed).
    url_problem: Callable[[str], str | None]
    #: Whether the saving user may do ``action`` (create/edit) on a form.
    may: Callable[[str, str], bool]


def check_automation(definition: Any, lookups: Lookups | None = None) -> list[FieldError]:
    """All problems of an automation definition; an empty list means it may be saved.
    Without ``lookups`` only the shape and what needs no database are checked."""
    if not isinstance(definition, dict):
        return [FieldError("", "an automation definition must be a JSON object", "schema.type")]
    report = Report({})
    for error in _validator().iter_errors(definition):
        describe_error(error, report)
    # The parts the meta-schema found nothing wrong with are checked further anyway, so a
    # bad cron is reported beside a missing title, not after it is fixed.
    wrong = [pointer or "" for pointer, _ in report.errors]
    _Checker(definition, lookups, report, sound=lambda at: _sound(at, wrong)).check()
    return report.sorted()


def _sound(at: str, wrong: list[str]) -> bool:
    """Whether nothing the meta-schema reported is at, above or below ``at``."""
    return not any(w == at or w.startswith(at + "/") or at.startswith(w + "/") for w in wrong if w)


def trigger_form(definition: dict[str, Any], flow_form: Callable[[str], str | None]) -> str | None:
    """The form whose records the automation sees (a flow's form for flow_finished)."""
    trigger = definition["trigger"]
    if trigger["type"] == "flow_finished":
        return flow_form(trigger["flow"])
    return trigger.get("form")


class _Checker:
    def __init__(
        self,
        definition: dict[str, Any],
        lookups: Lookups | None,
        report: Report,
        sound: Callable[[str], bool],
    ) -> None:
        self.definition = definition
        self.lookups = lookups
        self.report = report
        self.sound = sound
        self.spec: FormSpec | None = None

    def check(self) -> None:
        trigger = self.definition.get("trigger")
        if not isinstance(trigger, dict):
            return
        if not self.sound("/trigger"):
            # Fields cannot be checked without the trigger's form; a schedule's cron can.
            if (
                trigger.get("type") == "schedule"
                and isinstance(trigger.get("cron"), str)
                and self.sound("/trigger/cron")
            ):
                self._trigger({"type": "schedule", "cron": trigger["cron"]})
            return
        self._trigger(trigger)
        condition = self.definition.get("condition")
        if condition is not None and self.sound("/condition"):
            if trigger["type"] not in RECORD_TRIGGERS:
                self.report.add(
                    "/condition", "a schedule has no record to test a condition on", "no_record"
                )
            else:
                self._expression(condition, "/condition")
        actions = self.definition.get("actions")
        if not isinstance(actions, list):
            return
        for index, action in enumerate(actions):
            if self.sound(f"/actions/{index}"):
                getattr(self, f"_{action['type']}")(action, f"/actions/{index}")

    def _expression(self, source: str, pointer: str) -> None:
        """An expression over the triggering record: its fields, and ``_id`` (its id)."""
        compiled = check_expression(source, pointer, None, self.report)
        if compiled is None or self.spec is None:
            return
        for name in sorted(compiled.references - RECORD_NAMES):
            if not readable(self.spec, name):
                self.report.add(
                    pointer, f"refers to unknown field '{name}'", "unknown_field", field=name
                )

    # -- triggers ------------------------------------------------------------------------

    def _trigger(self, trigger: dict[str, Any]) -> None:
        kind = trigger["type"]
        if kind == "schedule":
            problem = cron_problem(trigger["cron"])
            if problem:
                self.report.add("/trigger/cron", problem, "bad_cron")
            return
        if self.lookups is None:
            return
        if kind == "flow_finished":
            form = self.lookups.flow_form(trigger["flow"])
            if form is None:
                self.report.add(
                    "/trigger/flow", f"no flow named '{trigger['flow']}'", "unknown_flow"
                )
                return
        else:
            form = trigger["form"]
        self.spec = self.lookups.spec_of(form)
        if self.spec is None:
            self.report.add("/trigger/form", f"no form named '{form}'", "unknown_form")
            return
        for i, key in enumerate(trigger.get("fields", ())):
            if key not in self.spec.by_key:
                self.report.add(
                    f"/trigger/fields/{i}", f"unknown field '{key}'", "unknown_field", field=key
                )
        if kind == "date_field":
            self._date_trigger(trigger)

    def _date_trigger(self, trigger: dict[str, Any]) -> None:
        assert self.spec is not None
        key = trigger["field"]
        field = self.spec.by_key.get(key)
        if field is None:
            self.report.add("/trigger/field", f"unknown field '{key}'", "unknown_field", field=key)
        elif field.type.name not in DATE_TYPES:
            self.report.add(
                "/trigger/field",
                f"'{key}' is a {field.type.name} field; a date trigger needs a date or "
                "datetime field",
                "not_date_field",
                field=key,
            )
        try:
            parse_offset(trigger.get("offset"))
        except ValueError as error:
            self.report.add("/trigger/offset", str(error), "bad_duration")

    # -- actions -------------------------------------------------------------------------

    def _notify(self, action: dict[str, Any], at: str) -> None:
        for i, rule in enumerate(action["to"]):
            key = rule.get("field")
            if key is None:
                continue
            if self.spec is None:
                if self.definition["trigger"]["type"] == "schedule":
                    self.report.add(
                        f"{at}/to/{i}/field",
                        "a schedule has no record whose field names people",
                        "no_record",
                    )
                continue
            field = self.spec.by_key.get(key)
            if field is None:
                self.report.add(
                    f"{at}/to/{i}/field", f"unknown field '{key}'", "unknown_field", field=key
                )
            elif field.type.name not in PEOPLE_FIELDS:
                self.report.add(
                    f"{at}/to/{i}/field",
                    f"'{key}' is not a member field",
                    "not_member_field",
                    field=key,
                )
        for part in ("title", "body"):
            template = action.get(part)
            if template is None:
                continue
            texts = template if isinstance(template, dict) else {"": template}
            for language, text in texts.items():
                pointer = f"{at}/{part}" + (f"/{language}" if language else "")
                self._template(text, pointer)

    def _template(self, text: str, pointer: str) -> None:
        try:
            parsed = environment().parse(text)
        except TemplateSyntaxError as error:
            self.report.add(
                pointer, f"template error on line {error.lineno}: {error.message}", "bad_template"
            )
            return
        if self.spec is None:
            return
        from .templates import NAMES

        for name in sorted(meta.find_undeclared_variables(parsed)):
            if name not in NAMES and name not in self.spec.by_key:
                self.report.add(
                    pointer, f"refers to unknown field '{name}'", "unknown_field", field=name
                )

    def _create_record(self, action: dict[str, Any], at: str) -> None:
        target = self._target_form(action, at, "create")
        for key, source in action["values"].items():
            pointer = f"{at}/values/{_escape(key)}"
            if target is not None:
                check_target_field(target, key, pointer, self.report)
            self._expression(source, pointer)

    def _update_records(self, action: dict[str, Any], at: str) -> None:
        target = self._target_form(action, at, "edit")
        for i, row in enumerate(action["where"]):
            if target is not None and row["field"] not in _system_or_field(target):
                self.report.add(
                    f"{at}/where/{i}/field",
                    f"form '{action['form']}' has no field '{row['field']}'",
                    "unknown_field",
                    field=row["field"],
                )
            if row["op"] != "is_empty" and "value" not in row:
                self.report.add(f"{at}/where/{i}", "is missing 'value'", "schema.required")
            if "value" in row:
                self._expression(row["value"], f"{at}/where/{i}/value")
        for key, source in action["set"].items():
            pointer = f"{at}/set/{_escape(key)}"
            if target is not None:
                check_target_field(target, key, pointer, self.report)
            self._expression(source, pointer)

    def _target_form(self, action: dict[str, Any], at: str, need: str) -> FormSpec | None:
        if self.lookups is None:
            return None
        name = action["form"]
        target = self.lookups.spec_of(name)
        if target is None:
            self.report.add(f"{at}/form", f"no form named '{name}'", "unknown_form", form=name)
            return None
        if not self.lookups.may(name, need):
            words = "add records to" if need == "create" else "edit records of"
            self.report.add(
                f"{at}/form",
                f"the automation's owner may not {words} form '{name}'",
                "forbidden",
                form=name,
            )
        return target

    def _start_flow(self, action: dict[str, Any], at: str) -> None:
        if self.lookups is None:
            return
        form = self.lookups.flow_form(action["flow"])
        if form is None:
            self.report.add(f"{at}/flow", f"no flow named '{action['flow']}'", "unknown_flow")
        elif self.definition["trigger"]["type"] == "schedule":
            self.report.add(
                f"{at}/flow", "a schedule has no record to start a flow on", "no_record"
            )
        elif self.spec is not None and form != self.spec.name:
            self.report.add(
                f"{at}/flow",
                f"flow '{action['flow']}' runs on form '{form}', not on '{self.spec.name}'",
                "wrong_form",
            )

    def _function(self, action: dict[str, Any], at: str) -> None:
        if self.lookups is not None and not self.lookups.function_exists(action["function"]):
            self.report.add(
                f"{at}/function",
                f"no function named '{action['function']}' is registered by a plugin",
                "unknown_function",
            )

    def _webhook(self, action: dict[str, Any], at: str) -> None:
        if self.lookups is None:
            return
        problem = self.lookups.url_problem(action["url"])
        if problem:
            self.report.add(f"{at}/url", problem, "bad_url")


def _system_or_field(spec: FormSpec) -> set[str]:
    from ..records.query import SYSTEM_FIELDS

    return {f.key for f in spec.data_fields if f.stores and f.parent is None} | set(SYSTEM_FIELDS)


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


__all__ = [
    "ACTIONS",
    "AUTOMATION_SCHEMA",
    "CHANNELS",
    "TRIGGERS",
    "Lookups",
    "check_automation",
    "cron_problem",
    "parse_offset",
    "trigger_form",
]
