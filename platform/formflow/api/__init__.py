"""The REST API, ``/api/v1``: token auth, JSON in and out, errors as ``{"errors": [...]}``."""

from . import automations, files, flows, forms, notifications, openapi, records  # noqa: F401 - importing registers the routes
from .blueprint import api

__all__ = ["api"]
