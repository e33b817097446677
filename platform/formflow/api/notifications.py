"""The caller's in-app notifications: list them (with the unread count) and mark them read."""

from __future__ import annotations

from flask import Response, request

from ..errors import BadRequest, FieldError
from ..notifications import service as notifications
from .blueprint import api, json_body, read, respond, write
from .representation import timestamp


@api.get("/notifications")
def list_notifications() -> Response:
    """The caller's latest notifications (newest first, at most 100) and how many are unread."""
    with read() as work:
        items = notifications.latest(work, work.actor_id, 100)
        body = {
            "notifications": [
                {
                    "id": n.id,
                    "title": n.title,
                    "body": n.body,
                    "link": n.link,
                    "created_at": timestamp(n.created_at),
                    "read_at": timestamp(n.read_at),
                }
                for n in items
            ],
            "unread": notifications.unread_count(work, work.actor_id),
        }
    return respond(body)


@api.post("/notifications/read")
def read_notifications() -> Response:
    """Mark one notification read (``{"id": n}``) or, with an empty body, all of them."""
    body = json_body() if request.get_data(cache=True).strip() else {}
    note_id = body.get("id")
    if note_id is not None and not isinstance(note_id, int):
        raise BadRequest([FieldError("id", "id must be a notification id", "type")])
    with write() as work:
        changed = notifications.mark_read(work, work.actor_id, note_id)
        unread = notifications.unread_count(work, work.actor_id)
    return respond({"marked": changed, "unread": unread})
