"""V3 session management: cookie flags, a fresh session at sign-in, sessions that end for
good on sign-out, on a new password, on deactivation and after a maximum age."""

from __future__ import annotations

from formflow.people import service as people
from formflow.people.login import SESSION_MAX_AGE
from formflow.people.models import User

from .conftest import login


def _cookie(client):
    return client.get_cookie("session").value


def test_the_session_cookie_is_httponly_and_samesite(browser, li):
    cookie = login(browser).headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signing_in_starts_a_fresh_session(browser, li):
    with browser.session_transaction() as planted:
        planted["uid"] = 999  # an attacker's pre-set session content
        planted["csrf_token"] = "known"
        planted["sid"] = "0.planted"
    login(browser)
    with browser.session_transaction() as session:
        assert session["uid"] == li
        assert "csrf_token" not in session
        assert session["sid"] != "0.planted"
    other = browser.application.test_client()
    login(other)
    with other.session_transaction() as session2, browser.session_transaction() as session1:
        assert session1["sid"] != session2["sid"]


def test_a_signed_out_session_cookie_no_longer_works_even_if_copied(browser, app, li):
    login(browser)
    stolen = _cookie(browser)
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/").status_code == 200
    assert browser.post("/logout").status_code == 302
    assert browser.get("/").status_code == 302
    replay = thief.get("/")
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]


def test_signing_out_one_browser_leaves_the_others_signed_in(browser, app, li):
    phone = app.test_client()
    login(browser)
    login(phone)
    browser.post("/logout")
    assert phone.get("/").status_code == 200


def test_a_session_ends_after_its_maximum_age_however_active(browser, li, clock):
    login(browser)
    for _ in range(SESSION_MAX_AGE.days // 10):
        clock.advance(days=10)
        assert browser.get("/").status_code == 200
    clock.advance(days=SESSION_MAX_AGE.days % 10 + 1)
    assert browser.get("/").status_code == 302


def test_deactivating_a_user_ends_their_sessions(browser, runtime, li):
    login(browser)
    with runtime.write() as work:
        work.session.get(User, li).is_active = False
    assert browser.get("/").status_code == 302


def test_a_new_password_ends_other_sessions(browser, app, runtime, li):
    """(tests/platform/web/test_auth.py covers the change made on the profile page)"""
    other = app.test_client()
    login(other)
    with runtime.write() as work:
        people.set_password(work, work.session.get(User, li), "another passphrase")
    assert other.get("/").status_code == 302


def test_sign_out_notes_of_expired_sessions_are_pruned(browser, app, runtime, li, clock):
    from sqlalchemy import func, select

    from formflow.people.models import UserSetting

    def notes():
        with runtime.read() as work:
            return work.session.scalar(
                select(func.count()).where(
                    UserSetting.user_id == li, UserSetting.key.like("session.ended:%")
                )
            )

    login(browser)
    browser.post("/logout")
    assert notes() == 1
    clock.advance(days=SESSION_MAX_AGE.days + 1)
    login(browser)
    browser.post("/logout")
    assert notes() == 1
