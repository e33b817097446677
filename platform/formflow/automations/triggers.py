"""Where records and flows fire automations.

The record service and the flow engine call their listeners inside the unit of work that
made the change; here each enabled automation of the form is matched (its event, the
fields an update must touch, its condition over the record as saved) and a run created in
that same transaction. A condition that cannot be evaluated on this record does not fire
the automation; the run log would have nothing to show, so it is logged for the admin.
"""

from __future__ import annotations

import logging
from typing import Any

from ..definitions.service import LoadedForm
from ..expressions import ExpressionError
from ..expressions.expression import compile_expression
from ..records import lifecycle
from ..records.models import Record, RecordRow
from ..records.prepare import from_document
from ..runtime import Work
from . import runs, service, timing

log = logging.getLogger(__name__)


#: work.memo key: set to True, this unit of work fires no automations (a bulk load of
#: history, such as demo data, whose derived values the loader writes itself).
QUIET = "automations_quiet"


def _matching(work: Work, loaded: LoadedForm, events: set[str]):
    if work.memo.get(QUIET):
        return
    for automation_id, event, version in service.listening(work, loaded):
        if event in events:
            yield automation_id, version, service.spec_by_id(work, automation_id, version)


def holds(work: Work, spec: service.AutomationSpec, loaded: LoadedForm, values: Any) -> bool:
    """Whether the automation's condition holds for a record's values (no condition: yes)."""
    if not spec.condition:
        return True
    from ..records.service import eval_context

    try:
        return bool(
            compile_expression(spec.condition).evaluate(values, eval_context(work, loaded.spec))
        )
    except ExpressionError as error:
        log.warning("automation %s: condition not evaluated: %s", spec.name, error)
        return False


def _created(work: Work, loaded: LoadedForm, row: RecordRow) -> None:
    values: dict[str, Any] | None = None
    for automation_id, version, spec in _matching(work, loaded, {"record_created", "date_field"}):
        values = values if values is not None else from_document(loaded.spec, row.data)
        if spec.event == "date_field":
            timing.track_date(work, automation_id, spec, loaded, row.id, values)
        elif holds(work, spec, loaded, values):
            runs.start_run(work, automation_id, version, spec.event, record_id=row.id)


def _updated(work: Work, loaded: LoadedForm, record: Record, changes: dict[str, list[Any]]) -> None:
    values: dict[str, Any] | None = None
    by_key = loaded.spec.by_key
    keys = {f.key for f in loaded.spec.data_fields if f.id in changes}
    for automation_id, version, spec in _matching(work, loaded, {"record_updated", "date_field"}):
        values = values if values is not None else from_document(loaded.spec, record.data)
        if spec.event == "date_field":
            field = by_key.get(spec.trigger["field"])
            if field is not None and field.id in changes:
                timing.track_date(work, automation_id, spec, loaded, record.id, values)
            continue
        watched = spec.trigger.get("fields")
        if watched and not keys.intersection(watched):
            continue
        if holds(work, spec, loaded, values):
            event = {"changed": sorted(keys)}
            runs.start_run(
                work, automation_id, version, spec.event, record_id=record.id, event=event
            )


def _deleted(work: Work, loaded: LoadedForm, record: Record) -> None:
    values: dict[str, Any] | None = None
    for automation_id, version, spec in _matching(work, loaded, {"record_deleted", "date_field"}):
        if spec.event == "date_field":
            timing.forget_date(work, automation_id, record.id)
            continue
        values = values if values is not None else from_document(loaded.spec, record.data)
        if holds(work, spec, loaded, values):
            runs.start_run(work, automation_id, version, spec.event, record_id=record.id)


def _restored(work: Work, loaded: LoadedForm, record: Record) -> None:
    """A record back from the recycle bin gets its date reminders back."""
    values: dict[str, Any] | None = None
    for automation_id, _version, spec in _matching(work, loaded, {"date_field"}):
        values = values if values is not None else from_document(loaded.spec, record.data)
        timing.track_date(work, automation_id, spec, loaded, record.id, values)


def _flow_finished(work: Work, instance: Any, flow_name: str, state: Any) -> None:
    from ..definitions.service import get_form_by_id

    loaded = get_form_by_id(work, instance.form_id)
    values: dict[str, Any] | None = None
    for automation_id, version, spec in _matching(work, loaded, {"flow_finished"}):
        trigger = spec.trigger
        if trigger["flow"] != flow_name:
            continue
        if str(state) not in trigger.get("results", ("approved", "rejected")):
            continue
        if values is None:
            work.session.flush()
            record = work.session.get(Record, instance.record_id)
            values = from_document(loaded.spec, record.data) if record is not None else {}
        if holds(work, spec, loaded, values):
            event = {
                "flow": flow_name,
                "result": str(state),
                "instance": instance.id,
                "comment": _last_comment(work, instance.id),
            }
            runs.start_run(
                work, automation_id, version, spec.event, record_id=instance.record_id, event=event
            )


def _last_comment(work: Work, instance_id: int) -> str | None:
    """What the deciding approver said (a rejection's reason, say)."""
    from sqlalchemy import select

    from ..flows.models import FlowTask

    return work.session.scalar(
        select(FlowTask.comment)
        .where(FlowTask.instance_id == instance_id, FlowTask.comment.is_not(None))
        .order_by(FlowTask.acted_at.desc(), FlowTask.id.desc())
        .limit(1)
    )


def install() -> None:
    from ..flows.engine import FINISHED_LISTENERS

    lifecycle.on_created(_created)
    lifecycle.on_updated(_updated)
    lifecycle.on_deleted(_deleted)
    lifecycle.on_restored(_restored)
    if _flow_finished not in FINISHED_LISTENERS:
        FINISHED_LISTENERS.append(_flow_finished)
