"""Running an RQ worker for the engine's queues."""

from __future__ import annotations

from rq import SimpleWorker, Worker

from .queue import DEFAULT_QUEUE, connect


def run_worker(
    redis_url: str, queues: list[str] | None = None, *, burst: bool = False, simple: bool = False
) -> None:
    """RQ's forking worker (each job in a child process) or, with ``simple``, jobs run in
    the worker's own process: no fork per job, so short jobs run far faster, at the cost of
    isolation (safe here: every job is idempotent and what it owes is in the database)."""
    connection = connect(redis_url)
    kind = SimpleWorker if simple else Worker
    worker = kind(queues or [DEFAULT_QUEUE], connection=connection)
    worker.work(burst=burst, with_scheduler=True)
