"""A second factor for signing in: time-based codes from an authenticator app (TOTP, RFC 6238)
and one-time recovery codes for when the phone is lost.

Turning it on is two steps: :func:`pending_secret` makes a secret (kept on the server in the
user's settings until confirmed) for the person to scan, and :func:`enable` takes a code their
app now shows, stores the secret on the user and gives back :data:`RECOVERY_CODES` recovery
codes, shown once and kept only as SHA-256 digests. :func:`verify` accepts a current code (the
step before and after too, for clocks a little off) once — the step it used is stored, and a
guarded UPDATE refuses it or an earlier one again — or an unused recovery code, which it uses up.
API tokens do not ask for a second factor: they are secrets of their own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update

from ..audit import security_event
from ..errors import FieldError, NotFound, ValidationFailed
from ..runtime import Work
from . import notices
from .models import RecoveryCode, User, UserSetting
from .service import check_password

ISSUER = "Formflow"
RECOVERY_CODES = 10
_PENDING = "mfa.pending"
_DIGITS = re.compile(r"^\d{6}$")
_RECOVERY = re.compile(r"^[a-z2-7]{10}$")
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def enabled(user: User) -> bool:
    return bool(user.totp_secret)


def pending_secret(work: Work, user: User) -> str:
    """The secret offered to ``user`` to scan: the one already offered, or a new one."""
    row = work.session.get(UserSetting, (user.id, _PENDING))
    if row is None or not isinstance(row.value, str):
        secret = pyotp.random_base32()  # 160 bits
        if row is None:
            work.session.add(UserSetting(user_id=user.id, key=_PENDING, value=secret))
        else:
            row.value = secret
        work.session.flush()
        return secret
    return row.value


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline SVG element (no external image, no script)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, omitsize=True)


def _matching_step(secret: str, code: str, work: Work) -> int | None:
    """The time step whose code ``code`` is: now's, or the one before or after."""
    if not _DIGITS.match(code):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(work.now)
    for step in (now, now - 1, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _clean(code: str | None) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _new_recovery_codes(work: Work, user_id: int) -> list[str]:
    """Replace ``user_id``'s recovery codes with new ones; the codes, as shown (xxxxx-xxxxx)."""
    work.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))  # 50 random bits
        for _ in range(RECOVERY_CODES)
    ]
    work.session.add_all(RecoveryCode(user_id=user_id, code_hash=_digest(c)) for c in codes)
    work.session.flush()
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def enable(work: Work, user: User, code: str) -> list[str]:
    """Turn the second factor on with the pending secret, once ``code`` shows the person's app
    has it; the new recovery codes, to be shown once."""
    secret = pending_secret(work, user)
    step = _matching_step(secret, _clean(code), work)
    if step is None:
        raise ValidationFailed([FieldError("code", "is not the code the app shows now", "otp")])
    user.totp_secret, user.totp_last_step = secret, step
    work.session.execute(
        delete(UserSetting).where(UserSetting.user_id == user.id, UserSetting.key == _PENDING)
    )
    codes = _new_recovery_codes(work, user.id)
    security_event("mfa.enabled", work=work, actor=user.id, user=user.id)
    notices.sign_in_changed(work, user.id, notices.MFA_ENABLED)
    return codes


def verify(work: Work, user: User, code: str | None) -> bool:
    """Whether ``code`` is a current code not used before, or an unused recovery code (which
    it uses up). The caller commits."""
    if not user.totp_secret:
        return False
    cleaned = _clean(code)
    step = _matching_step(user.totp_secret, cleaned, work)
    if step is not None:
        used = work.session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        return used.rowcount == 1
    if _RECOVERY.match(cleaned):
        used = work.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _digest(cleaned),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=work.now)
            .execution_options(synchronize_session=False)
        )
        return used.rowcount == 1
    return False


def recovery_codes_left(work: Work, user_id: int) -> int:
    return work.session.scalar(
        select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )


def _turn_off(work: Work, user: User) -> None:
    user.totp_secret, user.totp_last_step = None, None
    work.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    work.session.flush()
    notices.sign_in_changed(work, user.id, notices.MFA_DISABLED)


def disable(work: Work, user: User, proof: str | None) -> None:
    """Turn one's own second factor off; ``proof`` is a current code or one's password."""
    if not enabled(user):
        return
    proof = proof or ""
    if not (verify(work, user, proof) or check_password(user, proof)):
        security_event("mfa.failed", work=work, actor=user.id, action="disable")
        raise ValidationFailed(
            [FieldError("proof", "is neither a current code nor your password", "otp")]
        )
    _turn_off(work, user)
    security_event("mfa.disabled", work=work, actor=user.id, user=user.id)


def reset(work: Work, user_id: int) -> None:
    """An admin turns someone's second factor off (their phone is lost, say)."""
    user = work.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user #{user_id}")
    if user.totp_secret:
        _turn_off(work, user)
        security_event("mfa.disabled", work=work, user=user_id, reset=True)
