"""`formflow run` as a user starts it: real gunicorn, real sockets."""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from formflow.serving import KEEP_ALIVE_SECONDS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path):
    env = dict(
        os.environ,
        FORMFLOW_INSTANCE=str(tmp_path / "instance"),
        SECRET_KEY=secrets.token_hex(32),  # `run` serves production: it needs a real key
    )
    env.pop("DATABASE_URL", None)
    env.pop("FORMFLOW_ENV", None)
    subprocess.run([sys.executable, "-m", "formflow", "init-db"], env=env, check=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "formflow", "run", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    connection.close()
                    break
            except OSError:
                pass
            assert server.poll() is None, "formflow run exited"
            assert time.monotonic() < deadline, "formflow run did not answer in 60 s"
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_connection_idle_for_a_few_seconds_is_still_open_for_the_next_request(served):
    """gunicorn's default keep-alive (2 s) closed idle connections under clients that
    reused them a moment later: their next request failed with "connection reset"."""
    assert KEEP_ALIVE_SECONDS > 30
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
    connection.request("GET", "/healthz")
    first = connection.getresponse()
    first.read()
    assert first.status == 200 and first.getheader("Connection", "").lower() != "close"
    peer = connection.sock.getsockname()
    time.sleep(3)
    connection.request("GET", "/healthz")
    second = connection.getresponse()
    second.read()
    assert second.status == 200
    assert connection.sock.getsockname() == peer  # the same connection, not a new one
    connection.close()
