"""Fixtures for webhooks: a real HTTP receiver on 127.0.0.1, and the engine allowing or
refusing private addresses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from formflow import Config, Runtime
from tests.support.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.start()
    yield made
    made.stop()


def _runtime(db_url, tmp_path, clock, **settings) -> Runtime:
    config = Config(
        instance_path=tmp_path / "instance", database_url=db_url, testing=True, **settings
    )
    return Runtime(config, clock=clock)


@pytest.fixture
def runtime(db_url, tmp_path, clock) -> Iterator[Runtime]:
    """The engine allowing private addresses: the receiver listens on loopback."""
    made = _runtime(db_url, tmp_path, clock, webhook_allow_private=True)
    yield made
    made.close()


@pytest.fixture
def strict_runtime(db_url, tmp_path, clock) -> Iterator[Runtime]:
    """The engine as configured by default: private addresses refused."""
    made = _runtime(db_url, tmp_path, clock)
    yield made
    made.close()
