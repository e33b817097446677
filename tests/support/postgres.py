"""A throwaway PostgreSQL server for the test session, on 127.0.0.1.

Uses the server binaries of Debian's postgresql package (``scripts/test.sh`` installs it
when missing). As root, initdb and the server run as the ``postgres`` user. Each test gets
its own database cloned from a migrated template, which takes milliseconds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin(name: str) -> str:
    """The newest installed PostgreSQL's program (versions compared as numbers: 9 < 15)."""
    from formflow.backup import BackupError, pg_binary

    try:
        return pg_binary(name)
    except BackupError:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed; run scripts/test.sh, which installs it "
            "(apt-get install postgresql), or set TEST_DATABASE_URL"
        ) from None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="formflow-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.process: subprocess.Popen[bytes] | None = None

    def _run(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]

    def start(self) -> str:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            _bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        options = [
            "-c",
            f"port={self.port}",
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.root}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=128MB",
        ]
        command = [_bin("postgres"), "-D", str(self.data), *options]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        log = open(self.root / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.root / "server.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        self._wait_ready()
        return self.url("postgres")

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(
                    self.url("postgres").replace("+psycopg", ""), connect_timeout=2
                ).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def admin_connection(url: str):
    import psycopg

    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True)
