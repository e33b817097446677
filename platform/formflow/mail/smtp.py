"""Sending one message to the SMTP server ``SMTP_URL`` names.

``smtp://user:password@host:port`` (port 25 unless given), ``smtps://`` for TLS from the
start (port 465), ``?starttls=1`` to upgrade a plain connection; a user in the URL logs in.
User and password are percent-decoded, so ``%40`` in a password is ``@``.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qsl, unquote, urlsplit

from ..config import Config

#: Seconds to wait on the server for connecting and for each reply.
TIMEOUT = 30
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
YES = ("1", "true", "yes")


class MailNotConfigured(RuntimeError):
    """No ``SMTP_URL``: the engine has nowhere to send email."""


@dataclass(frozen=True)
class SmtpServer:
    """Where to send: what ``SMTP_URL`` says, parsed."""

    host: str
    port: int
    #: TLS from the first byte (``smtps://``).
    tls: bool = False
    #: Upgrade the plain connection with STARTTLS before anything else is said.
    starttls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_url(url: str) -> SmtpServer:
    """The server ``url`` names; a ValueError says what is wrong with it (never repeating
    the URL, which may hold a password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(
            f"SMTP_URL has an unknown scheme {scheme!r}: use smtp:// or smtps://"
            if scheme
            else "SMTP_URL has no scheme: use smtp://host:port or smtps://host:port"
        )
    if not parts.hostname:
        raise ValueError("SMTP_URL names no host: use smtp://host:port")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("SMTP_URL's port is not a number between 0 and 65535") from None
    starttls = False
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name != "starttls":
            raise ValueError(f"SMTP_URL has an unknown option {name!r}: only starttls is known")
        starttls = value.lower() in YES
    if starttls and scheme == "smtps":
        raise ValueError("SMTP_URL asks for starttls on smtps://, which is TLS already")
    return SmtpServer(
        host=parts.hostname,
        port=port,
        tls=scheme == "smtps",
        starttls=starttls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def send(config: Config, message: EmailMessage) -> None:
    """Send ``message`` through ``config.smtp_url``; returns once the server accepted it,
    raises on anything else (smtplib's errors, OSError, MailNotConfigured)."""
    if config.smtp_url is None:
        raise MailNotConfigured("SMTP_URL is not set: email cannot be sent")
    server = parse_url(config.smtp_url)
    if server.tls:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host, server.port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
    try:
        if server.starttls:
            client.starttls(context=ssl.create_default_context())
        if server.user:
            client.login(server.user, server.password or "")
        refused = client.send_message(message)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
    finally:
        _hang_up(client)


def _hang_up(client: smtplib.SMTP) -> None:
    # After the server accepted the message, a failing QUIT must not fail the delivery: the
    # reminder would be retried and the email sent twice.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
