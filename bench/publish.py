"""Publishing a definition change on a form that already holds many records (issue 4).

A publish must not rewrite the records: values are stored by each field's stable id, so
adding a field, renaming a key, adding an option or relabelling a field leaves every row as
it was. Each change is published as the builder does it (save the draft, preview its impact,
publish the draft), one unit of work each, on a form holding ``--records`` records, beside
two baselines measured in the same run:

* the same change published on an identical form with no records (what publishing costs
  by itself);
* rewriting every record once, straight on the driver: one
  ``UPDATE records SET data = json_set(data, …)`` over the form's rows — what a publish
  that touched every row would at least cost.

Adding an indexed field (``x-index``) builds a partial expression index over the form's
rows (``formflow.records.indexes``): that is real work, not a rewrite, so it is also shown
beside the bare ``CREATE INDEX`` + ``ANALYZE`` of the same index on the driver.

For each case the bench counts the record rows whose data, revision, version or
timestamps changed (a fingerprint of every row before and after) and the revisions
written, to prove that no row was rewritten; the rewrite baseline's count (every row)
shows the check sees a rewrite.

A type change that must touch the rows (a number field becomes text) is measured apart:
the publish checks every record and hands the conversion to the queue (an embedded Valkey;
no worker), then the conversion job runs here, batch by batch, timed beside the rewrite
baseline (it rewrites what it must: the rows and one revision each).

Run: ``scripts/bench.sh publish`` (or ``python -m bench.publish --records 10000``).
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.forms import BENCH_FORM
from bench.harness import Instance, instance
from bench.records import FORM, _raw_connection, load
from formflow.definitions import conversions, drafts
from formflow.definitions.editing import add_field, rename_field
from formflow.definitions.service import get_form, publish
from formflow.fields import FieldTypeRegistry
from formflow.jobs import redis_server

#: The same form with no records: the publish-alone baseline.
EMPTY_FORM = "bench.empty"

Edit = Callable[[dict[str, Any], FieldTypeRegistry], None]


def _add_plain(definition: dict[str, Any], registry: FieldTypeRegistry) -> None:
    add_field(definition, "text", registry, title="Delivery note")


def _add_indexed(definition: dict[str, Any], registry: FieldTypeRegistry) -> None:
    key = add_field(definition, "text", registry, title="Sales channel")
    definition["properties"][key]["x-index"] = True


def _rename(definition: dict[str, Any], registry: FieldTypeRegistry) -> None:
    # An indexed field: its index is keyed by the field's id, so it must survive the rename.
    rename_field(definition, "customer", "client")


def _add_option(definition: dict[str, Any], registry: FieldTypeRegistry) -> None:
    definition["properties"]["region"]["enum"].append("overseas")


def _relabel(definition: dict[str, Any], registry: FieldTypeRegistry) -> None:
    definition["properties"]["amount"]["title"] = "Contract amount"


#: The index build runs last: the pages it writes and the checkpoint after it would otherwise
#: land on the next case's figure.
CASES: list[tuple[str, Edit]] = [
    ("add a plain field", _add_plain),
    ("rename an indexed field's key", _rename),
    ("add an option to a select", _add_option),
    ("relabel a field", _relabel),
    ("add an indexed field (x-index)", _add_indexed),
]


def publish_change(inst: Instance, name: str, edit: Edit) -> dict[str, float]:
    """Save ``edit`` as the form's draft, preview it and publish it, as the builder does;
    seconds taken by the preview and by the publish (its commit included)."""
    runtime = inst.runtime
    with runtime.write(inst.user) as work:
        draft = drafts.open_draft(work, name)
        definition = copy.deepcopy(draft.definition)
        edit(definition, runtime.field_types)
        revision = drafts.save_draft(work, name, definition, draft.revision).revision
    start = time.perf_counter()
    with runtime.read(inst.user) as work:
        review = drafts.preview(work, drafts.open_draft(work, name))
    previewed = time.perf_counter() - start
    assert not review.blocked and not review.impacts, (review.problems, review.impacts)
    start = time.perf_counter()
    with runtime.write(inst.user) as work:
        drafts.publish_draft(work, name, revision)
    return {"preview_s": previewed, "publish_s": time.perf_counter() - start}


def _retype_quantity(definition: dict[str, Any]) -> None:
    """The integer ``quantity`` becomes a text field (same stable id): every value changes."""
    old = definition["properties"]["quantity"]
    definition["properties"]["quantity"] = {
        "x-field": "text",
        "type": "string",
        "maxLength": 20,
        **{k: v for k, v in old.items() if k in ("x-id", "title")},
    }


def publish_type_change(inst: Instance, name: str) -> dict[str, Any]:
    """Publish the type change as the builder does; seconds taken by the preview (which
    counts the records it touches), by the publish (which checks them all and, past the
    threshold, starts a background conversion) and by that conversion, run here."""
    runtime = inst.runtime
    with runtime.write(inst.user) as work:
        draft = drafts.open_draft(work, name)
        definition = copy.deepcopy(draft.definition)
        _retype_quantity(definition)
        revision = drafts.save_draft(work, name, definition, draft.revision).revision
    start = time.perf_counter()
    with runtime.read(inst.user) as work:
        review = drafts.preview(work, drafts.open_draft(work, name))
    previewed = time.perf_counter() - start
    assert not review.blocked, review.problems
    start = time.perf_counter()
    with runtime.write(inst.user) as work:
        drafts.publish_draft(work, name, revision)
        started = conversions.started(work)
    published = time.perf_counter() - start
    out: dict[str, Any] = {"preview_s": previewed, "publish_s": published, "job_s": 0.0}
    if started is not None:
        start = time.perf_counter()
        progress = conversions.convert(runtime, started.id)
        out["job_s"] = time.perf_counter() - start
        assert progress is not None and progress.state == "finished", progress
        out.update(converted=progress.done, failed=progress.failed)
    return out


# -- what changed ----------------------------------------------------------------------------


def fingerprint(raw: Any, form_id: int) -> dict[int, int]:
    """Every record row of the form, by id, as a hash of all it stores but its id."""
    rows = raw.execute(
        "SELECT id, data, revision, form_version, created_at, updated_by, updated_at, "
        "owner_id, department_id, deleted_at FROM records WHERE form_id = ?",
        (form_id,),
    )
    return {row[0]: hash(row[1:]) for row in rows}


def rows_changed(before: dict[int, int], after: dict[int, int]) -> int:
    changed = sum(1 for key, value in after.items() if before.get(key) != value)
    return changed + len(before.keys() - after.keys())


def _count(raw: Any, sql: str, *params: Any) -> int:
    return raw.execute(sql, params).fetchone()[0]


def form_indexes(raw: Any, form_id: int) -> dict[str, str]:
    """The form's per-form indexes, by name, with their SQL."""
    rows = raw.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' "
        "AND (name LIKE ? OR name LIKE ?)",
        (f"ix_rf_{form_id}_%", f"ux_rf_{form_id}_%"),
    )
    return dict(rows.fetchall())


