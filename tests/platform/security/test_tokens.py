"""V2/V3 for the API: bearer tokens stored only as digests, revocable, dead with their user."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from formflow.people import tokens
from formflow.people.models import ApiToken, User


def test_tokens_are_random_and_stored_only_as_a_sha256_digest(runtime, admin):
    with runtime.read() as work:
        stored = work.session.scalars(select(ApiToken.token_hash)).all()
    assert admin.token.startswith("ff_") and len(admin.token) >= 40
    assert stored == [hashlib.sha256(admin.token.encode()).hexdigest()]
    assert admin.token not in stored


def test_a_revoked_token_stops_working_at_once(api, runtime, admin):
    assert api.get("/forms").status_code == 200
    with runtime.write() as work:
        (row,) = tokens.of_user(work, admin.id)
        tokens.revoke(work, admin.id, row.id)
        assert tokens.of_user(work, admin.id) == []
    refused = api.get("/forms")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="formflow"'


def test_nobody_revokes_another_persons_token(runtime, admin, rep):
    import pytest

    from formflow.errors import NotFound

    with runtime.write() as work:
        (theirs,) = tokens.of_user(work, admin.id)
        with pytest.raises(NotFound):
            tokens.revoke(work, rep.id, theirs.id)


def test_a_deactivated_users_tokens_stop_working(api, runtime, rep):
    assert api.as_(rep).get("/forms").status_code == 200
    with runtime.write() as work:
        work.session.get(User, rep.id).is_active = False
    assert api.as_(rep).get("/forms").status_code == 401


def test_the_api_ignores_session_cookies_and_needs_a_bearer_token(app, browser, li):
    from .conftest import login

    login(browser)
    assert browser.get("/api/v1/forms").status_code == 401  # a cookie is not a credential
    assert browser.get("/api/v1/openapi.json").status_code == 200  # the one public document
