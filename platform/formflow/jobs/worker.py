"""Running an RQ worker for the engine's queues."""

from __future__ import annotations

from rq import Worker

from .queue import DEFAULT_QUEUE, connect


def run_worker(redis_url: str, queues: list[str] | None = None, *, burst: bool = False) -> None:
    connection = connect(redis_url)
    worker = Worker(queues or [DEFAULT_QUEUE], connection=connection)
    worker.work(burst=burst, with_scheduler=True)
