"""The WSGI entry point for servers: ``gunicorn formflow.wsgi:app``."""

from .app import create_app

app = create_app()
