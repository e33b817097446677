"""Due → delivered latency under a steady trickle (issue 6), beside the queue's own latency
measured in the same run.

Three streams, each at ``--rate`` per second for ``--seconds``, with the scheduler sweeping
once a second (``formflow scheduler --interval 1``) and two long-running
``formflow worker --simple`` processes:

* **baseline** — trivial RQ jobs (``len("x")``) enqueued at that rate and drained by two
  plain ``rq worker --worker-class SimpleWorker`` processes: enqueue → finished, the latency
  of the queue itself;
* **reminders** — in-app notification reminders falling due at that rate: due → delivered
  (the sweep's interval is in this figure: a reminder waits for the next sweep);
* **automations** — records saved at that rate, each firing a record-created automation
  that puts a notification in the owner's inbox: saved → run finished (a run is handed to
  the workers right after its record commits, not at the next sweep).

Run: ``scripts/bench.sh latency`` (or ``python -m bench.latency --rate 20 --seconds 30``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from rq.job import Job
from sqlalchemy import func, insert, select

from bench.harness import instance, percentile
from formflow.automations import service as automations
from formflow.automations.models import AutomationRun
from formflow.definitions.service import get_form
from formflow.jobs import redis_server
from formflow.jobs.queue import queue
from formflow.records import service as records
from formflow.reminders.models import Reminder
from formflow.reminders.sweep import sweep

QUEUE = "bench-latency"
TRIVIAL = "bench-latency-trivial"
FORM = {
    "title": "Lead",
    "type": "object",
    "properties": {
        "name": {"x-field": "text", "type": "string", "maxLength": 100, "title": "Name"},
        "owner": {"x-field": "member", "type": "integer", "title": "Owner"},
    },
}
AUTOMATION = {
    "name": "bench.new_lead",
    "title": "New lead",
    "trigger": {"type": "record_created", "form": "bench.order"},
    "actions": [{"type": "notify", "to": [{"field": "owner"}], "title": "New lead {{ name }}"}],
}


def start_workers(
    command: list[str], env: dict[str, str], on: str, url: str, count: int = 2
) -> list[subprocess.Popen]:
    """``count`` long-running workers, returned once they all listen on queue ``on``."""
    from rq import Worker

    running = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
        for _ in range(count)
    ]
    target = queue(url, on)
    deadline = time.monotonic() + 60
    while Worker.count(queue=target) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return running


def stop_workers(running: list[subprocess.Popen]) -> None:
    for process in running:
        os.killpg(process.pid, signal.SIGTERM)
    for process in running:
        process.wait(timeout=60)


def paced(rate: float, seconds: float, act) -> None:
    """Call ``act(i)`` ``rate`` times a second for ``seconds``, on schedule."""
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        act(i)


def summary(name: str, lags: list[float]) -> dict[str, float]:
    result = {
        "count": len(lags),
        "p50_ms": percentile(lags, 0.5) * 1000,
        "p95_ms": percentile(lags, 0.95) * 1000,
        "max_ms": max(lags) * 1000,
    }
    print(
        f"{name}: {len(lags):,} — p50 {result['p50_ms']:,.0f} ms, "
        f"p95 {result['p95_ms']:,.0f} ms, max {result['max_ms']:,.0f} ms"
    )
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20.0, help="per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    total = int(args.rate * args.seconds)

    folder = Path(tempfile.mkdtemp(prefix="formflow-bench-valkey-"))
    server = redis_server.start(folder)
    url = redis_server.url_of(server)
    inst = instance(None, form=FORM)
    runtime = inst.runtime
    runtime.config = replace(runtime.config, redis_url=url, reminder_queue=QUEUE)
    env = {
        **os.environ,
        "DATABASE_URL": runtime.config.database_url,
        "REDIS_URL": url,
        "FORMFLOW_INSTANCE": str(inst.folder),
        "FORMFLOW_REMINDER_QUEUE": QUEUE,
    }
    results: dict[str, object] = {"rate_per_s": args.rate, "seconds": args.seconds}
    try:
        # -- the baseline: the queue's own latency at the same rate
        trivial = queue(url, TRIVIAL)
        rq_worker = [sys.executable, "-m", "rq.cli", "worker", "-q"]
        running = start_workers(
            [*rq_worker, "--worker-class", "rq.SimpleWorker", "--url", url, TRIVIAL],
            env,
            TRIVIAL,
            url,
        )
        ids: list[str] = []
        paced(
            args.rate, args.seconds, lambda i: ids.append(trivial.enqueue("builtins.len", "x").id)
        )
        while trivial.count or trivial.started_job_registry.count:
            time.sleep(0.2)
        time.sleep(0.5)
        stop_workers(running)
        jobs = Job.fetch_many(ids, connection=trivial.connection)
        lags = [(j.ended_at - j.enqueued_at).total_seconds() for j in jobs if j and j.ended_at]
        results["baseline"] = summary("trivial RQ jobs, enqueue -> finished", lags)

        # -- reminders falling due at that rate, the scheduler sweeping once a second
        begin = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
        with runtime.write() as work:
            work.session.execute(
                insert(Reminder),
                [
                    {
                        "kind": "notify",
                        "key": f"trickle:{i}",
                        "due_at": begin + dt.timedelta(seconds=i / args.rate),
                        "state": "pending",
                        "attempts": 0,
                        "payload": {"user_id": inst.user.id, "title": f"reminder {i}"},
                        "created_at": begin,
                    }
                    for i in range(total)
                ],
            )
        stop = threading.Event()

        def scheduler() -> None:
            while not stop.is_set():
                try:
                    while len(sweep(runtime)) == 1000:
                        pass
                except Exception as error:  # a busy SQLite: the next sweep goes on
                    print("sweep:", error)
                stop.wait(1.0)

        sweeping = threading.Thread(target=scheduler, daemon=True)
        sweeping.start()
        running = start_workers(
            [sys.executable, "-m", "formflow", "worker", "--simple", QUEUE], env, QUEUE, url
        )
        deadline = time.monotonic() + args.seconds * 4 + 120
        done = 0
        while done < total and time.monotonic() < deadline:
            time.sleep(0.5)
            with runtime.read() as work:
                done = work.session.scalar(
                    select(func.count())
                    .select_from(Reminder)
                    .where(Reminder.key.startswith("trickle:"), Reminder.state == "done")
                )
        with runtime.read() as work:
            lags = [
                (delivered - due).total_seconds()
                for due, delivered in work.session.execute(
                    select(Reminder.due_at, Reminder.done_at).where(
                        Reminder.key.startswith("trickle:"), Reminder.state == "done"
                    )
                )
            ]
        results["reminders"] = summary("due reminders, due -> delivered", lags)

        # -- records firing an automation at that rate (the workers still running)
        with runtime.write(inst.user) as work:
            automations.publish(work, AUTOMATION)
        saved: dict[int, float] = {}

        def save(i: int) -> None:
            with runtime.write(inst.user) as work:
                row = records.create(
                    work,
                    get_form(work, "bench.order"),
                    {"name": f"lead {i}", "owner": inst.user.id},
                )
            saved[row.id] = time.time()

        paced(args.rate, args.seconds, save)
        deadline = time.monotonic() + args.seconds * 4 + 120
        finished = 0
        while finished < total and time.monotonic() < deadline:
            time.sleep(0.5)
            with runtime.read() as work:
                finished = work.session.scalar(
                    select(func.count())
                    .select_from(AutomationRun)
                    .where(AutomationRun.state == "done")
                )
        stop.set()
        sweeping.join()
        stop_workers(running)
        with runtime.read() as work:
            rows = work.session.execute(
                select(
                    AutomationRun.record_id, AutomationRun.finished_at, AutomationRun.duration_ms
                ).where(AutomationRun.state == "done")
            ).all()
        # finished_at is when the delivering transaction began; its duration ends it.
        lags = [at.timestamp() + ms / 1000 - saved[record] for record, at, ms in rows]
        results["automations"] = summary("record-created automations, saved -> run done", lags)
        if args.json:
            with open(args.json, "w") as out:
                json.dump(results, out, indent=2)
    finally:
        runtime.close()
        server.stop()
        shutil.rmtree(inst.folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
