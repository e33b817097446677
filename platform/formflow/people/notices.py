"""Telling people that how they sign in changed (ASVS 2.2.3): a new password, two-step sign-in
turned on or off. In their inbox, and by email when this instance sends mail and they have an
address, so a change someone else made does not go unnoticed. Both are written in the
caller's unit of work: they exist exactly when the change does."""

from __future__ import annotations

import secrets

from ..mail.outbox import email_of, send_later
from ..notifications.service import notify
from ..notifications.wording import N_, language_of, said
from ..runtime import Work

PASSWORD_CHANGED = N_("Your password was changed")
MFA_ENABLED = N_("Two-step sign-in was turned on for your account")
MFA_DISABLED = N_("Two-step sign-in was turned off for your account")
NOT_YOU = N_("If you did not make this change, tell your administrator at once.")


def sign_in_changed(work: Work, user_id: int, what: str) -> None:
    """Tell ``user_id`` that ``what`` (one of this module's messages) happened to them."""
    language = language_of(work, user_id)
    title, body = said(language, what), said(language, NOT_YOU)
    notify(work, user_id, title, body, link="/me")
    address = email_of(work, user_id) if work.config.smtp_url else None
    if address is not None:
        send_later(
            work,
            to=address,
            subject=title,
            text=body,
            key=f"sign-in-changed:{user_id}:{secrets.token_hex(8)}",
        )
