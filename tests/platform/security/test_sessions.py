"""V3 session management: cookie flags, a fresh session at sign-in, sessions that end for
good on sign-out, on a new password, on deactivation and after a maximum age."""

from __future__ import annotations

from formflow.people import service as people
from formflow.people import sessions
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


# -- ASVS 3.3.4: one's own sessions, listed and ended from the account page -----------------


def _sessions_page(client):
    page = client.get("/me")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _handles(runtime, li, current=None):
    with runtime.read() as work:
        return sessions.active(work, work.session.get(User, li), current)


def test_the_account_page_lists_each_signed_in_browser_with_when_and_where(app, browser, li):
    phone = app.test_client()
    phone.post(
        "/login",
        data={"username": "li", "password": "a good passphrase"},
        headers={"User-Agent": "PhoneBrowser/1.0"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    login(browser)
    page = _sessions_page(browser)
    assert "PhoneBrowser/1.0" in page and "203.0.113.9" in page
    assert page.count('/end">') == 2  # a button for each browser


def test_ending_another_browser_signs_it_out_for_good_and_is_audited(
    app, browser, runtime, li, caplog
):
    import logging

    caplog.set_level(logging.INFO, logger="formflow.audit")
    phone = app.test_client()
    login(phone)
    login(browser)
    with browser.session_transaction() as mine:
        current = mine["sid"]
    listed = _handles(runtime, li, current)
    other = next(s for s in listed if not s.current)
    ended = browser.post(f"/me/sessions/{other.handle}/end")
    assert ended.status_code == 302 and ended.headers["Location"].endswith("/me")
    assert phone.get("/").status_code == 302  # the phone must sign in again
    assert browser.get("/").status_code == 200  # this browser stays signed in
    assert [s.current for s in _handles(runtime, li, current)] == [True]
    assert any(r.event == "session.ended" for r in caplog.records if r.name == "formflow.audit")
    assert browser.post(f"/me/sessions/{other.handle}/end").status_code == 404


def test_ending_all_other_browsers_keeps_this_one(app, browser, runtime, li):
    others = [app.test_client() for _ in range(2)]
    for client in others:
        login(client)
    login(browser)
    assert browser.post("/me/sessions/end-others").status_code == 302
    assert [c.get("/").status_code for c in others] == [302, 302]
    assert browser.get("/").status_code == 200
    assert len(_handles(runtime, li)) == 1


def test_no_one_can_end_a_session_of_someone_else(app, browser, runtime, li):
    with runtime.write() as work:
        people.create_user(work, "mei", password="another good one")
    login(browser)
    mei = app.test_client()
    login(mei, "mei", "another good one")
    with mei.session_transaction() as hers:
        handle = sessions.handle_of(hers["sid"])
    assert browser.post(f"/me/sessions/{handle}/end").status_code == 404
    assert mei.get("/").status_code == 200


def test_last_seen_moves_as_the_browser_is_used(browser, runtime, li, clock):
    login(browser)
    (first,) = _handles(runtime, li)
    clock.advance(minutes=30)
    assert browser.get("/").status_code == 200
    (later,) = _handles(runtime, li)
    assert later.last_seen_at > first.last_seen_at == first.started_at


def test_sessions_from_before_a_password_change_are_not_listed(app, browser, runtime, li):
    phone = app.test_client()
    login(phone)
    with runtime.write() as work:
        people.set_password(work, work.session.get(User, li), "another passphrase")
    assert _handles(runtime, li) == []
