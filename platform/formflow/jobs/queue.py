"""Queues and the worker's view of the engine.

A job runs in a worker process with its own :class:`~formflow.runtime.Runtime`, built once
from the environment; jobs receive ids, never objects, and read the truth from the
database.
"""

from __future__ import annotations

from functools import lru_cache

from redis import Redis
from rq import Queue

from ..config import Config
from ..runtime import Runtime

DEFAULT_QUEUE = "default"


def connect(url: str) -> Redis:
    return Redis.from_url(url)


def queue(url: str, name: str = DEFAULT_QUEUE) -> Queue:
    return Queue(name, connection=connect(url))


@lru_cache(maxsize=1)
def worker_runtime() -> Runtime:
    """The runtime jobs in this worker process use."""
    return Runtime(Config.from_env())


def ping(message: str = "pong") -> str:
    """A job that proves a worker is alive and can reach the database."""
    from sqlalchemy import text

    with worker_runtime().read() as work:
        work.session.execute(text("SELECT 1"))
    return message
