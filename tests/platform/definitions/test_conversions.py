"""Publishing a change that touches many records: every record is checked up front, the new
version is committed, and a real RQ worker converts the records in batches — resumable after
a SIGKILL, exactly as the synchronous path would have converted them, with reads converting
on the fly meanwhile."""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from formflow import Runtime
from formflow.definitions import conversions, drafts
from formflow.definitions.models import ConversionState, FormConversion
from formflow.definitions.service import ensure_app, get_form, publish
from formflow.errors import Conflict, ValidationFailed
from formflow.jobs.queue import queue
from formflow.records import service as records
from formflow.records.indexes import existing_indexes, planned_indexes
from formflow.records.listing import browse
from formflow.records.models import Record, Revision
from formflow.records.query import Filter, Query, Sort
from tests.conftest import snapshot
from tests.platform.conversion_samples import (
    AFTER,
    BEFORE,
    COUNT,
    FIXES,
    THRESHOLD,
    background_runtime,
    sample,
)


@pytest.fixture
def runtime(db_url, tmp_path, clock, redis_url):
    """A runtime with a queue of its own: more than 10 changed records go to a worker."""
    yield from background_runtime(db_url, tmp_path / "instance", clock, redis_url)


@pytest.fixture
def synchronous(runtime):
    """The same database with the threshold out of reach: every publish converts in place."""
    made = Runtime(replace(runtime.config, conversion_threshold=10**9), clock=runtime.clock)
    yield made
    made.close()


def make_form(runtime, name: str, count: int = COUNT) -> list[int]:
    with runtime.write() as work:
        ensure_app(work, "crm", "CRM")
        publish(work, f"crm.{name}", {**BEFORE, "title": name})
    with runtime.write() as work:
        loaded = get_form(work, f"crm.{name}")
        ids = [records.create(work, loaded, sample(i)).id for i in range(count)]
    with runtime.write() as work:  # one in the recycle bin: converted too, never filled
        records.delete(work, get_form(work, f"crm.{name}"), ids[-1])
    return ids


def publish_after(runtime, name: str, fixes=FIXES):
    with runtime.write() as work:
        return publish(work, f"crm.{name}", {**AFTER, "title": name}, fixes=fixes)


def stored(runtime, ids: list[int]) -> list[tuple[dict, int]]:
    """Each record's stored document and form version, as the table holds them."""
    with runtime.read() as work:
        rows = dict(
            (i, (d, v))
            for i, d, v in work.session.execute(
                select(Record.id, Record.data, Record.form_version).where(Record.id.in_(ids))
            )
        )
    return [rows[i] for i in ids]


def read_values(runtime, name: str, ids: list[int]) -> list[dict]:
    """Each record's values as a reader gets them (deleted ones from the recycle bin)."""
    out = []
    with runtime.read() as work:
        loaded = get_form(work, f"crm.{name}")
        for i in ids:
            try:
                record = records.get(work, i)
            except Exception:
                record = records.get(work, i, deleted=True)
            out.append(records.values_of(loaded, record))
    return out


def convert_revisions(runtime, ids: list[int]) -> list[list[dict]]:
    """Per record, the changes of each "convert" revision, oldest first."""
    with runtime.read() as work:
        rows = work.session.execute(
            select(Revision.record_id, Revision.changes)
            .where(Revision.record_id.in_(ids), Revision.action == "convert")
            .order_by(Revision.record_id, Revision.revision)
        ).all()
    out: dict[int, list[dict]] = {i: [] for i in ids}
    for record_id, changes in rows:
        out[record_id].append(changes)
    return [out[i] for i in ids]


def progress(runtime, name: str) -> conversions.Progress | None:
    with runtime.read() as work:
        loaded = get_form(work, f"crm.{name}")
        return conversions.current(work, loaded.form.id, loaded.form.current_version)


