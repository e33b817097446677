"""V2.7/V2.8 and V4.3.1: an optional second factor (TOTP codes from an app, one-time recovery
codes). The password step alone signs no one in; a code works once; wrong codes count
towards the sign-in throttle; an admin can turn someone's off; API tokens are unaffected."""

from __future__ import annotations

import hashlib
import logging
import re

import pyotp
import pytest
from sqlalchemy import select

from formflow.people import mfa, tokens
from formflow.people import service as people
from formflow.people.models import RecoveryCode, User

from .conftest import PASSWORD, login


@pytest.fixture
def audit(caplog):
    caplog.set_level(logging.INFO, logger="formflow.audit")
    return lambda: [r.event for r in caplog.records if r.name == "formflow.audit"]


@pytest.fixture(autouse=True)
def english(runtime, li):
    """Li reads English here, so the tests read the engine's own words."""
    with runtime.write() as work:
        work.session.get(User, li).language = "en"


def _user(runtime, user_id):
    with runtime.read() as work:
        return work.session.get(User, user_id)


def enroll(runtime, clock, user_id) -> tuple[pyotp.TOTP, list[str]]:
    """Turn the second factor on through the service; the app's TOTP and the recovery codes."""
    with runtime.write() as work:
        user = work.session.get(User, user_id)
        totp = pyotp.TOTP(mfa.pending_secret(work, user))
        codes = mfa.enable(work, user, totp.at(clock.now))
    clock.advance(seconds=30)  # the enrolment's code is used; the next one is fresh
    return totp, codes


def sign_in_with_code(browser, code):
    first = login(browser)
    assert first.status_code == 302 and first.headers["Location"].startswith("/login/code")
    return browser.post("/login/code", data={"code": code})


def signed_in(browser) -> bool:
    return browser.get("/me").status_code == 200


def test_turning_it_on_shows_a_qr_code_needs_a_current_code_and_shows_recovery_codes_once(
    browser, runtime, clock, li, audit
):
    login(browser)
    page = browser.get("/me/mfa").get_data(as_text=True)
    assert "<svg" in page and "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    secret = re.search(r'<code id="secret"[^>]*>([A-Z2-7 ]+)</code>', page).group(1)
    totp = pyotp.TOTP(secret.replace(" ", ""))
    assert browser.get("/me/mfa").get_data(as_text=True).count(secret) == 1  # the same secret

    wrong = browser.post("/me/mfa", data={"code": "000000"})
    assert wrong.status_code == 400 and 'id="code-error"' in wrong.get_data(as_text=True)
    assert _user(runtime, li).totp_secret is None

    done = browser.post("/me/mfa", data={"code": totp.at(clock.now)})
    assert done.status_code == 200
    shown = re.findall(r"<li>([a-z2-7]{5}-[a-z2-7]{5})</li>", done.get_data(as_text=True))
    assert len(shown) == 10 and len(set(shown)) == 10
    assert _user(runtime, li).totp_secret == secret.replace(" ", "")
    with runtime.read() as work:
        stored = set(work.session.scalars(select(RecoveryCode.code_hash)))
    assert stored == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in shown}
    again = browser.get("/me/mfa").get_data(as_text=True)
    assert "Two-step sign-in is on." in again and not any(c in again for c in shown)
    assert "10 unused recovery codes left." in again
    assert "mfa.enabled" in audit()


def test_the_password_step_alone_signs_no_one_in(app, runtime, clock, li, browser, audit):
    totp, _ = enroll(runtime, clock, li)
    first = login(browser)
    assert first.status_code == 302 and first.headers["Location"].startswith("/login/code")
    assert not signed_in(browser)
    with browser.session_transaction() as cookie:
        assert "uid" not in cookie and cookie["mfa_uid"] == li
    assert browser.post("/login/code", data={"code": "123456"}).status_code == 401
    assert not signed_in(browser)
    assert browser.post("/login/code", data={"code": totp.at(clock.now)}).status_code == 302
    assert signed_in(browser)
    # a fresh browser cannot skip to the code step
    stranger = app.test_client()
    assert stranger.post("/login/code", data={"code": totp.at(clock.now)}).status_code == 302
    assert stranger.get("/me").status_code == 302
    events = audit()
    assert events.index("login.password_accepted") < events.index("mfa.failed")
    assert events[-1] == "login.succeeded"


def test_a_code_works_only_once(app, runtime, clock, li, browser):
    totp, _ = enroll(runtime, clock, li)
    code = totp.at(clock.now)
    assert sign_in_with_code(browser, code).status_code == 302
    other = app.test_client()
    assert sign_in_with_code(other, code).status_code == 401  # replayed within its window
    assert sign_in_with_code(other, totp.at(clock.now, counter_offset=-1)).status_code == 401
    clock.advance(seconds=30)
    assert sign_in_with_code(other, totp.at(clock.now)).status_code == 302


def test_wrong_codes_count_towards_the_sign_in_throttle(runtime, clock, li, browser, audit):
    totp, _ = enroll(runtime, clock, li)
    login(browser)
    for _ in range(5):
        assert browser.post("/login/code", data={"code": "999999"}).status_code == 401
    assert browser.post("/login/code", data={"code": totp.at(clock.now)}).status_code == 429
    assert login(browser).status_code == 429  # the password too: the username is locked
    assert audit().count("mfa.failed") == 5


