"""Signing webhook deliveries, and how a receiver checks them.

Every delivery is a POST of a JSON body with these headers:

- ``X-Formflow-Timestamp``: when it was signed, in whole seconds since the Unix epoch;
- ``X-Formflow-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with the hook's
  secret, of the timestamp, a dot, and the body exactly as received;
- ``X-Formflow-Delivery``: the delivery's id, the same on every retry of it;
- ``X-Formflow-Event``: what happened.

A receiver recomputes the signature over the raw body (before parsing it), compares it in
constant time, and refuses a timestamp more than a few minutes away from its own clock (a
replayed request). Delivery is at least once — a delivery the receiver accepted may come
again if the answer was lost — so it remembers the delivery ids it has handled. In Python::

    import hashlib, hmac, time

    def verified(secret: str, headers, body: bytes) -> bool:
        timestamp = int(headers["X-Formflow-Timestamp"])
        expected = "sha256=" + hmac.new(
            secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        return (
            abs(time.time() - timestamp) <= 300
            and hmac.compare_digest(expected, headers["X-Formflow-Signature"])
        )
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="
#: Seconds a signature's timestamp may differ from the receiver's clock.
TOLERANCE = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Formflow-Signature`` of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return PREFIX + digest.hexdigest()


def verify(
    secret: str,
    timestamp: int,
    body: bytes,
    signature: str,
    *,
    now: int | float,
    tolerance: int = TOLERANCE,
) -> bool:
    """Whether ``signature`` is ours for ``body`` at ``timestamp``, and the timestamp is
    within ``tolerance`` seconds of ``now`` (the receiver's clock)."""
    if abs(now - timestamp) > tolerance:
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters (a forged header).
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode())
