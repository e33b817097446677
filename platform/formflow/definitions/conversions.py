"""Background conversions: bringing a big form's records to a newly published version.

A publish whose changes touch more records than ``Config.conversion_threshold`` checks
every record first and refuses what would lose data, exactly as a small one does; then it
commits the new version together with a :class:`~.models.FormConversion` row, and an RQ job
(:func:`run`) converts the records in batches, one short write transaction each.

Resumable, and exact: a batch reads the records after the row's cursor
(``last_record_id``), converts each through a guarded UPDATE (``WHERE revision = :read AND
form_version < :to``) with its "convert" revision, and moves the cursor and the counters in
the same transaction. A worker killed mid-batch loses only that uncommitted batch, and the
next run starts from the committed cursor, so no record is skipped or converted twice.
Batches of two workers on one conversion queue on the conversion row (``FOR UPDATE``;
SQLite has one writer anyway). The database holds the state; a job only carries the work,
so :func:`resume` can enqueue it again at any time (a worker does when it starts).

Reads stay right meanwhile: a record whose ``form_version`` is older than an unfinished
conversion's target is read through the same :class:`~.migrate.Converter` the job uses
(:func:`read_rows`, :func:`read_record`), so nobody sees a value of the old type under the
new definition; an edit of such a record stores the converted values and counts as done.
Filtering or sorting by a field whose type is still changing is refused until the
conversion finishes (the new type's SQL projection cannot read the old values), and the
field's new index is made when it finishes. Publishing, undo included, is refused while a
conversion is unfinished, so there is at most one to read through: from the version before
to the current one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import bindparam, insert, literal_column, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..config import Config
from ..db import DriverStatement
from ..errors import Conflict, FieldError, ValidationFailed
from ..records.indexes import sync_indexes
from ..records.models import Record, RecordRow, Revision, RevisionAction
from ..runtime import Runtime, Work
from . import migrate
from .models import UNFINISHED, ConversionState, FormConversion
from .service import get_form_by_id, spec_of

log = logging.getLogger(__name__)

#: How many records that could not convert a conversion names by id.
REPORTED = 20


@dataclass(frozen=True)
class Progress:
    """A conversion as the builder page and the API show it."""

    id: int
    form_id: int
    from_version: int
    to_version: int
    state: str
    total: int
    done: int
    failed: int
    failures: list[str]
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @property
    def finished(self) -> bool:
        return self.state == ConversionState.FINISHED

    @property
    def percent(self) -> int:
        if self.finished or self.total <= 0:
            return 100
        return min(100, self.done * 100 // self.total)


def _progress(row: FormConversion) -> Progress:
    return Progress(
        row.id,
        row.form_id,
        row.from_version,
        row.to_version,
        row.state,
        row.total,
        row.done,
        row.failed,
        list(row.failures or []),
        row.error,
        row.created_at,
        row.started_at,
        row.finished_at,
    )


# -- starting, listing, refusing -------------------------------------------------------------


def in_background(config: Config) -> bool:
    """Whether big conversions can go to a queue: without Redis there is no worker to run
    them, and a publish converts in its own transaction as it always did."""
    return bool(config.redis_url)


def start(
    work: Work, form_id: int, conversion: migrate.Converter, fixes: Any, scan: migrate.Scan
) -> FormConversion:
    """Record a conversion of the records ``scan`` checked; its job is enqueued once the
    publish commits (never for a publish that rolled back)."""
    row = FormConversion(
        form_id=form_id,
        from_version=conversion.old.version,
        to_version=conversion.new.version,
        fixes=fixes or {},
        total=scan.affected,
        done=0,
        failed=0,
        failures=[],
        last_record_id=0,
        state=ConversionState.PENDING.value,
        created_at=work.now,
        created_by=work.actor_id,
    )
    work.session.add(row)
    work.session.flush()
    config, conversion_id = work.config, row.id
    work.memo[_STARTED] = conversion_id
    work.after_commit(lambda: enqueue(config, conversion_id))
    return row


_STARTED = ("conversion", "started")


def started(work: Work) -> Progress | None:
    """The conversion a publish in this unit of work started, if it started one."""
    conversion_id = work.memo.get(_STARTED)
    return get(work, conversion_id) if conversion_id is not None else None


def enqueue(config: Config, conversion_id: int) -> bool:
    """Hand a conversion to the workers; False (logged) when Redis cannot be reached — the
    conversion waits in the database, and reads stay right, until :func:`resume` runs."""
    from ..jobs.queue import queue

    if not config.redis_url:
        return False
    try:
        queue(config.redis_url, config.conversion_queue).enqueue_call(
            run,
            args=(conversion_id,),
            timeout=-1,  # a million records take longer than any fixed limit
            description=f"convert records (conversion #{conversion_id})",
        )
    except RedisError:
        log.warning("conversion #%s not enqueued; it resumes when a worker starts", conversion_id)
        return False
    return True


def resume(runtime: Runtime) -> list[int]:
    """Enqueue every unfinished conversion again (a worker starting, or an operator after
    an outage); a conversion that is already running just gets a second pair of hands."""
    with runtime.read() as work:
        ids = list(
            work.session.scalars(
                select(FormConversion.id)
                .where(FormConversion.state.in_([s.value for s in UNFINISHED]))
                .order_by(FormConversion.id)
            )
        )
    return [i for i in ids if enqueue(runtime.config, i)]


def history(work: Work, form_id: int) -> list[Progress]:
    """The form's conversions, newest first."""
    rows = work.session.scalars(
        select(FormConversion)
        .where(FormConversion.form_id == form_id)
        .order_by(FormConversion.id.desc())
    )
    return [_progress(row) for row in rows]


