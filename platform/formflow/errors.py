"""Errors that users read.

A service raises one of these; the API turns it into ``{"errors": [...]}`` with its status
code, the web UI shows the messages beside their fields. Each field error carries a stable
``code`` and its ``params`` so a UI can translate the message; ``message`` is the English text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: ``field`` is a path like ``lines[2].quantity`` (or None)."""

    field: str | None
    message: str
    code: str = "invalid"
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "code": self.code}

    def nested(self, prefix: str) -> FieldError:
        """The same error seen from a parent: ``quantity`` under ``lines[2]``."""
        if not self.field:
            path = prefix
        elif self.field.startswith("["):
            path = prefix + self.field
        else:
            path = f"{prefix}.{self.field}"
        return FieldError(path, self.message, self.code, self.params)


class FormflowError(Exception):
    """Base of the errors a user can be shown; ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(self, errors: list[FieldError] | str, status: int | None = None) -> None:
        if isinstance(errors, str):
            errors = [FieldError(None, errors)]
        self.errors = errors
        if status is not None:
            self.status = status
        super().__init__("; ".join(_describe(e) for e in errors))


def _describe(error: FieldError) -> str:
    return f"{error.field}: {error.message}" if error.field else error.message


class BadRequest(FormflowError):
    """The request itself cannot be read (malformed JSON, wrong shape)."""

    status = 400


class ValidationFailed(FormflowError):
    """The input was read but breaks the definition's rules; nothing was stored."""

    status = 422


class Unauthorized(FormflowError):
    status = 401


class UnsupportedMediaType(FormflowError):
    """The body is not in a format the route reads (JSON sent as form data, text, ...)."""

    status = 415


class Forbidden(FormflowError):
    status = 403


class NotFound(FormflowError):
    status = 404


class Conflict(FormflowError):
    """A stale revision or a duplicate unique value; nothing was stored."""

    status = 409


class PayloadTooLarge(FormflowError):
    status = 413
