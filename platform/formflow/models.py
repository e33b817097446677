"""Every table of the engine, imported in one place for migrations and ``create_all``."""

from .automations.models import Automation, AutomationRun, AutomationVersion
from .dashboards.models import Dashboard, DashboardVersion
from .db import Base
from .definitions.models import App, Form, FormConversion, FormDraft, FormVersion
from .files.models import StoredFile
from .flows.models import Flow, FlowEvent, FlowInstance, FlowTask, FlowVersion
from .notifications.models import Notification
from .people.models import (
    ApiToken,
    Department,
    LoginAttempt,
    Membership,
    RecoveryCode,
    Role,
    User,
    UserRole,
    UserSetting,
)
from .permissions.models import FormGrant
from .records.models import Comment, Record, Revision, SerialCounter
from .reminders.models import Reminder
from .webhooks.models import Webhook

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "App",
    "Automation",
    "AutomationRun",
    "AutomationVersion",
    "Comment",
    "Dashboard",
    "DashboardVersion",
    "Department",
    "Flow",
    "FlowEvent",
    "FlowInstance",
    "FlowTask",
    "FlowVersion",
    "Form",
    "FormConversion",
    "FormDraft",
    "FormGrant",
    "FormVersion",
    "LoginAttempt",
    "Membership",
    "Notification",
    "Record",
    "RecoveryCode",
    "Reminder",
    "Revision",
    "Role",
    "SerialCounter",
    "StoredFile",
    "User",
    "UserRole",
    "UserSetting",
    "Webhook",
    "metadata",
]
