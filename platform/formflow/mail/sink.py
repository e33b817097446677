"""A mail catcher for one machine: ``formflow dev`` starts it when ``SMTP_URL`` is unset,
so the email automations send on the embedded defaults can be read, one ``.eml`` file each
under ``<instance>/mail/``. A real SMTP server (aiosmtpd) on 127.0.0.1, not a fake: the
engine sends to it exactly as it sends in production."""

from __future__ import annotations

import itertools
import socket
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counter = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self.counter):05d}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 kept"


class MailSink:
    """Started on a free port of 127.0.0.1; ``url`` is what SMTP_URL should say."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        with socket.socket() as probe:  # a free port (aiosmtpd cannot be given port 0)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(_Keep(folder), hostname="127.0.0.1", port=self.port)

    def start(self) -> MailSink:
        self._controller.start()
        return self

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._controller.stop()
