"""An automation with real parts end to end: a record saved in this process, the run handed
to a real `formflow worker` process at once (no sweep), its email sent by the worker to a
real SMTP server, and its webhook POSTed, signed, to a real HTTP receiver."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from sqlalchemy import select

from formflow import Config, Runtime
from formflow.jobs.queue import queue
from formflow.people.models import User
from formflow.webhooks.models import Webhook
from formflow.webhooks.signing import verify
from tests.platform.automations.world import automation, build
from tests.platform.mail.workers import environment
from tests.support.receiver import Receiver
from tests.support.smtp import LocalSmtpServer


@pytest.fixture
def smtp_server():
    with LocalSmtpServer() as server:
        yield server


@pytest.fixture
def runtime(db_url, tmp_path, redis_url, smtp_server):
    """Real time (the worker process has no injected clock), a queue of its own."""
    name = "automations-" + uuid.uuid4().hex[:12]
    config = Config(
        instance_path=tmp_path / "instance",
        database_url=db_url,
        redis_url=redis_url,
        testing=True,
        reminder_queue=name,
        smtp_url=smtp_server.url,
        webhook_allow_private=True,
    )
    made = Runtime(config)
    yield made
    made.close()
    queue(redis_url, name).empty()


def burst(runtime: Runtime) -> None:
    env = {
        **environment(runtime),
        "FORMFLOW_WEBHOOK_ALLOW_PRIVATE": "1",
        "FORMFLOW_REMINDER_QUEUE": runtime.config.reminder_queue,
    }
    done = subprocess.run(
        [sys.executable, "-m", "formflow", "worker", "--burst", runtime.config.reminder_queue],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_a_saved_record_reaches_inbox_email_and_webhook_through_real_workers(
    runtime, admin, smtp_server
):
    world = build(runtime, admin)
    with runtime.write() as work:
        work.session.get(User, world.people["max"].id).email = "max@example.com"
    with Receiver() as receiver:
        world.publish(
            automation(
                actions=[
                    {
                        "type": "notify",
                        "to": [{"role": "sales_manager"}],
                        "channels": ["inbox", "email"],
                        "title": {"en": "New customer: {{ name }}", "zh-CN": "新客户：{{ name }}"},
                    },
                    {"type": "webhook", "url": receiver.url + "/crm", "event": "customer.new"},
                ]
            )
        )
        record = world.customer(name="Acme")
        waiting = queue(runtime.config.redis_url, runtime.config.reminder_queue).count
        assert waiting == 1  # handed over at commit, before any sweep
        burst(runtime)  # the run; it hands its email and webhook over in turn
        burst(runtime)
        [run] = world.runs()
        assert run.state == "done" and run.record_id == record
        assert world.inbox("max") == [("New customer: Acme", None)]
        [mail] = smtp_server.received
        assert mail["To"] == "max@example.com" and mail["Subject"] == "New customer: Acme"
        [request] = receiver.requests
        with runtime.read() as work:
            hook = work.session.scalars(select(Webhook)).one()
            secret, deliveries = hook.secret, hook.deliveries
        assert deliveries == 1
        timestamp = int(request.headers["X-Formflow-Timestamp"])
        assert verify(
            secret,
            timestamp,
            request.body,
            request.headers["X-Formflow-Signature"],
            now=timestamp,
        )