# -- baselines -------------------------------------------------------------------------------


def rewrite_every_record(raw: Any, form_id: int) -> float:
    """Seconds to rewrite each of the form's rows once, in one transaction on the driver."""
    start = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    raw.execute(
        "UPDATE records SET data = json_set(data, '$.rewritten', 1), revision = revision + 1 "
        "WHERE form_id = ?",
        (form_id,),
    )
    raw.execute("COMMIT")
    return time.perf_counter() - start


def bare_index_build(raw: Any, ddl: str, name: str) -> float:
    """Seconds to build and analyse the index ``ddl`` describes, under another name, on the
    driver (the work an indexed field's publish cannot avoid); the copy is dropped after."""
    probe = "ix_bench_probe"
    start = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    raw.execute(ddl.replace(name, probe, 1))
    raw.execute("PRAGMA analysis_limit = 0")
    raw.execute(f"ANALYZE {probe}")
    raw.execute("COMMIT")
    seconds = time.perf_counter() - start
    raw.execute(f"DROP INDEX {probe}")
    return seconds


# -- run -------------------------------------------------------------------------------------


def run(inst: Instance, total: int) -> dict[str, Any]:
    runtime = inst.runtime
    with runtime.write(inst.user) as work:
        publish(work, EMPTY_FORM, copy.deepcopy(BENCH_FORM))
    loaded_in = load(inst, total)
    with runtime.read() as work:
        form_id = get_form(work, FORM).form.id
    raw = _raw_connection(inst)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    records = _count(raw, "SELECT COUNT(*) FROM records WHERE form_id = ?", form_id)
    print(f"{records:,} records loaded in {loaded_in}s", flush=True)

    before = fingerprint(raw, form_id)
    rewrite = rewrite_every_record(raw, form_id)
    after = fingerprint(raw, form_id)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    results: dict[str, Any] = {
        "records": records,
        "rewrite": {"seconds": rewrite, "rows_changed": rows_changed(before, after)},
        "cases": [],
    }
    print(
        f"baseline: rewrite every record (one UPDATE … json_set): {rewrite:.2f}s, "
        f"{results['rewrite']['rows_changed']:,} rows changed",
        flush=True,
    )
    before = after
    for label, edit in CASES:
        empty = publish_change(inst, EMPTY_FORM, edit)
        indexes = form_indexes(raw, form_id)
        revisions = _count(raw, "SELECT COUNT(*) FROM record_revisions")
        full = publish_change(inst, FORM, edit)
        after = fingerprint(raw, form_id)
        now_indexes = form_indexes(raw, form_id)
        created = sorted(now_indexes.keys() - indexes.keys())
        case = {
            "case": label,
            "publish_s": full["publish_s"],
            "preview_s": full["preview_s"],
            "empty_publish_s": empty["publish_s"],
            "rows_changed": rows_changed(before, after),
            "revisions_written": _count(raw, "SELECT COUNT(*) FROM record_revisions") - revisions,
            "indexes_created": created,
            "indexes_dropped": sorted(indexes.keys() - now_indexes.keys()),
        }
        if created:
            case["bare_index_s"] = sum(
                bare_index_build(raw, now_indexes[name], name) for name in created
            )
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        results["cases"].append(case)
        print(
            f"  {label}: publish {full['publish_s']:.3f}s (preview {full['preview_s']:.3f}s), "
            f"empty form {empty['publish_s']:.3f}s, {case['rows_changed']} rows changed, "
            f"indexes +{len(created)} -{len(case['indexes_dropped'])}",
            flush=True,
        )
        before = after

    empty = publish_type_change(inst, EMPTY_FORM)
    revisions = _count(raw, "SELECT COUNT(*) FROM record_revisions")
    full = publish_type_change(inst, FORM)
    after = fingerprint(raw, form_id)
    results["type_change"] = {
        "case": "change a number field to text",
        **full,
        "empty_publish_s": empty["publish_s"],
        "rows_changed": rows_changed(before, after),
        "revisions_written": _count(raw, "SELECT COUNT(*) FROM record_revisions") - revisions,
    }
    print(
        f"  type change: publish {full['publish_s']:.2f}s (preview {full['preview_s']:.2f}s), "
        f"background job {full['job_s']:.2f}s, {results['type_change']['rows_changed']:,} "
        "rows changed",
        flush=True,
    )
    raw.close()
    return results


