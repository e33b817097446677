"""Signatures receivers can check: HMAC-SHA256 over the timestamp and the body."""

from __future__ import annotations

import hashlib
import hmac

from formflow.webhooks.signing import sign, verify

SECRET = "a" * 64
BODY = b'{"event":"record.created","delivery":7,"data":{"total":12.30}}'


def test_the_signature_is_the_documented_hmac_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), b"1773626400." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1773626400, BODY) == "sha256=" + expected


def test_a_signature_verifies_only_for_its_secret_body_and_timestamp():
    signature = sign(SECRET, 1000, BODY)
    assert verify(SECRET, 1000, BODY, signature, now=1000)
    assert not verify("b" * 64, 1000, BODY, signature, now=1000)
    assert not verify(SECRET, 1000, BODY.replace(b"12.30", b"1.30"), signature, now=1000)
    assert not verify(SECRET, 1001, BODY, signature, now=1000)  # the timestamp is signed
    assert not verify(SECRET, 1000, BODY, "sha256=nonsense", now=1000)
    assert not verify(SECRET, 1000, BODY, "sha256=签名", now=1000)  # not ASCII: no error


def test_a_signature_too_far_from_the_receivers_clock_is_refused():
    signature = sign(SECRET, 1000, BODY)
    assert verify(SECRET, 1000, BODY, signature, now=1300)
    assert verify(SECRET, 1000, BODY, signature, now=700)
    assert not verify(SECRET, 1000, BODY, signature, now=1301)  # replayed later
    assert verify(SECRET, 1000, BODY, signature, now=1500, tolerance=600)
