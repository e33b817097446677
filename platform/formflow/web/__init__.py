"""The web UI: server-rendered pages (Jinja, WTForms, htmx) for reps, approvers and admins."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Mount the web UI's blueprints, CSRF protection and translations on ``app``."""
    from flask_wtf.csrf import CSRFProtect

    from ..api import api
    from . import (
        admin,
        approvals,
        auth,
        automations,
        builder,
        dashboard_designer,
        dashboards,
        flow_designer,
        home,
        i18n,
        notifications,
        operations,
        records,
        transfer,
    )
    from .session import finish_sign_in, load_user

    csrf = CSRFProtect(app)
    csrf.exempt(api)  # the API authenticates with bearer tokens, never with cookies
    app.extensions["csrf"] = csrf
    i18n.init(app)
    app.before_request(load_user)
    app.before_request(finish_sign_in)
    for blueprint in (
        auth.bp,
        home.bp,
        records.bp,
        admin.bp,
        transfer.bp,
        builder.bp,
        approvals.bp,
        flow_designer.bp,
        notifications.bp,
        operations.bp,
        automations.bp,
        dashboards.bp,
        dashboard_designer.bp,
    ):
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(i18n.template_globals())
    app.jinja_env.filters["urlencode_without"] = _urlencode_without

    @app.context_processor
    def per_request() -> dict[str, object]:
        # The reader's language once per page, not once per label (a 50-row list asked
        # Flask-Babel 600 times: a quarter of the page's time).
        return {
            "url_map_endpoints": app.view_functions,
            "lang": i18n.language(),
            "pending_tasks": approvals.pending_count,
            "unread_notifications": notifications.unread_count,
            "plugin_links": _plugin_links,
        }


def _plugin_links() -> list[tuple[str, str]]:
    """The plugins' top-bar links as (label in the reader's language, url)."""
    from flask import current_app, url_for

    from . import i18n

    return [
        (i18n.localized(link.label, link.endpoint), url_for(link.endpoint))
        for link in current_app.extensions.get("nav_links", [])
        if link.endpoint in current_app.view_functions
    ]


def _urlencode_without(args: object, key: str) -> str:
    """A request's query string without one parameter (e.g. the page cursor)."""
    from urllib.parse import urlencode

    items = [(k, v) for k, v in args.items(multi=True) if k != key]  # type: ignore[attr-defined]
    return urlencode(items)
