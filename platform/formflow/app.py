"""The web application factory."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError

from .audit import security_event
from .config import Config
from .headers import add_security_headers
from .runtime import Runtime
from .web import register_web


def create_app(config: Config | None = None, *, runtime: Runtime | None = None) -> Flask:
    """A Flask app over ``runtime`` (built from ``config``, by default from the environment)."""
    from .api import api
    from .api.blueprint import api_not_found

    if runtime is None:
        runtime = Runtime(config or Config.from_env())
    config = runtime.config
    config.check_production()
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
        # behind TLS, a cookie only this host over HTTPS may set (no subdomain can plant one)
        SESSION_COOKIE_NAME="__Host-session" if config.secure_cookies else "session",
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
        user = g.get("user")
        security_event(
            "access.denied",
            actor=user.id if user else None,
            method=request.method,
            path=request.path,
        )
        return render_template("error.html", code=403), 403

    @app.errorhandler(CSRFError)
    def expired_form(error: CSRFError) -> tuple[str, int]:
        return render_template("error.html", code=400, csrf=True), 400

    @app.errorhandler(500)
    def internal_error(error: Exception) -> Response | tuple[str, int]:
        # Flask has logged the traceback; the person sees an apology, never the trace
        if request.path.startswith("/api/"):
            from .api.blueprint import error_response
            from .errors import FieldError

            message = "something went wrong on our side; it has been logged"
            return error_response([FieldError(None, message, "internal")], 500)
        try:
            return render_template("error.html", code=500), 500
        except Exception:  # the page itself needs the database that may be what failed
            return "Something is wrong. 出错了。", 500

    @app.after_request
    def security_headers(response: Response) -> Response:
        return add_security_headers(response, https=config.secure_cookies)

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # when, how bad, which part: each line of the security log says when it happened
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if config.production and not config.secure_cookies:
        logging.getLogger(__name__).warning(
            "session cookies are sent over plain HTTP: behind TLS, set FORMFLOW_SECURE_COOKIES=1"
        )
    return app
