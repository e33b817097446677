"""When schedules and date fields fire: their future as reminder rows.

A schedule keeps one reminder for its next tick (``automation:7:tick:<time>``: the time in
the key, so two schedulers, or a tick delivered twice, schedule the next one once). A date
trigger keeps one reminder per record (``automation:7:date:<record>``), moved when the
record's date changes and cancelled when the record is deleted. Cron times are read in the
organisation's time zone; a date field without a time fires at ``at`` (09:00 by default)
in the form's zone.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..records.models import Record
from ..records.prepare import from_document
from ..reminders.service import cancel, cancel_prefix, reschedule, schedule
from ..runtime import Work
from .definition import parse_offset

if TYPE_CHECKING:
    from ..definitions.service import LoadedForm
    from .models import Automation
    from .service import AutomationSpec

DEFAULT_AT = "09:00"
BACKFILL_BATCH = 1000


def next_tick(cron: str, after: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The first time after ``after`` the cron string names, in UTC."""
    from croniter import croniter

    local = after.astimezone(zone)
    return croniter(cron, local).get_next(dt.datetime).astimezone(dt.UTC)


def date_due(value: Any, trigger: dict[str, Any], zone: ZoneInfo) -> dt.datetime | None:
    """When a record whose date field holds ``value`` (as stored: ISO text) fires; None
    when it holds none."""
    if isinstance(value, str):
        try:
            value = (
                dt.date.fromisoformat(value)
                if len(value) == 10
                else dt.datetime.fromisoformat(value)
            )
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=zone)
    elif isinstance(value, dt.date):
        hour, minute = map(int, trigger.get("at", DEFAULT_AT).split(":"))
        moment = dt.datetime.combine(value, dt.time(hour, minute), tzinfo=zone)
    else:
        return None
    return (moment + parse_offset(trigger.get("offset"))).astimezone(dt.UTC)


def arrange(work: Work, automation: Automation, spec: AutomationSpec) -> None:
    """After a publish, enable or disable: the schedule's next tick, or every record's date
    reminder, as the current version says (and nothing while disabled)."""
    cancel_prefix(work, f"automation:{automation.id}:tick:")
    if spec.event != "date_field" or not automation.enabled:
        cancel_prefix(work, f"automation:{automation.id}:date:")
    if not automation.enabled:
        return
    if spec.event == "schedule":
        schedule_tick(work, automation.id, spec.trigger["cron"], work.now)
    elif spec.event == "date_field":
        _backfill(work, automation, spec)


def schedule_tick(work: Work, automation_id: int, cron: str, after: dt.datetime) -> None:
    due = next_tick(cron, after, ZoneInfo(work.config.timezone))
    schedule(
        work,
        "automation_tick",
        f"automation:{automation_id}:tick:{due.isoformat()}",
        due,
        {"automation_id": automation_id, "cron": cron},
    )


def date_key(automation_id: int, record_id: int) -> str:
    return f"automation:{automation_id}:date:{record_id}"


def track_date(
    work: Work,
    automation_id: int,
    spec: AutomationSpec,
    loaded: LoadedForm,
    record_id: int,
    values: dict[str, Any],
) -> None:
    """Keep a record's date reminder where its date field says (in the future), or none."""
    due = date_due(values.get(spec.trigger["field"]), spec.trigger, loaded.spec.timezone)
    key = date_key(automation_id, record_id)
    if due is None or due <= work.now:
        cancel(work, key)
        return
    reschedule(
        work,
        "automation_date",
        key,
        due,
        {"automation_id": automation_id, "record_id": record_id},
    )


def forget_date(work: Work, automation_id: int, record_id: int) -> None:
    cancel(work, date_key(automation_id, record_id))


def _backfill(work: Work, automation: Automation, spec: AutomationSpec) -> None:
    """A date reminder for every live record of the form whose date is still ahead."""
    from ..definitions.service import get_form_by_id

    assert automation.form_id is not None
    loaded = get_form_by_id(work, automation.form_id)
    after = 0
    while True:
        rows = work.session.execute(
            select(Record.id, Record.data)
            .where(
                Record.form_id == automation.form_id,
                Record.deleted_at.is_(None),
                Record.id > after,
            )
            .order_by(Record.id)
            .limit(BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        for record_id, data in rows:
            values = from_document(loaded.spec, data)
            track_date(work, automation.id, spec, loaded, record_id, values)
        after = rows[-1][0]
