"""The REST API, ``/api/v1``: token auth, JSON in and out, errors as ``{"errors": [...]}``."""

from . import (  # noqa: F401 - importing registers the routes
    automations,
    dashboards,
    files,
    flows,
    forms,
    notifications,
    openapi,
    records,
)
from .blueprint import api

__all__ = ["api"]
