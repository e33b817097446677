"""Workers (``formflow/jobs/worker.py``) with real parts: a Valkey server of the test's own,
real ``formflow worker`` processes. The server flushed, or restarted with nothing: each
worker is listed again (with its queue) within a bounded time and goes on taking jobs —
the process never exits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import RedisError
from rq import Queue, Worker

from formflow.jobs import redis_server
from formflow.jobs.queue import connect, queue
from formflow.jobs.worker import REGISTRATION_CHECK_SECONDS

#: How long a worker may take to be listed again: its wait for a job ends, it heartbeats.
BOUND = REGISTRATION_CHECK_SECONDS + 20


class Server:
    """A Valkey server the test may flush, stop and start again empty, on one port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.starts = 0
        self.process = self._start()

    def _start(self) -> Any:
        self.starts += 1
        return redis_server.start(self.folder / f"data-{self.starts}", port=self.port)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def restart_empty(self) -> None:
        self.process.stop()
        self.process = self._start()  # a fresh data folder: nothing survives

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    made = Server(tmp_path / "valkey")
    yield made
    made.stop()


@pytest.fixture
def start_worker(runtime: Any, server: Server) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    config = runtime.config

    def start(name: str, *options: str) -> subprocess.Popen[bytes]:
        environment = {
            **os.environ,
            "DATABASE_URL": config.database_url,
            "REDIS_URL": server.url,
            "FORMFLOW_INSTANCE": str(config.instance_path),
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "formflow", "worker", *options, name],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)


def listed(url: str, name: str) -> set[str]:
    """The workers RQ lists for queue ``name`` and overall (only those listed in both)."""
    connection = connect(url)
    overall = {w.name for w in Worker.all(connection=connection)}
    by_queue = {w.name for w in Worker.all(queue=Queue(name, connection=connection))}
    return overall & by_queue


def idle(url: str) -> bool:
    return [w.get_state() for w in Worker.all(connection=connect(url))] == ["idle"]


def wait_for(what: Callable[[], Any], seconds: float, worker: subprocess.Popen[bytes]) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert worker.poll() is None, (worker.stdout.read() if worker.stdout else b"").decode()
        try:
            found = what()
        except RedisError:  # a moment after the restart
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s")


def takes_a_job(url: str, name: str, worker: subprocess.Popen[bytes], message: str) -> None:
    job = queue(url, name).enqueue("formflow.jobs.queue.ping", message)
    wait_for(lambda: job.get_status(refresh=True) == "finished", 60, worker)
    assert job.return_value() == message


@pytest.mark.parametrize("options", [(), ("--simple",)], ids=["forking", "simple"])
def test_a_worker_is_listed_again_after_the_server_is_flushed(server, start_worker, options):
    name = "jobs-" + uuid.uuid4().hex[:12]
    worker = start_worker(name, *options)
    [worker_name] = wait_for(lambda: listed(server.url, name), 60, worker)
    takes_a_job(server.url, name, worker, "before")

    connect(server.url).flushall()
    assert listed(server.url, name) == set()
    flushed = time.monotonic()
    assert wait_for(lambda: listed(server.url, name), BOUND, worker) == {worker_name}
    assert time.monotonic() - flushed <= BOUND
    [again] = Worker.all(connection=connect(server.url))
    assert again.birth_date is not None and again.queue_names() == [name]
    takes_a_job(server.url, name, worker, "after the flush")


def test_a_worker_is_listed_again_after_the_server_restarts_empty(server, start_worker):
    name = "jobs-" + uuid.uuid4().hex[:12]
    worker = start_worker(name)
    wait_for(lambda: listed(server.url, name), 60, worker)

    connect(server.url).set("before the restart", 1)
    server.restart_empty()
    assert not connect(server.url).exists("before the restart")
    # Waiting for a job, it finds the server back at its next attempt (RQ's backoff starts
    # at a second) and registers again; caught anywhere else (here: as it starts up), RQ's
    # worker quits and the process starts a new one. Either way one worker is listed.
    assert len(wait_for(lambda: listed(server.url, name), BOUND, worker)) == 1
    takes_a_job(server.url, name, worker, "after the restart")
    assert worker.poll() is None


def test_a_worker_asked_to_stop_stops_and_is_not_replaced(server, start_worker):
    name = "jobs-" + uuid.uuid4().hex[:12]
    worker = start_worker(name)
    wait_for(lambda: idle(server.url), 60, worker)  # its signal handlers are in place
    os.killpg(worker.pid, signal.SIGTERM)
    code = worker.wait(timeout=30)
    assert code == 0, (worker.stdout.read() if worker.stdout else b"").decode()
    assert listed(server.url, name) == set()
