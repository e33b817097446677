"""The in-app inbox of notifications, with its unread count on every page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from ..notifications import service as notifications
from .session import current_user, login_required, read, write

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@login_required
def index() -> str:
    from zoneinfo import ZoneInfo

    from .session import runtime

    with read() as work:
        items = notifications.latest(work, work.actor_id)
    zone = ZoneInfo(runtime().config.timezone)
    return render_template("notifications/index.html", items=items, zone=zone)


@bp.post("/read")
@login_required
def mark_read() -> Any:
    """Mark one (``id``) or every notification read; then go where it points."""
    note_id = request.form.get("id", type=int)
    with write() as work:
        notifications.mark_read(work, work.actor_id, note_id)
        found = notifications.get(work, work.actor_id, note_id) if note_id else None
        target = found.link if found is not None else None
    if target and target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("notifications.index"))


def unread_count() -> int | None:
    user = current_user()
    if user is None:
        return None
    with read() as work:
        return notifications.unread_count(work, user.id)
