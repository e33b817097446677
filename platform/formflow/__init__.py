"""Formflow: a low-code form-and-workflow engine.

The public API a plugin may use is what this module exports; everything else is internal.
"""

from .app import create_app
from .config import Config
from .definitions.spec import FieldSpec, FormSpec
from .errors import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    FormflowError,
    NotFound,
    ValidationFailed,
)
from .extensions import AppBundle, hookimpl
from .fields import FieldType, FieldValueError
from .runtime import Runtime, Work

__all__ = [
    "AppBundle",
    "BadRequest",
    "Config",
    "Conflict",
    "FieldError",
    "FieldSpec",
    "FieldType",
    "FieldValueError",
    "Forbidden",
    "FormSpec",
    "FormflowError",
    "NotFound",
    "Runtime",
    "ValidationFailed",
    "Work",
    "create_app",
    "hookimpl",
]

# A submit starts the form's flows; a record under approval is guarded (records/lifecycle.py);
# records saved and flows finished fire automations (automations/triggers.py).
from .automations import triggers as _automation_triggers
from .flows import triggers as _flow_triggers

_flow_triggers.install()
_automation_triggers.install()