def report(results: dict[str, Any]) -> None:
    rewrite = results["rewrite"]["seconds"]
    print(
        f"\npublish a change on a form with {results['records']:,} records (SQLite); "
        f"baseline: rewriting every record once took {rewrite:.2f}s "
        f"({results['rewrite']['rows_changed']:,} rows changed)\n"
    )
    print(
        f"  {'case':<32} {'publish':>9} {'empty form':>11} {'× empty':>8} {'÷ rewrite':>10}"
        f" {'rows changed':>13} {'revisions':>10}  {'preview':>8}"
    )
    for case in results["cases"]:
        print(
            f"  {case['case']:<32} {case['publish_s']:8.3f}s {case['empty_publish_s']:10.3f}s"
            f" {case['publish_s'] / case['empty_publish_s']:7.1f}×"
            f" {case['publish_s'] / rewrite:10.3f} {case['rows_changed']:13,}"
            f" {case['revisions_written']:10,}  {case['preview_s']:7.3f}s"
        )
    change = results.get("type_change")
    if change:
        print(
            f"\n  {change['case']}: the publish checks every record and queues the conversion "
            f"in {change['publish_s']:.2f}s (empty form {change['empty_publish_s']:.3f}s; "
            f"preview {change['preview_s']:.2f}s); the background job converts "
            f"{change.get('converted', 0):,} records ({change['rows_changed']:,} rows changed, "
            f"{change['revisions_written']:,} revisions) in {change['job_s']:.2f}s = "
            f"{change['job_s'] / rewrite:.1f}× the bare rewrite"
        )
    for case in results["cases"]:
        if "bare_index_s" in case:
            print(
                f"\n  {case['case']}: the bare CREATE INDEX + ANALYZE of the same index on the "
                f"driver takes {case['bare_index_s']:.2f}s; the publish "
                f"{case['publish_s']:.2f}s ({case['publish_s'] / case['bare_index_s']:.2f}× it)"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    queue_folder = Path(tempfile.mkdtemp(prefix="formflow-bench-valkey-"))
    server = redis_server.start(queue_folder)
    inst = instance(None, BENCH_FORM, FORM, redis_url=redis_server.url_of(server))
    print(f"database: sqlite  (instance {inst.folder})", flush=True)
    try:
        results = run(inst, args.records)
    finally:
        inst.runtime.close()
        server.stop()
        shutil.rmtree(inst.folder, ignore_errors=True)
        shutil.rmtree(queue_folder, ignore_errors=True)
    report(results)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
