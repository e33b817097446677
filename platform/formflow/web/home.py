"""The start page: the apps and forms the signed-in user may use."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..permissions.models import Action
from ..permissions.policy import policy_for, usable_forms
from .session import login_required, read

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index() -> str:
    with read() as work:
        apps: dict[str, list[dict[str, object]]] = {}
        titles: dict[str, str] = {}
        for loaded in usable_forms(work):
            policy = policy_for(work, loaded)
            titles[loaded.app.name] = loaded.app.title
            apps.setdefault(loaded.app.name, []).append(
                {
                    "name": loaded.name,
                    "spec": loaded.spec,
                    "can_view": policy.allows(Action.VIEW),
                    "can_create": policy.allows(Action.CREATE),
                }
            )
    return render_template("home.html", apps=apps, titles=titles)
