"""The security log: who signed in, failed to, was refused, or changed someone's access.

Each event is one line on the ``formflow.audit`` logger, ``event=… actor=… key=value…``,
with every value JSON-quoted so a username holding a newline cannot forge a second line.
Record changes have their own audit trail (``records.models.Revision``); this log is for
authentication and authorisation. Events raised inside a unit of work are written only
once it commits, so a refused change is not reported as made.

Route the logger to a file or a collector with ordinary logging configuration; the
``event`` and ``details`` attributes of each log record carry the same data structured.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runtime import Work

log = logging.getLogger("formflow.audit")


def _line(event: str, actor: int | None, details: dict[str, Any]) -> str:
    parts = [f"event={event}", f"actor={json.dumps(actor)}"]
    parts += [
        f"{key}={json.dumps(value, ensure_ascii=False, default=str)}"
        for key, value in details.items()
    ]
    return " ".join(parts)


def security_event(
    event: str, *, work: Work | None = None, actor: int | None = None, **details: Any
) -> None:
    """Log ``event`` (``login.failed``, ``roles.changed``…); after ``work`` commits, if given.

    ``actor`` defaults to the unit of work's actor: the person who did it.
    """
    who = actor if actor is not None or work is None else work.actor_id
    warn = event.endswith((".failed", ".throttled", ".denied"))

    def write() -> None:
        log.log(
            logging.WARNING if warn else logging.INFO,
            _line(event, who, details),
            extra={"event": event, "actor": who, "details": details},
        )

    if work is None:
        write()
    else:
        work.after_commit(write)