def get(work: Work, conversion_id: int) -> Progress | None:
    row = work.session.get(FormConversion, conversion_id)
    return _progress(row) if row is not None else None


def current(work: Work, form_id: int, version: int) -> Progress | None:
    """The conversion that brings the form's records to ``version`` (its current one),
    finished or not; None when that publish converted in place or had nothing to convert."""
    row = work.session.scalar(
        select(FormConversion)
        .where(FormConversion.form_id == form_id, FormConversion.to_version == version)
        .order_by(FormConversion.id.desc())
        .limit(1)
    )
    return _progress(row) if row is not None else None


def unfinished(work: Work, form_id: int) -> Progress | None:
    row = work.session.scalar(
        select(FormConversion)
        .where(
            FormConversion.form_id == form_id,
            FormConversion.state.in_([s.value for s in UNFINISHED]),
        )
        .order_by(FormConversion.id.desc())
        .limit(1)
    )
    return _progress(row) if row is not None else None


def refuse_while_converting(work: Work, form_id: int, *, undo: bool = False) -> None:
    """Conflict while the form's records are still being converted: a publish (an undo is
    one) must start from records that all follow the current version."""
    running = unfinished(work, form_id)
    if running is None:
        return
    then = (
        f"undo version {running.to_version} when that has finished"
        if undo
        else "publish again when that has finished"
    )
    raise Conflict(
        [
            FieldError(
                "version",
                f"records are still being converted to version {running.to_version} "
                f"({running.done}/{running.total} done); {then}",
                "converting",
            )
        ]
    )


# -- reading records that are not converted yet ----------------------------------------------

_conversions = FormConversion.__table__
_ACTIVE = DriverStatement(
    select(_conversions.c.id, _conversions.c.from_version, _conversions.c.to_version)
    .where(
        _conversions.c.form_id == bindparam("form_id"),
        _conversions.c.state != literal_column(f"'{ConversionState.FINISHED.value}'"),
    )
    .order_by(_conversions.c.id.desc())
    .limit(1)
)


@dataclass
class _Active:
    id: int
    form_id: int
    from_version: int
    to_version: int
    converter: migrate.Converter | None = None


