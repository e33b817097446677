"""Where flows meet records: a submit starts the form's flows, and a record under approval
is not edited or deleted behind the approvers' backs.

While an instance runs, only its steps change the record (an approver's editable fields,
an action node); when it is returned, its initiator may edit it again before resubmitting.
"""

from __future__ import annotations

from sqlalchemy import select

from ..definitions.service import LoadedForm
from ..errors import Forbidden
from ..records import lifecycle
from ..records.models import Record
from ..runtime import Work
from .actions import start_on_submit
from .models import FlowInstance, InstanceState


def _guard(work: Work, loaded: LoadedForm, record: Record, action: str) -> None:
    states = work.session.execute(
        select(FlowInstance.state, FlowInstance.initiator_id).where(
            FlowInstance.record_id == record.id,
            FlowInstance.state.in_([InstanceState.RUNNING.value, InstanceState.RETURNED.value]),
        )
    ).all()
    for state, initiator in states:
        if state == InstanceState.RUNNING:
            raise Forbidden(
                f"record #{record.id} is being approved: it cannot be changed or deleted now"
            )
        if action == "delete" or initiator != work.actor_id:
            raise Forbidden(
                f"record #{record.id} was returned to who submitted it; only they may edit it"
            )


def install() -> None:
    from ..files.storage import also_readable
    from .actions import attachment_readable

    lifecycle.on_created(start_on_submit)
    lifecycle.guard(_guard)
    also_readable(attachment_readable)
