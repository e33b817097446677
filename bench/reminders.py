"""Delivering due reminders (issue 6), beside a baseline measured in the same run.

``--reminders`` in-app notification reminders, all due, are swept and delivered by two
``formflow worker --simple`` processes (each reminder in a transaction of its own with its
notification; a job carries a hundred), beside the same number of trivial RQ jobs
(``len("x")``) drained by two plain ``rq worker --worker-class SimpleWorker`` processes —
the queue's own cost. Also: due → delivered latency p50/p95 of every reminder, the
scheduler sweeping once a second while the workers deliver (load: the whole backlog is due
at once).

Run: ``scripts/bench.sh reminders`` (or ``python -m bench.reminders --reminders 20000``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.harness import instance, percentile
from formflow.jobs import redis_server
from formflow.jobs.queue import queue
from formflow.notifications.models import Notification
from formflow.reminders.models import Reminder
from formflow.reminders.sweep import sweep

QUEUE = "bench-reminders"
TRIVIAL = "bench-trivial"


def workers(command: list[str], env: dict[str, str], count: int = 2) -> float:
    """Run ``count`` burst workers until their queue is empty; seconds taken."""
    start = time.perf_counter()
    running = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(count)]
    for process in running:
        assert process.wait() == 0
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    total = args.reminders

    folder = Path(tempfile.mkdtemp(prefix="formflow-bench-valkey-"))
    server = redis_server.start(folder)
    url = redis_server.url_of(server)
    inst = instance(None)
    from dataclasses import replace

    inst.runtime.config = replace(inst.runtime.config, redis_url=url, reminder_queue=QUEUE)
    env = {
        **os.environ,
        "DATABASE_URL": inst.runtime.config.database_url,
        "REDIS_URL": url,
        "FORMFLOW_INSTANCE": str(inst.folder),
    }
    try:
        # the baseline: trivial jobs through the same server and the same worker class
        trivial = queue(url, TRIVIAL)
        with trivial.connection.pipeline() as pipe:
            for _ in range(total):
                trivial.enqueue_call("builtins.len", args=("x",), pipeline=pipe)
            pipe.execute()
        rq_worker = [sys.executable, "-m", "rq.cli", "worker", "--burst", "-q"]
        baseline = workers(
            [*rq_worker, "--worker-class", "rq.SimpleWorker", "--url", url, TRIVIAL], env
        )
        print(f"{total:,} trivial RQ jobs, 2 workers: {baseline:.1f}s = {total / baseline:,.0f}/s")

        now = dt.datetime.now(dt.UTC)
        with inst.runtime.write() as work:
            for start in range(0, total, 10_000):
                work.session.execute(
                    insert(Reminder),
                    [
                        {
                            "kind": "notify",
                            "key": f"bench:{i}",
                            "due_at": now,
                            "state": "pending",
                            "attempts": 0,
                            "payload": {"user_id": inst.user.id, "title": f"reminder {i}"},
                            "created_at": now,
                        }
                        for i in range(start, min(total, start + 10_000))
                    ],
                )
        stop = threading.Event()

        def scheduler() -> None:  # what `formflow scheduler --interval 1` does
            while not stop.is_set():
                while len(sweep(inst.runtime)) == 1000:
                    pass
                stop.wait(1.0)

        started = time.perf_counter()
        sweeping = threading.Thread(target=scheduler)
        sweeping.start()
        formflow_worker = [sys.executable, "-m", "formflow", "worker", "--simple"]
        deadline = time.monotonic() + 3600
        delivered = 0
        while delivered < total and time.monotonic() < deadline:
            workers([*formflow_worker, "--burst", QUEUE], env)
            with inst.runtime.read() as work:
                delivered = work.session.scalar(select(func.count()).select_from(Notification))
        seconds = time.perf_counter() - started
        stop.set()
        sweeping.join()
        with inst.runtime.read() as work:
            lags = [
                (done - due).total_seconds()
                for due, done in work.session.execute(
                    select(Reminder.due_at, Reminder.done_at).where(Reminder.state == "done")
                )
            ]
        results = {
            "reminders": total,
            "delivered": delivered,
            "seconds": seconds,
            "per_s": delivered / seconds,
            "trivial_seconds": baseline,
            "trivial_per_s": total / baseline,
            "latency_p50_s": percentile(lags, 0.5),
            "latency_p95_s": percentile(lags, 0.95),
        }
        print(
            f"{delivered:,} due reminders delivered (notification + state, a transaction each), "
            f"2 workers: {seconds:.1f}s = {results['per_s']:,.0f}/s = "
            f"{results['per_s'] / results['trivial_per_s']:.2f}x the trivial jobs' rate; "
            f"due -> delivered p50 {results['latency_p50_s']:.1f}s, "
            f"p95 {results['latency_p95_s']:.1f}s (the whole backlog due at once)"
        )
        if args.json:
            with open(args.json, "w") as out:
                json.dump(results, out, indent=2)
    finally:
        inst.runtime.close()
        server.stop()
        shutil.rmtree(inst.folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
