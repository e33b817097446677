"""Delivering webhooks to a real HTTP receiver on 127.0.0.1: signed, retried with backoff
on the injected clock, counted on the hook, refused when the URL turns private; and once
through a real ``formflow worker`` process."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select

from formflow import Config, Runtime, jsoncodec
from formflow.jobs.queue import queue
from formflow.reminders.delivery import deliver_with
from formflow.reminders.models import Reminder
from formflow.reminders.sweep import sweep
from formflow.webhooks.delivery import DeliveryFailed
from formflow.webhooks.models import Webhook
from formflow.webhooks.service import hook_for, send_later, url_problem
from formflow.webhooks.signing import verify

KEY = "automation:12:action:3"


def send(runtime, url: str, data=None, key: str = f"{KEY}:run:1") -> tuple[int, str]:
    """Schedule one delivery to a hook at ``url``; (the reminder's id, the hook's secret)."""
    with runtime.write() as work:
        hook = hook_for(work, KEY, url)
        reminder = send_later(work, hook, "record.created", data or {"id": 7}, key)
    return reminder.id, hook.secret


def deliver_due(runtime) -> list[object]:
    """Sweep as the scheduler would and deliver what it claimed, here: "delivered" or the
    error, for each."""
    outcomes: list[object] = []
    for reminder_id in sweep(runtime):
        try:
            deliver_with(runtime, reminder_id)
        except Exception as error:
            outcomes.append(error)
        else:
            outcomes.append("delivered")
    return outcomes


def reminder_of(runtime, reminder_id: int) -> Reminder:
    with runtime.read() as work:
        return work.session.get(Reminder, reminder_id)


def hook_of(runtime) -> Webhook:
    with runtime.read() as work:
        return work.session.scalars(select(Webhook).where(Webhook.key == KEY)).one()


def signed(request, secret: str) -> bool:
    timestamp = int(request.headers["X-Formflow-Timestamp"])
    signature = request.headers["X-Formflow-Signature"]
    return verify(secret, timestamp, request.body, signature, now=timestamp)


def test_a_delivery_arrives_signed_with_the_hooks_secret(runtime, receiver, clock):
    data = {"id": 7, "total": Decimal("12.30"), "at": clock.now}
    reminder_id, secret = send(runtime, receiver.url + "/hooks/quotes", data)
    assert deliver_due(runtime) == ["delivered"]
    [request] = receiver.requests
    assert request.path == "/hooks/quotes"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "Formflow-Webhook"
    assert request.headers["X-Formflow-Event"] == "record.created"
    assert request.headers["X-Formflow-Delivery"] == str(reminder_id)
    assert int(request.headers["X-Formflow-Timestamp"]) == int(clock.now.timestamp())
    assert signed(request, secret)
    assert not signed(request, "0" * 64)
    assert jsoncodec.loads(request.body) == {
        "event": "record.created",
        "delivery": reminder_id,
        "data": {"id": 7, "total": Decimal("12.30"), "at": "2026-03-16T02:00:00+00:00"},
    }
    assert b'"total":12.30' in request.body  # the exact decimal, not a float
    assert reminder_of(runtime, reminder_id).state == "done"
    hook = hook_of(runtime)
    assert (hook.deliveries, hook.failures, hook.consecutive_failures) == (1, 0, 0)
    assert (hook.last_status, hook.last_success_at, hook.last_attempt_at) == (
        200,
        clock.now,
        clock.now,
    )
    assert deliver_due(runtime) == []  # delivered once


def test_a_receiver_failing_twice_gets_the_delivery_after_two_backoffs(runtime, receiver, clock):
    start = clock.now
    receiver.failing = 2
    reminder_id, secret = send(runtime, receiver.url + "/in")

    [error] = deliver_due(runtime)
    assert isinstance(error, DeliveryFailed) and error.status == 500
    assert str(error) == "the receiver answered 500: receiver down try again later"
    reminder = reminder_of(runtime, reminder_id)
    assert (reminder.state, reminder.attempts) == ("pending", 1)
    assert reminder.due_at == start + dt.timedelta(minutes=2)  # 2^1 minutes
    hook = hook_of(runtime)
    assert (hook.failures, hook.consecutive_failures, hook.deliveries) == (1, 1, 0)
    assert (hook.last_status, hook.last_attempt_at) == (500, start)
    assert hook.last_error == "the receiver answered 500: receiver down try again later"

    clock.advance(minutes=1)
    assert deliver_due(runtime) == []  # still backing off
    clock.advance(minutes=1)
    [error] = deliver_due(runtime)
    assert isinstance(error, DeliveryFailed)
    assert reminder_of(runtime, reminder_id).due_at == clock.now + dt.timedelta(minutes=4)
    clock.advance(minutes=3)
    assert deliver_due(runtime) == []
    clock.advance(minutes=1)
    assert deliver_due(runtime) == ["delivered"]

    hook = hook_of(runtime)
    assert (hook.failures, hook.consecutive_failures, hook.deliveries) == (2, 0, 1)
    assert (hook.last_status, hook.last_success_at) == (200, clock.now)
    assert reminder_of(runtime, reminder_id).state == "done"
    assert len(receiver.requests) == 3
    # one delivery, sent three times: the receiver dedupes on its id
    assert {r.headers["X-Formflow-Delivery"] for r in receiver.requests} == {str(reminder_id)}
    assert all(signed(request, secret) for request in receiver.requests)


def test_a_receiver_failing_every_time_fails_the_delivery_after_the_last_attempt(
    runtime, receiver, clock
):
    receiver.failing = 1000
    reminder_id, _ = send(runtime, receiver.url + "/in")
    for _ in range(5):
        [error] = deliver_due(runtime)
        assert isinstance(error, DeliveryFailed)
        clock.advance(hours=1)  # past each backoff
    assert deliver_due(runtime) == []  # given up
    reminder = reminder_of(runtime, reminder_id)
    assert (reminder.state, reminder.attempts) == ("failed", 5)
    assert reminder.error == (
        "DeliveryFailed: the receiver answered 500: receiver down try again later"
    )
    hook = hook_of(runtime)
    assert hook.failures == reminder.attempts == len(receiver.requests)
    assert (hook.consecutive_failures, hook.deliveries, hook.last_status) == (5, 0, 500)


def test_a_redirect_is_not_followed_and_counts_as_a_failure(runtime, receiver):
    receiver.redirect_to = receiver.url + "/elsewhere"
    reminder_id, _ = send(runtime, receiver.url + "/in")
    [error] = deliver_due(runtime)
    assert isinstance(error, DeliveryFailed) and error.status == 302
    assert [request.path for request in receiver.requests] == ["/in"]
    assert reminder_of(runtime, reminder_id).state == "pending"


def test_an_unreachable_receiver_is_a_failed_attempt_without_a_status(runtime):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reminder_id, _ = send(runtime, f"http://127.0.0.1:{port}/in")
    [error] = deliver_due(runtime)
    assert isinstance(error, DeliveryFailed) and error.status is None
    assert "could not reach the receiver (ConnectError" in str(error)
    hook = hook_of(runtime)
    assert (hook.failures, hook.last_status) == (1, None)
    assert reminder_of(runtime, reminder_id).attempts == 1


def test_a_hook_whose_host_now_resolves_to_a_private_address_is_not_called(
    strict_runtime, receiver, clock, monkeypatch
):
    """DNS changed after the hook was saved: the delivery checks again and refuses."""
    resolve = socket.getaddrinfo
    points_at = {"hooks.example.com": "93.184.215.14"}

    def fake_dns(host, *args, **kwargs):
        return resolve(points_at.get(host, host), *args, **kwargs)

    # httpx connects through socket.getaddrinfo too, so the name reaches the receiver.
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    url = f"http://hooks.example.com:{receiver.port}/in"
    with strict_runtime.read() as work:
        assert url_problem(work, url) is None  # public when saved
    reminder_id, _ = send(strict_runtime, url)
    points_at["hooks.example.com"] = "127.0.0.1"

    [error] = deliver_due(strict_runtime)
    assert str(error) == (
        "webhook URL points at a private address (127.0.0.1); this instance does not allow that"
    )
    assert receiver.requests == []  # never called
    hook = hook_of(strict_runtime)
    assert (hook.failures, hook.last_status) == (1, None)
    assert "private address (127.0.0.1)" in hook.last_error

    # Where private addresses are allowed the same hook reaches the receiver: it was the
    # check, not the fake name, that kept it from being called.
    allowing = Runtime(replace(strict_runtime.config, webhook_allow_private=True), clock=clock)
    try:
        clock.advance(minutes=2)
        assert deliver_due(allowing) == ["delivered"]
    finally:
        allowing.close()
    [request] = receiver.requests
    assert request.headers["Host"] == f"hooks.example.com:{receiver.port}"
    assert reminder_of(strict_runtime, reminder_id).state == "done"


# -- a real worker -------------------------------------------------------------------------------


@pytest.fixture
def queued_runtime(db_url, tmp_path, clock, redis_url):
    """The engine with a reminder queue of its own on the real Redis-compatible server."""
    name = "webhooks-" + uuid.uuid4().hex[:12]
    config = Config(
        instance_path=tmp_path / "instance",
        database_url=db_url,
        redis_url=redis_url,
        testing=True,
        reminder_queue=name,
        webhook_allow_private=True,
    )
    made = Runtime(config, clock=clock)
    yield made
    made.close()
    queue(redis_url, name).empty()


def work_off(runtime, **environment: str) -> str:
    """``formflow worker --burst`` on the reminder queue, as a real process, to the end;
    what it logged."""
    config = runtime.config
    done = subprocess.run(
        [sys.executable, "-m", "formflow", "worker", "--burst", config.reminder_queue],
        env={
            **os.environ,
            "DATABASE_URL": config.database_url,
            "REDIS_URL": config.redis_url,
            "FORMFLOW_INSTANCE": str(config.instance_path),
            **environment,
        },
        capture_output=True,
        timeout=600,
    )
    said = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, said
    return said


def test_a_real_worker_retries_a_failed_delivery_and_delivers_it(queued_runtime, receiver, clock):
    receiver.failing = 1
    reminder_id, secret = send(queued_runtime, receiver.url + "/in")
    assert sweep(queued_runtime) == [reminder_id]
    said = work_off(queued_runtime, FORMFLOW_WEBHOOK_ALLOW_PRIVATE="1")
    assert (hook_of(queued_runtime).failures, len(receiver.requests)) == (1, 1), said
    assert reminder_of(queued_runtime, reminder_id).state == "pending", said

    clock.advance(minutes=2)
    assert sweep(queued_runtime) == [reminder_id]
    said = work_off(queued_runtime, FORMFLOW_WEBHOOK_ALLOW_PRIVATE="1")
    assert reminder_of(queued_runtime, reminder_id).state == "done", said
    hook = hook_of(queued_runtime)
    assert (hook.deliveries, hook.failures, hook.consecutive_failures) == (1, 1, 0)
    first, second = receiver.requests
    assert first.body == second.body  # the same delivery, again
    # The worker signs with its own (real) clock: the receiver checks it against its own.
    timestamp = int(second.headers["X-Formflow-Timestamp"])
    assert verify(
        secret, timestamp, second.body, second.headers["X-Formflow-Signature"], now=time.time()
    )
