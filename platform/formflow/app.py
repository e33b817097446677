"""The web application factory."""

from __future__ import annotations

import logging

from flask import Flask, Response, request

from .config import Config
from .runtime import Runtime


def create_app(config: Config | None = None, *, runtime: Runtime | None = None) -> Flask:
    """A Flask app over ``runtime`` (built from ``config``, by default from the environment)."""
    from .api import api
    from .api.blueprint import api_not_found

    if runtime is None:
        runtime = Runtime(config or Config.from_env())
    config = runtime.config
    app = Flask("formflow", instance_path=str(config.instance_path))
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_request_bytes,
        TESTING=config.testing,
    )
    app.extensions["formflow"] = runtime
    app.register_blueprint(api, url_prefix="/api/v1")
    for blueprint in runtime.plugins.blueprints():
        app.register_blueprint(blueprint)

    @app.errorhandler(404)
    def not_found(error: Exception) -> Response | tuple[str, int]:
        if request.path.startswith("/api/"):
            return api_not_found(error)
        return "Not found", 404

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/")
    def index() -> str:
        return (
            "<!doctype html><meta charset=utf-8><title>Formflow</title>"
            "<h1>Formflow</h1><p>The API is at <a href=/api/v1/openapi.json>/api/v1</a>.</p>"
        )

    logging.basicConfig(level=logging.INFO)
    return app