def synchronous_result(synchronous, count: int = COUNT):
    """What converting in place gives for the same records: the reference."""
    ids = make_form(synchronous, "reference", count)
    publish_after(synchronous, "reference")
    assert progress(synchronous, "reference") is None  # converted in the publish itself
    return ids


def worker(runtime, **env: str) -> subprocess.Popen:
    """``formflow worker --burst`` on the test's queue, as its own process group."""
    config = runtime.config
    environment = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url,
        "FORMFLOW_INSTANCE": str(config.instance_path),
        "FORMFLOW_CONVERSION_QUEUE": config.conversion_queue,
        "FORMFLOW_CONVERSION_BATCH": str(config.conversion_batch),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "formflow", "worker", "--burst", config.conversion_queue],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # "pid (command) state ppid ...": the command may hold spaces
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


def finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output.decode()
    return output.decode()


# -- the background path -------------------------------------------------------------------------


def test_a_big_change_is_converted_by_a_worker_exactly_as_in_place(runtime, synchronous):
    reference = synchronous_result(synchronous)
    ids = make_form(runtime, "deals")
    before = stored(runtime, ids)

    loaded = publish_after(runtime, "deals")

    assert loaded.form.current_version == 2
    started = progress(runtime, "deals")
    assert started is not None and started.state == "pending"
    assert started.total > THRESHOLD
    assert stored(runtime, ids) == before  # the publish wrote no record
    assert queue(runtime.config.redis_url, runtime.config.conversion_queue).count == 1

    finish(worker(runtime))

    done = progress(runtime, "deals")
    assert done.state == ConversionState.FINISHED
    assert done.done == done.total == started.total
    assert (done.failed, done.failures, done.error) == (0, [], None)
    assert read_values(runtime, "deals", ids) == read_values(synchronous, "reference", reference)
    # stored the same, versioned the same, logged the same
    assert [d for d, _ in stored(runtime, ids)] == [d for d, _ in stored(runtime, reference)]
    assert [v for _, v in stored(runtime, ids)] == [v for _, v in stored(runtime, reference)]
    assert convert_revisions(runtime, ids) == convert_revisions(runtime, reference)
    assert sum(1 for changes in convert_revisions(runtime, ids) if changes) == done.total
    # the money field gets its new index, and is filtered as money
    with runtime.read() as work:
        loaded = get_form(work, "crm.deals")
        planned = planned_indexes(loaded.spec, loaded.form.id, work.connection.dialect)
        assert set(planned) == existing_indexes(work, loaded.form.id)
        page = browse(work, loaded, Query([Filter("budget", "gte", 2000)]))
    expected = [
        i
        for i, values in zip(ids[:-1], read_values(runtime, "deals", ids[:-1]), strict=True)
        if values.get("budget") is not None and values["budget"] >= 2000
    ]
    assert sorted(r.id for r in page.records) == sorted(expected)


def test_reads_during_a_half_done_conversion_return_converted_values(runtime, synchronous):
    reference = synchronous_result(synchronous)
    expected = read_values(synchronous, "reference", reference)
    ids = make_form(runtime, "deals")
    publish_after(runtime, "deals")

    assert conversions.step(runtime, progress(runtime, "deals").id) is False  # one batch
    half = progress(runtime, "deals")
    assert 0 < half.done < half.total and half.state == "running"
    versions = [v for _, v in stored(runtime, ids)]
    assert 1 in versions and 2 in versions  # some converted, some still stored as version 1

    # one at a time, listed, and through the API's representation: all converted
    assert read_values(runtime, "deals", ids) == expected
    with runtime.read() as work:
        loaded = get_form(work, "crm.deals")
        listed = browse(work, loaded, Query(limit=100, sort=[Sort("_id")])).records
        assert [records.values_of(loaded, r) for r in listed] == expected[:-1]
    # nothing was written by reading
    assert [v for _, v in stored(runtime, ids)] == versions
    assert progress(runtime, "deals").done == half.done