def test_the_code_step_expires(runtime, clock, li, browser):
    totp, _ = enroll(runtime, clock, li)
    login(browser)
    clock.advance(minutes=6)
    late = browser.post("/login/code", data={"code": totp.at(clock.now)})
    assert late.status_code == 302 and late.headers["Location"].split("?")[0] == "/login"
    assert not signed_in(browser)


def test_recovery_codes_sign_in_once_each(app, runtime, clock, li, browser):
    _, codes = enroll(runtime, clock, li)
    assert sign_in_with_code(browser, codes[0].upper()).status_code == 302
    other = app.test_client()
    assert sign_in_with_code(other, codes[0]).status_code == 401
    assert sign_in_with_code(other, codes[1].replace("-", " ")).status_code == 302
    with runtime.read() as work:
        assert mfa.recovery_codes_left(work, li) == 8


def test_turning_it_off_needs_a_current_code_or_the_password(runtime, clock, li, browser, audit):
    totp, _ = enroll(runtime, clock, li)
    sign_in_with_code(browser, totp.at(clock.now))
    refused = browser.post("/me/mfa/disable", data={"proof": "not my password"})
    assert refused.status_code == 400 and 'id="proof-error"' in refused.get_data(as_text=True)
    assert _user(runtime, li).totp_secret is not None
    assert browser.post("/me/mfa/disable", data={"proof": PASSWORD}).status_code == 302
    assert _user(runtime, li).totp_secret is None
    with runtime.read() as work:
        assert mfa.recovery_codes_left(work, li) == 0
    assert login(browser.application.test_client()).status_code == 302  # the password is enough
    assert audit()[-2:] == ["mfa.disabled", "login.succeeded"]


def test_an_admin_can_turn_off_someones_second_factor(app, browser, runtime, clock, li, audit):
    enroll(runtime, clock, li)
    with runtime.write() as work:
        people.create_user(work, "boss", password=PASSWORD, is_admin=True, language="en")
    admin = app.test_client()
    login(admin, username="boss")
    page = admin.get(f"/admin/users/{li}").get_data(as_text=True)
    assert f'action="/admin/users/{li}/mfa/reset"' in page
    done = admin.post(f"/admin/users/{li}/mfa/reset")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/admin/users/{li}")
    assert _user(runtime, li).totp_secret is None
    assert "mfa.disabled" in audit()
    assert login(app.test_client()).headers["Location"] == "/"  # the password is enough again
    # not for anyone else
    with runtime.write() as work:
        people.create_user(work, "rep", password=PASSWORD, language="en")
    rep = app.test_client()
    login(rep, username="rep")
    assert rep.post(f"/admin/users/{li}/mfa/reset").status_code == 403


def test_api_tokens_are_unaffected(app, runtime, clock, li):
    enroll(runtime, clock, li)
    with runtime.write() as work:
        token = tokens.issue(work, work.session.get(User, li))
    response = app.test_client().get(
        "/api/v1/notifications", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def test_the_new_pages_read_in_chinese(runtime, clock, li, browser):
    with runtime.write() as work:
        work.session.get(User, li).language = "zh-CN"
    login(browser)
    page = browser.get("/me/mfa", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "两步" in page


# -- ASVS 4.3.1: an instance may require two-step sign-in of its administrators -------------


@pytest.fixture
def admins_need_it(runtime, li):
    import dataclasses

    runtime.config = dataclasses.replace(runtime.config, admin_mfa_required=True)
    with runtime.write() as work:
        work.session.get(User, li).is_admin = True


def test_an_admin_without_it_is_sent_to_turn_it_on_before_anything_else(
    browser, runtime, li, clock, admins_need_it
):
    assert login(browser).status_code == 302
    for path in ("/", "/me", "/admin/users"):
        held = browser.get(path)
        assert held.status_code == 302 and held.location.startswith("/me/mfa"), path
    page = browser.get("/me/mfa")
    assert page.status_code == 200
    assert "Administrators must use two-step sign-in here" in page.get_data(as_text=True)
    with runtime.write() as work:
        totp = pyotp.TOTP(mfa.pending_secret(work, work.session.get(User, li)))
    assert browser.post("/me/mfa", data={"code": totp.at(clock.now)}).status_code == 200
    assert browser.get("/admin/users").status_code == 200


def test_it_is_off_by_default_and_never_asked_of_people_who_are_not_admins(
    app, browser, runtime, li
):
    import dataclasses

    from formflow.config import Config

    assert Config.from_env().admin_mfa_required is False
    with runtime.write() as work:
        work.session.get(User, li).is_admin = True
    assert login(browser).status_code == 302
    assert browser.get("/admin/users").status_code == 200
    runtime.config = dataclasses.replace(runtime.config, admin_mfa_required=True)
    with runtime.write() as work:
        people.create_user(work, "rep", password=PASSWORD)
    rep = app.test_client()
    assert login(rep, "rep").status_code == 302
    assert rep.get("/").status_code == 200


def test_the_setting_is_read_from_the_environment(monkeypatch):
    from formflow.config import Config

    monkeypatch.setenv("FORMFLOW_ADMIN_MFA", "1")
    assert Config.from_env().admin_mfa_required is True
