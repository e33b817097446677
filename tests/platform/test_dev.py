"""``formflow dev`` brings the whole system up: database, Valkey, a worker, the web server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job

from formflow.jobs.queue import connect


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_group_gone(group: int) -> None:
    """Within 10 s no process of ``formflow dev``'s process group is left (any that is,
    is killed, and the test fails)."""
    for _ in range(100):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(group, signal.SIGKILL)
    pytest.fail("processes of formflow dev outlived it")


@pytest.mark.slow
def test_dev_starts_everything_and_stops_cleanly(tmp_path: Path):
    port = _free_port()
    env = dict(os.environ, FORMFLOW_INSTANCE=str(tmp_path / "instance"))
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "formflow", "dev", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = []
    try:
        # seeding the demo company takes most of it (about 90 s on a busy 2-core machine)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(output)
        assert f"Formflow is running at http://127.0.0.1:{port}" in text, text
        token = re.search(r"API token:\s+(\S+)", text).group(1)
        redis_url = re.search(r"Redis:\s+(\S+)", text).group(1)
        assert re.search(r"log in as:\s+admin / \S+", text)

        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["username"] == "admin"

        connection = connect(redis_url)
        job = Queue("default", connection=connection).enqueue("formflow.jobs.queue.ping", "hello")
        for _ in range(200):
            job = Job.fetch(job.id, connection=connection)
            if job.is_finished:
                break
            time.sleep(0.1)
        assert job.return_value() == "hello"
        assert (tmp_path / "instance" / "formflow.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    # every child (worker, gunicorn and its workers, Valkey) went with it
    assert_group_gone(process.pid)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))  # nothing listens there any more


@pytest.mark.slow
def test_dev_that_cannot_start_its_web_server_leaves_no_process_behind(tmp_path: Path):
    """The port is taken: gunicorn fails, `formflow dev` says so and exits, and the worker,
    the scheduler and Valkey it had started stop with it (they used to run on, orphaned)."""
    env = dict(os.environ, FORMFLOW_INSTANCE=str(tmp_path / "instance"))
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "formflow", "dev", "--no-demo", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert process.returncode != 0, output
    assert "failed to start" in output or "did not answer" in output, output
    assert_group_gone(process.pid)
