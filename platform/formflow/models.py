"""Every table of the engine, imported in one place for migrations and ``create_all``."""

from .db import Base
from .definitions.models import App, Form, FormVersion
from .files.models import StoredFile
from .people.models import ApiToken, Department, Membership, User
from .records.models import Record, Revision, SerialCounter

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "App",
    "Department",
    "Form",
    "FormVersion",
    "Membership",
    "Record",
    "Revision",
    "SerialCounter",
    "StoredFile",
    "User",
    "metadata",
]
