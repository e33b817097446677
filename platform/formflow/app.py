"""The web application factory."""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError

from .config import Config
from .runtime import Runtime
from .web import register_web


def create_app(config: Config | None = None, *, runtime: Runtime | None = None) -> Flask:
    """A Flask app over ``runtime`` (built from ``config``, by default from the environment)."""
    from .api import api
    from .api.blueprint import api_not_found

    if runtime is None:
        runtime = Runtime(config or Config.from_env())
    config = runtime.config
    app = Flask(
        "formflow",
        instance_path=str(config.instance_path),
        template_folder="web/templates",
        static_folder="static",
    )
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_request_bytes,
        TESTING=config.testing,
    )
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=60 * 60 * 24 * 14,
        WTF_CSRF_TIME_LIMIT=60 * 60 * 12,
    )
    app.extensions["formflow"] = runtime
    app.register_blueprint(api, url_prefix="/api/v1")
    register_web(app)
    for blueprint in runtime.plugins.blueprints():
        app.register_blueprint(blueprint)
    app.extensions["nav_links"] = runtime.plugins.nav_links()

    @app.errorhandler(404)
    def not_found(error: Exception) -> Response | tuple[str, int]:
        if request.path.startswith("/api/"):
            return api_not_found(error)
        return render_template("error.html", code=404), 404

    @app.errorhandler(403)
    def forbidden(error: Exception) -> tuple[str, int]:
        return render_template("error.html", code=403), 403

    @app.errorhandler(CSRFError)
    def expired_form(error: CSRFError) -> tuple[str, int]:
        return render_template("error.html", code=400, csrf=True), 400

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    logging.basicConfig(level=logging.INFO)
    return app
