"""The sales pages (the rep's phone home, the customer page): being written."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("sales", __name__, url_prefix="/sales", template_folder="templates")
