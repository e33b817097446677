"""Delivering a webhook: the reminder kind ``webhook``.

The worker POSTs the signed body with no transaction open and, in the transaction that
moves the reminder to done, counts the success on the hook. A refused URL, an unreachable
receiver or an answer other than 2xx raises: the reminder is retried with backoff
(``reminders.delivery``) and the failed attempt is counted on the hook. If the receiver
accepted a delivery but the commit then failed, the delivery comes again with the same
``X-Formflow-Delivery``: at least once, never silently lost.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import update

from .. import jsoncodec
from ..reminders.delivery import Due, handler, on_failure
from ..reminders.models import Reminder
from ..runtime import Runtime, Work
from .address import check_url
from .models import Webhook
from .service import KIND
from .signing import sign

#: Seconds to connect, and between bytes read or written; a receiver slower than that
#: counts as failed (and is retried).
TIMEOUT = 10.0
USER_AGENT = "Formflow-Webhook"
#: Characters of a failed answer kept in the error: enough to recognise it.
SNIPPET = 200


class DeliveryFailed(Exception):
    """The hook could not be called, or its receiver did not accept the delivery."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        #: The receiver's HTTP status, when it answered.
        self.status = status


@handler(KIND, outside=True)
def _deliver(runtime: Runtime, reminder: Due) -> Callable[[Work], None]:
    """Called with no transaction open (a slow receiver holds no database lock); returns
    the success to count in the transaction that marks the delivery done."""
    payload = reminder.payload
    with runtime.read() as work:
        hook = work.session.get(Webhook, int(payload["hook_id"]))
        found = (hook.id, hook.url, hook.secret) if hook is not None else None
    if found is None:
        raise DeliveryFailed(f"webhook #{payload['hook_id']} no longer exists")
    hook_id, url, secret = found
    # Checked again now: the host may resolve elsewhere than when the hook was saved.
    problem = check_url(url, allow_private=runtime.config.webhook_allow_private)
    if problem is not None:
        raise DeliveryFailed(problem)
    body = jsoncodec.dumps_bytes(
        {"event": payload["event"], "delivery": reminder.id, "data": payload["data"]}
    )
    timestamp = int(runtime.clock().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Formflow-Event": str(payload["event"]),
        "X-Formflow-Delivery": str(reminder.id),
        "X-Formflow-Timestamp": str(timestamp),
        "X-Formflow-Signature": sign(secret, timestamp, body),
    }
    status = post(url, body, headers)

    def count_success(work: Work) -> None:
        work.session.execute(
            update(Webhook)
            .where(Webhook.id == hook_id)
            .values(
                deliveries=Webhook.deliveries + 1,
                consecutive_failures=0,
                last_status=status,
                last_attempt_at=work.now,
                last_success_at=work.now,
            )
            .execution_options(synchronize_session=False)
        )

    return count_success


@on_failure(KIND)
def _record_failure(work: Work, reminder: Reminder, error: Exception, final: bool) -> None:
    hook_id = reminder.payload.get("hook_id")
    if hook_id is None:
        return
    if isinstance(error, DeliveryFailed):
        message, status = str(error), error.status
    else:
        message, status = f"{type(error).__name__}: {error}", None
    # Counted in the database, not in Python: two deliveries to one hook may fail at once.
    work.session.execute(
        update(Webhook)
        .where(Webhook.id == int(hook_id))
        .values(
            failures=Webhook.failures + 1,
            consecutive_failures=Webhook.consecutive_failures + 1,
            last_error=message[:2000],
            last_status=status,
            last_attempt_at=work.now,
        )
        .execution_options(synchronize_session=False)
    )


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body`` to ``url``; the 2xx status it was accepted with, or DeliveryFailed.

    Redirects are not followed: the place they point at was never checked, and a signed
    delivery is meant for the URL the admin gave.
    """
    try:
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            if response.is_success:
                return response.status_code
            snippet = _snippet(response)
    except httpx.HTTPError as error:
        raise DeliveryFailed(
            f"could not reach the receiver ({type(error).__name__}: {error})"
        ) from error
    said = f": {snippet}" if snippet else ""
    raise DeliveryFailed(
        f"the receiver answered {response.status_code}{said}", response.status_code
    )


def _snippet(response: httpx.Response) -> str:
    """The start of a failed answer's body on one line (never the whole of it: a receiver
    could answer with anything)."""
    start = b""
    try:
        for chunk in response.iter_bytes():
            start += chunk
            if len(start) >= SNIPPET:
                break
    except httpx.HTTPError:
        pass
    return " ".join(start[:SNIPPET].decode(errors="replace").split())