def test_an_edit_during_the_conversion_stores_the_converted_values_once(runtime, synchronous):
    reference = synchronous_result(synchronous)
    expected = read_values(synchronous, "reference", reference)
    ids = make_form(runtime, "deals")
    publish_after(runtime, "deals")
    conversion_id = progress(runtime, "deals").id
    last = ids[COUNT - 2]  # live, and far beyond the first batch
    assert stored(runtime, [last])[0][1] == 1

    with runtime.write() as work:
        records.update_record(
            work, get_form(work, "crm.deals"), last, {"name": "renamed"}, revision=1
        )

    assert stored(runtime, [last])[0][1] == 2
    assert read_values(runtime, "deals", [last]) == [{**expected[COUNT - 2], "name": "renamed"}]
    assert progress(runtime, "deals").done == 1  # the edit converted it
    with runtime.read() as work:
        history = records.revisions(work, records.get(work, last))
    assert [h.action for h in history] == ["create", "update"]
    assert history[-1].changes["budget"][0] == sample(COUNT - 2)["budget"]  # before: as stored

    conversions.convert(runtime, conversion_id)
    finished = progress(runtime, "deals")
    assert finished.done == finished.total
    assert read_values(runtime, "deals", ids) == [
        {**v, "name": "renamed"} if i == last else v for i, v in zip(ids, expected, strict=True)
    ]
    assert convert_revisions(runtime, [last]) == [[]]  # the job left it alone


def test_filters_on_a_field_still_converting_wait_but_others_work(runtime):
    ids = make_form(runtime, "deals")
    publish_after(runtime, "deals")
    with runtime.read() as work:
        loaded = get_form(work, "crm.deals")
        with pytest.raises(Conflict) as refused:
            browse(work, loaded, Query([Filter("budget", "gt", 100)]))
        assert refused.value.errors[0].field == "budget"
        assert refused.value.errors[0].code == "converting"
        with pytest.raises(Conflict):
            browse(work, loaded, Query(sort=[Sort("budget")]))
        named = browse(work, loaded, Query([Filter("name", "eq", "deal 4")])).records
    assert [r.id for r in named] == [ids[4]]


def test_publishing_and_undo_wait_for_the_conversion(runtime):
    make_form(runtime, "deals")
    publish_after(runtime, "deals")
    conversion_id = progress(runtime, "deals").id
    before = snapshot(runtime)

    with pytest.raises(Conflict) as refused, runtime.write() as work:
        drafts.undo_publish(work, "crm.deals")
    (error,) = refused.value.errors
    assert error.code == "converting"
    assert error.message.startswith("records are still being converted to version 2 (0/")
    assert "undo version 2 when that has finished" in error.message
    with pytest.raises(Conflict), runtime.write() as work:
        publish(work, "crm.deals", {**AFTER, "title": "Deals renamed"})
    assert snapshot(runtime) == before

    conversions.convert(runtime, conversion_id)
    with runtime.write() as work:
        undone = drafts.undo_publish(work, "crm.deals")
    assert undone.form.current_version == 3


def test_few_changed_records_still_convert_inside_the_publish(runtime):
    ids = make_form(runtime, "few", count=THRESHOLD - 1)  # under the threshold
    publish_after(runtime, "few")
    assert progress(runtime, "few") is None
    assert {v for _, v in stored(runtime, ids)} == {2}
    # The budget's index now reads money (on PostgreSQL built just after the commit, since
    # the row versions the publish replaced could not be read as money).
    with runtime.read() as work:
        loaded = get_form(work, "crm.few")
        dialect = work.session.get_bind().dialect
        planned = planned_indexes(loaded.spec, loaded.form.id, dialect)
        assert existing_indexes(work, loaded.form.id) == set(planned)
    assert any(plan.field.key == "budget" for plan in planned.values())
    assert queue(runtime.config.redis_url, runtime.config.conversion_queue).count == 0