def _active(work: Work, form_id: int) -> _Active | None:
    """The form's unfinished conversion, looked up once per unit of work (one indexed
    query)."""
    key = ("conversion", form_id)
    if key not in work.memo:
        row = work.run(_ACTIVE, {"form_id": form_id}).fetchone()
        work.memo[key] = _Active(row[0], form_id, row[1], row[2]) if row else None
    return work.memo[key]


def _converter(work: Work, active: _Active, fixes: Any = None) -> migrate.Converter:
    if active.converter is None:
        if fixes is None:
            fixes = work.session.get(FormConversion, active.id).fixes  # type: ignore[union-attr]
        loaded = get_form_by_id(work, active.form_id)
        old = spec_of(work, loaded.app, loaded.form, active.from_version)
        new = spec_of(work, loaded.app, loaded.form, active.to_version)
        active.converter = migrate.converter(old, new, fixes)
    return active.converter


def _through(
    work: Work, active: _Active, record_id: int, document: dict[str, Any], live: bool
) -> dict[str, Any]:
    failures = migrate.Failures()
    return _converter(work, active).apply(document, record_id, live, failures, lenient=True)


def retyped_fields(work: Work, form_id: int) -> set[str]:
    """Ids of the fields whose stored type is still being converted (none, mostly)."""
    active = _active(work, form_id)
    return _converter(work, active).retyped if active is not None else set()


def read_rows(work: Work, form_id: int, version: int, rows: Sequence[RecordRow]) -> None:
    """Give listed records that the conversion has not reached their values under the
    current ``version`` (and that version), in memory: nothing is written."""
    if all(row.form_version >= version for row in rows):
        return
    active = _active(work, form_id)
    if active is None:
        return
    for row in rows:
        if row.form_version < active.to_version:
            converted = _through(work, active, row.id, row.data, row.deleted_at is None)
            if converted != row.data:
                row.data, row.form_version = converted, active.to_version


def read_record(work: Work, record: Record) -> None:
    """Like :func:`read_rows` for a record loaded through the ORM; the stored document is
    kept aside for an edit (:func:`stored_document`). The object is not marked changed."""
    if ("stored", record.id) in work.memo:
        return
    active = _active(work, record.form_id)
    if active is None or record.form_version >= active.to_version:
        return
    stored = record.data
    converted = _through(work, active, record.id, stored, record.deleted_at is None)
    if converted != stored:
        work.memo[("stored", record.id)] = (stored, active.id)
        set_committed_value(record, "data", converted)
        set_committed_value(record, "form_version", active.to_version)


def stored_document(work: Work, record: Record) -> tuple[dict[str, Any], int | None]:
    """The record's document as stored, and the conversion its read went through (None
    when it was read as stored)."""
    return work.memo.get(("stored", record.id), (record.data, None))


def count_converted_by_edit(work: Work, conversion_id: int) -> None:
    """An edit is about to store a record's converted values: the job will find it done.
    Run before the record's UPDATE, so an edit takes its locks in the job's order
    (conversion row, then records) and the two never deadlock."""
    work.session.execute(
        update(FormConversion)
        .where(FormConversion.id == conversion_id)
        .values(done=FormConversion.done + 1)
        .execution_options(synchronize_session=False)
    )


# -- the job ---------------------------------------------------------------------------------

_records = Record.__table__
_BATCH = select(_records.c.id, _records.c.data, _records.c.revision, _records.c.deleted_at)
_CONVERT = DriverStatement(
    update(_records)
    .where(
        _records.c.id == bindparam("record_id"),
        _records.c.revision == bindparam("revision"),
        _records.c.form_version < bindparam("version"),
    )
    .values(
        data=bindparam("document", type_=_records.c.data.type),
        revision=bindparam("next_revision"),
        form_version=bindparam("version"),
    )
)
_revisions = Revision.__table__
_INSERT_REVISION = DriverStatement(
    insert(_revisions).values(
        {
            c: bindparam(c)
            for c in ("record_id", "revision", "action", "form_version", "actor_id", "at")
        }
        | {"changes": bindparam("changes", type_=_revisions.c.changes.type)}
    )
)


