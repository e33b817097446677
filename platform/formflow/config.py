"""Settings, read from the environment with working defaults for one machine.

Every setting has an embedded default (SQLite under the instance folder, the embedded
Redis-compatible server started by ``formflow dev``) so a fresh checkout runs with no setup;
production points ``DATABASE_URL`` and ``REDIS_URL`` at real servers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEV_SECRET_KEY = "formflow-development-key-do-not-use-in-production"
#: A production secret key is at least this long (``python -c "import secrets;
#: print(secrets.token_hex(32))"`` makes one of 64).
MIN_SECRET_KEY_LENGTH = 32
ENVIRONMENTS = ("production", "development")


class InsecureConfiguration(RuntimeError):
    """The settings are not safe to serve with in production; the message says what to set."""


@dataclass(frozen=True)
class Config:
    """What an instance needs to know; build one with :meth:`from_env` or by hand in tests."""

    instance_path: Path
    database_url: str
    redis_url: str | None = None
    secret_key: str = DEV_SECRET_KEY
    timezone: str = "Asia/Shanghai"
    max_upload_bytes: int = 20 * 1024 * 1024
    max_request_bytes: int = 32 * 1024 * 1024
    testing: bool = False
    #: ``production`` (the default of :meth:`from_env`: whatever is not explicitly a
    #: development machine is treated as one facing users) or ``development`` (set by
    #: ``formflow dev``, or ``FORMFLOW_ENV=development``).
    environment: str = "development"
    #: Session cookies only over HTTPS (set FORMFLOW_SECURE_COOKIES=1 behind TLS).
    secure_cookies: bool = False
    #: A publish whose type changes touch more records than this converts them in the
    #: background (an RQ job, in batches) instead of inside the publish's transaction.
    conversion_threshold: int = 2000
    #: Records a background conversion reads per write transaction.
    conversion_batch: int = 500
    #: Seconds a background conversion rests between batches, leaving the database to users.
    conversion_pause: float = 0.0
    #: The RQ queue background conversions go to.
    conversion_queue: str = "default"
    #: The RQ queue due reminders and flow timeouts are delivered from.
    reminder_queue: str = "default"
    #: A reminder queued this long ago and still not delivered (Redis flushed, a worker
    #: killed) is queued again by the next sweep.
    reminder_lease_seconds: int = 300
    #: Where email goes: ``smtp://user:password@host:port`` (``smtps://`` for TLS from the
    #: start, ``?starttls=1`` to upgrade). None: email is not sent, and saying so is an error.
    smtp_url: str | None = None
    #: The From address of the email the engine sends.
    mail_from: str = "Formflow <formflow@localhost>"
    #: Whether webhooks may call private, loopback and link-local addresses (a hook inside
    #: the company network); off, such URLs are refused when saved and when called.
    webhook_allow_private: bool = False
    #: Automations triggered by automations nest at most this deep; the next one is stopped
    #: and says so in its run log.
    automation_depth_limit: int = 5
    #: Whether administrators must use two-step sign-in: one without it who signs in is
    #: sent to turn it on before anything else.
    admin_mfa_required: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: Any) -> Config:
        """The configuration described by ``FORMFLOW_*``/``DATABASE_URL``/``REDIS_URL``."""
        instance = Path(os.environ.get("FORMFLOW_INSTANCE", "instance")).resolve()
        config = cls(
            instance_path=instance,
            database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'formflow.db'}",
            redis_url=os.environ.get("REDIS_URL") or None,
            secret_key=os.environ.get("SECRET_KEY") or DEV_SECRET_KEY,
            environment=os.environ.get("FORMFLOW_ENV", "production").strip().lower(),
            timezone=os.environ.get("FORMFLOW_TIMEZONE", "Asia/Shanghai"),
            max_upload_bytes=int(os.environ.get("FORMFLOW_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)),
            secure_cookies=os.environ.get("FORMFLOW_SECURE_COOKIES", "") in ("1", "true", "yes"),
            conversion_threshold=int(os.environ.get("FORMFLOW_CONVERSION_THRESHOLD", 2000)),
            conversion_batch=int(os.environ.get("FORMFLOW_CONVERSION_BATCH", 500)),
            conversion_pause=float(os.environ.get("FORMFLOW_CONVERSION_PAUSE", 0)),
            conversion_queue=os.environ.get("FORMFLOW_CONVERSION_QUEUE", "default"),
            reminder_queue=os.environ.get("FORMFLOW_REMINDER_QUEUE", "default"),
            reminder_lease_seconds=int(os.environ.get("FORMFLOW_REMINDER_LEASE", 300)),
            smtp_url=os.environ.get("SMTP_URL") or None,
            mail_from=os.environ.get("FORMFLOW_MAIL_FROM", "Formflow <formflow@localhost>"),
            webhook_allow_private=os.environ.get("FORMFLOW_WEBHOOK_ALLOW_PRIVATE", "")
            in ("1", "true", "yes"),
            automation_depth_limit=int(os.environ.get("FORMFLOW_AUTOMATION_DEPTH", 5)),
            admin_mfa_required=os.environ.get("FORMFLOW_ADMIN_MFA", "") in ("1", "true", "yes"),
        )
        return replace(config, **overrides)

    @property
    def production(self) -> bool:
        """Whether this instance serves real users (tests never do)."""
        return self.environment != "development" and not self.testing

    def check_production(self) -> None:
        """Refuse settings that would be unsafe in production, naming what to set.

        Called when the web app is created: a server started with the development secret
        key would let anyone who read the source forge session cookies.
        """
        if self.environment not in ENVIRONMENTS:
            raise InsecureConfiguration(
                f"FORMFLOW_ENV is '{self.environment}'; use 'production' or 'development'"
            )
        if not self.production:
            return
        if self.secret_key == DEV_SECRET_KEY:
            raise InsecureConfiguration(
                "refusing to start in production with the development SECRET_KEY: set "
                'SECRET_KEY to a long random value (python -c "import secrets; '
                'print(secrets.token_hex(32))"), or set FORMFLOW_ENV=development on a '
                "development machine"
            )
        if len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise InsecureConfiguration(
                f"refusing to start in production: SECRET_KEY is {len(self.secret_key)} "
                f"characters, it needs at least {MIN_SECRET_KEY_LENGTH} random ones"
            )

    @property
    def upload_path(self) -> Path:
        return self.instance_path / "uploads"
