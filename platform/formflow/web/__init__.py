"""The web UI: server-rendered pages (Jinja, WTForms, htmx) for reps, approvers and admins."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Mount the web UI's blueprints, CSRF protection and translations on ``app``."""
    from flask_wtf.csrf import CSRFProtect

    from . import admin, auth, home, i18n, records, transfer
    from .session import load_user

    from ..api import api

    csrf = CSRFProtect(app)
    csrf.exempt(api)  # the API authenticates with bearer tokens, never with cookies
    app.extensions["csrf"] = csrf
    i18n.init(app)
    app.before_request(load_user)
    for blueprint in (auth.bp, home.bp, records.bp, admin.bp, transfer.bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(i18n.template_globals())
    app.jinja_env.filters["urlencode_without"] = _urlencode_without

    @app.context_processor
    def endpoints() -> dict[str, object]:
        return {"url_map_endpoints": app.view_functions}


def _urlencode_without(args: object, key: str) -> str:
    """A request's query string without one parameter (e.g. the page cursor)."""
    from urllib.parse import urlencode

    items = [(k, v) for k, v in args.items(multi=True) if k != key]  # type: ignore[attr-defined]
    return urlencode(items)
