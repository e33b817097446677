"""Administration pages: people, departments, roles, and each form's permissions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