def run(conversion_id: int) -> str:
    """The RQ job: convert every remaining batch of ``conversion_id``."""
    from ..jobs.queue import worker_runtime

    progress = convert(worker_runtime(), conversion_id)
    if progress is None:
        return f"conversion #{conversion_id} does not exist"
    return f"conversion #{conversion_id}: {progress.done}/{progress.total} {progress.state}"


def convert(runtime: Runtime, conversion_id: int) -> Progress | None:
    """Run batches until the conversion is finished. An error marks it failed (with the
    error) and is raised again; running it again continues from the last batch."""
    pause = runtime.config.conversion_pause
    try:
        while not step(runtime, conversion_id):
            if pause:
                time.sleep(pause)
    except Exception as error:
        log.exception("conversion #%s stopped", conversion_id)
        _stopped(runtime, conversion_id, error)
        raise
    with runtime.read() as work:
        return get(work, conversion_id)


def step(runtime: Runtime, conversion_id: int) -> bool:
    """Convert one batch in one write transaction; True once there is nothing left."""
    with runtime.write() as work:
        row = work.session.scalar(
            select(FormConversion).where(FormConversion.id == conversion_id).with_for_update()
        )
        if row is None or row.state == ConversionState.FINISHED:
            return True
        active = _Active(row.id, row.form_id, row.from_version, row.to_version)
        conversion = _converter(work, active, row.fixes)
        batch = work.connection.execute(
            _BATCH.where(
                _records.c.form_id == row.form_id,
                _records.c.id > row.last_record_id,
                # Records written since the publish are already under the new version;
                # one written under the old version by an edit that committed just after
                # the publish is still found here.
                _records.c.form_version < row.to_version,
            )
            .order_by(_records.c.id)
            .limit(max(1, work.config.conversion_batch))
        ).all()
        row.state = ConversionState.RUNNING.value
        row.error = None
        if row.started_at is None:
            row.started_at = work.now
        if not batch:
            _finish(work, row)
            return True
        failures: list[str] = []
        for record_id, document, revision, deleted_at in batch:
            found = migrate.Failures()
            after = conversion.apply(document, record_id, deleted_at is None, found, lenient=True)
            if after == document:
                continue
            converted = work.run(
                _CONVERT,
                {
                    "record_id": record_id,
                    "revision": revision,
                    "version": row.to_version,
                    "document": after,
                    "next_revision": revision + 1,
                },
            )
            if converted.rowcount != 1:
                continue  # an edit got there first and stored it converted
            work.run(
                _INSERT_REVISION,
                {
                    "record_id": record_id,
                    "revision": revision + 1,
                    "action": RevisionAction.CONVERT.value,
                    "form_version": row.to_version,
                    "actor_id": row.created_by,
                    "at": work.now,
                    "changes": migrate.changed_values(document, after),
                },
            )
            row.done += 1
            if found.count:
                row.failed += 1
                failures += [m.message for m in found.errors()]
        if failures and len(row.failures or []) < REPORTED:
            row.failures = [*(row.failures or []), *failures][:REPORTED]
        row.last_record_id = batch[-1][0]
    return False


def _finish(work: Work, row: FormConversion) -> None:
    """Every record converted: the retyped fields get their new indexes."""
    try:
        sync_indexes(work, get_form_by_id(work, row.form_id).spec, row.form_id)
    except ValidationFailed as error:
        row.error = "; ".join(e.message for e in error.errors)[:2000]
    row.state = ConversionState.FINISHED.value
    row.finished_at = work.now


def _stopped(runtime: Runtime, conversion_id: int, error: Exception) -> None:
    try:
        with runtime.write() as work:
            work.session.execute(
                update(FormConversion)
                .where(
                    FormConversion.id == conversion_id,
                    FormConversion.state != ConversionState.FINISHED.value,
                )
                .values(state=ConversionState.FAILED.value, error=repr(error)[:2000])
                .execution_options(synchronize_session=False)
            )
    except Exception:  # the database itself may be what failed; the state stays as it was
        log.exception("conversion #%s: could not record the error", conversion_id)
