"""Running an RQ worker for the engine's queues.

RQ registers a worker once, at birth: a hash under its key and its key in the ``rq:workers``
set and each queue's set. When the Redis/Valkey server restarts empty (or is flushed), all
of that is gone while the worker keeps running — RQ's own heartbeat only refreshes the
hash's expiry and last-heartbeat field — so ``Worker.all()`` (the operations page, the load
bench) no longer lists it, and RQ's cleanup treats it as dead. Our workers check at every
heartbeat that they are still registered and register again if not (same name, birth and
queues), and they wake from their blocking wait every :data:`REGISTRATION_CHECK_SECONDS`
to heartbeat, so an idle worker notices within that time; one that lost its connection
notices as soon as the server is back. A worker RQ let quit because Redis was away is
replaced by a new one (:func:`run_worker`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker, worker_registration
from rq.exceptions import StopRequested

from .queue import DEFAULT_QUEUE, connect

log = logging.getLogger(__name__)

#: The longest an idle worker blocks waiting for a job before it heartbeats (and so checks
#: its registration); RQ's default is 405 seconds.
REGISTRATION_CHECK_SECONDS = 10
#: How long to wait before a worker that quit unasked (Redis away) is replaced.
RESTART_SECONDS = 2.0


class Reregistering:
    """Mixed into an RQ worker class: keep the worker registered across a Redis that
    forgot it."""

    @property
    def dequeue_timeout(self) -> int:
        return min(super().dequeue_timeout, REGISTRATION_CHECK_SECONDS)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        super().heartbeat(timeout, pipeline)
        if pipeline is None:  # a pipelined one (while a job runs) is followed by the check
            self.ensure_registered()

    def maintain_heartbeats(self, job: Any, execution: Any) -> None:
        super().maintain_heartbeats(job, execution)
        self.ensure_registered()

    def ensure_registered(self) -> bool:
        """Register this worker again if Redis lost it; whether it had to."""
        with self.connection.pipeline() as pipe:
            pipe.sismember(self.redis_workers_keys, self.key)
            pipe.hexists(self.key, "birth")
            listed, born = pipe.execute()
        if listed and born:
            return False
        log.warning("worker %s: its registration vanished from Redis; registering again", self.name)
        with self.connection.pipeline() as pipe:
            pipe.hset(self.key, mapping={**self.serialize(), "state": self.get_state()})
            worker_registration.register(self, pipe)
            pipe.expire(self.key, self.worker_ttl + 60)
            pipe.execute()
        return True


class FormflowWorker(Reregistering, Worker):
    """RQ's forking worker, re-registering itself."""


class FormflowSimpleWorker(Reregistering, SimpleWorker):
    """RQ's worker that runs jobs in its own process, re-registering itself."""


def run_worker(
    redis_url: str, queues: list[str] | None = None, *, burst: bool = False, simple: bool = False
) -> None:
    """RQ's forking worker (each job in a child process) or, with ``simple``, jobs run in
    the worker's own process: no fork per job, so short jobs run far faster, at the cost of
    isolation (safe here: every job is idempotent and what it owes is in the database).

    RQ's worker quits when Redis goes away outside its wait for a job (a restart while it
    starts up or finishes a job); unless it was asked to stop, a new one starts after
    :data:`RESTART_SECONDS`, until Redis is back."""
    connection = connect(redis_url)
    kind = FormflowSimpleWorker if simple else FormflowWorker
    try:
        while True:
            worker = kind(queues or [DEFAULT_QUEUE], connection=connection)
            try:
                worker.work(burst=burst, with_scheduler=True)
            except RedisError as error:
                log.warning("worker %s lost Redis: %s", worker.name, error)
            # RQ notes a stop request (SIGTERM, SIGINT) only here
            if burst or worker._shutdown_requested_date is not None:
                return
            log.warning(
                "worker %s quit unasked; a new one starts in %s s", worker.name, RESTART_SECONDS
            )
            time.sleep(RESTART_SECONDS)
    except StopRequested:  # the signal came between two workers
        return
