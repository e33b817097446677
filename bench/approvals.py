"""Approvals through the engine (issue 5), each beside a baseline measured in the same run.

* approve actions per second: a two-step flow; approving the first step closes its task,
  writes the history, moves the instance on and creates the next step's task — one unit of
  work per approval, as the API does it — beside the same number of plain record updates
  through the engine (``records.update_record``, one unit of work each);
* the inbox of an approver with 10,000 handled and 500 pending tasks: the first page of
  pending tasks with every box's count (what /approvals/ reads), p50/p95, beside the same
  page's SQL hand-written and run on the driver.

Run: ``scripts/bench.sh approvals`` (or ``python -m bench.approvals --help``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import time
from typing import Any

from sqlalchemy import insert, select

from bench.harness import instance, latencies, ratio
from bench.records import _raw_connection
from formflow.definitions.service import get_form
from formflow.flows import actions, inbox
from formflow.flows import service as flows
from formflow.flows.models import FlowInstance, FlowTask
from formflow.people import service as people
from formflow.permissions.service import replace_grants
from formflow.records import service as records

FORM = "bench.quote"
QUOTE = {
    "title": "Quote",
    "type": "object",
    "properties": {
        "title": {"x-field": "text", "type": "string", "maxLength": 100},
        "amount": {"x-field": "money", "type": "number", "minimum": 0},
        "discount": {"x-field": "percent", "type": "number", "minimum": 0, "maximum": 1},
    },
}
FLOW = {
    "name": "bench.quote_approval",
    "title": "Quote approval",
    "form": FORM,
    "trigger": "submit",
    "nodes": [
        {"id": "start", "type": "start", "next": "first"},
        {"id": "first", "type": "approval", "approvers": [{"user": "approver"}], "next": "second"},
        {"id": "second", "type": "approval", "approvers": [{"user": "boss"}], "next": "done"},
        {"id": "done", "type": "end", "result": "approved"},
    ],
}


def setup(inst: Any) -> dict[str, Any]:
    runtime = inst.runtime
    with runtime.write() as work:
        users = {name: people.create_user(work, name).id for name in ("rep", "approver", "boss")}
    with runtime.write() as work:
        flows.publish(work, FLOW)
        own = {"actions": ["view", "create", "edit"], "scope": "own"}
        replace_grants(work, get_form(work, FORM), [own])
    return users


def _as(runtime: Any, user_id: int) -> Any:
    from formflow.people.models import User

    with runtime.read() as work:
        user = work.session.get(User, user_id)
        work.session.expunge(user)
        return user


def submit(inst: Any, rep: Any, count: int) -> list[int]:
    ids = []
    for i in range(count):
        with inst.runtime.write(rep) as work:
            data = {"title": f"Quote {i}", "amount": "1200.50", "discount": "0.1"}
            ids.append(records.create(work, get_form(work, FORM), data).id)
    return ids


def approve_all(inst: Any, approver: Any) -> tuple[float, int]:
    with inst.runtime.read(approver) as work:
        tasks = list(
            work.session.scalars(
                select(FlowTask.id).where(
                    FlowTask.assignee_id == approver.id, FlowTask.state == "pending"
                )
            )
        )
    start = time.perf_counter()
    for task_id in tasks:
        with inst.runtime.write(approver) as work:
            actions.act(work, task_id, "approve", comment="ok")
    return time.perf_counter() - start, len(tasks)


def update_all(inst: Any, rep: Any, ids: list[int]) -> float:
    """The baseline: one plain engine update of each record by its owner (their approvals
    have finished, so none is locked), one unit of work each."""
    start = time.perf_counter()
    for i, record_id in enumerate(ids):
        with inst.runtime.write(rep) as work:
            records.update_record(
                work, get_form(work, FORM), record_id, {"title": f"Changed {i}"}, revision=None
            )
    return time.perf_counter() - start


def fill_inbox(inst: Any, approver_id: int, rep_id: int, handled: int, pending: int) -> None:
    """``handled`` decided and ``pending`` open tasks of the approver, on instances of one
    record each (bulk inserted: the inbox query is what is measured)."""
    runtime = inst.runtime
    with runtime.read() as work:
        loaded = get_form(work, FORM)
        flow = flows.get_flow(work, FLOW["name"])
    record_ids = submit(inst, _as(runtime, rep_id), 50)  # instances share these records
    now = dt.datetime.now(dt.UTC)
    total = handled + pending
    with runtime.write() as work:
        first = (
            work.session.scalar(select(FlowInstance.id).order_by(FlowInstance.id.desc())) or 0
        ) + 1
        work.session.execute(
            insert(FlowInstance),
            [
                {
                    "flow_id": flow.id,
                    "version": 1,
                    "form_id": loaded.form.id,
                    "record_id": record_ids[i % len(record_ids)],
                    "initiator_id": rep_id,
                    "state": "approved" if i < handled else "running",
                    "revision": 2,
                    "position": {"active": [] if i < handled else ["first"], "arrived": {}},
                    "started_at": now,
                }
                for i in range(total)
            ],
        )
        work.session.execute(
            insert(FlowTask),
            [
                {
                    "instance_id": first + i,
                    "node_id": "first",
                    "round": 1,
                    "assignee_id": approver_id,
                    "state": "approved" if i < handled else "pending",
                    "seq": 0,
                    "created_at": now,
                    "acted_at": now if i < handled else None,
                }
                for i in range(total)
            ],
        )
    raw = _raw_connection(inst)
    raw.execute("ANALYZE")
    raw.close()


def inbox_page(inst: Any, approver: Any) -> None:
    with inst.runtime.read(approver) as work:
        items = inbox.tasks(work, inbox.Box.PENDING, limit=30)
        inbox.counts(work)
        assert len(items) == 30


def inbox_baseline(raw: Any, approver_id: int) -> None:
    rows = raw.execute(
        "SELECT t.*, i.*, f.name, f.title, a.name, fo.name FROM flow_tasks t "
        "JOIN flow_instances i ON i.id = t.instance_id JOIN flows f ON f.id = i.flow_id "
        "JOIN forms fo ON fo.id = i.form_id JOIN apps a ON a.id = fo.app_id "
        "WHERE t.assignee_id = ? AND t.state = 'pending' ORDER BY t.id DESC LIMIT 30",
        (approver_id,),
    ).fetchall()
    raw.execute(
        "SELECT state, COUNT(*) FROM flow_tasks WHERE assignee_id = ? GROUP BY state",
        (approver_id,),
    ).fetchall()
    assert len(rows) == 30


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--approvals", type=int, default=1000)
    parser.add_argument("--handled", type=int, default=10_000)
    parser.add_argument("--pending", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    inst = instance(None, QUOTE, FORM)
    try:
        users = setup(inst)
        rep, approver = _as(inst.runtime, users["rep"]), _as(inst.runtime, users["approver"])
        ids = submit(inst, rep, args.approvals)
        approving, approved = approve_all(inst, approver)
        # the records now wait on the second step: finish them so the baseline may edit them
        approve_all(inst, _as(inst.runtime, users["boss"]))
        updating = update_all(inst, rep, ids)
        per_second = approved / approving
        updates = len(ids) / updating
        print(
            f"approve (history, next task): {per_second:,.0f}/s; plain record updates "
            f"{updates:,.0f}/s; {ratio(per_second, updates)} of an update",
            flush=True,
        )
        fill_inbox(inst, users["approver"], users["rep"], args.handled, args.pending)
        engine = latencies(lambda: inbox_page(inst, approver), args.repeat)
        raw = _raw_connection(inst)
        base = latencies(lambda: inbox_baseline(raw, users["approver"]), args.repeat)
        raw.close()
        print(
            f"inbox ({args.handled:,} handled, {args.pending:,} pending): first page + counts "
            f"p50 {engine['p50_ms']:.1f} ms, p95 {engine['p95_ms']:.1f} ms; hand-written SQL "
            f"p50 {base['p50_ms']:.1f} ms, p95 {base['p95_ms']:.1f} ms",
            flush=True,
        )
        results = {
            "approvals": approved,
            "approve_per_s": per_second,
            "update_per_s": updates,
            "inbox": engine,
            "inbox_sql": base,
        }
        if args.json:
            with open(args.json, "w") as out:
                json.dump(results, out, indent=2)
    finally:
        inst.runtime.close()
        shutil.rmtree(inst.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
