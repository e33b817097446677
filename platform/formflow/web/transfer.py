"""Importing records from CSV/XLSX and exporting a filtered list to CSV/XLSX."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("transfer", __name__, url_prefix="/f")