def test_a_killed_worker_resumes_without_converting_twice_or_skipping(runtime, synchronous):
    reference = synchronous_result(synchronous, count=60)
    ids = make_form(runtime, "deals", count=60)
    publish_after(runtime, "deals")
    total = progress(runtime, "deals").total

    slow = worker(runtime, FORMFLOW_CONVERSION_BATCH="2", FORMFLOW_CONVERSION_PAUSE="0.1")
    deadline = time.monotonic() + 60
    while (seen := progress(runtime, "deals")).done < 6:
        assert slow.poll() is None, slow.stdout.read().decode()
        assert time.monotonic() < deadline, "the worker did not start converting"
        time.sleep(0.02)
    # the worker and its work horse, mid-run: RQ puts the horse in a process group of its
    # own, so killing the worker's group alone leaves the horse converting to the end
    horses = _children(slow.pid)
    os.killpg(slow.pid, signal.SIGKILL)
    for pid in horses:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    slow.wait(timeout=10)

    stopped = progress(runtime, "deals")
    assert stopped.state == "running" and 0 < stopped.done < total
    converted_once = convert_revisions(runtime, ids)
    assert all(len(changes) <= 1 for changes in converted_once)
    assert sum(len(changes) for changes in converted_once) == stopped.done
    assert seen.done <= stopped.done

    output = finish(worker(runtime))  # a new worker resumes it on start
    assert f"resumed conversions: #{stopped.id}" in output

    done = progress(runtime, "deals")
    assert done.state == "finished" and done.done == done.total == total
    assert convert_revisions(runtime, ids) == convert_revisions(runtime, reference)
    assert read_values(runtime, "deals", ids) == read_values(synchronous, "reference", reference)


# -- refused up front ----------------------------------------------------------------------------


def test_a_big_publish_that_would_lose_data_is_refused_before_anything_is_committed(runtime):
    ids = make_form(runtime, "deals")
    before = snapshot(runtime)

    with pytest.raises(ValidationFailed) as refused:
        publish_after(runtime, "deals", fixes={})

    messages = {e.field: e.message for e in refused.value.errors}
    unconvertible = [ids[i] for i in range(COUNT) if sample(i).get("budget") == "about a million"]
    assert messages["/properties/budget"].startswith(f"{len(unconvertible)} record(s) cannot")
    assert f"#{unconvertible[0]} (" in messages["/properties/budget"]
    assert "removed" in messages["/properties/stage"]
    assert snapshot(runtime) == before  # no version, no conversion, no record touched
    assert queue(runtime.config.redis_url, runtime.config.conversion_queue).count == 0
    with runtime.read() as work:
        assert get_form(work, "crm.deals").form.current_version == 1
        assert work.session.scalar(select(func.count()).select_from(FormConversion)) == 0


def test_converted_values_that_would_repeat_in_a_unique_field_are_refused(runtime):
    unique = copy.deepcopy(AFTER)
    unique["properties"]["region"]["x-unique"] = True
    make_form(runtime, "deals")
    before = snapshot(runtime)
    with pytest.raises(ValidationFailed) as refused, runtime.write() as work:
        publish(work, "crm.deals", {**unique, "title": "deals"}, fixes=FIXES)
    (error,) = refused.value.errors
    assert error.field == "/properties/region/x-unique"
    assert '"n" (' in error.message  # every live record without a region would get "n"
    assert snapshot(runtime) == before


def test_money_is_exact_after_a_background_conversion(runtime):
    ids = make_form(runtime, "deals")
    publish_after(runtime, "deals")
    conversions.convert(runtime, progress(runtime, "deals").id)
    values = read_values(runtime, "deals", ids)
    assert values[1]["budget"] == Decimal("100.50")
    assert values[5]["budget"] == Decimal("0")  # could not convert: the admin's default
    assert values[2]["stage"] == "hot"  # "cold" mapped
    assert values[1]["lines"] == [{"qty": 1}, {"qty": 2}]
    assert values[1]["region"] == "n" and values[0]["region"] == "south"
