"""Webhooks for the rest of the engine: find or make a hook, send to it later, list them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..reminders.models import Reminder
from ..reminders.service import schedule
from ..runtime import Work
from .address import check_url
from .models import Webhook, new_secret

#: The reminder kind a delivery is.
KIND = "webhook"


def url_problem(work: Work, url: str) -> str | None:
    """What is wrong with a hook calling ``url`` on this instance, or None: for the form that
    saves a hook, so the admin hears it then rather than from a failed delivery."""
    return check_url(url, allow_private=work.config.webhook_allow_private)


def hook_for(work: Work, key: str, url: str) -> Webhook:
    """The hook saved under ``key`` (``automation:12:action:3``), calling ``url`` from now on;
    made, with a new secret, if there is none. An existing hook keeps its secret and its
    counts, so receivers need not be told anything when the URL is edited."""
    hook = work.session.scalar(select(Webhook).where(Webhook.key == key))
    if hook is None:
        hook = Webhook(
            key=key,
            url=url,
            secret=new_secret(),
            created_at=work.now,
            deliveries=0,
            failures=0,
            consecutive_failures=0,
        )
        work.session.add(hook)
        work.session.flush()  # its id, for the deliveries scheduled next
    else:
        hook.url = url
    return hook


def send_later(
    work: Work, hook: Webhook, event: str, data: dict[str, Any], key: str
) -> Reminder | None:
    """Deliver ``event`` with ``data`` to ``hook`` once this unit of work has committed (the
    next sweep hands it to a worker). ``key`` names this one delivery (``automation:12:
    action:3:run:40``): sending the same key again sends nothing and returns None."""
    # The hook's id, and any delivery scheduled earlier in this unit of work, in the
    # database: schedule() looks for its key there (the session does not autoflush).
    work.session.flush()
    return schedule(work, KIND, key, work.now, {"hook_id": hook.id, "event": event, "data": data})


def hooks(work: Work) -> list[Webhook]:
    """Every hook with its delivery counts, by key (the admin's list)."""
    return list(work.session.scalars(select(Webhook).order_by(Webhook.key)))
