"""Email tests: a real SMTP server beside the real database and Valkey server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from formflow import Config, Runtime
from formflow.jobs.queue import queue
from tests.support.smtp import LocalSmtpServer

MAIL_FROM = "Formflow <formflow@example.com>"


@pytest.fixture
def smtp_server() -> Iterator[LocalSmtpServer]:
    with LocalSmtpServer() as server:
        yield server


@pytest.fixture
def runtime(db_url, tmp_path, clock, redis_url, smtp_server) -> Iterator[Runtime]:
    """The engine sending through ``smtp_server``, with a reminder queue of its own."""
    name = "mail-" + uuid.uuid4().hex[:12]
    config = Config(
        instance_path=tmp_path / "instance",
        database_url=db_url,
        redis_url=redis_url,
        testing=True,
        reminder_queue=name,
        smtp_url=smtp_server.url,
        mail_from=MAIL_FROM,
    )
    made = Runtime(config, clock=clock)
    yield made
    made.close()
    queue(redis_url, name).empty()
